-- The clocks at the moment of counting :t (cases/evaluation.py puts WITH before this and a kind's
-- facts after it): the post that holds each centre step (:steps, :holders from cases.flow.STEPS),
-- the grids each 监督员 patrols (from their tokens), how the cases changed since :t stood at :t,
-- and the clocks that had run out by then with who held them.
-- (NOT MATERIALIZED: each is read inside the statement that uses it, where its filters reach the
-- indexes; the few cases changed since :t are worked out once.)
step_post AS NOT MATERIALIZED (
    SELECT * FROM unnest(CAST(:steps AS text[]), CAST(:holders AS text[])) AS s(step, post)
),
patrol AS NOT MATERIALIZED (
    SELECT * FROM unnest(CAST(:patrol_persons AS text[]), CAST(:patrol_grids AS text[]))
        AS p(person, grid)
),
-- A case untouched since :t stands at :t as it stands now; one changed after :t (a few days'
-- worth, ix_case_file_updated) stood as its last event up to :t left it.
changed AS MATERIALIZED (
    SELECT c.number, c.grid_code, c.street_code, l.state, l.step, l.due, l.holder
    FROM case_file c
    CROSS JOIN LATERAL (
        SELECT e.to_state AS state, e.next_step AS step, e.next_due AS due,
               e.next_holder AS holder
        FROM case_event e
        WHERE e.district_code = c.district_code AND e.number = c.number AND e.at <= :t
        ORDER BY e.seq DESC LIMIT 1) l
    WHERE c.district_code = :district AND c.updated_at > :t AND c.reported_at <= :t
      AND l.state NOT IN ('closed', 'void')
),
-- the clocks that had run out at :t and were still running then, with who held them: a running
-- clock is a due time on the case (null once ended or while 挂账), read from ix_case_file_due
-- alone
overdue AS NOT MATERIALIZED (
    SELECT c.number, c.grid_code, c.street_code, c.step,
           CASE WHEN c.step = 'dispose' THEN c.department ELSE s.post END AS holder
    FROM case_file c LEFT JOIN step_post s ON s.step = c.step
    WHERE c.district_code = :district AND c.step_due_at < :t AND c.updated_at <= :t
    UNION ALL
    SELECT number, grid_code, street_code, step, holder FROM changed
    WHERE state <> 'suspended' AND due < :t
)
