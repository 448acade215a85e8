"""One platform, two counties: each county's tokens see and change only their own data, the city
administrator sees both, and PostgreSQL itself (row-level security) enforces it."""

from __future__ import annotations

import io
import zipfile

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from gis.tables import metadata
from gis.tenancy import APP_ROLE, tenant_tables
from tests.conftest import SAMPLES, Cli, bearer, make_token

A, B = "341802", "341881"          # 宣州区, 宁国市


@pytest.fixture(scope="module")
def tokens(city):
    url = city[0]
    return {
        "admin": make_token(url),
        "operator_a": make_token(url, "operator", A),
        "operator_b": make_token(url, "operator", B),
        "gis_a": make_token(url, "district_gis", A),
        "client_a": make_token(url, "api_client", A),
        "public_a": make_token(url, "public_intake", A),
        "leader_a": make_token(url, "operator", A, post="值班长", name="钱值班"),
        "receiver_a": make_token(url, "operator", A, post="受理员", name="王受理"),
    }


@pytest.fixture(scope="module")
def app(city):
    with TestClient(create_app(Settings(database_url=city[0]))) as client:
        yield client


def centre(city, district, i=10):
    p = city[2].districts[district].grid_geoms[i].representative_point()
    return p.x, p.y


def test_the_city_administrator_sees_both(app, tokens):
    h = bearer(tokens["admin"])
    assert [d["code"] for d in app.get("/districts", headers=h).json()] == [A, B]
    assert app.get("/collections/grids/items", headers=h, params={"limit": 1}).json()[
        "numberMatched"] == 495


