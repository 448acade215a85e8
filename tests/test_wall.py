"""The tenant wall, tried on every route the app has: each route × {no token, a token of the other
county, a token of the right county}, with data in both counties.

The routes come from the app itself (the OpenAPI document and the routes it does not document:
pages, mounts); a route this file has no request for fails the test, so a new route cannot go
untried. A caller without the right county's token must get a refusal (401/403/404) or an answer
without one row of that county, and its writes must change nothing; the right county's token
must get that county's data through the same request (so an empty answer proves the wall, not a
broken request).

Then every case action × every post: each action is allowed to the posts DESIGN.md names and
refused (403) to every other, whatever the body says.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import psycopg
import pytest
import requests
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from starlette.routing import Mount

from api.app import create_app
from api.settings import Settings
from cases.workflow import Actor, apply
from cases.worktime import CST
from gis.db import session_scope
from tests.conftest import SAMPLES, bearer, make_token

A, B = "341802", "341881"          # 宣州区, 宁国市
# B's ids: grid codes (15), 标识码 (17), case numbers; B's names are added from the database
# the smallest PNG: one transparent pixel
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
B_ID = re.compile(r"341881[0-9A-Z]{9,11}|341881-\d{8}-\d{4}")


@dataclass
class Call:
    method: str
    url: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    seat: str = "operator"        # which kind of token would be allowed: operator, gis, public
    data: bool = True             # the right county's token gets its rows through it
    write: bool = False
    right: tuple[int, ...] = (200,)
    stream: bool = False          # an endless event stream: read through a live server, its
                                  # first message only


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))


def _zip(folder: str, stem: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for p in (SAMPLES / folder).glob(f"{stem}.*"):
            zf.writestr(p.name, p.read_bytes())
    return buf.getvalue()


def calls(city: Any, case_b: str) -> dict[str, list[Call]]:
    """Requests for county B's data, by route ("METHOD path", as the app names it)."""
    index = city[2].districts[B]
    cc = next(iter(index.components.values()))
    component_b = cc.code(0)
    lon, lat = _lonlat(index, cc.geom(0).representative_point())   # every layer has a row here
    x, y = tile_of(lon, lat, 16)
    resolved = next(g for g, shape in zip(index.grid_codes, index.grid_geoms, strict=True)
                    if shape.intersects(shapely.Point(lon, lat)))
    grid_b = str(resolved)
    street_b, community_b = grid_b[:9], grid_b[:12]
    features = {"grids": grid_b, "cases": case_b, "streets": street_b,
                "communities": community_b}
    kinds = {0: "points", 1: "lines", 2: "polygons"}      # a census collection per dimension
    for c in index.components.values():
        features.setdefault(f"components-{kinds[shapely.get_dimensions(c.geom(0))]}",
                            c.code(0))
    page = {"district": B}
    public = {"data": False}
    today = datetime.now(CST).date()
    month = {"district": B, "from": f"{today:%Y-%m}-01", "to": today.isoformat()}
    report = {"district": B, "month": f"{today:%Y-%m}"}
    return {
        "GET /health": [Call("GET", "/health", **public)],
        # a city administrator's only: a county's own token is refused too
        "GET /health/detail": [Call("GET", "/health/detail", right=(403,), data=False)],
        "GET /lookup": [Call("GET", "/lookup", {"params": {"lon": lon, "lat": lat}})],
        "POST /lookup": [Call("POST", "/lookup", {"json": [[lon, lat]]})],
        "POST /cases": [Call("POST", "/cases", {"json": {
            "lon": lon, "lat": lat, "class": "06010", "description": "越界上报"}},
            write=True, right=(201,))],
        "GET /cases": [Call("GET", "/cases", {"params": page})],
        "GET /cases/{number}": [Call("GET", f"/cases/{case_b}")],
        "GET /cases/events": [Call("GET", "/cases/events", stream=True, data=False)],
        "GET /cases/duplicates": [Call("GET", "/cases/duplicates", {"params": {
            "lon": lon, "lat": lat, "class": "06010", "kind": "event"}})],
        "GET /cases/{number}/actions": [Call("GET", f"/cases/{case_b}/actions")],
        "POST /cases/{number}/media": [Call(
            "POST", f"/cases/{case_b}/media", {"files": {"file": ("p.png", PNG, "image/png")}},
            write=True, right=(201,))],
        "GET /cases/{number}/media/{photo_id}": [Call("GET", f"/cases/{case_b}/media/1",
                                                      data=False)],
        "POST /cases/{number}/transitions": [Call(
            "POST", f"/cases/{case_b}/transitions", {"json": {"action": "urge"}}, write=True)],
        "GET /stats": [Call("GET", "/stats", {"params": {
            "district": B, "from": "2026-01-01", "to": "2026-12-31", "by": "grid"}})],
        "GET /stats/cases": [Call("GET", "/stats/cases", {"params": {
            **month, "by": "district", "key": B, "indicator": "reported"}})],
        "GET /reports/evaluation": [Call("GET", "/reports/evaluation", {"params": report})],
        "GET /reports/evaluation.xlsx": [Call("GET", "/reports/evaluation.xlsx",
                                              {"params": report}, data=False)],
        "GET /reports/evaluation.csv": [Call("GET", "/reports/evaluation.csv", {
            "params": {**report, "by": "street"}})],
        "GET /districts/{code}/classes": [Call("GET", f"/districts/{B}/classes", data=False)],
        "GET /districts/{code}/rejects": [Call("GET", f"/districts/{B}/rejects", seat="gis",
                                               data=False)],
        "GET /supervision": [Call("GET", "/supervision", {"params": {"f": "json"}}),
                             Call("GET", "/supervision", {"params": {"f": "html"}})],
        "GET /reports/evaluation/cases": [Call("GET", "/reports/evaluation/cases", {
            "params": {**month, "by": "district", "key": B, "indicator": "reported"}})],
        **open311(case_b, lon, lat),
        "GET /tiles/{layer}/{z}/{x}/{y}.pbf": [
            Call("GET", f"/tiles/{layer}/16/{x}/{y}.pbf")
            for layer in ("grids", "outlines", "components", "all")],
        "GET /tiles.json": [Call("GET", "/tiles.json", **public)],
        "GET /tiles/{layer}.json": [Call("GET", f"/tiles/{layer}.json", **public)
                                    for layer in ("grids", "outlines", "components", "all")],
        "GET /conformance": [Call("GET", "/conformance", **public)],
        "GET /collections": [Call("GET", "/collections", data=False)],
        "GET /collections/{collection_id}": [
            Call("GET", f"/collections/{c}", data=False) for c in features],
        "GET /collections/{collection_id}/items": [
            Call("GET", f"/collections/{c}/items", {"params": page}) for c in features],
        "GET /collections/{collection_id}/items/{feature_id}": [
            Call("GET", f"/collections/{c}/items/{fid}") for c, fid in features.items()],
        "GET /search": [Call("GET", "/search", {"params": {"q": q}})
                        for q in (grid_b, component_b, case_b)],
        "POST /imports/{kind}": [Call("POST", "/imports/grids", {
            "params": {"district": B, "dry_run": "true"},
            "files": {"file": ("单元网格.zip", _zip("341881_ningguo", "单元网格"))}},
            seat="gis", write=True, data=False)],
        "GET /map/config.json": [Call("GET", "/map/config.json")],
        "GET /districts": [Call("GET", "/districts")],
        "GET /districts/{code}": [Call("GET", f"/districts/{B}")],
        "GET /districts/{code}/grids": [Call("GET", f"/districts/{B}/grids")],
        "GET /districts/{code}/qa": [Call("GET", f"/districts/{B}/qa", data=False)],
        # pages and files the OpenAPI document does not list
        "GET /": [Call("GET", "/", **public),
                  Call("GET", "/", {"headers": {"Accept": "application/json"}}, **public)],
        "GET /map": [Call("GET", "/map", **public)],
        "GET /overview": [Call("GET", "/overview")],
        "GET /openapi.json": [Call("GET", "/openapi.json", **public)],
        "GET /docs": [Call("GET", "/docs", **public)],
        "GET /docs/oauth2-redirect": [Call("GET", "/docs/oauth2-redirect", **public)],
        "GET /redoc": [Call("GET", "/redoc", **public)],
        "MOUNT /static": [Call("GET", "/static/map.js", **public)],
        "MOUNT /vendor/maplibre-gl": [Call("GET", "/vendor/maplibre-gl/maplibre-gl.js",
                                           **public)],
        "MOUNT /vendor/chart.js": [Call("GET", "/vendor/chart.js/chart.umd.min.js", **public)],
        "MOUNT /vendor/swagger-ui-dist": [Call("GET", "/vendor/swagger-ui-dist/swagger-ui.css",
                                               **public)],
        "MOUNT /vendor/redoc": [Call("GET", "/vendor/redoc/redoc.standalone.js", **public)],
    }


