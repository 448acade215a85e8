-- Department facts. One row per case and department for its disposals (处置) in the period,
-- whether they were on time (a re-disposal after 返工 does not count the case twice), and its
-- disposal clock that had run out at :t; and one row per event for the 返工 and approved 延期
-- charged to a department and the cases it returned (退回: the returning department, never the
-- receiving one). The centre's own steps are not a department's. Events of these actions are
-- read through ix_case_event_action. (A row with no department is nobody's: evaluate drops it.)
SELECT number, key, max(handled) AS handled,
       CASE WHEN max(handled) = 1 THEN min(on_time) ELSE 0 END AS handled_on_time,
       0 AS reworked, 0 AS extended, 0 AS returned,
       max(overdue_unhandled) AS overdue_unhandled, 1 AS to_handle
FROM (
    SELECT number, department AS key, 1 AS handled,
           (due IS NULL OR at <= due)::int AS on_time, 0 AS overdue_unhandled
    FROM case_event                                           -- ix_case_event_handle alone
    WHERE district_code = :district AND action = 'handle' AND at >= :start AND at <= :t
    UNION ALL
    SELECT number, holder, 0, 1, 1 FROM overdue WHERE step = 'dispose'
) d
GROUP BY number, key
UNION ALL
SELECT number, CASE action WHEN 'rework' THEN next_holder WHEN 'approve' THEN
                   CASE detail ->> 'request' WHEN 'extend' THEN next_holder
                                             WHEN 'return' THEN detail ->> 'returned_by' END
               END,
       0, 0, (action = 'rework')::int, (action = 'approve' AND detail ->> 'request' = 'extend')::int,
       (action = 'approve' AND detail ->> 'request' = 'return')::int, 0, 0
FROM case_event
WHERE district_code = :district AND action IN ('rework', 'approve') AND at >= :start
  AND at <= :t
  AND (action = 'rework' OR detail ->> 'request' IN ('extend', 'return'))
