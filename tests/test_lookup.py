"""Responsibility lookups on the sample city: right grid, component and owner for points 2 m
beside known components (offsets computed by GDAL, not by citygrid), agreement with PostGIS,
rules, ambiguity, coordinate systems, errors, and an index that follows imports."""

from __future__ import annotations

import json
import subprocess

import geopandas as gpd
import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.schemas import ErrorBody, LookupOut
from api.settings import Settings
from lookup.bulk import resolve_many
from lookup.resolve import OutsideCoverage, Resolver
from tests.conftest import SAMPLES, Cli, bearer, make_token, reloaded
from tests.oracle import resolve_in_postgis

CENSUS = SAMPLES / "341802_xuanzhou" / "部件_井盖路灯.shp"


@pytest.fixture(scope="module")
def beside(tmp_path_factory):
    """Sample components with no other component of their class within 10 m, and points 2 m
    east of each, taken to EPSG:4490 by ogr2ogr."""
    census = gpd.read_file(CENSUS, encoding="GBK")
    xy = np.column_stack([census.geometry.x, census.geometry.y])
    cls = census["标识码"].str[6:10].to_numpy()
    keep = []
    for i in range(len(census)):
        same = cls == cls[i]
        d = np.hypot(*(xy[same] - xy[i]).T)
        if np.sort(d)[1] > 10:
            keep.append(i)
        if len(keep) == 25:
            break
    picked = census.iloc[keep].reset_index(drop=True)
    folder = tmp_path_factory.mktemp("beside")
    src = folder / "east2m.geojson"
    shifted = gpd.GeoDataFrame({"i": range(len(picked))},
                               geometry=shapely.points(xy[keep] + [2.0, 0.0]), crs=4549)
    shifted.to_file(src, driver="GeoJSON")
    out = folder / "east2m_4490.geojson"
    subprocess.run(["ogr2ogr", "-f", "GeoJSON", "-t_srs", "EPSG:4490", str(out), str(src)],
                   check=True, capture_output=True)
    points = json.loads(out.read_text())["features"]
    lonlat = [tuple(f["geometry"]["coordinates"][:2]) for f in points]
    return picked, lonlat


def expect(row):
    return (row["所在网格"], row["标识码"], row["权属单位"], row["养护单位"])


def test_points_beside_components_resolve_in_process(city, beside):
    _, _, index = city
    picked, lonlat = beside
    resolver = Resolver(index)
    for (_, row), (lon, lat) in zip(picked.iterrows(), lonlat, strict=True):
        answer = resolver.resolve(lon, lat, row["标识码"][6:10]).to_dict()
        got = (answer["grid"]["code"], answer["component"]["code"],
               answer["component"]["owner"], answer["component"]["maintainer"])
        assert got == expect(row)
        assert answer["component"]["distance_m"] == pytest.approx(2.0, abs=0.05)
        assert answer["responsible"] == {"department": row["养护单位"],
                                         "basis": "component_maintainer",
                                         "detail": f"部件 {row['标识码']} 的养护单位"}


@pytest.fixture(scope="module")
def client(city):
    url, _, _ = city
    with TestClient(create_app(Settings(database_url=url)),
                    headers=bearer(make_token(url, "api_client", "341802,341881"))) as c:
        yield c


def test_points_beside_components_over_http_get_and_bulk_post(client, beside):
    picked, lonlat = beside
    for (_, row), (lon, lat) in list(zip(picked.iterrows(), lonlat, strict=True))[:5]:
        resp = client.get("/lookup", params={"lon": lon, "lat": lat, "class": row["标识码"][6:10]})
        assert resp.status_code == 200
        answer = LookupOut.model_validate(resp.json())
        assert (answer.grid.code, answer.component.code, answer.component.owner,
                answer.component.maintainer) == expect(row)
    body = [{"lon": lon, "lat": lat, "class": row["标识码"][6:10]}
            for (_, row), (lon, lat) in zip(picked.iterrows(), lonlat, strict=True)]
    body.insert(3, {"lon": 100.0, "lat": 30.0})               # outside: an error in its place
    resp = client.post("/lookup", json=body)
    assert resp.status_code == 200
    out = resp.json()
    assert out["count"] == len(body) and out["located"] == len(body) - 1
    results = out["results"]
    assert results[3]["error"]["code"] == "outside_coverage"
    del results[3]
    for (_, row), result in zip(picked.iterrows(), results, strict=True):
        answer = LookupOut.model_validate(result)
        assert (answer.grid.code, answer.component.code, answer.component.owner,
                answer.component.maintainer) == expect(row)