def open311(case_b: str, lon: float, lat: float) -> dict[str, list[Call]]:
    """The Open311 routes, each in JSON and XML."""
    out: dict[str, list[Call]] = {}
    for f in ("json", "xml"):
        v2, b = "/open311/v2", {"jurisdiction_id": B}
        out |= {
            f"GET {v2}/discovery.{f}": [Call("GET", f"{v2}/discovery.{f}", data=False)],
            f"GET {v2}/services.{f}": [Call("GET", f"{v2}/services.{f}", {"params": b},
                                            data=False)],
            f"GET {v2}/services/{{service_code}}.{f}": [Call(
                "GET", f"{v2}/services/event-06010.{f}", {"params": b}, data=False)],
            f"POST {v2}/requests.{f}": [Call("POST", f"{v2}/requests.{f}", {"data": {
                "service_code": "event-06010", "lat": lat, "long": lon}},
                seat="public", write=True, right=(201,), data=False)],
            f"GET {v2}/requests.{f}": [Call("GET", f"{v2}/requests.{f}", {"params": b}),
                                       Call("GET", f"{v2}/requests.{f}")],
            f"GET {v2}/requests/{{request_id}}.{f}": [
                Call("GET", f"{v2}/requests/{case_b}.{f}"),
                Call("GET", f"{v2}/requests/{case_b}.{f}", {"params": b})]}
    return out


