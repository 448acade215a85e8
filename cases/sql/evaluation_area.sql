-- Area facts, one row per case (keys: district, street, grid of the case's intake snapshot):
-- what happened to it in the period (its reports, filings, 作废 and closings), and whether it was
-- open and overdue at :t.
SELECT c.number, c.grid_code, c.street_code,
       (x.reported AND NOT c.self_handled)::int AS reported,
       (x.reported AND c.self_handled)::int AS self_handled,
       (x.reported AND NOT c.self_handled AND c.source IN ('公众', '12345热线'))::int
           AS public_reported,
       -- a public report is filed only after a 监督员 confirmed it on site
       (x.reported AND NOT c.self_handled AND c.source IN ('公众', '12345热线')
        AND c.filed_at <= :t)::int AS public_confirmed,
       -- 挂账 at :t leaves the 立案 base
       (x.filed AND NOT s.suspended)::int AS filed, (x.filed AND s.suspended)::int AS suspended,
       x.cancelled::int AS cancelled, x.closed::int AS closed,
       x.closed_on_time::int AS closed_on_time, 0 AS overdue_open
FROM (
    SELECT number, bool_or(action = 'report') AS reported, bool_or(action = 'file') AS filed,
           bool_or(action = 'cancel') AS cancelled, bool_or(action = 'close') AS closed,
           bool_or(action = 'close' AND (detail ->> 'on_time')::boolean) AS closed_on_time
    FROM case_event
    WHERE district_code = :district AND action IN ('report', 'file', 'cancel', 'close')
      AND at >= :start AND at <= :t
    GROUP BY number
) x
-- a case with an event in the period changed since its start (ix_case_file_updated)
JOIN case_file c ON c.district_code = :district AND c.number = x.number
                AND c.updated_at >= :start
LEFT JOIN changed h ON h.number = x.number
CROSS JOIN LATERAL (SELECT coalesce(h.state, c.state) = 'suspended' AS suspended) s
UNION ALL
SELECT number, grid_code, street_code, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1
FROM overdue
