"""Processes that serve their own districts (CITYGRID_DISTRICTS), and nginx in front of two of
them routing by district code (docs/nginx-citygrid.conf, run as it is with its ports changed).

The sample city has two counties, 341802 宣州区 and 341881 宁国市."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from api.app import create_app
from api.settings import Settings
from tests.conftest import CITYGRID, ROOT, _free_port, bearer, make_token

NGINX_CONF = ROOT / "docs" / "nginx-citygrid.conf"


@pytest.fixture(scope="module")
def points(city) -> dict[str, tuple[float, float]]:
    """A point inside a grid of each county."""
    _, engine, _ = city
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT DISTINCT ON (district_code) district_code, ST_X(p), ST_Y(p) FROM "
            "(SELECT district_code, code, ST_PointOnSurface(geom) AS p FROM grid "
            "WHERE valid_to IS NULL) g ORDER BY district_code, code")).all()
    return {r[0]: (float(r[1]), float(r[2])) for r in rows}


@pytest.fixture(scope="module")
def only_xuanzhou(city, admin_token) -> Iterator[TestClient]:
    url, _, _ = city
    app = create_app(Settings(database_url=url, districts="341802"))
    with TestClient(app, headers=bearer(admin_token)) as client:
        app.state.lookups.get()
        yield client


def _at(point: tuple[float, float]) -> dict[str, float]:
    return {"lon": point[0], "lat": point[1]}


def _not_served(response: requests.Response, district: str) -> None:
    assert response.status_code == 421, response.text
    error = response.json()["error"]
    assert error["code"] == "district_not_served"
    assert error["detail"] == {"district": district}
    assert district in error["message"] and "不服务区县" in error["message"]
    assert response.headers["Citygrid-District"] == district


def test_a_process_loads_and_answers_only_its_districts(only_xuanzhou, points, city):
    client = only_xuanzhou
    index = client.app.state.lookups.get().index
    assert sorted(index.districts) == ["341802"]
    here = client.get("/lookup", params=_at(points["341802"]))
    assert here.status_code == 200 and here.json()["district"]["code"] == "341802"
    _not_served(client.get("/lookup", params=_at(points["341881"])),
                "341881")
    # a point in no county at all is still "outside every grid"
    assert client.get("/lookup", params={"lon": 100.0, "lat": 30.0}).status_code == 404
    bulk = client.post("/lookup", json=[list(points["341802"]), list(points["341881"]),
                                        [100.0, 30.0]]).json()["results"]
    assert bulk[0]["district"]["code"] == "341802"
    assert bulk[1]["error"]["code"] == "district_not_served"
    assert bulk[1]["error"]["district"] == "341881"
    assert bulk[2]["error"]["code"] == "outside_coverage"


def test_a_read_naming_another_district_is_sent_on(only_xuanzhou, city):
    client = only_xuanzhou
    for path, params in (("/cases", {"district": "341881"}),
                         ("/cases/341881-20261201-0001", {}),
                         ("/districts/341881", {}), ("/districts/341881/grids", {}),
                         ("/collections/grids/items/341881001001001", {}),
                         ("/stats", {"district": "341881", "from": "2026-01-01",
                                     "to": "2026-12-31"}),
                         ("/open311/v2/requests.json", {"service_request_id": "341881-1"})):
        got = client.get(path, params=params)
        if path.startswith("/open311"):
            # GeoReport's error list, with the status and the header a router needs
            assert got.status_code == 421 and got.headers["Citygrid-District"] == "341881"
        else:
            _not_served(got, "341881")
    assert client.get("/districts/341802").status_code == 200
    # a city administrator's read that names no district is read whole from the database
    grids = client.get("/collections/grids/items", params={"limit": 10000}).json()
    assert {str(f["id"])[:6] for f in grids["features"]} == {"341802", "341881"}


def test_a_change_elsewhere_drops_its_tiles_and_refreshes_its_outline(only_xuanzhou, city,
                                                                      points):
    """An import in a district the process does not serve: its tiles (which the process renders
    for a city administrator) are dropped, and its outline is read again."""
    import threading

    client = only_xuanzhou
    index = client.app.state.lookups.get().index
    before = index.elsewhere
    heard = threading.Event()

    def changed(code: str) -> None:
        if code == "341881":
            heard.set()

    index.on_reload.append(changed)
    try:
        with city[1].begin() as conn:
            conn.execute(sa.text("SELECT pg_notify('citygrid_changes', 'grids:341881')"))
        assert heard.wait(30)
    finally:
        index.on_reload.remove(changed)
    assert index.elsewhere is not before and index.elsewhere.at(*points["341881"]) == "341881"
    assert index.districts.keys() == {"341802"}


def test_a_token_of_another_district_only_is_sent_on(only_xuanzhou, city):
    url, _, _ = city
    ningguo = make_token(url, "district_gis", "341881")
    _not_served(only_xuanzhou.get("/cases", headers=bearer(ningguo)), "341881")
    both = make_token(url, "district_gis", "341802,341881")
    assert only_xuanzhou.get("/cases", headers=bearer(both)).status_code == 200


@pytest.mark.parametrize("variable, value, named", [
    ("CITYGRID_DISTRICTS", "341802,3418", "'3418'"),
    ("CITYGRID_READ_DATABASE_URL", "postgresql://a@h/x, mysql://u:secret@standby/db",
     "'standby/db'")])
def test_a_bad_setting_of_several_servers_is_one_line(cli, variable, value, named):
    cli.env[variable] = value
    result = cli("serve", "--port", "1", check=2, process=True)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0] and named in lines[0], lines
    assert "secret" not in result.stderr


# -- two processes behind nginx ----------------------------------------------------------------


def _wait(url: str, process: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{url}: exited {process.returncode}: "
                                 f"{process.stderr.read() if process.stderr else ''}")
        try:
            if requests.get(url, timeout=2).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@contextmanager
def nginx_in_front(root: Path, url: str, **env: str) -> Iterator[tuple[str, str, str]]:
    """nginx (docs/nginx-citygrid.conf, its ports changed) on a free port in front of two
    `citygrid serve` processes on the database at `url`, one serving 341802, the other 341881,
    with `env` (CITYGRID_…) beside: the addresses of nginx and of the two processes."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        # not skipped: the routing is part of what is tested, and `make test` installs nginx
        pytest.fail("nginx is not installed (`make test` installs it: scripts/setup.sh test)")
    ports = {name: _free_port() for name in ("nginx", "a", "b")}
    processes = []
    for name, district in (("a", "341802"), ("b", "341881")):
        environment = {**os.environ, "DATABASE_URL": url, "CITYGRID_DISTRICTS": district,
                       "CITYGRID_HOME": str(root / name), "CITYGRID_TILE_PRERENDER_ZOOMS": "",
                       **env}
        processes.append(subprocess.Popen(
            [str(CITYGRID), "serve", "--port", str(ports[name])], env=environment, cwd=root,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    conf = (NGINX_CONF.read_text(encoding="utf-8")
            .replace("127.0.0.1:8000", f"127.0.0.1:{ports['nginx']}")
            .replace("127.0.0.1:8001", f"127.0.0.1:{ports['a']}")
            .replace("127.0.0.1:8002", f"127.0.0.1:{ports['b']}"))
    (root / "citygrid.conf").write_text(conf, encoding="utf-8")
    temp = root / "temp"
    temp.mkdir()
    os.chmod(temp, 0o777)
    (root / "nginx.conf").write_text(
        f"pid {root}/nginx.pid;\nerror_log {root}/error.log warn;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {temp}/body;\n"
        f"  proxy_temp_path {temp}/proxy;\n  fastcgi_temp_path {temp}/fastcgi;\n"
        f"  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
        f"  include {root}/citygrid.conf;\n}}\n", encoding="utf-8")
    server = subprocess.Popen([nginx, "-p", str(root), "-c", str(root / "nginx.conf"),
                               "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    try:
        for name, p in (("a", processes[0]), ("b", processes[1])):
            _wait(f"http://127.0.0.1:{ports[name]}/health", p)
        _wait(f"http://127.0.0.1:{ports['nginx']}/health", server)
        yield tuple(f"http://127.0.0.1:{ports[n]}" for n in ("nginx", "a", "b"))  # type: ignore[misc]
    finally:
        server.send_signal(signal.SIGQUIT)
        for p in processes:
            p.send_signal(signal.SIGINT)
        for p in (server, *processes):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def first_event_class(engine: Engine) -> str:
    """An event class of GB/T 47678 (341881's scheme)."""
    with engine.connect() as conn:
        return str(conn.execute(sa.text(
            "SELECT min(code) FROM class_catalog WHERE scheme = 'gb47678' AND kind = 'event'")
        ).scalar_one())


@pytest.fixture(scope="module")
def behind_nginx(city, tmp_path_factory) -> Iterator[tuple[str, str, str]]:
    with nginx_in_front(tmp_path_factory.mktemp("nginx"), city[0]) as addresses:
        yield addresses


def test_nginx_sends_each_request_to_the_process_of_its_district(behind_nginx, points,
                                                                  admin_token, city):
    front, a, _ = behind_nginx
    event = first_event_class(city[1])
    auth = bearer(admin_token)
    lon, lat = points["341881"]
    # straight to the 341802 process: 421, naming the district
    _not_served(requests.get(f"{a}/lookup", params={"lon": lon, "lat": lat}, headers=auth,
                             timeout=60), "341881")
    # through nginx: a lookup by coordinates names no district; the default process answers
    # 421 and nginx asks the 341881 process
    for code, (x, y) in points.items():
        got = requests.get(f"{front}/lookup", params={"lon": x, "lat": y}, headers=auth,
                           timeout=60)
        assert got.status_code == 200, got.text
        assert got.json()["district"]["code"] == code
    # a report at a point of 341881 is sent on with its body, and filed there
    created = requests.post(f"{front}/cases", headers=auth, timeout=60, json={
        "lon": lon, "lat": lat, "class": event, "kind": "event", "description": "暴露垃圾",
        "source": "12345热线"})
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    assert number.startswith("341881-")
    # reads naming the district go straight to its process
    shown = requests.get(f"{front}/cases/{number}", headers=auth, timeout=60)
    assert shown.status_code == 200 and shown.json()["number"] == number
    listed = requests.get(f"{front}/cases", params={"district": "341881", "limit": 500},
                          headers=auth, timeout=60).json()["items"]
    assert number in {c["number"] for c in listed}
    assert requests.get(f"{front}/districts/341881", headers=auth,
                        timeout=60).json()["code"] == "341881"
    assert requests.get(f"{front}/districts/341802", headers=auth,
                        timeout=60).json()["code"] == "341802"
