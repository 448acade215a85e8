-- A district's first census, into a table of its own that has no index yet (census/partitions.py
-- builds the indexes afterwards and attaches it): one bulk pass instead of per-row index and
-- foreign-key upkeep (bench/census_import.py).
INSERT INTO {table} (
    district_code, code, class_code, name, dept_id, owner_id, maintainer_id, status,
    initial_date, change_date, data_source, note, grid_code, file_grid_code, attrs, geom,
    import_id, retired_at, retire_reason, updated_at)
SELECT :district, s.code, s.class_code, s.name, s.dept_id, s.owner_id, s.maintainer_id,
       s.status, s.initial_date, s.change_date, s.data_source, s.note, s.grid_code,
       s.file_grid_code, s.attrs, ST_SetSRID(s.geom, 4490), :import_id, NULL, NULL, now()
FROM component_stage s
