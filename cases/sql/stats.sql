-- Evaluation indicators of one district over [start, end), from the case history alone:
-- per case, what happened in the period, and the state and clock the history shows at `end`.
-- Grouping keys come from the intake snapshot (grid, street) or the department that held the
-- case at `end`, so the numbers do not move when grids are re-imported later.
WITH ev AS (
    SELECT e.district_code, e.number,
           count(*) FILTER (WHERE e.action = 'report') AS reported,
           count(*) FILTER (WHERE e.action = 'file') AS filed,
           count(*) FILTER (WHERE e.action = 'close') AS closed,
           count(*) FILTER (WHERE e.action = 'close' AND NOT EXISTS (
               SELECT 1 FROM case_event h WHERE h.district_code = e.district_code
                 AND h.number = e.number AND h.action = 'handle'
                 AND NOT coalesce((h.detail ->> 'on_time')::boolean, true))) AS closed_on_time,
           count(*) FILTER (WHERE e.action = 'handle') AS handled,
           count(*) FILTER (WHERE e.action = 'rework') AS reworked,
           count(*) FILTER (WHERE e.action = 'approve'
                            AND e.detail ->> 'request' = 'return') AS returned
    FROM case_event e
    WHERE e.district_code = :district AND e.at >= :start AND e.at < :end
    GROUP BY e.district_code, e.number
), last_event AS (
    SELECT DISTINCT ON (e.number) e.district_code, e.number, e.to_state, e.next_due AS due_at
    FROM case_event e
    WHERE e.district_code = :district AND e.at < :end
    ORDER BY e.number, e.seq DESC
), holder AS (
    SELECT DISTINCT ON (e.number) e.district_code, e.number, e.target AS department
    FROM case_event e
    WHERE e.district_code = :district AND e.at < :end AND e.target IS NOT NULL
      AND e.action IN ('report', 'dispatch', 'approve')
    ORDER BY e.number, e.seq DESC
), per_case AS (
    SELECT c.number, c.grid_code, c.street_code, c.snapshot -> 'street' ->> 'name' AS street_name,
           h.department,
           coalesce(ev.reported, 0) AS reported, coalesce(ev.filed, 0) AS filed,
           coalesce(ev.closed, 0) AS closed, coalesce(ev.closed_on_time, 0) AS closed_on_time,
           coalesce(ev.handled, 0) AS handled, coalesce(ev.reworked, 0) AS reworked,
           coalesce(ev.returned, 0) AS returned,
           (l.to_state IN ('reported', 'accepted', 'filed', 'dispatched', 'handled', 'checked')
            AND l.due_at IS NOT NULL AND l.due_at < :end)::int AS overdue_open
    FROM case_file c
    JOIN last_event l ON l.district_code = c.district_code AND l.number = c.number
    LEFT JOIN ev ON ev.district_code = c.district_code AND ev.number = c.number
    LEFT JOIN holder h ON h.district_code = c.district_code AND h.number = c.number
    WHERE c.district_code = :district
)
SELECT CASE :by WHEN 'department' THEN coalesce(department, '（未定）')
                WHEN 'grid' THEN grid_code
                WHEN 'street' THEN street_code
                ELSE :district END AS key,
       CASE :by WHEN 'street' THEN max(street_name) ELSE NULL END AS name,
       sum(reported) AS reported, sum(filed) AS filed, sum(closed) AS closed,
       sum(closed_on_time) AS closed_on_time, sum(handled) AS handled,
       sum(reworked) AS reworked, sum(returned) AS returned, sum(overdue_open) AS overdue_open
FROM per_case
GROUP BY 1
HAVING sum(reported + filed + closed + handled + reworked + returned + overdue_open) > 0
ORDER BY 1