def app_routes(app: Any) -> set[str]:
    """Every route of the app: documented ones, and those that are not (pages, mounts)."""
    found = {f"{m.upper()} {path}" for path, ops in app.openapi()["paths"].items() for m in ops}

    def walk(routes: Any) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes)
            elif isinstance(r, Mount):
                found.add(f"MOUNT {r.path}")
            else:
                found.update(f"{m} {r.path}" for m in (r.methods or ()) if m != "HEAD")

    walk(app.routes)
    return found


@pytest.fixture(scope="module")
def app(city):
    with TestClient(create_app(Settings(database_url=city[0]))) as client:
        yield client


@pytest.fixture(scope="module")
def seats(city):
    """Tokens of each kind for each county: a 值班长 (operator), district GIS, public intake."""
    url = city[0]
    out = {}
    for county in (A, B):
        out[county] = {
            "operator": make_token(url, "operator", county, post="值班长", name=f"值班长{county}"),
            "gis": make_token(url, "district_gis", county),
            "public": make_token(url, "public_intake", county),
        }
    return out


@pytest.fixture(scope="module")
def case_b(app, city, seats):
    p = city[2].districts[B].grid_geoms[20].representative_point()
    resp = app.post("/cases", headers=bearer(seats[B]["operator"]), json={
        "lon": p.x, "lat": p.y, "class": "06010", "description": "B 县的案件",
        "reporter": {"name": "来电人", "phone": "13800000000"}})
    assert resp.status_code == 201, resp.text
    return resp.json()["number"]