def test_raw_sql_as_the_application_role_sees_only_its_district(city):
    url = city[0].replace("citygrid@", f"{APP_ROLE}@")
    with psycopg.connect(url, autocommit=True) as conn:
        for table, _ in tenant_tables(metadata):
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
        conn.execute("SELECT set_config('citygrid.districts', %s, false)", (A,))
        for table, column in tenant_tables(metadata):
            seen = {r[0] for r in conn.execute(f"SELECT DISTINCT {column} FROM {table}")}
            assert seen <= {A}, (table, seen)
        assert conn.execute("SELECT count(*) FROM grid").fetchone()[0] == 270
        # the census view that the OGC API reads by place is confined by the same setting
        seen = {r[0] for r in conn.execute("SELECT DISTINCT district_code FROM "
                                           "component_confined")}
        assert seen == {A}
        conn.execute("SELECT set_config('citygrid.districts', '', false)")
        assert conn.execute("SELECT count(*) FROM component_confined").fetchone()[0] == 0
        conn.execute("SELECT set_config('citygrid.districts', %s, false)", (A,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO district (code, name, scheme, grid_digits) "
                         "VALUES ('341881', '宁国市', 'gb47678', 15) ON CONFLICT DO NOTHING")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET ROLE citygrid")
    with psycopg.connect(city[0]) as conn:           # the owner: the CLI's view
        assert conn.execute("SELECT count(DISTINCT district_code) FROM grid").fetchone()[0] == 2


@pytest.mark.parametrize(("role", "method", "url", "kwargs", "status"), [
    ("client_a", "POST", "/cases", {"json": {"lon": 1, "lat": 1, "class": "0102",
                                             "description": "x"}}, 403),
    ("public_a", "GET", "/cases", {}, 403),
    ("operator_a", "POST", "/imports/grids", {"params": {"district": A}, "files": {
        "file": ("g.geojson", b"{}")}}, 403),
    (None, "GET", "/cases", {}, 401),
    (None, "GET", "/collections/grids/items", {}, 401),
])
def test_roles(app, tokens, role, method, url, kwargs, status):
    headers = bearer(tokens[role]) if role else {}
    assert app.request(method, url, headers=headers, **kwargs).status_code == status


def test_revoked_and_expired_tokens_stop_working(city, tmp_path):
    cli = Cli(city[0], tmp_path)
    raw = cli("token", "create", "--role", "operator", "--district", A).stdout.strip()
    token_id = [t for t in __import__("json").loads(cli("token", "list").stdout)
                if t["role"] == "operator"][-1]["id"]
    cli("token", "revoke", str(token_id))
    with TestClient(create_app(Settings(database_url=city[0]))) as c:
        resp = c.get("/cases", headers=bearer(raw))
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer"
        assert c.get("/cases", headers={"Authorization": "Basic x"}).status_code == 401
    listed = __import__("json").loads(cli("token", "list").stdout)
    assert "token_hash" not in str(listed) and raw not in str(listed)
    bad = cli("token", "create", "--role", "operator", check=2)
    assert "operator 令牌须用 --district" in bad.stderr and "needs --district" in bad.stderr


def test_tokens_are_issued_to_people_with_posts(city, tmp_path):
    cli = Cli(city[0], tmp_path)
    raw = cli("token", "create", "--role", "operator", "--post", "专业部门", "--name", "孙处置",
              "--department", "宣州区园林绿化管理所", "--district", A)
    assert raw.stdout.strip().startswith("cg_")
    assert "孙处置" in raw.stderr and "专业部门（宣州区园林绿化管理所）" in raw.stderr
    listed = __import__("json").loads(cli("token", "list").stdout)[-1]
    assert (listed["person"], listed["post"], listed["department"]) == (
        "孙处置", "专业部门", "宣州区园林绿化管理所")
    grid = str(city[2].districts[A].grid_codes[0])
    patrol = cli("token", "create", "--role", "operator", "--post", "监督员", "--name", "张监督",
                 "--grids", grid, "--district", A)
    assert patrol.returncode == 0
    assert __import__("json").loads(cli("token", "list").stdout)[-1]["grids"] == [grid]
    for args, words in (
            (["--post", "专业部门", "--name", "x"], "--department"),
            (["--post", "值班长"], "--name"),
            (["--post", "值班长", "--name", "x", "--department", "某局"], "--department"),
            (["--post", "值班长", "--name", "x", "--grids", grid], "--grids"),
            (["--post", "监督员", "--name", "x", "--grids", "34188100100100101"], "--grids")):
        bad = cli("token", "create", "--role", "operator", "--district", A, *args, check=2)
        assert words in bad.stderr, (args, bad.stderr)
    no_post = cli("token", "create", "--role", "api_client", "--district", A,
                  "--post", "受理员", "--name", "x", check=2).stderr
    assert "api_client 令牌不设岗位" in no_post and "holds no post" in no_post


def test_lookups_are_rate_limited_per_token(city, tokens):
    lon, lat = centre(city, A)
    with TestClient(create_app(Settings(database_url=city[0], lookup_rate_per_minute=3))) as c:
        h = bearer(tokens["client_a"])
        codes = [c.get("/lookup", headers=h, params={"lon": lon, "lat": lat}).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = c.get("/lookup", headers=h, params={"lon": lon, "lat": lat})
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert limited.json()["error"]["message"].startswith("查询过于频繁，请")
        other = c.get("/lookup", headers=bearer(tokens["operator_a"]),
                      params={"lon": lon, "lat": lat})
        assert other.status_code == 200                      # another token, its own bucket


def test_lookups_may_require_a_token(city, tokens):
    lon, lat = centre(city, A)
    with TestClient(create_app(Settings(database_url=city[0], lookup_requires_token=True))) as c:
        assert c.get("/lookup", params={"lon": lon, "lat": lat}).status_code == 401
        assert c.get("/lookup", headers=bearer(tokens["client_a"]),
                     params={"lon": lon, "lat": lat}).status_code == 200
        assert c.get("/lookup", headers=bearer(tokens["public_a"]),
                     params={"lon": lon, "lat": lat}).status_code == 403


def _zip(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()


def test_uploads_are_bounded(city, tokens):
    h = bearer(tokens["gis_a"])
    settings = Settings(database_url=city[0], max_upload_bytes=200_000, max_archive_entries=10,
                        max_archive_bytes=1_000_000)
    with TestClient(create_app(settings)) as c:
        def post(name, data):
            return c.post("/imports/grids", headers=h, params={"district": A},
                          files={"file": (name, data)})

        big = post("big.geojson", b" " * 300_000)
        message = big.json()["error"]["message"]
        assert big.status_code == 413 and message.startswith("file：big.geojson 超过 200000 字节")
        assert "larger than 200000 bytes" in message
        bomb = post("bomb.zip", _zip([("a.geojson", b"0" * 5_000_000)]))
        assert bomb.status_code == 413 and "zip bomb" in bomb.json()["error"]["message"]
        many = post("many.zip", _zip([(f"{i}.txt", b"x") for i in range(20)]))
        assert many.status_code == 413 and "entries" in many.json()["error"]["message"]
        escape = post("escape.zip", _zip([("../../etc/evil.geojson", b"{}")]))
        assert escape.status_code == 400 and "escape" in escape.json()["error"]["message"]
        lone = post("grids.shp", b"x")
        assert lone.status_code == 400 and ".zip" in lone.json()["error"]["message"]


def test_an_upload_imports_and_is_audited(city, tokens):
    folder = SAMPLES / "341802_xuanzhou"
    data = _zip([(p.name, p.read_bytes()) for p in folder.glob("单元网格.*")])
    with TestClient(create_app(Settings(database_url=city[0]))) as c:
        resp = c.post("/imports/grids", headers=bearer(tokens["gis_a"]),
                      params={"district": A}, files={"file": ("网格.zip", data)})
        assert resp.status_code == 200, resp.text
        assert resp.json()["unchanged"] == 270 and resp.json()["source"] == "网格.zip"
    with psycopg.connect(city[0]) as conn:
        actor, report = conn.execute(
            "SELECT actor, detail FROM audit_event WHERE action = 'import.grids' "
            "ORDER BY id DESC LIMIT 1").fetchone()
    assert actor.startswith("token:") and report["read"] == 270


def test_transitions_and_token_changes_are_audited(app, city, tokens, tmp_path):
    lon, lat = centre(city, A, 30)
    h = bearer(tokens["operator_a"])
    number = app.post("/cases", headers=h, json={"lon": lon, "lat": lat, "class": "0102",
                                                 "kind": "event", "description": "审计"}).json()[
        "number"]
    app.post(f"/cases/{number}/transitions", headers=bearer(tokens["receiver_a"]),
             json={"action": "accept"})
    filed = app.post(f"/cases/{number}/transitions", headers=bearer(tokens["leader_a"]),
                     json={"action": "file"})
    assert filed.status_code == 200, filed.text
    Cli(city[0], tmp_path)("token", "create", "--role", "api_client", "--district", A)
    with psycopg.connect(city[0]) as conn:
        rows = conn.execute("SELECT action, subject, role FROM audit_event ORDER BY id").fetchall()
        detail = conn.execute("SELECT detail FROM audit_event WHERE action = 'case.file' "
                              "AND subject = %s", (number,)).fetchone()[0]
    assert ("case.report", number, "operator") in rows
    assert ("case.file", number, "operator") in rows
    assert any(a == "token.create" and r == "cli" for a, _, r in rows)
    # the audit log and the case history name the same person and post: the token's
    last = filed.json()["history"][-1]
    assert (detail["post"], detail["person"]) == (last["post"], last["person"]) == ("值班长",
                                                                                    "钱值班")
