"""The HTTP side of the benchmarks: citygrid's server started as a subprocess on a throwaway
database, an API token for it, and wrk to load it.

The server is `python -m api serve` (what `citygrid serve` runs: one uvicorn worker), with
DATABASE_URL naming the benchmark's database. Its lookup rate limit (CITYGRID_LOOKUP_RATE_PER_
MINUTE, 6,000 a minute per client by default) is raised out of the way: wrk is one client
address making tens of thousands of requests, and the 429s it would get are not lookups.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.databases import ROOT
from bench.measure import MeasurementFailed, log
from gis.db import make_engine, session_scope

STARTUP_S = 300.0    # the server answers /health at once; /lookup once the index is loaded
NO_RATE_LIMIT = str(10**9)


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connection(self) -> http.client.HTTPConnection:
        """A keep-alive connection (what a browser or a client library holds open)."""
        return http.client.HTTPConnection(self.host, self.port, timeout=120)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = self.connection()
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def log_tail(self) -> str:
        lines = self.log_path.read_text("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else "no message"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str, label: str, *, ready_path: str | None = None,
            profile_to: Path | None = None,
            settings: dict[str, str] | None = None,
            headers: dict[str, str] | None = None) -> Iterator[Server]:
    """citygrid's server on a free loopback port, until the block ends.

    It is ready when /health answers 200 and, when given, `ready_path` too (a /lookup answers
    once the lookup index is loaded). `profile_to`: run it under `bench.server_profile`, which
    writes a cProfile of every thread there when the server stops. `settings`: more of its
    environment (CITYGRID_… variables). `headers`: sent while waiting for `ready_path` (a
    token: lookups need one).
    """
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "CITYGRID_LOOKUP_RATE_PER_MINUTE": NO_RATE_LIMIT,
           **(settings or {})}
    args = ["serve", "--host", "127.0.0.1", "--port", str(port)]
    if profile_to is None:
        cmd = [sys.executable, "-m", "api", *args]
    else:
        cmd = [sys.executable, "-m", "bench.server_profile", str(profile_to), *args]
    with tempfile.NamedTemporaryFile(prefix=f"citygrid-bench-{label}-", suffix=".log",
                                     delete=False) as fh:
        log_path = Path(fh.name)
    with log_path.open("wb") as out:
        process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=out)
    server = Server("127.0.0.1", port, process, log_path)
    try:
        started = time.perf_counter()
        _wait(server, "/health", started)
        if ready_path is not None:
            _wait(server, ready_path, started, headers)
        log(f"  {label}: server pid {process.pid} on {server.base} ready in "
            f"{time.perf_counter() - started:.1f} s")
        yield server
    finally:
        stop(process)
        log_path.unlink(missing_ok=True)


def _wait(server: Server, path: str, started: float,
          headers: dict[str, str] | None = None) -> None:
    last = "no answer"
    while time.perf_counter() - started < STARTUP_S:
        if server.process.poll() is not None:
            raise MeasurementFailed(f"the server exited {server.process.returncode} while "
                                    f"starting: {server.log_tail()}")
        try:
            status, body = server.get(path, headers)
        except OSError as exc:
            last = str(exc)
        else:
            if status == 200:
                return
            last = f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
        time.sleep(0.5)
    raise MeasurementFailed(f"the server did not answer {path} with 200 within {STARTUP_S:.0f} "
                            f"s ({last})")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started, gently first (uvicorn shuts down on SIGINT)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def admin_token(url: str) -> str:
    """A city_admin API token in the benchmark's database (it reads every district)."""
    from api.tokens import create_token

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            raw, _ = create_token(session, role="city_admin", districts=None,
                                  name="bench")
    finally:
        engine.dispose()
    return raw


def client_token(url: str) -> str:
    """An api_client token of every district in the benchmark's database (lookups need one)."""
    from api.tokens import create_token
    from grid.districts import list_districts

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            codes = [d.code for d in list_districts(session)]
            raw, _ = create_token(session, role="api_client", districts=codes, name="bench")
    finally:
        engine.dispose()
    return raw


# -- wrk ----------------------------------------------------------------------------------------

WRK_THREADS = 2
WRK_CONNECTIONS = 16

_LUA = """\
-- Written by bench/server.py: cycle through these paths, each thread from its own start.
local paths = {
%s
}
local i = 0
local threads = 0
function setup(thread)
  thread:set("start", threads * 7919)
  threads = threads + 1
end
function init(args)
  i = start %% #paths
end
local headers = {%s}
function request()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], headers)
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float
    requests: int
    bad: int                # non-2xx/3xx responses and socket errors
    latency: str            # wrk's own "Latency" line: avg, stdev, max
    # seconds, from `wrk --latency` (its distribution: p50, p99) and its "Latency" line (max);
    # None without --latency
    p50: float | None = None
    p99: float | None = None
    max: float | None = None


def wrk(server: Server, paths: Sequence[str], seconds: float,
        headers: dict[str, str] | None = None, *, latency: bool = False) -> WrkResult:
    """wrk -t2 -c16 on loopback, cycling through `paths`, with `headers` on every request;
    `latency`: with --latency, so that the result has p50, p99 and max."""
    body = ",\n".join(f'  "{p}"' for p in paths)
    fields = ", ".join(f'["{k}"] = "{v}"' for k, v in (headers or {}).items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(_LUA % (body, fields))
        script = fh.name
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{WRK_CONNECTIONS}", f"-d{max(1, round(seconds))}s",
           *(["--latency"] if latency else []), "-s", script, server.base]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        raise MeasurementFailed("wrk is not installed (Debian: apt-get install wrk)") from None
    finally:
        os.unlink(script)
    if done.returncode != 0:
        raise MeasurementFailed(f"wrk exited {done.returncode}: {done.stderr.strip()}")
    if server.process.poll() is not None:
        raise MeasurementFailed(f"the server died under load: {server.log_tail()}")
    return parse_wrk(done.stdout)


def parse_wrk(text: str) -> WrkResult:
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    if rate is None or total is None:
        raise MeasurementFailed(f"cannot read wrk's output: {text.strip()[:300]}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       text)
    latency = re.search(r"Latency\s+(\S+)\s+(\S+)\s+(\S+)", text)
    # --latency adds "Latency Distribution" with lines like "     99%   12.34ms"
    shares = {m.group(1): _wrk_seconds(m.group(2))
              for m in re.finditer(r"^\s+(\d+)%\s+(\S+)\s*$", text, re.MULTILINE)}
    return WrkResult(
        requests_per_s=float(rate.group(1)), requests=int(total.group(1)),
        bad=(int(bad.group(1)) if bad else 0) + (sum(map(int, errors.groups())) if errors else 0),
        latency=(f"avg {latency.group(1)}, stdev {latency.group(2)}, max {latency.group(3)}"
                 if latency else "?"),
        p50=shares.get("50"), p99=shares.get("99"),
        max=_wrk_seconds(latency.group(3)) if latency and shares else None)


_WRK_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _wrk_seconds(text: str) -> float:
    """wrk's 1.23ms, 456.00us, 1.02s, 1.00m as seconds."""
    found = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if found is None:
        raise MeasurementFailed(f"cannot read wrk's time {text!r}")
    return float(found.group(1)) * _WRK_UNITS[found.group(2)]