@pytest.fixture(scope="module")
def b_names(city):
    """Names that only county B's rows carry (its own name, streets, communities, units)."""
    with psycopg.connect(city[0]) as conn:
        def names(code: str) -> set[str]:
            rows = conn.execute(
                "SELECT name FROM district WHERE code = %(d)s UNION SELECT name FROM street "
                "WHERE district_code = %(d)s UNION SELECT name FROM community WHERE "
                "district_code = %(d)s UNION SELECT department FROM duty WHERE district_code "
                "= %(d)s UNION SELECT name FROM organisation WHERE district_code = %(d)s "
                "UNION SELECT description FROM case_file WHERE district_code = %(d)s",
                {"d": code}).fetchall()
            return {r[0] for r in rows if r[0]}
        return names(B) - names(A)


def leaks(text: str, asked: str, b_names: set[str]) -> list[str]:
    """B's ids and names in a response, except what the request itself named."""
    found = {m for m in B_ID.findall(text) if m not in asked}
    found |= {n for n in b_names if n in text and n not in asked}
    return sorted(found)


def _send(app: TestClient, call: Call, token: str | None, live: str = "") -> Any:
    kwargs = {k: v for k, v in call.kwargs.items()}
    headers = dict(kwargs.pop("headers", {}))
    if token:
        headers.update(bearer(token))
    if call.stream:
        with requests.request(call.method, f"{live}{call.url}", headers=headers, timeout=30,
                              stream=True) as r:
            body = (next(r.iter_content(chunk_size=None)) if r.status_code == 200
                    else r.content)
            return SimpleNamespace(status_code=r.status_code, content=body,
                                   text=body.decode("utf-8", "replace"))
    return app.request(call.method, call.url, headers=headers, **kwargs)


def _state_of_b(url: str) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        return tuple(conn.execute(q, {"d": B}).fetchone()[0] for q in (
            "SELECT count(*) FROM case_file WHERE district_code = %(d)s",
            "SELECT count(*) FROM case_event WHERE district_code = %(d)s",
            "SELECT string_agg(number || state, ',' ORDER BY number) FROM case_file "
            "WHERE district_code = %(d)s",
            "SELECT count(*) FROM grid_import WHERE district_code = %(d)s",
            "SELECT count(*) FROM audit_event WHERE district_code = %(d)s"))


def test_every_route_keeps_a_county_to_its_own(app, city, seats, case_b, b_names, live):
    table = calls(city, case_b)
    routes = app_routes(app.app)
    assert routes - set(table) == set(), "routes without a wall check: add them to calls()"
    assert set(table) - routes == set(), "calls() names routes the app no longer has"
    before = _state_of_b(city[0])
    problems = []
    for route, route_calls in table.items():
        for call in route_calls:
            asked = f"{call.url} {call.kwargs.get('params', '')} {call.kwargs.get('json', '')}"
            names_b = B in call.url.split("?")[0]      # a path that names one of B's things
            for who, token in (("no token", None), ("county A", seats[A][call.seat])):
                resp = _send(app, call, token, live)
                if names_b and resp.status_code not in (401, 403, 404):
                    problems.append(f"{call.url} with {who}: {resp.status_code}, not refused")
                if call.write and resp.status_code < 400:
                    problems.append(f"{route} with {who}: a write answered {resp.status_code}")
                if resp.status_code >= 500:
                    problems.append(f"{route} with {who}: {resp.status_code}")
                if call.url.endswith(".pbf") and resp.status_code == 200 and resp.content:
                    problems.append(f"{route} with {who}: a tile of B's rows")
                found = leaks(resp.text if not call.url.endswith(".pbf") else "", asked,
                              b_names)
                if found:
                    problems.append(f"{route} with {who}: {resp.status_code} shows {found[:3]}")
    assert not problems, "\n".join(problems)
    assert _state_of_b(city[0]) == before, "a refused write changed county B"
    # the same requests with county B's own token reach B's rows
    for route, route_calls in table.items():
        for call in route_calls:
            resp = _send(app, call, seats[B][call.seat], live)
            assert resp.status_code in call.right, (route, call.url, resp.status_code,
                                                    resp.text[:300])
            if not call.data:
                continue
            if call.url.endswith(".pbf"):
                assert resp.content, (route, call.url)
            else:
                assert B_ID.search(resp.text) or any(n in resp.text for n in b_names), \
                    (route, call.url, resp.text[:300])


