"""lookup_http: `GET /lookup` throughput of one server process against the same server's
`GET /health`, at city scale (10,000 grids, the 1,000,000-component census).

The server is citygrid's own (`python -m api serve`, one uvicorn worker) on a throwaway
database, started as a subprocess and loaded once its first /lookup answers (the index is
loaded). wrk loads it on loopback, `wrk -t2 -c16 -d10s`, with a Lua script cycling through 2,000
lookup URLs at random points inside the grids, each with `class=0101`, each with an
api_client token (lookups need one; the same header goes with /health). /health is the anchor:
the same server, routing, threadpool and HTTP stack, doing nothing. The target: lookup at least
80 % of health's requests per second (the speed issue, #18).

The timed figures are seconds per request (1 / requests per second at 16 connections), so the
printed ratio is health/lookup in requests per second; the summary states both rates and
lookup/health. Runs alternate health, lookup, health, … (after a short warm-up of each), and
every run must have answered every request with 2xx.

For scale, one PostGIS query per request: `tests.oracle.resolve_in_postgis` (the same rules
in one SQL statement). There is no HTTP endpoint for it, so it runs in process, from as many
client threads as wrk has connections (16), each with its own session, over the same points,
for as long as a wrk run; its queries per second are printed against /health's (the issue:
"about a quarter of it"), with its single-thread time per query.

--profile: after timing, one more lookup run against a second server under
`bench.server_profile` (cProfile in every thread); its top goes to stderr, the profile to
bench/.work/profiles/lookup_http.pstats.
"""

from __future__ import annotations

import pstats
import statistics
import sys
import threading
import time

import numpy as np

from bench.city import LOOKUP_CLASS, City, city_database
from bench.measure import Benchmark, MeasurementFailed, Result, Run, Timings, log, seconds
from bench.server import WRK_CONNECTIONS, Server, WrkResult, client_token, serving, wrk
from bench.synthetic import lookup_points
from gis.db import make_engine
from tests.oracle import resolve_in_postgis

TARGET = 0.80         # the speed issue (#18): a lookup with a class, ≥ 0.80 of /health
URLS = 2_000
DURATION_S = 10.0
WARMUP_S = 3.0


def measure(run: Run) -> Result:
    duration = max(3.0, DURATION_S * min(1.0, run.scale))
    with city_database("lookup_http", run.scale) as city:
        lon, lat = lookup_points(city.layout, URLS, seed=1)
        classes: list[str | None] = [LOOKUP_CLASS] * URLS
        paths = [f"/lookup?lon={x:.7f}&lat={y:.7f}" + (f"&class={c}" if c else "")
                 for x, y, c in zip(lon.tolist(), lat.tolist(), classes, strict=True)]
        health: list[float] = []
        lookup: list[float] = []
        latencies: list[str] = []
        auth = {"Authorization": f"Bearer {client_token(city.url)}"}
        with serving(city.url, "lookup_http", ready_path=paths[0], headers=auth) as server:
            checked = check(server, paths, auth)
            log(f"  lookup_http: {checked}")
            wrk(server, ["/health"], WARMUP_S, auth)
            wrk(server, paths, WARMUP_S, auth)
            for i in range(run.repeat):
                h = timed(server, ["/health"], duration, auth)
                k = timed(server, paths, duration, auth)
                health.append(h.requests_per_s)
                lookup.append(k.requests_per_s)
                latencies.append(f"lookup latency {k.latency}; health {h.latency}")
                log(f"  lookup_http {i + 1}/{run.repeat}: health {h.requests_per_s:,.0f} req/s, "
                    f"lookup {k.requests_per_s:,.0f} req/s ({k.requests:,} requests)")
        log(f"  lookup_http: one PostGIS query per request, {WRK_CONNECTIONS} threads in "
            "process")
        reference_qps, reference_s = reference(city, lon, lat, classes, duration)
        if run.profile is not None:
            profile(run, city, paths, duration, auth)

    timings = Timings([1 / r for r in lookup], [1 / r for r in health])
    lookup_rps, health_rps = statistics.median(lookup), statistics.median(health)
    share = lookup_rps / health_rps
    summary = (f"lookup {lookup_rps:,.0f} req/s, health {health_rps:,.0f} req/s, lookup/health "
               f"{share:.2f} (≥ {TARGET:.2f}: {'met' if share >= TARGET else 'MISSED'}); "
               f"PostGIS per request {reference_qps:,.0f} q/s in process "
               f"= {reference_qps / health_rps:.2f} of health")
    notes = [
        f"wrk -t2 -c{WRK_CONNECTIONS} -d{duration:.0f}s on loopback, one uvicorn worker; "
        f"{URLS:,} lookup URLs, each with class={LOOKUP_CLASS}; lookup rate limit raised",
        f"lookup req/s: {', '.join(f'{r:,.0f}' for r in lookup)}; health req/s: "
        f"{', '.join(f'{r:,.0f}' for r in health)}",
        *latencies,
        f"PostGIS reference (tests.oracle.resolve_in_postgis, no HTTP): {reference_qps:,.0f} "
        f"queries/s from {WRK_CONNECTIONS} threads; {seconds(reference_s)} per query from "
        "one thread (median)",
        checked,
    ]
    return Result(size=city.size, timings=timings, notes=notes, summary=summary)


