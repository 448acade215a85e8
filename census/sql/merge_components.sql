-- Merge the staged census into `component` in one pass: new codes are inserted, changed ones
-- updated (with their 变更日期), identical ones left alone; returns (inserted, updated). (Every
-- CTE sees the table as it was before the statement, so `existing` counts what was there.)
-- A component that comes back after being retired (注销) is taken back into service.
-- 变更日期: the file's when it gives a new one, else the day of this import. A file without
-- 变更日期 must not make every re-import look like a change, so change_date is compared only
-- when the file has one.
WITH existing AS (
    SELECT count(*) AS n FROM component_stage s
    JOIN component c ON c.district_code = :district AND c.code = s.code
), staged AS (
    SELECT count(*) AS n FROM component_stage
), merged AS (
    INSERT INTO component AS c (
        district_code, code, class_code, name, dept_id, owner_id, maintainer_id, status,
        initial_date, change_date, data_source, note, grid_code, file_grid_code, attrs, geom,
        import_id, retired_at, retire_reason, updated_at)
    SELECT :district, s.code, s.class_code, s.name, s.dept_id, s.owner_id, s.maintainer_id,
           s.status, s.initial_date, s.change_date, s.data_source, s.note, s.grid_code,
           s.file_grid_code, s.attrs, ST_SetSRID(s.geom, 4490), :import_id, NULL, NULL, now()
    FROM component_stage s
    ON CONFLICT (district_code, code) DO UPDATE SET
        class_code = EXCLUDED.class_code, name = EXCLUDED.name, dept_id = EXCLUDED.dept_id,
        owner_id = EXCLUDED.owner_id, maintainer_id = EXCLUDED.maintainer_id,
        status = EXCLUDED.status, initial_date = EXCLUDED.initial_date,
        change_date = CASE
            WHEN EXCLUDED.change_date IS NOT NULL
                 AND EXCLUDED.change_date IS DISTINCT FROM c.change_date
            THEN EXCLUDED.change_date ELSE current_date END,
        data_source = EXCLUDED.data_source, note = EXCLUDED.note,
        grid_code = EXCLUDED.grid_code, file_grid_code = EXCLUDED.file_grid_code,
        attrs = EXCLUDED.attrs, geom = EXCLUDED.geom, import_id = EXCLUDED.import_id,
        retired_at = NULL, retire_reason = NULL, updated_at = now()
    WHERE (c.class_code, c.name, c.dept_id, c.owner_id, c.maintainer_id, c.status,
           c.initial_date, c.data_source, c.note, c.grid_code, c.file_grid_code, c.attrs,
           c.geom::bytea, c.retired_at)
          IS DISTINCT FROM
          (EXCLUDED.class_code, EXCLUDED.name, EXCLUDED.dept_id, EXCLUDED.owner_id,
           EXCLUDED.maintainer_id, EXCLUDED.status, EXCLUDED.initial_date, EXCLUDED.data_source,
           EXCLUDED.note, EXCLUDED.grid_code, EXCLUDED.file_grid_code, EXCLUDED.attrs,
           EXCLUDED.geom::bytea, NULL::date)
       OR (EXCLUDED.change_date IS NOT NULL
           AND EXCLUDED.change_date IS DISTINCT FROM c.change_date)
    RETURNING 1
)
SELECT staged.n - existing.n AS inserted,
       (SELECT count(*) FROM merged) - (staged.n - existing.n) AS updated
FROM staged, existing