def test_reporter_contact_reaches_only_the_centres_posts(app, city, seats, case_b):
    """A caller's contact is for the centre (受理员, 值班长, 派遣员, 监督员) reading the case; it
    never leaves through a list, Open311, the OGC collections, or to anyone else."""
    for url in (f"/open311/v2/requests/{case_b}.json", "/collections/cases/items",
                f"/cases?district={B}"):
        resp = app.get(url, headers=bearer(seats[B]["operator"]))
        assert resp.status_code == 200 and case_b in resp.text
        assert "13800000000" not in resp.text and "来电人" not in resp.text
    centre = app.get(f"/cases/{case_b}", headers=bearer(seats[B]["operator"])).json()
    assert centre["reporter"] == {"name": "来电人", "phone": "13800000000", "email": None}
    department = make_token(city[0], "operator", B, post="专业部门", name="处置员",
                            department="某部门")
    for token in (seats[B]["gis"], department):
        resp = app.get(f"/cases/{case_b}", headers=bearer(token))
        assert "13800000000" not in resp.text and "reporter" not in resp.json()


# -- Open311 and lookups without a token -----------------------------------------------------


def test_open311_lists_only_districts_that_opted_in(city, seats, case_b):
    with TestClient(create_app(Settings(database_url=city[0]))) as c:
        refused = c.get("/open311/v2/requests.json")
        assert refused.status_code == 403
        assert refused.json()[0]["code"] == 403                  # GeoReport's error shape
        from grid.districts import add_district

        with session_scope(city[1]) as s:
            add_district(s, A, name=None, public_listing=True)
        try:
            c.app.state.listed_districts = (0.0, [])             # drop the cached list
            p = city[2].districts[A].grid_geoms[5].representative_point()
            made = c.post("/cases", headers=bearer(seats[A]["operator"]), json={
                "lon": p.x, "lat": p.y, "class": "0102", "kind": "event",
                "description": "公开可见的案件", "reporter": {"phone": "13911112222"}})
            number = made.json()["number"]
            listed = c.get("/open311/v2/requests.json")
            assert listed.status_code == 200
            ids = {r["service_request_id"] for r in listed.json()}
            assert number in ids and not any(i.startswith(B) for i in ids)
            assert "13911112222" not in listed.text
            assert c.get(f"/open311/v2/requests/{number}.json").status_code == 200
            assert c.get(f"/open311/v2/requests/{case_b}.json").status_code == 404
            # B does not list publicly: as unknown as a county that does not exist
            assert c.get("/open311/v2/requests.json",
                         params={"jurisdiction_id": B}).status_code == 404
        finally:
            with session_scope(city[1]) as s:
                add_district(s, A, name=None, public_listing=False)


