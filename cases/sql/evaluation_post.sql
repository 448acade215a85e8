-- Post facts, rows of counts for a post and person (per case when :per_case, for the cases behind
-- a number; otherwise summed where they are read, by workers in parallel): in one pass over the
-- period's events, each centre step done by a person of the post that holds it (and whether by
-- its due time), and a 监督员's reports, valid unless the case was not filed by :t. Then, read
-- through ix_case_event_action, the 作废 charged to whoever filed the case and the 退回 to whoever
-- dispatched it; the steps overdue at
-- :t, charged to their post (a 监督员's to the one who patrols the case's grid, when known), and
-- what each 监督员 missed on patrol (漏报: public reports filed in the period in their grids,
-- ix_case_file_filed).
SELECT number, post, person, step, done, on_time, owed, reports, valid_reports, self_handled,
       missed, cancelled, returned_after_dispatch
FROM (
    SELECT CASE WHEN :per_case THEN e.number END AS number, e.post, e.person, e.step,
           count(*) AS done, count(*) FILTER (WHERE e.due IS NULL OR e.at <= e.due) AS on_time,
           count(*) AS owed, 0 AS reports, 0 AS valid_reports, 0 AS self_handled, 0 AS missed,
           0 AS cancelled, 0 AS returned_after_dispatch
    FROM case_event e                                         -- ix_case_event_step alone
    WHERE e.district_code = :district AND e.at >= :start AND e.at <= :t
      -- 不予立案 decides the 立案 step without a filing: not a 立案 the 值班长 owed or did
      AND (e.step, e.post) IN :centre_steps AND e.action <> 'reject'
    GROUP BY 1, e.post, e.person, e.step
    UNION ALL
    -- a 监督员's reports (ix_case_event_report alone; a case fixed on the spot, 自行处置, is
    -- closed at its report), valid unless the case was not filed by :t (below)
    SELECT CASE WHEN :per_case THEN e.number END, e.post, e.person, NULL, 0, 0, 0,
           count(*) FILTER (WHERE e.to_state <> 'closed'),
           count(*) FILTER (WHERE e.to_state <> 'closed'),
           count(*) FILTER (WHERE e.to_state = 'closed'), 0, 0, 0
    FROM case_event e
    WHERE e.district_code = :district AND e.action = 'report' AND e.at >= :start
      AND e.at <= :t AND e.post = '监督员'
    GROUP BY 1, e.post, e.person
    UNION ALL
    -- the reports of the period not filed by :t are not valid (a few: ix_case_file_reported)
    SELECT CASE WHEN :per_case THEN c.number END, r.post, r.person, NULL, 0, 0, 0, 0,
           -count(*), 0, 0, 0, 0
    FROM case_file c
    JOIN case_event r ON r.district_code = c.district_code AND r.number = c.number
                     AND r.seq = 1
    WHERE c.district_code = :district AND c.reported_at >= :start AND c.reported_at <= :t
      AND (c.filed_at IS NULL OR c.filed_at > :t) AND NOT c.self_handled
      AND r.action = 'report' AND r.post = '监督员'
    GROUP BY 1, r.post, r.person
    UNION ALL
    SELECT number, CASE action WHEN 'cancel' THEN '值班长' ELSE '派遣员' END,
           CASE action WHEN 'cancel' THEN detail ->> 'filed_by'
                       ELSE detail ->> 'dispatched_by' END,
           NULL, 0, 0, 0, 0, 0, 0, 0, (action = 'cancel')::int, (action = 'approve')::int
    FROM case_event
    WHERE district_code = :district AND action IN ('cancel', 'approve') AND at >= :start
      AND at <= :t AND (action = 'cancel' OR detail ->> 'request' = 'return')
    UNION ALL
    SELECT o.number, o.holder, p.person, o.step, 0, 0, 1, 0, 0, 0, 0, 0, 0
    FROM overdue o
    JOIN step_post s ON s.step = o.step
    LEFT JOIN patrol p ON o.holder = '监督员' AND p.grid = o.grid_code
    UNION ALL
    SELECT CASE WHEN :per_case THEN c.number END, '监督员', p.person, NULL, 0, 0, 0, 0, 0, 0,
           count(*), 0, 0
    FROM case_file c JOIN patrol p ON p.grid = c.grid_code
    WHERE c.district_code = :district AND c.filed_at >= :start AND c.filed_at <= :t
      AND c.source IN ('公众', '12345热线')
    GROUP BY 1, p.person
) f
WHERE post IS NOT NULL
