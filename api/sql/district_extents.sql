-- Each district's extent in EPSG:4490 as its tiles show it: its current grids and the street and
-- community boundaries it delivered (which may reach past the grids). The tile pre-renderer
-- (api/prerender.py) tells by them which tiles show one district only.
SELECT district_code, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT district_code, ST_Extent(g) AS e
      FROM (SELECT district_code, geom AS g FROM grid WHERE valid_to IS NULL
            UNION ALL SELECT district_code, boundary FROM street WHERE boundary IS NOT NULL
            UNION ALL SELECT district_code, boundary FROM community WHERE boundary IS NOT NULL
           ) shapes
      GROUP BY district_code) x
ORDER BY district_code