def test_lookups_need_a_token_unless_a_district_is_opened(city, seats):
    a = city[2].districts[A]
    pa = a.grid_geoms[30].representative_point()
    pb = city[2].districts[B].grid_geoms[30].representative_point()
    with TestClient(create_app(Settings(database_url=city[0]))) as c:
        resp = c.get("/lookup", params={"lon": pa.x, "lat": pa.y})
        assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
        assert resp.json()["error"]["message"].startswith("位置查询需要访问令牌")
        assert c.post("/lookup", json=[[pa.x, pa.y]]).status_code == 401
    # a component with an owner, to see what an anonymous caller is not told
    code = next(c for c, cc in a.components.items()
                if (cc.owner >= 0).any() and cc.points is not None)
    cc = a.components[code]
    i = int((cc.owner >= 0).argmax())
    lon, lat = _lonlat(a, cc.geom(i))
    opened = Settings(database_url=city[0], lookup_open_districts=A)
    with TestClient(create_app(opened)) as c:
        full = c.get("/lookup", headers=bearer(seats[A]["operator"]),
                     params={"lon": lon, "lat": lat, "class": code}).json()
        assert full["component"]["owner"]
        anonymous = c.get("/lookup", params={"lon": lon, "lat": lat, "class": code})
        assert anonymous.status_code == 200
        body = anonymous.json()
        assert body["grid"] == full["grid"] and body["responsible"] == full["responsible"]
        assert body["component"]["code"] == full["component"]["code"]
        assert not {"owner", "maintainer", "department"} & set(body["component"])
        assert c.get("/lookup", params={"lon": pb.x, "lat": pb.y}).status_code == 401
        bulk = c.post("/lookup", json=[[pa.x, pa.y], [pb.x, pb.y]]).json()["results"]
        assert bulk[0]["grid"]["code"].startswith(A)
        assert bulk[1]["error"]["code"] == "outside_coverage"


def _lonlat(d: Any, point: Any) -> tuple[float, float]:
    """A point of the index's local frame in longitude/latitude."""
    return d.frame.lon0 + point.x / d.frame.kx, d.frame.lat0 + point.y / d.frame.ky


# -- input that used to give 500 -------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "/collections/components-points/items?offset=9223372036854775808",
    "/collections/grids/items?limit=0",
    "/cases?offset=99999999999999999999",
    "/cases?limit=-1",
    "/tiles/grids/16/99999999999999999999/1.pbf",
    "/collections/grids/items?bbox=nan,1,2,3",
])
def test_numbers_out_of_range_are_bad_requests(app, seats, url):
    resp = app.get(url, headers=bearer(seats[A]["operator"]))
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] in ("bad_request", "bad_input")


def test_upload_errors_name_the_senders_file_and_parameters(app, seats):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:              # a shapefile without its .prj
        for p in (SAMPLES / "341802_xuanzhou").glob("单元网格.*"):
            if p.suffix != ".prj":
                zf.writestr(p.name, p.read_bytes())
    resp = app.post("/imports/grids", headers=bearer(seats[A]["gis"]),
                    params={"district": A}, files={"file": ("我的网格.zip", buf.getvalue())})
    assert resp.status_code == 400, resp.text
    message = resp.json()["error"]["message"]
    assert "我的网格.zip" in message and "?crs=" in message
    assert "citygrid-upload" not in message and "/tmp" not in message and "--crs" not in message


# -- every case action × every post ----------------------------------------------------------

# DESIGN.md "Who acts": the posts that take each action (the oracle, written out here rather
# than read from the code); "approve a return" is `approve` with a return pending, which a 派遣员
# may approve too
ALLOWED = {"accept": {"受理员"}, "confirm": {"监督员"}, "refute": {"监督员"},
           "file": {"值班长"}, "reject": {"值班长"}, "dispatch": {"派遣员"},
           "handle": {"专业部门"}, "verify": {"监督员"}, "rework": {"监督员"},
           "close": {"值班长"}, "request_extend": {"专业部门"}, "request_return": {"专业部门"},
           "request_suspend": {"专业部门"}, "approve": {"值班长"}, "deny": {"值班长"},
           "approve a return": {"派遣员", "值班长"}, "resume": {"值班长"}, "cancel": {"值班长"},
           "urge": {"值班长"}, "callback": {"受理员"}}
POSTS = ("监督员", "受理员", "值班长", "派遣员", "专业部门")
HOLDER = "宣城市宣州区城市管理局"
# who takes each step that brings a case to where an action starts
DOER = {"accept": "受理员", "confirm": "监督员", "file": "值班长", "dispatch": "派遣员",
        "handle": "专业部门", "verify": "监督员", "close": "值班长", "approve": "值班长",
        "request_extend": "专业部门", "request_return": "专业部门", "request_suspend": "专业部门"}