def test_bulk_geojson_feature_collection(client, beside):
    picked, lonlat = beside
    fc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(p)},
         "properties": {"class": row["标识码"][6:10]}}
        for (_, row), p in zip(picked.iterrows(), lonlat, strict=True)]}
    results = client.post("/lookup", json=fc).json()["results"]
    assert [r["component"]["code"] for r in results] == list(picked["标识码"])


def test_points_beside_components_from_the_cli(city, beside, tmp_path):
    url, _, _ = city
    picked, lonlat = beside
    cli = Cli(url, tmp_path)
    row = picked.iloc[0]
    lon, lat = lonlat[0]
    answer = json.loads(cli("lookup", repr(lon), repr(lat), "--class", row["标识码"][6:10]).stdout)
    assert (answer["grid"]["code"], answer["component"]["code"],
            answer["component"]["owner"], answer["component"]["maintainer"]) == expect(row)
    outside = cli("lookup", "100", "30", check=3)
    assert "不在任何已登记区县的单元网格内" in outside.stderr
    assert "lies in no grid" in outside.stderr


def test_in_memory_answers_equal_postgis_on_the_sample_city(city):
    _, engine, index = city
    resolver = Resolver(index)
    rng = np.random.default_rng(2026)
    checked = 0
    with Session(engine) as s:
        for d in index.districts.values():
            minx, miny, maxx, maxy = d.bbox
            classes = [*sorted(d.components)[:4], *sorted(c for _, c in d.duties)[:3], None]
            for lon, lat in zip(rng.uniform(minx, maxx, 120), rng.uniform(miny, maxy, 120),
                                strict=True):
                cls = classes[checked % len(classes)]
                try:
                    mine = resolver.resolve(lon, lat, cls).to_dict()
                except OutsideCoverage:
                    with pytest.raises(OutsideCoverage):
                        resolve_in_postgis(s, lon, lat, cls)
                    continue
                radius = d.radius(cls, 30.0) if cls else 30.0
                kind = mine["class"]["kind"] if mine["class"] else None
                theirs = resolve_in_postgis(s, lon, lat, cls, kind, radius_m=radius)
                checked += 1
                for key in ("district", "street", "community", "grid"):
                    assert mine[key] == theirs[key]
                assert {k: mine["responsible"][k] for k in ("department", "basis")} == \
                    theirs["responsible"]
                mc, tc = mine["component"], theirs["component"]
                assert (mc or {}).get("code") == (tc or {}).get("code")
                if mc:
                    assert mc["distance_m"] == pytest.approx(tc["distance_m"], abs=0.05)
    assert checked > 150


def test_bulk_answers_equal_single_answers(city):
    _, _, index = city
    resolver = Resolver(index)
    d = index.districts["341881"]
    minx, miny, maxx, maxy = d.bbox
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(minx, maxx, 400), rng.uniform(miny, maxy, 400)
    classes = [["01001", "01037", "06010", None][i % 4] for i in range(400)]
    bulk = resolve_many(resolver, lon, lat, classes)
    for i in range(400):
        try:
            single = resolver.resolve(lon[i], lat[i], classes[i]).to_dict()
        except OutsideCoverage as exc:       # said in the same words
            assert bulk.item(i)["error"] == {"code": "outside_coverage", "message": exc.message}
            continue
        assert bulk.item(i) == single


def test_coordinate_systems(client, beside):
    picked, lonlat = beside
    row, (lon, lat) = picked.iloc[0], lonlat[0]
    cls = row["标识码"][6:10]
    base = client.get("/lookup", params={"lon": lon, "lat": lat, "class": cls}).json()
    x, y = row.geometry.x + 2.0, row.geometry.y
    gk = client.get("/lookup", params={"lon": x, "lat": y, "crs": "EPSG:4549",
                                       "class": cls}).json()
    assert gk["component"]["code"] == base["component"]["code"]
    assert gk["component"]["distance_m"] == pytest.approx(2.0, abs=0.05)
    from gis.mapcoords import gcj02_to_bd09, wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    assert 300 < np.hypot((glon[0] - lon) * 95_000, (glat[0] - lat) * 111_000) < 800
    for crs, coords in (("gcj02", (glon[0], glat[0])),
                        ("bd09", tuple(v[0] for v in gcj02_to_bd09(glon, glat)))):
        shifted = client.get("/lookup", params={"lon": coords[0], "lat": coords[1], "crs": crs,
                                                "class": cls}).json()
        assert shifted["component"]["code"] == base["component"]["code"], crs
        assert shifted["point"]["lon"] == pytest.approx(lon, abs=1e-6)


