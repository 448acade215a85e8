-- Responsibility resolution done by PostGIS alone, in one statement: the reference that the
-- in-memory index (cases/index.py) is tested against, and the "one database query per request"
-- comparison of the lookup benchmark. Distances are on the ellipsoid (geography).
WITH p AS (
    SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4490) AS geom
), g AS (
    SELECT gr.district_code, gr.code, gr.street_code, gr.community_code
    FROM grid gr, p
    WHERE gr.valid_to IS NULL AND ST_Intersects(gr.geom, p.geom)
    ORDER BY gr.district_code, gr.code
    LIMIT 1
), c AS (
    SELECT c.code, c.name, c.class_code, c.dept_id, c.owner_id, c.maintainer_id,
           ST_Distance(c.geom::geography, p.geom::geography) AS distance_m
    FROM component c, g, p
    WHERE c.district_code = g.district_code AND c.class_code = :component_class
      AND c.retired_at IS NULL
      AND c.geom && ST_Expand(p.geom, :radius_deg)
      AND ST_DWithin(c.geom::geography, p.geom::geography, :radius_m)
    ORDER BY distance_m, c.code
    LIMIT 1
), z AS (
    SELECT z.code, z.name, z.unit
    FROM zone z, g, p
    WHERE z.district_code = g.district_code AND z.valid_to IS NULL
      AND ST_Intersects(z.geom, p.geom)
      AND (cardinality(z.classes) = 0 OR CAST(:class_key AS text) = ANY (z.classes))
    ORDER BY z.area_m2, z.code
    LIMIT 1
)
SELECT g.district_code, d.name AS district_name, g.code AS grid_code,
       g.street_code, s.name AS street_name, g.community_code, cm.name AS community_name,
       c.code AS component_code, c.name AS component_name, c.distance_m,
       dept.name AS department, owner.name AS owner, keeper.name AS maintainer,
       z.code AS zone_code, z.name AS zone_name, z.unit AS zone_unit,
       du.department AS duty_department,
       s.kind AS street_kind, s.office AS street_office, so.office AS listed_office,
       EXISTS (SELECT 1 FROM street n WHERE n.district_code = g.district_code
               AND substr(n.code, 7, 3) ~ '^[1-3][0-9][0-9]$') AS numbered
FROM g
JOIN district d ON d.code = g.district_code
LEFT JOIN street s ON s.district_code = g.district_code AND s.code = g.street_code
LEFT JOIN community cm ON cm.district_code = g.district_code AND cm.code = g.community_code
LEFT JOIN c ON true
LEFT JOIN organisation dept ON dept.district_code = g.district_code AND dept.id = c.dept_id
LEFT JOIN organisation owner ON owner.district_code = g.district_code AND owner.id = c.owner_id
LEFT JOIN organisation keeper ON keeper.district_code = g.district_code
                              AND keeper.id = c.maintainer_id
LEFT JOIN z ON true
LEFT JOIN duty du ON du.district_code = g.district_code AND du.valid_to IS NULL
                 AND du.kind = :kind AND du.class_code = :class_code
LEFT JOIN street_office so ON so.district_code = g.district_code AND so.valid_to IS NULL
                          AND so.street_code = g.street_code
