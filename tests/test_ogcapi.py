"""OGC API – Features as its clients and its abstract test suite see it: owslib and GDAL (clients
citygrid did not write) read the service, and the suite's checks that can run offline are
written out (Part 1: Core, GeoJSON, HTML, OAS30; Part 2: CRS by reference)."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta

import pyogrio
import pytest
import requests
from owslib import ogcapi
from owslib.ogcapi.features import Features

from tests.conftest import bearer, make_token

A = "341802"
CONF = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/{}"
CENSUS = ("components-points", "components-lines", "components-polygons")
COLLECTIONS = {"grids", "streets", "communities", *CENSUS, "cases"}
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.fixture(scope="module")
def token(admin_token):
    return admin_token


@pytest.fixture(scope="module")
def http(token):
    with requests.Session() as session:
        session.headers.update(bearer(token))
        yield session


@pytest.fixture(scope="module")
def owslib_client(live, token):
    # owslib keeps the headers it is given in a module-wide dict: put it back afterwards
    saved = dict(ogcapi.REQUEST_HEADERS)
    yield Features(live, headers=bearer(token))
    ogcapi.REQUEST_HEADERS.clear()
    ogcapi.REQUEST_HEADERS.update(saved)


@pytest.fixture(scope="module")
def reported(city, live):
    """Two cases of 宣州区, reported now."""
    officer = make_token(city[0], "operator", A, post="值班长", name="值班长甲")
    numbers = []
    for i in (10, 30):
        p = city[2].districts[A].grid_geoms[i].representative_point()
        resp = requests.post(f"{live}/cases", headers=bearer(officer), timeout=30, json={
            "lon": p.x, "lat": p.y, "class": "0102", "kind": "event",
            "description": f"案件 {i}"})
        assert resp.status_code == 201, resp.text
        numbers.append(resp.json()["number"])
    return numbers


def rels(doc):
    return {link["rel"] for link in doc["links"]}


# -- owslib and GDAL ---------------------------------------------------------------------------


def test_owslib_reads_the_service(owslib_client):
    w = owslib_client
    assert {"self", "service-desc", "conformance", "data"} <= {link["rel"] for link in w.links}
    assert CONF.format(1, "core") in w.conformance()["conformsTo"]
    assert set(w.feature_collections()) == COLLECTIONS
    points = w.collection("components-points")
    assert points["geometryType"] == "Point" and points["itemType"] == "feature"
    page = w.collection_items("components-points", limit=5)
    assert page["type"] == "FeatureCollection" and page["numberReturned"] == 5
    assert {f["geometry"]["type"] for f in page["features"]} == {"Point"}
    one = w.collection_item("components-points", page["features"][0]["id"])
    assert one["id"] == page["features"][0]["id"]
    api = w.api()                          # found through the service-desc link (OpenAPI 3.0)
    assert api["openapi"].startswith("3.0.")


def test_gdal_copies_the_census_points_to_a_geopackage(live, token, tmp_path, http):
    out = tmp_path / "points.gpkg"
    result = subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live}", "components-points",
         "-oo", "PAGE_SIZE=1000",
         "--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"],
        capture_output=True, text=True, timeout=300, env={**os.environ, "CPL_DEBUG": "OFF"})
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == ""                  # no "geometry of type … inserted" warning
    info = pyogrio.read_info(out, layer="components-points")
    assert info["geometry_type"] == "Point"
    matched = http.get(f"{live}/collections/components-points/items",
                       params={"limit": 1}).json()["numberMatched"]
    assert info["features"] == matched


# -- content negotiation ----------------------------------------------------------------------


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_the_landing_page_is_json_unless_html_is_asked_for(live, accept):
    resp = requests.get(live, headers={"Accept": accept}, timeout=30)
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    assert {"self", "service-desc", "conformance", "data"} <= rels(resp.json())


def test_browsers_get_the_map_and_html(live, http):
    page = requests.get(live, headers={"Accept": BROWSER}, timeout=30)
    assert page.headers["content-type"].startswith("text/html") and "maplibre" in page.text
    assert "maplibre" in requests.get(f"{live}/?f=html", timeout=30).text
    assert requests.get(live, params={"f": "json"}, headers={"Accept": BROWSER},
                        timeout=30).json()["links"]
    for path in ("/conformance", "/collections", "/collections/grids",
                 "/collections/grids/items", "/collections/grids/items/34180200100101"):
        resp = http.get(f"{live}{path}", headers={"Accept": BROWSER})
        assert resp.headers["content-type"].startswith("text/html"), path
        assert resp.text.startswith("<!doctype html>"), path
        assert resp.headers["content-type"] == http.get(
            f"{live}{path}", params={"f": "html"}).headers["content-type"]
    assert "澄江街道" in http.get(f"{live}/collections/grids/items", params={"f": "html"}).text
    assert http.get(f"{live}/collections", params={"f": "xml"}).status_code == 400


# -- the abstract test suite, offline ---------------------------------------------------------


def test_conformance_and_collections(live, http, reported):
    conforms = http.get(f"{live}/conformance").json()["conformsTo"]
    for part, name in ((1, "core"), (1, "geojson"), (1, "html"), (1, "oas30"), (2, "crs")):
        assert CONF.format(part, name) in conforms
    listed = http.get(f"{live}/collections").json()
    assert {"self"} <= rels(listed) and listed["crs"][0].endswith("OGC/1.3/CRS84")
    assert {c["id"] for c in listed["collections"]} == COLLECTIONS
    for c in listed["collections"]:
        assert {"self", "items"} <= rels(c) and c["geometryType"]
        west, south, east, north = c["extent"]["spatial"]["bbox"][0]
        assert 118 < west < east < 120 and 30 < south < north < 32, c["id"]
        assert c["storageCrs"].endswith("EPSG/0/4490") and c["crs"] == listed["crs"]
        assert ("temporal" in c["extent"]) == (c["id"] in (*CENSUS, "cases")), c["id"]
        assert c == http.get(f"{live}/collections/{c['id']}").json()
    geometry = {c["id"]: c["geometryType"] for c in listed["collections"]}
    assert geometry["components-lines"] == "MultiLineString"
    assert geometry["components-polygons"] == "MultiPolygon"


def test_items_page_by_page(live, http):
    url = f"{live}/collections/components-points/items"
    first = http.get(url)
    assert first.headers["content-type"] == "application/geo+json"
    page = first.json()
    matched = page["numberMatched"]
    assert page["type"] == "FeatureCollection" and matched > 1000
    assert page["numberReturned"] == len(page["features"]) == 1000      # the default limit
    seen = [f["id"] for f in page["features"]]
    while "next" in rels(page):
        assert "self" in rels(page)
        page = http.get(next(x["href"] for x in page["links"] if x["rel"] == "next")).json()
        assert page["numberMatched"] == matched
        assert page["numberReturned"] == len(page["features"])
        seen += [f["id"] for f in page["features"]]
    assert len(seen) == len(set(seen)) == matched


def test_a_limit_above_the_maximum_is_capped(live, http):
    for limit in (10_001, 99999999999999999999):
        resp = http.get(f"{live}/collections/grids/items", params={"limit": limit, "offset": 5})
        assert resp.status_code == 200
        body = resp.json()
        assert body["numberReturned"] == body["numberMatched"] - 5
        prev = next(x["href"] for x in body["links"] if x["rel"] == "prev")
        assert "limit=10000" in prev
    capped = http.get(f"{live}/collections/components-points/items",
                      params={"limit": 20_000, "offset": 0}).json()
    assert capped["numberReturned"] == min(10_000, capped["numberMatched"])


@pytest.mark.parametrize(("path", "params", "status", "names"), [
    ("/collections/grids/items", {"bbox": "1,2,3"}, 400, "bbox"),
    ("/collections/grids/items", {"bbox": "a,b,c,d"}, 400, "bbox"),
    ("/collections/grids/items", {"bbox": "119,31,118,30"}, 400, "bbox"),
    ("/collections/grids/items", {"crs": "EPSG:3857"}, 400, "crs"),
    ("/collections/grids/items", {"bbox": "0,0,1,1", "bbox-crs": "EPSG:3857"}, 400, "bbox-crs"),
    ("/collections/grids/items", {"limit": 0}, 400, "limit"),
    ("/collections/grids/items", {"bbx": "1,2,3,4"}, 400, "bbx"),
    ("/collections/grids/items", {"state": "closed"}, 400, "state"),
    ("/collections/grids/items", {"datetime": "2026-01-01"}, 400, "datetime"),
    ("/collections/cases/items", {"datetime": "yesterday"}, 400, "datetime"),
    ("/collections/cases/items", {"datetime": "2026-01-01T00:00:00"}, 400, "datetime"),
    ("/collections/cases/items", {"datetime": "../.."}, 400, "datetime"),
    ("/collections/cases/items", {"datetime": "2026-02-01/2026-01-01"}, 400, "datetime"),
    ("/collections/grids/items/34180200100101", {"limit": 1}, 400, "limit"),
    ("/collections", {"bbox": "1,2,3,4"}, 400, "bbox"),
    ("/conformance", {"lang": "zh"}, 400, "lang"),
    ("/collections/nope", {}, 404, "nope"),
    ("/collections/nope/items", {}, 404, "nope"),
    ("/collections/grids/items/nope", {}, 404, "nope"),
    ("/collections/components-points/items/34180200100101", {}, 404, "34180200100101"),
])
def test_refusals_name_what_was_wrong(live, http, path, params, status, names):
    resp = http.get(f"{live}{path}", params=params)
    assert resp.status_code == status, resp.text
    message = resp.json()["error"]["message"]
    assert names in message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message.split("(")[0])   # Chinese first


def test_methods_not_allowed_say_which_are(live, http):
    for path in ("/collections", "/collections/grids/items", "/conformance"):
        resp = http.post(f"{live}{path}", json={})
        assert resp.status_code == 405 and "GET" in resp.headers["Allow"], path
        assert resp.json()["error"]["code"] == "method_not_allowed"


def test_datetime_selects_cases_by_the_time_reported(live, http, reported):
    url = f"{live}/collections/cases/items"
    now = datetime.now(UTC)
    hour = timedelta(hours=1)

    def ids(when):
        resp = http.get(url, params={"datetime": when})
        assert resp.status_code == 200, resp.text
        return {f["id"] for f in resp.json()["features"]}

    assert set(reported) <= ids(f"{(now - hour).isoformat()}/..")
    assert set(reported) <= ids(f"{(now - hour).isoformat()}/{(now + hour).isoformat()}")
    assert set(reported) <= ids(f"../{(now + hour).isoformat()}")
    assert not ids("../2001-01-01") & set(reported)
    assert not ids(f"{(now + hour).isoformat().replace('+00:00', 'Z')}/..")
    assert set(reported) <= ids((now + timedelta(hours=8)).date().isoformat())   # 宣城's day
    extent = http.get(f"{live}/collections/cases").json()["extent"]["temporal"]
    first, last = extent["interval"][0]
    assert first <= last and extent["trs"].endswith("Gregorian")


def test_datetime_selects_components_by_their_census_dates(live, http):
    url = f"{live}/collections/components-points/items"
    interval = http.get(f"{live}/collections/components-points").json()[
        "extent"]["temporal"]["interval"][0]
    assert interval[0] and interval[1] and interval[0] <= interval[1]
    page = http.get(url, params={"limit": 200}).json()
    dated = next(f for f in page["features"] if f["properties"]["initial_date"]
                 and f["properties"]["change_date"])
    start, end = dated["properties"]["initial_date"], dated["properties"]["change_date"]

    def matched(when):
        resp = http.get(url, params={"datetime": when, "limit": 10_000})
        assert resp.status_code == 200, resp.text
        return {f["id"] for f in resp.json()["features"]}

    assert dated["id"] in matched(start) and dated["id"] in matched(end)
    assert dated["id"] in matched(f"{start}/{end}") and dated["id"] in matched(f"../{start}")
    assert dated["id"] in matched(f"{end}/..")
    later = (datetime.fromisoformat(end) + timedelta(days=1)).date().isoformat()
    earlier = (datetime.fromisoformat(start) - timedelta(days=1)).date().isoformat()
    assert dated["id"] not in matched(f"{later}/..")
    assert dated["id"] not in matched(f"../{earlier}")
    everything = http.get(url, params={"limit": 1}).json()["numberMatched"]
    assert http.get(url, params={"datetime": "../9999-12-31", "limit": 1}).json()[
        "numberMatched"] <= everything


def test_part_2_crs_by_reference(live, http):
    url = f"{live}/collections/grids/items/34180200100101"
    plain = http.get(url)
    assert plain.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/OGC/1.3/CRS84>"
    assert plain.headers["content-type"] == "application/geo+json"
    lat_first = http.get(url, params={"crs": "http://www.opengis.net/def/crs/EPSG/0/4490"})
    assert lat_first.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4490>"
    lon, lat = plain.json()["geometry"]["coordinates"][0][0][0]
    assert lat_first.json()["geometry"]["coordinates"][0][0][0] == pytest.approx([lat, lon])
    items = http.get(f"{live}/collections/grids/items", params={"crs": "EPSG:4549",
                                                                 "limit": 1})
    assert items.headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4549>"


def test_the_openapi_document_is_openapi_3_0(live, http):
    landing = requests.get(live, timeout=30).json()
    desc = next(x for x in landing["links"] if x["rel"] == "service-desc")
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    doc = requests.get(desc["href"], timeout=30).json()
    assert doc["openapi"] == "3.0.3"
    text = json.dumps(doc)
    assert '"type": "null"' not in text and '"const"' not in text
    items = doc["paths"]["/collections/{collection_id}/items"]["get"]
    assert "application/geo+json" in items["responses"]["200"]["content"]
    one = doc["paths"]["/collections/{collection_id}/items/{feature_id}"]["get"]
    assert "application/geo+json" in one["responses"]["200"]["content"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")["schema"]
    assert limit["default"] == 1000 and limit["maximum"] == 10000 and limit["minimum"] == 1
    names = {p["name"] for p in items["parameters"]}
    assert {"bbox", "bbox-crs", "crs", "datetime", "limit", "offset", "f"} <= names


def test_a_one_point_multipoint_is_served_as_a_point(city, live, http):
    """Some shapefiles deliver points as one-point MultiPoints: the layer stays Point."""
    import sqlalchemy as sa

    url = f"{live}/collections/components-points/items"
    code = http.get(url, params={"limit": 1}).json()["features"][0]["id"]
    change = sa.text("UPDATE component SET geom = ST_Multi(geom) WHERE code = :c")
    with city[1].begin() as conn:
        assert conn.execute(change, {"c": code}).rowcount == 1
    try:
        one = http.get(f"{url}/{code}").json()
        assert one["geometry"]["type"] == "Point"
    finally:
        with city[1].begin() as conn:
            conn.execute(sa.text("UPDATE component SET geom = ST_GeometryN(geom, 1) "
                                 "WHERE code = :c"), {"c": code})