BODY = {"dispatch": {"department": HOLDER},
        "request_extend": {"extend_by": "2 working_hours", "reason": "需调度车辆"},
        "request_return": {"reason": "不属本单位"}, "request_suspend": {"reason": "暂无法处置"},
        "callback": {"satisfaction": "满意"}}
LINE = ["accept", "file", "dispatch"]
BEFORE = {"accept": [], "confirm": ["accept"], "refute": ["accept"], "file": ["accept"],
          "reject": ["accept"], "dispatch": ["accept", "file"], "handle": LINE,
          "request_extend": LINE, "request_return": LINE, "request_suspend": LINE,
          "verify": [*LINE, "handle"], "rework": [*LINE, "handle"],
          "close": [*LINE, "handle", "verify"], "approve": [*LINE, "request_extend"],
          "deny": [*LINE, "request_extend"], "approve a return": [*LINE, "request_return"],
          "resume": [*LINE, "request_suspend", "approve"], "cancel": ["accept", "file"],
          "urge": [], "callback": ["accept", "confirm", *LINE[1:], "handle", "verify", "close"]}
PUBLIC = {"confirm", "refute", "callback"}      # reported through 12345热线: 核实 on site


@pytest.fixture(scope="module")
def posts(city):
    url = city[0]
    out = {post: make_token(url, "operator", A, post=post, name=f"{post}乙",
                            department=HOLDER if post == "专业部门" else None)
           for post in POSTS}
    out["other department"] = make_token(url, "operator", A, post="专业部门", name="别的部门",
                                         department="宣州区园林绿化管理所")
    out["no post"] = make_token(url, "operator", A)
    return out


def _case_before(app, city, posts, key, i):
    p = city[2].districts[A].grid_geoms[40 + i].representative_point()
    reporter = "受理员" if key in PUBLIC else "监督员"
    made = app.post("/cases", headers=bearer(posts[reporter]), json={
        "lon": p.x, "lat": p.y, "class": "0102", "kind": "event", "description": key,
        "source": "12345热线" if key in PUBLIC else "监督员上报"})
    number = made.json()["number"]
    with session_scope(city[1]) as s:
        for step in BEFORE[key]:
            body = BODY.get(step, {})
            apply(s, number, step, Actor(DOER[step], "准备"), department=body.get("department"),
                  extend_by=body.get("extend_by"), reason=body.get("reason"))
    return number


@pytest.mark.parametrize("key", sorted(ALLOWED))
def test_each_action_only_by_its_posts(app, city, posts, key):
    action = key.split()[0]
    number = _case_before(app, city, posts, key, sorted(ALLOWED).index(key))
    state = app.get(f"/cases/{number}", headers=bearer(posts["值班长"])).json()["state"]
    body = {"action": action, **BODY.get(action, {})}
    allowed = ALLOWED[key]
    for seat in (*POSTS, "other department", "no post"):
        if seat in allowed:
            continue
        resp = app.post(f"/cases/{number}/transitions", headers=bearer(posts[seat]), json=body)
        assert resp.status_code == 403, (key, seat, resp.text)
        assert resp.json()["error"]["code"] == "role_not_allowed"
    # naming an allowed post in the body changes nothing for a token of another post
    mine = sorted(allowed)[0]
    other = next(p for p in POSTS if p not in allowed)
    claimed = app.post(f"/cases/{number}/transitions", headers=bearer(posts[other]),
                       json={**body, "role": mine, "actor": "冒名者"})
    assert claimed.status_code == 403
    assert app.get(f"/cases/{number}", headers=bearer(posts["值班长"])).json()["state"] == state
    # the right post, naming another post in the body: refused too
    lying = app.post(f"/cases/{number}/transitions", headers=bearer(posts[mine]),
                     json={**body, "post": other})
    assert lying.status_code == 403
    assert f"岗位 {mine}，不能以{other}身份办理" in lying.json()["error"]["message"]
    done = app.post(f"/cases/{number}/transitions", headers=bearer(posts[mine]), json=body)
    assert done.status_code == 200, done.text
    last = done.json()["history"][-1]
    assert (last["action"], last["post"], last["person"]) == (action, mine, f"{mine}乙")