@pytest.mark.parametrize(("params", "status", "code", "names"), [
    ({"lon": 100.0, "lat": 30.0}, 404, "outside_coverage", None),
    ({"lon": "abc", "lat": 30.9}, 400, "bad_request", "lon"),
    ({"lat": 30.9}, 400, "bad_request", "lon"),
    ({"lon": 118.75, "lat": 95.0}, 400, "bad_input", "lat"),
    ({"lon": 118.75, "lat": 30.94, "class": "9999"}, 400, "unknown_class", "9999"),
    ({"lon": 118.75, "lat": 30.94, "crs": "EPSG:99999"}, 400, "bad_crs", "EPSG:99999"),
])
def test_bad_queries_get_the_documented_errors(client, params, status, code, names):
    resp = client.get("/lookup", params=params)
    assert resp.status_code == status
    body = ErrorBody.model_validate(resp.json())
    assert body.error.code == code
    if names:
        assert names in body.error.message


@pytest.mark.parametrize(("body", "status", "needle"), [
    ({"points": "x"}, 400, "body"),
    ([{"lon": "a", "lat": 1}], 400, "body[0].lon"),
    ([[1, 2, 3]], 400, "body[0]"),
    ([], 400, "no points"),
])
def test_bad_bulk_bodies(client, body, status, needle):
    resp = client.post("/lookup", json=body)
    assert resp.status_code == status and needle in resp.json()["error"]["message"]


def test_bulk_limit(city):
    url, _, _ = city
    with TestClient(create_app(Settings(database_url=url, max_bulk_points=3)),
                    headers=bearer(make_token(url, "api_client", "341802"))) as c:
        resp = c.post("/lookup", json=[[118.75, 30.94]] * 4)
        assert resp.status_code == 413 and resp.json()["error"]["code"] == "too_many_points"


def test_the_index_follows_an_import_without_restart(city, client, tmp_path):
    url, _, index = city
    d = index.districts["341881"]
    spot = d.grid_geoms[10].centroid
    before = client.get("/lookup", params={"lon": spot.x, "lat": spot.y, "class": "01054"})
    assert before.json()["component"] is None or \
        before.json()["component"]["distance_m"] > 1
    to_gk = gpd.GeoSeries([spot], crs=4490).to_crs(4549)
    src = tmp_path / "新充电桩.geojson"
    gpd.GeoDataFrame({"GLBJBSM": ["34188101054999999"], "YHDWMC": ["宁国市新能源公司"]},
                     geometry=to_gk, crs=4549).to_file(src)
    with reloaded(client.app, "341881"):
        Cli(url, tmp_path)("import", "components", str(src), "--district", "341881")
    answer = client.get("/lookup", params={"lon": spot.x, "lat": spot.y,
                                           "class": "01054"}).json()
    assert answer["component"]["code"] == "34188101054999999"
    assert answer["responsible"]["department"] == "宁国市新能源公司"


def test_bulk_equals_single_where_answers_are_close_calls(city):
    """Points a hair from a grid edge (on it, 0.5 m, 0.99 m, 1.01 m and 3 m in), halfway between
    two components of a class, and on a component: the bulk path's shortcuts (grid cores, the
    k-d tree) must give the answers of the single-point path, ambiguity included."""
    _, _, index = city
    resolver = Resolver(index)
    d = index.districts["341802"]
    code, cc = max(d.components.items(), key=lambda kv: len(kv[1]))
    assert cc.points is not None              # the sample census's classes are points
    local: list[tuple[float, float]] = []
    pairs = 0
    for a in range(0, 60, 7):
        shape = d.grid_shapes[a]
        b = next(int(b) for b in d.grid_local.query(shape, predicate="touches")
                 if shape.intersection(d.grid_shapes[b]).length > 10)
        edge = shapely.line_merge(shape.intersection(d.grid_shapes[b]))
        edge = edge.geoms[0] if hasattr(edge, "geoms") else edge
        mid = edge.interpolate(0.5, normalized=True)
        pairs += 1
        inward = np.subtract(d.grid_shapes[a].centroid.coords[0], mid.coords[0])
        inward /= np.hypot(*inward)
        for metres in (0.0, 0.5, 0.99, 1.01, 3.0):
            local.append((mid.x + inward[0] * metres, mid.y + inward[1] * metres))
    assert pairs >= 5
    xy = cc.points.data
    _, nearest = cc.points.query(xy[:60], k=2)
    for i in range(60):
        local.append(tuple((xy[i] + xy[nearest[i, 1]]) / 2))     # halfway between two
        local.append(tuple(xy[i]))                               # on one
    x, y = np.array(local).T
    lon, lat = x / d.frame.kx + d.frame.lon0, y / d.frame.ky + d.frame.lat0
    bulk = resolve_many(resolver, lon, lat, code)
    ambiguous = 0
    for i in range(len(lon)):
        single = resolver.resolve(float(lon[i]), float(lat[i]), code).to_dict()
        assert bulk.item(i) == single, i
        ambiguous += single["ambiguous"]
    assert ambiguous >= 40       # the close calls were close (some midpoints lie beyond 30 m)