def timed(server: Server, paths: list[str], duration: float,
          headers: dict[str, str]) -> WrkResult:
    result = wrk(server, paths, duration, headers)
    if result.bad:
        raise MeasurementFailed(f"{result.bad:,} of {result.requests:,} requests to "
                                f"{paths[0].split('?')[0]} failed or answered non-2xx")
    return result


def check(server: Server, paths: list[str], headers: dict[str, str]) -> str:
    """The first 200 URLs answer 200 with a lookup (grid and responsible party)."""
    import json

    conn = server.connection()
    try:
        for path in paths[:200]:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise MeasurementFailed(f"GET {path}: HTTP {response.status} {body[:200]!r}")
            answer = json.loads(body)
            if not answer.get("grid") or not answer.get("responsible"):
                raise MeasurementFailed(f"GET {path}: not a lookup answer: {body[:200]!r}")
    finally:
        conn.close()
    return "the first 200 lookup URLs answer 200 with a grid and a responsible party"


def reference(city: City, lon: np.ndarray, lat: np.ndarray, classes: list[str | None],
              duration: float) -> tuple[float, float]:
    """(queries/s from WRK_CONNECTIONS threads, median seconds per query from one thread)."""
    from sqlalchemy.orm import Session

    engine = make_engine(city.url, pool_size=WRK_CONNECTIONS, max_overflow=0)
    points = list(zip(lon.tolist(), lat.tolist(), classes, strict=True))

    def one(session: Session, x: float, y: float, c: str | None) -> None:
        resolve_in_postgis(session, x, y, c, "component" if c else None)

    try:
        with Session(engine) as session:
            single = []
            for x, y, c in points[:500]:
                start = time.perf_counter()
                one(session, x, y, c)
                single.append(time.perf_counter() - start)
            session.rollback()
        counts = [0] * WRK_CONNECTIONS
        failures: list[BaseException] = []
        go = threading.Event()
        stop_at = [0.0]

        def client(k: int) -> None:
            try:
                with Session(engine) as session:
                    i = k * 7919
                    go.wait()
                    while time.perf_counter() < stop_at[0]:
                        x, y, c = points[i % len(points)]
                        one(session, x, y, c)
                        session.rollback()    # each request its own transaction, as a route
                        counts[k] += 1
                        i += 1
            except BaseException as exc:   # reported below, not lost in a thread
                failures.append(exc)

        threads = [threading.Thread(target=client, args=(k,)) for k in range(WRK_CONNECTIONS)]
        for t in threads:
            t.start()
        start = time.perf_counter()
        stop_at[0] = start + duration
        go.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - start
    finally:
        engine.dispose()
    if failures:
        raise MeasurementFailed(f"the PostGIS reference failed: {failures[0]!r}")
    return sum(counts) / elapsed, statistics.median(single)


def profile(run: Run, city: City, paths: list[str], duration: float,
            headers: dict[str, str]) -> None:
    assert run.profile is not None
    run.profile.mkdir(parents=True, exist_ok=True)
    out = run.profile / f"{run.name}.pstats"
    out.unlink(missing_ok=True)
    with serving(city.url, "lookup_http (profiled)", ready_path=paths[0],
                 profile_to=out, headers=headers) as server:
        result = wrk(server, paths, duration, headers)
    log(f"  {run.name}: profiled server, {result.requests_per_s:,.0f} req/s under cProfile; "
        f"its profile (every thread) in {out}; top by own time:")
    for _ in range(20):   # the server writes it on its way out
        if out.exists():
            break
        time.sleep(0.5)
    pstats.Stats(str(out), stream=sys.stderr).sort_stats("tottime").print_stats(25)


BENCHMARK = Benchmark(
    name="lookup_http",
    ours="GET /lookup?lon=&lat=[&class=0101] through wrk -t2 -c16 (seconds per request)",
    anchor="GET /health of the same server, same wrk settings",
    measure=measure,
    default_repeat=3,
)