def test_every_action_of_the_workflow_is_in_the_matrix():
    from cases.flow import ACTIONS

    assert {key.split()[0] for key in ALLOWED} == set(ACTIONS)


def test_a_process_serving_one_county_never_answers_for_the_other(city, seats, case_b, b_names,
                                                                   live):
    """Every route again, on a process that serves county A only (CITYGRID_DISTRICTS): with
    B's tokens, or naming B's things with A's, it answers 421 naming B (for the router in
    front), a refusal, or an answer without one of B's rows; it writes nothing of B's."""
    table = calls(city, case_b)
    before = _state_of_b(city[0])
    problems, sent_on = [], 0
    with TestClient(create_app(Settings(database_url=city[0], districts=A))) as app_a:
        for route, route_calls in table.items():
            for call in route_calls:
                if call.stream:
                    continue          # below, through a live server
                asked = f"{call.url} {call.kwargs.get('params', '')} {call.kwargs.get('json', '')}"
                for who, token in (("county B", seats[B][call.seat]),
                                   ("county A", seats[A][call.seat])):
                    resp = _send(app_a, call, token)
                    if resp.status_code == 421:
                        sent_on += 1
                        if resp.headers.get("Citygrid-District") != B:
                            problems.append(f"{call.url} with {who}: 421 naming "
                                            f"{resp.headers.get('Citygrid-District')}")
                        continue
                    if resp.status_code >= 500:
                        problems.append(f"{route} with {who}: {resp.status_code}")
                    if call.write and who == "county B" and resp.status_code < 400:
                        problems.append(f"{route} with {who}: a write answered "
                                        f"{resp.status_code}")
                    if call.url.endswith(".pbf") and resp.status_code == 200 and resp.content \
                            and who == "county B":
                        problems.append(f"{route} with {who}: a tile of B's rows")
                    found = leaks(resp.text if not call.url.endswith(".pbf") else "", asked,
                                  b_names)
                    if found:
                        problems.append(f"{route} with {who}: {resp.status_code} shows "
                                        f"{found[:3]}")
    assert not problems, "\n".join(problems)
    assert sent_on > len(table), "hardly any request was sent on: is the setting applied?"
    assert _state_of_b(city[0]) == before, "a process not serving B changed county B"


def test_every_read_is_served_by_a_standby_that_refuses_writes(city, seats, case_b):
    """Requests that change nothing go to a standby (CITYGRID_READ_DATABASE_URL): every GET of
    the table, with county B's token, on a server whose standby is the city's database in
    read-only transactions (refusing every write, as a hot standby does: SQLSTATE 25006),
    answers as the same request does on the primary."""
    read_only = city[0] + ("&" if "?" in city[0] else "?") + \
        "options=-c%20default_transaction_read_only%3Don"
    table = calls(city, case_b)
    problems, reads = [], 0
    with TestClient(create_app(Settings(database_url=city[0],
                                        read_database_url=read_only))) as app_r, \
            TestClient(create_app(Settings(database_url=city[0]))) as app_p:
        router = app_r.app.state.context.reads()
        with router.standbys[0].app.connect() as conn, pytest.raises(Exception, match="read-only"):
            conn.execute(sa.text("CREATE TEMPORARY TABLE x (a int)"))
        for route, route_calls in table.items():
            for call in route_calls:
                if call.method not in ("GET", "HEAD") or call.stream:
                    continue
                resp = _send(app_r, call, seats[B][call.seat])
                primary = _send(app_p, call, seats[B][call.seat])
                reads += resp.status_code == 200
                if resp.status_code != primary.status_code or resp.status_code >= 500:
                    problems.append(f"{route} {call.url}: {resp.status_code} (the primary: "
                                    f"{primary.status_code}) {resp.text[:200]}")
        assert router.standby_for([B]) is router.standbys[0]
    assert reads > 40
    assert not problems, "\n".join(problems)
