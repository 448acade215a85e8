"""Tests run against a real PostGIS: citygrid's own cluster (or the server in
CITYGRID_TEST_DATABASE_URL / DATABASE_URL), in throwaway databases made for this session.

- `db`: a session inside a transaction that is rolled back after the test.
- `fresh_url`: a database of its own (cloned from a migrated template), for tests that run the
  `citygrid` command or commit.
Without a reachable server the database tests fail, locally as in CI: `make test` starts one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

import migrations
from gis.db import ensure_postgis, make_engine

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "data" / "samples"
CITYGRID = Path(sys.executable).parent / "citygrid"


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _server_url() -> str:
    url = os.environ.get("CITYGRID_TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return url
    from api.settings import Settings
    from gis.cluster import LocalCluster

    settings = Settings(_env_file=None)
    return LocalCluster(ROOT / ".citygrid", settings.pg_port).up()


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium, headless, driven by Playwright (the map's and the console's tests)."""
    if CHROMIUM is None:
        # not skipped: the map is part of what is tested, and `make test` installs Chromium
        pytest.fail("chromium is not installed (`make test` installs it: scripts/setup.sh test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    try:
        url = _server_url()
        with psycopg.connect(_with_db(url, "postgres"), autocommit=True, connect_timeout=10):
            pass
    except Exception as exc:
        # not skipped: every test of the database needs one, and `make test` starts it
        pytest.fail(f"no PostgreSQL server for the tests (`make test` starts one): {exc}")
    yield url


class Databases:
    """Creates and drops throwaway databases on the test server."""

    def __init__(self, server_url: str) -> None:
        self.server_url = server_url
        self.prefix = f"citygrid_test_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(_with_db(self.server_url, "postgres"), autocommit=True)

    def create(self, suffix: str, template: str | None = None) -> str:
        name = f"{self.prefix}_{suffix}"
        with self.admin() as conn:
            clause = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{clause}')
        self.created.append(name)
        return _with_db(self.server_url, name)

    def drop_all(self) -> None:
        with self.admin() as conn:
            for name in reversed(self.created):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(server_url: str) -> Iterator[Databases]:
    dbs = Databases(server_url)
    template_url = dbs.create("template")
    engine = make_engine(template_url)
    ensure_postgis(engine)
    migrations.upgrade(engine)
    engine.dispose()
    dbs.template = urlsplit(template_url).path.lstrip("/")  # type: ignore[attr-defined]
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def engine(databases: Databases) -> Iterator[Engine]:
    url = databases.create("main", template=databases.template)  # type: ignore[attr-defined]
    eng = make_engine(url)
    with eng.connect() as conn:
        assert conn.execute(sa.text("SELECT postgis_version()")).scalar()
    yield eng
    eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test (commits become savepoints)."""
    with engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def fresh_url(databases: Databases) -> str:
    """A migrated database of this test's own."""
    return databases.create(f"t{uuid.uuid4().hex[:8]}", template=databases.template)  # type: ignore[attr-defined]


@pytest.fixture
def fresh_engine(fresh_url: str) -> Iterator[Engine]:
    eng = make_engine(fresh_url)
    yield eng
    eng.dispose()


class Cli:
    """Runs the `citygrid` command against a database: in this process through click's
    CliRunner (its entry point, `api.cli.main`, with its one-line errors and exit statuses), or
    as a real process (`process=True`) where the process itself matters."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.env = {**os.environ, "DATABASE_URL": url, "CITYGRID_HOME": str(cwd / ".citygrid")}
        self.env.pop("CITYGRID_DEBUG", None)
        self.cwd = cwd

    def __call__(self, *args: str, check: int | None = 0,
                 process: bool = False) -> subprocess.CompletedProcess[str]:
        result = self._process(args) if process else self._in_process(args)
        if check is not None:
            assert result.returncode == check, (
                f"citygrid {' '.join(args)} exited {result.returncode}, expected {check}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}")
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def _process(self, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(CITYGRID), *args], capture_output=True, text=True,
                              env=self.env, cwd=self.cwd, timeout=300)

    def _in_process(self, args: tuple[str, ...]) -> subprocess.CompletedProcess[str]:
        from click.testing import CliRunner

        from api.cli import main

        code = 0
        here = os.getcwd()
        with CliRunner().isolation(env={"DATABASE_URL": self.env["DATABASE_URL"],
                                        "CITYGRID_HOME": self.env["CITYGRID_HOME"],
                                        "CITYGRID_DEBUG": None}) as (out, err, _):
            os.chdir(self.cwd)
            try:
                main(list(args))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            finally:
                os.chdir(here)
                sys.stdout.flush()
                sys.stderr.flush()
            stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
        return subprocess.CompletedProcess(["citygrid", *args], code, stdout, stderr)


@pytest.fixture
def cli(fresh_url: str, tmp_path: Path) -> Cli:
    return Cli(fresh_url, tmp_path)


@pytest.fixture(scope="module")
def city(databases: Databases) -> Iterator[tuple[str, Engine, object]]:
    """The sample city loaded once for a test module: (url, engine, lookup index)."""
    from api.demo import load_samples
    from lookup.index import LookupIndex

    url = databases.create(f"city{uuid.uuid4().hex[:6]}",
                           template=databases.template)  # type: ignore[attr-defined]
    eng = make_engine(url)
    load_samples(eng, echo=lambda _: None, cases=False)
    index = LookupIndex(eng).load()
    yield url, eng, index
    eng.dispose()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(url: str, **settings: object) -> Iterator[str]:
    """citygrid served by uvicorn on a real port, for clients that speak HTTP themselves
    (GDAL, the Open311 client, Chromium): yields its base address. `settings` are those of
    `api.settings.Settings` beside the database (read_database_url, districts, …)."""
    import threading
    import time

    import requests
    import uvicorn

    from api.app import create_app
    from api.settings import Settings

    port = _free_port()
    app = create_app(Settings(database_url=url, **settings))  # type: ignore[arg-type]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if requests.get(f"{base}/health", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.05)
    # the lookup index loads in the background at start: a client's first report or lookup
    # would wait for it, on a loaded machine longer than a browser test's patience
    app.state.lookups.get()
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(city: tuple[str, Engine, object]) -> Iterator[str]:
    """The sample city served on a real port."""
    with serving(city[0]) as base:
        yield base


@contextmanager
def reloaded(app: object, district: str, timeout: float = 60.0) -> Iterator[None]:
    """Wait, when the block ends, until the server's lookup index has reloaded `district` (an
    import committed in the block announces it through NOTIFY): an event, not a poll."""
    import threading

    index = app.state.lookups.get().index  # type: ignore[attr-defined]
    done = threading.Event()

    def seen(code: str) -> None:
        if code == district:
            done.set()

    index.on_reload.append(seen)
    try:
        yield
        assert done.wait(timeout), f"the index did not reload {district} within {timeout} s"
    finally:
        index.on_reload.remove(seen)


def make_token(url: str, role: str = "city_admin", districts: str | None = None, *,
               post: str | None = None, name: str | None = None,
               department: str | None = None, grids: str | None = None) -> str:
    """A new API token on the database at `url` (made as the administrator, like the CLI); with
    a post, issued to `name` (default: the post's holder in the sample's histories)."""
    from api.tokens import create_token
    from gis.db import session_scope

    eng = make_engine(url)
    try:
        with session_scope(eng) as s:
            raw, _ = create_token(s, role=role, districts=districts, post=post,
                                  name=name or (f"{post}甲" if post else None),
                                  department=department, grids=grids)
    finally:
        eng.dispose()
    return raw


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def admin_token(city: tuple[str, Engine, object]) -> str:
    return make_token(city[0])


@pytest.fixture
def county(fresh_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A database of this test's own with the tiny county of tests/tiny.py (calendars, duty
    hours and 考核办法 are the city's: a test may change them)."""
    from tests import tiny

    eng = make_engine(fresh_url)
    with Session(eng) as s:
        tiny.build(s, tmp_path)
        s.commit()
    yield eng
    eng.dispose()
