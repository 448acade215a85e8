"""Reads from a real PostgreSQL standby (CITYGRID_READ_DATABASE_URL): a primary cluster of this
module's own with the sample city, a standby made from it with `pg_basebackup -R` (`citygrid db
standby`'s code), a server pointed at both; then the whole arrangement — two API processes, each
serving one county, behind nginx, on the primary and the standby; each time the primary is
stopped and started again under the running servers.
"""

from __future__ import annotations

import math
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import requests

import migrations
from api.demo import load_samples
from gis.cluster import LocalCluster
from gis.db import ensure_postgis, make_engine
from gis.errors import DatabaseUnavailable
from tests.conftest import make_token, serving
from tests.test_routing import first_event_class, nginx_in_front

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalCluster, str, str]]:
    """(the primary, its URL, the standby's URL), with the sample city on the primary."""
    root = tmp_path_factory.mktemp("replicas")
    primary = LocalCluster(root / "primary", 5640)
    standby = LocalCluster(root / "standby", 5660)
    url = primary.up()
    engine = make_engine(url)
    ensure_postgis(engine)
    migrations.upgrade(engine)
    load_samples(engine, echo=lambda _: None, cases=False)
    engine.dispose()
    read_url = standby.make_standby(primary)
    try:
        yield primary, url, read_url
    finally:
        for cluster in (standby, primary):
            cluster.down()
            # as root, the server's files are in a folder of the postgres user's own
            shutil.rmtree(cluster.data.parent, ignore_errors=True)


def _sql(url: str, statement: str) -> object:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        cur = conn.execute(statement)
        row = cur.fetchone() if cur.description else None
        return row[0] if row else None


