-- --retire-missing: components of the district that the re-survey did not list are marked
-- retired (注销) with the date, never deleted.
UPDATE component c
SET retired_at = current_date, retire_reason = :reason, status = '注销', updated_at = now()
WHERE c.district_code = :district
  AND c.retired_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM component_stage s WHERE s.code = c.code)
