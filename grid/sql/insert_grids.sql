-- The staged grids (stage_grids.sql) as new current rows of the district, valid from :at.
INSERT INTO grid (district_code, code, valid_from, street_code, community_code, area_m2, attrs,
                  import_id, geom)
SELECT :district, code, :at, street_code, community_code, area_m2, attrs, :import_id,
       ST_Multi(ST_SetSRID(geom, 4490))
FROM grid_stage
