"""evaluation: a month's evaluation of a city's year of cases — about 1,000,000 cases with their
histories (some 7.7 million events) — by department and by person, `cases.evaluation.evaluate`,
against a bare SQL `GROUP BY` over the same events table for the same month (counts of each
action per department, and per post and person), measured in the same run.

The year is synthetic and written straight into `case_file` and `case_event` with COPY (replaying
a million histories through the workflow would take hours and is not what is timed): every case
walks 上报 → 受理 (→ 核实 for public reports) → 立案 → 派遣 → 处置 → 核查 → 结案 with its due
times, some with 返工, 退回, 延期, 挂账 or 作废, some left open; 20 受理员, 60 监督员, 10 值班长,
10 派遣员, 40 departments, 300 grids (5 patrolled by each 监督员, who reports in them). Ours counts
November at 11-30 24:00. The targets: each grouping ≤ 2 s, and ≤ 2× the bare GROUP BY.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
import time
from datetime import datetime, timedelta

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from bench.databases import throwaway_database
from bench.measure import Benchmark, Result, Run, Timings, log, seconds
from cases.evaluation import evaluate, period
from cases.worktime import CST
from gis.db import make_engine, session_scope
from grid.districts import add_district

DISTRICT = "341802"
YEAR = 2026
CASES = 1_000_000
TARGET_S = 2.0
MIN = timedelta(minutes=1)
ANCHORS = {
    "department": "SELECT department, count(*) FILTER (WHERE action = 'handle'), "
                  "count(*) FILTER (WHERE action = 'handle' AND at <= due), "
                  "count(*) FILTER (WHERE action = 'rework'), count(*) FILTER (WHERE action = "
                  "'approve') FROM case_event WHERE district_code = :d AND at >= :start AND "
                  "at < :end GROUP BY department",
    "person": "SELECT post, person, count(*) FILTER (WHERE step IS NOT NULL), "
              "count(*) FILTER (WHERE step IS NOT NULL AND at <= due), count(*) FILTER (WHERE "
              "action = 'report') FROM case_event WHERE district_code = :d AND at >= :start "
              "AND at < :end GROUP BY post, person",
}


GRIDS = 300                     # 10 streets × 3 communities × 10 grids; 5 to each 监督员


def grid_code(i: int) -> str:
    return f"{DISTRICT}{i // 30 + 1:03d}{i % 30 // 10 + 1:03d}{i % 10 + 1:02d}"


PATROLS = tuple((f"监督员{i // 5:02d}", grid_code(i)) for i in range(GRIDS))


class Year:
    """The synthetic year, written as COPY text for case_file and case_event."""

    def __init__(self, n: int, seed: int = 7) -> None:
        self.n = n
        self.rng = np.random.default_rng(seed)
        self.files = io.StringIO()
        self.events = io.StringIO()
        self.fw = csv.writer(self.files)
        self.ew = csv.writer(self.events)

    def build(self) -> None:
        rng, n = self.rng, self.n
        start = datetime(YEAR, 1, 1, tzinfo=CST)
        offsets = np.sort(rng.uniform(0, 364 * 24 * 60, n))
        sources = rng.choice(["监督员上报", "12345热线", "公众"], n, p=[0.8, 0.15, 0.05])
        variant = rng.choice(list("ARCDEFG"), n, p=[0.84, 0.05, 0.03, 0.03, 0.01, 0.01, 0.03])
        delays = rng.integers(2, 26, (n, 12))
        disposal = rng.integers(30, 600, n)
        depts = rng.integers(0, 40, n)
        grids = rng.integers(0, GRIDS, n)
        people = {"受理员": rng.integers(0, 20, n), "监督员": grids // 5,   # who patrols it
                  "值班长": rng.integers(0, 10, n), "派遣员": rng.integers(0, 10, n)}
        per_day: dict[str, int] = {}
        for i in range(n):
            t0 = start + offsets[i] * MIN
            day = f"{t0:%Y%m%d}"
            per_day[day] = per_day.get(day, 0) + 1
            number = f"{DISTRICT}-{day}-{per_day[day]:05d}"
            self._case(number, t0, str(sources[i]), str(variant[i]), delays[i],
                       int(disposal[i]), f"部门{depts[i]:02d}",
                       {p: f"{p}{v[i]:02d}" for p, v in people.items()}, int(grids[i]))

    def _case(self, number: str, t0: datetime, source: str, variant: str, delays: np.ndarray,
              disposal: int, dept: str, who: dict[str, str], grid: int) -> None:
        """One case's history. Each action ends the clock that ran (its step and due time) and
        starts the next: (step, minutes allowed from now or a due time kept, holder)."""
        Clock = tuple[str | None, datetime | None, str | None]
        events: list[tuple[str, str | None, str, datetime, Clock, Clock, str,
                           dict[str, object]]] = []
        d = iter(int(x) for x in delays)
        at = t0
        public = source != "监督员上报"
        clock: Clock = ("accept", t0 + 15 * MIN, "受理员")
        events.append(("report", "监督员" if not public else "受理员",
                       who["监督员"] if not public else who["受理员"], t0, (None, None, None),
                       clock, "reported", {"source": source}))

        def step(action: str, post: str | None, person: str, minutes: int,
                 nxt: tuple[str | None, int | datetime | None, str | None] | None,
                 state: str, ends: bool = True, detail: dict[str, object] | None = None) -> None:
            nonlocal at, clock
            at = at + minutes * MIN
            ended: Clock = clock if ends else (None, None, None)
            if nxt is None:                                   # the clock runs on
                started = clock
            else:
                limit = nxt[1]
                due = at + limit * MIN if isinstance(limit, int) else limit
                started = (nxt[0], due, nxt[2])
            events.append((action, post, person, at, ended, started, state, detail or {}))
            clock = started

        step("accept", "受理员", who["受理员"], next(d),
             ("confirm", 30, "监督员") if public else ("file", 15, "值班长"), "accepted")
        if public:
            step("confirm", "监督员", who["监督员"], next(d), ("file", 15, "值班长"), "accepted")
        step("file", "值班长", who["值班长"], next(d), ("dispatch", 15, "派遣员"), "filed")
        if variant == "C":                      # 退回 by application, then dispatched again
            step("dispatch", "派遣员", who["派遣员"], next(d), ("dispose", 240, dept),
                 "dispatched")
            step("request_return", "专业部门", "处置人", next(d), None, "dispatched",
                 ends=False)
            step("approve", "派遣员", who["派遣员"], next(d), ("dispatch", 15, "派遣员"), "filed",
                 detail={"request": "return", "returned_by": dept,
                         "dispatched_by": who["派遣员"]})
            dept = f"部门{(int(dept[-2:]) + 1) % 40:02d}"
        step("dispatch", "派遣员", who["派遣员"], next(d), ("dispose", 240, dept), "dispatched")
        if variant == "E":                      # 作废
            step("cancel", "值班长", who["值班长"], next(d), (None, None, None), "void",
                 detail={"filed_by": who["值班长"]})
        elif variant == "F":                    # 挂账
            step("request_suspend", "专业部门", "处置人", next(d), None, "dispatched",
                 ends=False)
            step("approve", "值班长", who["值班长"], next(d), (None, None, None), "suspended",
                 ends=False, detail={"request": "suspend"})
        elif variant != "G":                    # G: left with the department
            if variant == "D":                  # 延期, approved before the deadline
                step("request_extend", "专业部门", "处置人", next(d), None, "dispatched",
                     ends=False)
                assert clock[1] is not None
                step("approve", "值班长", who["值班长"], next(d),
                     ("dispose", clock[1] + 120 * MIN, dept), "dispatched", ends=False,
                     detail={"request": "extend"})
            due = clock[1]
            step("handle", "专业部门", "处置人", disposal, ("check", 30, "监督员"), "handled")
            on_time = due is not None and at <= due
            if variant == "R":                  # 返工: the disposal clock keeps its due time
                step("rework", "监督员", who["监督员"], next(d), ("dispose", due, dept),
                     "dispatched")
                step("handle", "专业部门", "处置人", next(d) * 10, ("check", 30, "监督员"),
                     "handled")
                on_time = due is not None and at <= due
            step("verify", "监督员", who["监督员"], next(d), ("close", 30, "值班长"), "checked")
            step("close", "值班长", who["值班长"], next(d), (None, None, None), "closed",
                 detail={"on_time": on_time})
        handlers = {"handle", "request_return", "request_extend", "request_suspend"}
        for seq, (action, post, person, when, ended, started, state,
                  detail) in enumerate(events, start=1):
            self.ew.writerow([DISTRICT, number, seq, action, state, post, person,
                              dept if action in handlers else None,
                              dept if action in ("report", "dispatch") else None,
                              when, ended[0], ended[1], started[0], started[1], started[2],
                              json.dumps(detail, ensure_ascii=False)])
        last = events[-1]
        state, step_, due_ = last[6], last[5][0], last[5][1]
        filed_at = next(e[3] for e in events if e[0] == "file")
        self.fw.writerow([DISTRICT, number, source, "legacy", "event", "0102", "暴露垃圾", "x",
                          "SRID=4490;POINT(118.75 30.94)", state, dept, "{}",
                          grid_code(grid), grid_code(grid)[:9], grid_code(grid)[:12], t0,
                          filed_at,
                          last[3] if state == "closed" else None,
                          step_, due_, last[3], public and state != "reported"])


def load(url: str, year: Year) -> None:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            add_district(s, DISTRICT, name="宣州区", scheme="legacy", crs="EPSG:4549")
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            with cur.copy("COPY case_file (district_code, number, source, scheme, kind, "
                          "class_code, class_name, description, geom, state, department, "
                          "snapshot, grid_code, street_code, community_code, reported_at, "
                          "filed_at, closed_at, step, step_due_at, updated_at, needs_confirmation) "
                          "FROM STDIN (FORMAT csv)") as copy:
                copy.write(year.files.getvalue())
            # the history's trigger guards updates and deletes, not a load
            with cur.copy("COPY case_event (district_code, number, seq, action, to_state, "
                          "post, person, department, target, at, step, due, next_step, "
                          "next_due, next_holder, detail) FROM STDIN (FORMAT csv)") as copy:
                copy.write(year.events.getvalue())
            raw.commit()
        finally:
            raw.close()
        # as autovacuum would have left a year's tables: statistics, and the visibility map
        # that lets the running clocks be read from their index alone
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE case_file"))
            conn.execute(sa.text("VACUUM ANALYZE case_event"))
    finally:
        engine.dispose()


def measure(run: Run) -> Result:
    n = max(10_000, int(CASES * run.scale))
    started = time.perf_counter()
    year = Year(n)
    year.build()
    log(f"  evaluation: {n:,} cases generated in {seconds(time.perf_counter() - started)}")
    with throwaway_database("evaluation") as url:
        started = time.perf_counter()
        load(url, year)
        engine = make_engine(url)
        with engine.connect() as conn:
            events = conn.execute(sa.text("SELECT count(*) FROM case_event")).scalar_one()
        log(f"  evaluation: {n:,} cases, {events:,} events loaded in "
            f"{seconds(time.perf_counter() - started)} (untimed setup)")
        at = datetime(YEAR, 12, 1, tzinfo=CST)
        start, end = datetime(YEAR, 11, 1).date(), datetime(YEAR, 11, 30).date()
        times: dict[str, list[float]] = {k: [] for k in ("department", "person",
                                                         "anchor department",
                                                         "anchor person")}
        counts: dict[str, int] = {}
        try:
            with Session(engine) as s:
                p = period(s, DISTRICT, start, end, at, PATROLS)
                for i in range(run.repeat + 1):            # the first pass warms the cache
                    for by in ("department", "person"):
                        t = time.perf_counter()
                        rows = evaluate(s, p, by)
                        took = time.perf_counter() - t
                        counts[by] = len(rows)
                        t = time.perf_counter()
                        s.execute(sa.text(ANCHORS[by]), {
                            "d": DISTRICT, "start": datetime(YEAR, 11, 1, tzinfo=CST),
                            "end": at}).all()
                        bare = time.perf_counter() - t
                        if i:
                            times[by].append(took)
                            times[f"anchor {by}"].append(bare)
                    if i:
                        log(f"  evaluation {i}/{run.repeat}: department "
                            f"{seconds(times['department'][-1])} (bare "
                            f"{seconds(times['anchor department'][-1])}), person "
                            f"{seconds(times['person'][-1])} (bare "
                            f"{seconds(times['anchor person'][-1])})")
        finally:
            engine.dispose()
    dep = Timings(times["department"], times["anchor department"])
    per = Timings(times["person"], times["anchor person"])
    ok = (dep.ours_median <= TARGET_S and per.ours_median <= TARGET_S
          and dep.ratio <= 2 and per.ratio <= 2)
    summary = (f"by department {seconds(dep.ours_median)} ({dep.ratio:.2f}× bare), by person "
               f"{seconds(per.ours_median)} ({per.ratio:.2f}× bare): ≤ 2 s and ≤ 2×: "
               f"{'met' if ok else 'MISSED'}; {counts.get('department')} departments, "
               f"{counts.get('person')} persons")
    notes = [f"department: ours {', '.join(seconds(t) for t in dep.ours)}; bare "
             f"{', '.join(seconds(t) for t in dep.anchor)}",
             f"person: ours {', '.join(seconds(t) for t in per.ours)}; bare "
             f"{', '.join(seconds(t) for t in per.anchor)}",
             f"median of both groupings: {seconds(statistics.median(dep.ours + per.ours))}"]
    return Result(size=f"{n:,} cases, {events:,} events",
                  timings=Timings([a + b for a, b in zip(dep.ours, per.ours, strict=True)],
                                  [a + b for a, b in zip(dep.anchor, per.anchor, strict=True)]),
                  notes=notes, summary=summary)


BENCHMARK = Benchmark(
    name="evaluation",
    ours="cases.evaluation.evaluate(November, by department) + (by person), a year of cases",
    anchor="bare SQL GROUP BY over case_event for the same month (department; post, person)",
    measure=measure,
    default_repeat=3,
)
