"""The HTTP API, through FastAPI's test client, against a real PostGIS."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.demo import load_samples
from api.schemas import DistrictDetail, DistrictOut, ErrorBody, QaReportOut
from api.settings import Settings
from tests.conftest import bearer, make_token


@pytest.fixture
def client(fresh_url, fresh_engine):
    load_samples(fresh_engine, echo=lambda _: None, cases=False)
    with TestClient(create_app(Settings(database_url=fresh_url)),
                    headers=bearer(make_token(fresh_url))) as c:
        yield c


def test_health_does_not_need_the_database():
    app = create_app(Settings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    with TestClient(app) as c:
        assert c.get("/health").json() == {"status": "ok"}


def test_districts_and_hierarchy(client):
    rows = [DistrictOut.model_validate(r) for r in client.get("/districts").json()]
    assert [(d.code, d.name, d.scheme, d.grids) for d in rows] == [
        ("341802", "宣州区", "legacy", 270), ("341881", "宁国市", "gb47678", 225)]
    detail = DistrictDetail.model_validate(client.get("/districts/341881").json())
    assert detail.streets[0].name == "西津街道"
    assert detail.streets[0].communities[1].name == "宜堃社区"
    assert all(c.boundary for s in detail.streets for c in s.communities)


def test_grids_as_geojson(client):
    fc = client.get("/districts/341802/grids").json()
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 270
    first = fc["features"][0]
    assert first["properties"]["code"] == "34180200100101"
    lon, lat = first["geometry"]["coordinates"][0][0][0]
    assert 118.7 < lon < 118.8 and 30.9 < lat < 31.0


def test_stored_grids_qa(client):
    report = QaReportOut.model_validate(client.get("/districts/341881/qa").json())
    assert report.grids == 225 and report.errors == 0


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/districts/999999", 404, "unknown_district"),
    ("/districts/12", 400, "bad_request"),
    ("/districts/340000", 400, "bad_code"),
    ("/districts/341802/grids?at=yesterday", 400, "bad_request"),
    ("/nowhere", 404, "not_found"),
])
def test_errors_have_one_shape(client, path, status, code):
    resp = client.get(path)
    assert resp.status_code == status
    body = ErrorBody.model_validate(resp.json())
    assert body.error.code == code and body.error.message


def test_overview_page_lists_the_counties(client):
    page = client.get("/overview").text
    assert "宣州区" in page and "宁国市" in page


def test_the_root_is_the_map_for_browsers(client):
    page = client.get("/", headers={"Accept": "text/html"}).text
    assert "maplibre-gl.js" in page and "单元网格" in page