def _without_fast_path(url: str):
    """The app with only the route answering GET /lookup (the reference of the fast path)."""
    from api.routes.lookup import LookupFastPath

    app = create_app(Settings(database_url=url))
    app.user_middleware = [m for m in app.user_middleware if m.cls is not LookupFastPath]
    return app


def test_the_fast_path_answers_exactly_what_the_route_answers(city, beside):
    """`LookupFastPath` answers the common 200s itself, byte for byte the route's answer, and
    hands everything else to the route (its errors as documented, the rate limit counted
    once)."""
    from api.routes.lookup import LookupFastPath

    url, _, _ = city
    picked, lonlat = beside
    token = make_token(url, "api_client", "341802")
    queries = [{"lon": lon, "lat": lat, "class": row["标识码"][6:10]}
               for (_, row), (lon, lat) in zip(picked.iterrows(), lonlat, strict=True)]
    lon, lat = lonlat[0]
    queries += [{"lon": lon, "lat": lat}, {"lon": f" {lon} ", "lat": lat, "crs": "EPSG:4326"},
                {"lon": lon, "lat": lat, "class": queries[0]["class"], "kind": "component"}]
    # handed on: errors, another county, a parameter the route does not know, no token
    handed = [{"lon": 100.0, "lat": 30.0}, {"lon": "abc", "lat": lat}, {"lat": lat},
              {"lon": lon, "lat": lat, "class": "9999"}, {"lon": lon, "lat": lat, "kind": "x"},
              {"lon": lon, "lat": lat, "district": "341881"}]
    spot = city[2].districts["341881"].grid_geoms[10].centroid    # another county's grid
    handed.append({"lon": spot.x, "lat": spot.y})
    with TestClient(create_app(Settings(database_url=url)), headers=bearer(token)) as fast, \
            TestClient(_without_fast_path(url), headers=bearer(token)) as route:
        fast.get("/lookup", params=queries[0])            # the token is cached from here on
        app = fast.app
        for q in queries + handed:
            theirs = route.get("/lookup", params=q)
            ours = fast.get("/lookup", params=q)
            assert (ours.status_code, ours.content) == (theirs.status_code, theirs.content), q
            assert ours.headers["content-type"] == theirs.headers["content-type"]
            request = fast.build_request("GET", "/lookup", params=q)
            scope = {"type": "http", "method": "GET", "path": "/lookup", "app": app,
                     "query_string": request.url.query,
                     "headers": [(k.lower().encode(), v.encode()) for k, v in
                                 request.headers.items()]}
            answered = LookupFastPath.answer(scope)
            assert answered == (None if q in handed else theirs.content), q
        assert [route.get("/lookup", params=q).status_code for q in handed] == \
            [404, 400, 400, 400, 400, 200, 404]
        anonymous = fast.get("/lookup", params=queries[0], headers={"Authorization": ""})
        assert anonymous.status_code == 401


def test_the_rate_limit_counts_each_lookup_once(city, beside):
    url, _, _ = city
    lon, lat = beside[1][0]
    token = make_token(url, "api_client", "341802,341881")
    with TestClient(create_app(Settings(database_url=url, lookup_rate_per_minute=4)),
                    headers=bearer(token)) as c:
        # two answered on the fast path, one refused by the route (it counts), one answered
        codes = [c.get("/lookup", params=p).status_code for p in
                 ({"lon": lon, "lat": lat}, {"lon": lon, "lat": lat}, {"lon": 100.0, "lat": 30.0},
                  {"lon": lon, "lat": lat}, {"lon": lon, "lat": lat})]
    assert codes == [200, 200, 404, 200, 429]