def _caught_up(primary_url: str, standby_url: str, timeout: float = 30.0) -> None:
    lsn = _sql(primary_url, "SELECT pg_current_wal_lsn()")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _sql(standby_url, f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn"):
            return
        time.sleep(0.05)
    raise AssertionError("the standby did not replay the primary's WAL in time")


@pytest.fixture(scope="module")
def points(pair) -> dict[str, tuple[float, float]]:
    """A point inside a grid of each county, and its grid: {district: (lon, lat, grid)}."""
    with psycopg.connect(pair[1]) as conn:
        rows = conn.execute(
            "SELECT DISTINCT ON (district_code) district_code, ST_X(p), ST_Y(p), code FROM "
            "(SELECT district_code, code, ST_PointOnSurface(geom) AS p FROM grid "
            "WHERE valid_to IS NULL) g ORDER BY district_code, code").fetchall()
    return {r[0]: (float(r[1]), float(r[2]), r[3]) for r in rows}


def _tile(lon: float, lat: float, z: int = 16) -> str:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/tiles/grids/{z}/{x}/{y}.pbf"


def _report(base: str, token: str, where: tuple[float, float, str],
            cls: str = "0102") -> requests.Response:
    return requests.post(f"{base}/cases", headers={"Authorization": f"Bearer {token}"},
                         json={"lon": where[0], "lat": where[1], "class": cls, "kind": "event",
                               "description": "暴露垃圾", "source": "12345热线"}, timeout=30)


def _until_written(post: Callable[[], requests.Response], timeout: float = 60.0
                   ) -> requests.Response:
    """The primary is back: a write goes through again within `timeout` (the server was not
    restarted)."""
    deadline = time.monotonic() + timeout
    while True:
        got = post()
        if got.status_code == 201 or time.monotonic() > deadline:
            return got
        assert got.status_code == 503, got.text
        time.sleep(0.5)


def test_the_standby_is_a_real_one(pair):
    _, url, read_url = pair
    assert _sql(read_url, "SELECT pg_is_in_recovery()") is True
    assert _sql(url, "SELECT pg_is_in_recovery()") is False
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        _sql(read_url, "CREATE TABLE x (a int)")


def test_reads_go_to_the_standby_writes_to_the_primary_and_a_writer_reads_its_write(pair,
                                                                                   points):
    primary, url, read_url = pair
    here = points["341802"]
    admin = make_token(url)
    late = make_token(url)          # never used before the primary stops
    intake = make_token(url, "operator", "341802", post="受理员")
    auth = {"Authorization": f"Bearer {admin}"}
    _caught_up(url, read_url)
    with serving(url, read_database_url=read_url) as base:
        lon, lat = here[:2]
        assert requests.get(f"{base}/lookup", params={"lon": lon, "lat": lat}, headers=auth,
                            timeout=30).json()["grid"]["code"] == here[2]
        # The standby stops replaying: what the primary writes from now on, it does not show.
        _sql(read_url, "SELECT pg_wal_replay_pause()")
        try:
            # A change that this server hears nothing of (no NOTIFY) is not on the standby:
            # a read shows the old name, so the read went to the standby.
            _sql(url, "UPDATE district SET name = '宣州区（改）' WHERE code = '341802'")
            shown = requests.get(f"{base}/districts/341802", headers=auth, timeout=30)
            assert shown.status_code == 200 and shown.json()["name"] == "宣州区"
            # A client that knows the change's WAL position (a write's Citygrid-LSN) asks to
            # read after it: the standby has not replayed it, so the primary answers.
            position = _sql(url, "SELECT pg_current_wal_lsn()::text")
            after = requests.get(f"{base}/districts/341802", timeout=30,
                                 headers={**auth, "Citygrid-Read-After": str(position)})
            assert after.status_code == 200 and after.json()["name"] == "宣州区（改）"
            bad = requests.get(f"{base}/districts/341802", timeout=30,
                               headers={**auth, "Citygrid-Read-After": "yesterday"})
            assert bad.status_code == 400
            assert "Citygrid-Read-After" in bad.json()["error"]["message"]
            # A write through this server goes to the primary, and the writer's next read sees
            # it although the standby is behind: that read goes to the primary.
            created = _report(base, admin, here)
            assert created.status_code == 201, created.text
            number = created.json()["number"]
            high, _, low = created.headers["Citygrid-LSN"].partition("/")
            assert int(high, 16) >= 0 and int(low, 16) > 0
            again = requests.get(f"{base}/cases/{number}", headers=auth, timeout=30)
            assert again.status_code == 200 and again.json()["number"] == number
            listed = requests.get(f"{base}/cases", params={"district": "341802"}, headers=auth,
                                  timeout=30).json()
            assert number in {c["number"] for c in listed["items"]}
        finally:
            _sql(read_url, "SELECT pg_wal_replay_resume()")
        _caught_up(url, read_url)
        assert requests.get(f"{base}/districts/341802", headers=auth,
                            timeout=30).json()["name"] == "宣州区（改）"

        # The primary stops: reads and lookups go on from the standby, writes answer 503 at
        # once.
        primary.down()
        started = time.monotonic()
        refused = _report(base, admin, here)
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "database_unavailable"
        assert time.monotonic() - started < 8.0
        accept = requests.post(f"{base}/cases/{number}/transitions", json={"action": "accept"},
                               headers={"Authorization": f"Bearer {intake}"}, timeout=30)
        assert accept.status_code == 503, accept.text
        for path, params in (("/lookup", {"lon": lon, "lat": lat}),
                             (f"/cases/{number}", {}), ("/cases", {"district": "341802"}),
                             ("/collections/grids/items", {"limit": 10}),
                             (_tile(lon, lat), {}),
                             ("/stats", {"district": "341802", "from": "2026-01-01",
                                         "to": "2026-12-31"})):
            got = requests.get(f"{base}{path}", params=params, headers=auth, timeout=30)
            assert got.status_code in (200, 204), (path, got.status_code, got.text)
        # a token the server has not seen yet is checked on the standby
        fresh = requests.get(f"{base}/cases/{number}",
                             headers={"Authorization": f"Bearer {late}"}, timeout=30)
        assert fresh.status_code == 200, fresh.text

        # The primary comes back: writes work again, the server not restarted.
        primary.up()
        written = _until_written(lambda: _report(base, admin, here))
        assert written.status_code == 201, written.text

        # The standby stops: reads go to the primary (a standby that does not answer is
        # passed over), then to the standby again once it is back.
        standby = LocalCluster(Path(str(primary.home).replace("primary", "standby")), 5660)
        standby.down()
        try:
            time.sleep(1.2)        # past what the server trusts of the standby unasked
            for _ in range(3):
                got = requests.get(f"{base}/cases/{number}", headers=auth, timeout=30)
                assert got.status_code == 200, got.text
        finally:
            standby.make_standby(primary)


def test_two_processes_behind_nginx_on_a_primary_and_a_standby(pair, points, tmp_path):
    """The README's arrangement: nginx, one API process per county, both reading the standby;
    the primary stopped and started again under them."""
    primary, url, read_url = pair
    admin = make_token(url)
    auth = {"Authorization": f"Bearer {admin}"}
    engine = make_engine(url)
    event = first_event_class(engine)
    engine.dispose()
    _caught_up(url, read_url)
    with nginx_in_front(tmp_path, url, CITYGRID_READ_DATABASE_URL=read_url) as (front, a, b):
        def lookup(district: str) -> requests.Response:
            lon, lat, _ = points[district]
            return requests.get(f"{front}/lookup", params={"lon": lon, "lat": lat},
                                headers=auth, timeout=30)

        for district in ("341802", "341881"):
            got = lookup(district)
            assert got.status_code == 200 and got.json()["grid"]["code"] == points[district][2]
        created = _report(front, admin, points["341881"], event)
        assert created.status_code == 201, created.text
        number = created.json()["number"]
        assert number.startswith("341881-")
        assert requests.get(f"{front}/cases/{number}", headers=auth,
                            timeout=30).status_code == 200

        primary.down()
        for district in ("341802", "341881"):
            assert lookup(district).status_code == 200
        for process, district in ((a, "341802"), (b, "341881")):
            detail = requests.get(f"{process}/health/detail", headers=auth, timeout=30).json()
            assert detail["served"] == [district]
            assert detail["index"]["districts"] == [district]
            assert [s["reachable"] for s in detail["database"]["standbys"]] == [True]
        shown = requests.get(f"{front}/cases/{number}", headers=auth, timeout=30)
        assert shown.status_code == 200 and shown.json()["number"] == number
        listed = requests.get(f"{front}/cases", params={"district": "341881"}, headers=auth,
                              timeout=30)
        assert number in {c["number"] for c in listed.json()["items"]}
        started = time.monotonic()
        refused = _report(front, admin, points["341802"])
        assert refused.status_code == 503, refused.text
        assert refused.json()["error"]["code"] == "database_unavailable"
        assert time.monotonic() - started < 8.0

        primary.up()
        for district, cls in (("341802", "0102"), ("341881", event)):
            written = _until_written(lambda d=district, c=cls: _report(front, admin,  # type: ignore[misc]
                                                                       points[d], c))
            assert written.status_code == 201, written.text
            assert written.json()["number"].startswith(f"{district}-")


def test_db_standby_refuses_a_server_it_does_not_run(cli):
    result = cli("db", "standby", str(Path("/tmp") / "nowhere"), check=2)
    assert "pg_basebackup -R" in result.stderr


def test_db_standby_refuses_the_primarys_own_folder_and_a_database_that_is_not_one(pair):
    primary, _, _ = pair
    with pytest.raises(DatabaseUnavailable, match="主库的文件夹"):
        LocalCluster(primary.home).make_standby(primary)
    other = LocalCluster(Path(str(primary.home).replace("primary", "standby")))
    assert (other.data / "standby.signal").exists()     # the module's own standby: accepted
    (other.data / "standby.signal").rename(other.data / "standby.signal.kept")
    try:
        with pytest.raises(DatabaseUnavailable, match="不是备库"):
            other.make_standby(primary)
    finally:
        (other.data / "standby.signal.kept").rename(other.data / "standby.signal")
