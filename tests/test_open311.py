"""Open311 GeoReport v2 as its clients see it, on a real port: PyPI's `georeport` client reads
(JSON and XML), writes go as the spec's examples do (a form-encoded POST with api_key), and the
XML is read with xml.etree. What a user checks: a request made is readable in both formats, its
expected time is the department's deadline, errors have GeoReport's shape and statuses, and a
county's key reads nothing of another county's."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime

import pytest
import requests
from georeport import GeoReport

from gis.db import session_scope
from grid.districts import add_district
from tests.conftest import bearer, make_token

A, B = "341802", "341881"          # 宣州区 lists its requests publicly; 宁国市 does not
HOLDER = "宣城市宣州区城市管理局"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def v2(live, city):
    with session_scope(city[1]) as s:
        add_district(s, A, name=None, public_listing=True)
    return f"{live}/open311/v2"


@pytest.fixture(scope="module")
def keys(city):
    url = city[0]
    return {county: {"public": make_token(url, "public_intake", county),
                     "reader": make_token(url, "api_client", county)} for county in (A, B)}


def point(city, county, i):
    p = city[2].districts[county].grid_geoms[i].centroid
    return p.y, p.x


def post(v2, key, lat, lon, fmt="json", **fields):
    """A POST Service Request as the spec's examples make it: form fields, api_key among them."""
    return requests.post(f"{v2}/requests.{fmt}", data={
        "api_key": key, "service_code": "event-0102", "lat": lat, "long": lon,
        "description": "小区门口垃圾成堆", "first_name": "王", "phone": "13700001111",
        **fields})


def xml_of(resp):
    assert resp.headers["content-type"].startswith("text/xml")
    assert resp.content.startswith(b"<?xml") and b"utf-8" in resp.content[:60].lower()
    return ET.fromstring(resp.content)


def georeport_error(resp, status):
    """The error list of a GeoReport answer, JSON or XML, checked for shape and status."""
    assert resp.status_code == status, resp.text
    if resp.headers["content-type"].startswith("text/xml"):
        root = xml_of(resp)
        assert root.tag == "errors" and [e.tag for e in root] == ["error"]
        errors = [{"code": int(e.findtext("code")), "description": e.findtext("description")}
                  for e in root]
    else:
        errors = resp.json()
    assert [e["code"] for e in errors] == [status]
    description = errors[0]["description"]
    first = CJK.search(description)
    assert first and first.start() < description.index("("), description   # Chinese first
    return description


def test_a_request_made_with_an_api_key_reads_back_in_json_and_xml(v2, city, keys):
    lat, lon = point(city, A, 3)
    made = post(v2, keys[A]["public"], lat, lon, jurisdiction_id=A)
    assert made.status_code == 201, made.text
    (ack,) = made.json()
    rid = ack["service_request_id"]
    as_xml = post(v2, keys[A]["public"], lat, lon, fmt="xml", description="井盖缺失")
    assert as_xml.status_code == 201
    root = xml_of(as_xml)
    assert root.tag == "service_requests" and root[0].tag == "request"
    rid2 = root[0].findtext("service_request_id")
    assert rid2.startswith(f"{A}-") and rid2 != rid

    json_client = GeoReport(v2, jurisdiction=A)
    xml_client = GeoReport(v2, jurisdiction=A, output_format="xml")
    one = json_client.get_service_request(rid)
    assert one["service_request_id"] == rid and one["status"] == "open"
    assert one["description"] == "小区门口垃圾成堆" and one["service_code"] == "event-0102"
    assert "13700001111" not in str(one) and "expected_datetime" not in one
    same = xml_client.get_service_request(rid)
    assert same["description"] == "小区门口垃圾成堆" and same["status"] == "open"
    assert float(same["lat"]) == pytest.approx(lat, abs=1e-6)
    listed = xml_client.get_service_requests(service_request_id=f"{rid},{rid2}")
    assert {r["service_request_id"] for r in listed} == {rid, rid2}
    raw = requests.get(f"{v2}/requests/{rid}.xml")
    assert "小区门口垃圾成堆".encode() in raw.content          # UTF-8, not character references
    request = xml_of(raw).find("request")
    assert request.findtext("requested_datetime").endswith("+08:00")
    assert request.find("expected_datetime") is None

    services = {s["service_code"]: s for s in xml_client.get_service_list()}
    assert services["event-0102"]["service_name"] == "暴露垃圾"
    assert services["event-0102"]["metadata"] == "false"
    assert json_client.get_service_definition("event-0102") == {
        "service_code": "event-0102", "attributes": []}
    assert xml_client.get_service_definition("component-0102")["service_code"] == \
        "component-0102"


def test_expected_datetime_is_the_disposal_deadline(v2, city, keys, admin_token):
    lat, lon = point(city, A, 7)
    rid = post(v2, keys[A]["public"], lat, lon).json()[0]["service_request_id"]
    client = GeoReport(v2, jurisdiction=A)
    base = v2.rsplit("/open311", 1)[0]
    for action, post_ in (("accept", "受理员"), ("confirm", "监督员"), ("file", "值班长")):
        token = make_token(city[0], "operator", A, post=post_)
        assert requests.post(f"{base}/cases/{rid}/transitions", headers=bearer(token),
                             json={"action": action}).ok
        # the centre's clocks (受理, 核实, 立案) are no promise to the public
        assert "expected_datetime" not in client.get_service_request(rid)
    token = make_token(city[0], "operator", A, post="派遣员")
    dispatched = requests.post(f"{base}/cases/{rid}/transitions", headers=bearer(token),
                               json={"action": "dispatch", "department": HOLDER})
    assert dispatched.ok, dispatched.text
    case = requests.get(f"{base}/cases/{rid}", headers=bearer(admin_token)).json()
    deadline = datetime.fromisoformat(case["disposal_due_at"])
    expected = client.get_service_request(rid)["expected_datetime"]
    assert datetime.fromisoformat(expected) == deadline.replace(microsecond=0)
    xml = GeoReport(v2, jurisdiction=A, output_format="xml").get_service_request(rid)
    assert datetime.fromisoformat(xml["expected_datetime"]) == deadline.replace(microsecond=0)


def test_errors_have_georeport_shape_and_status(v2, city, keys, live):
    lat, lon = point(city, A, 9)
    for fmt in ("json", "xml"):
        # no key, or a key that is no token: 403, never 401
        assert "api_key" in georeport_error(requests.post(f"{v2}/requests.{fmt}", data={
            "service_code": "event-0102", "lat": lat, "long": lon}), 403)
        georeport_error(post(v2, "cg_not-a-token", lat, lon, fmt=fmt), 403)
        georeport_error(requests.get(f"{v2}/requests.{fmt}",
                                     params={"api_key": "cg_not-a-token"}), 403)
        georeport_error(requests.get(f"{v2}/services.{fmt}",
                                     headers={"Authorization": "Bearer cg_nope"}), 403)
        # a reader may read but not create
        georeport_error(post(v2, keys[A]["reader"], lat, lon, fmt=fmt), 403)
        # missing or bad parameters: 400, never 422
        missing = requests.post(f"{v2}/requests.{fmt}", data={
            "api_key": keys[A]["public"], "lat": lat, "long": lon})
        assert "service_code" in georeport_error(missing, 400)
        georeport_error(post(v2, keys[A]["public"], None, None, fmt=fmt), 400)
        georeport_error(post(v2, keys[A]["public"], "北纬", lon, fmt=fmt), 400)
        georeport_error(post(v2, keys[A]["public"], 10.0, 10.0, fmt=fmt), 400)
        georeport_error(requests.get(f"{v2}/requests.{fmt}",
                                     params={"start_date": "昨天"}), 400)
        georeport_error(requests.get(f"{v2}/requests.{fmt}", params={"status": "pending"}), 400)
        # unknown service code, request id, jurisdiction: 404
        georeport_error(requests.get(f"{v2}/services/event-9999.{fmt}"), 404)
        georeport_error(post(v2, keys[A]["public"], lat, lon, fmt=fmt,
                             service_code="event-9999"), 404)
        georeport_error(requests.get(f"{v2}/requests.{fmt}",
                                     params={"service_code": "event-9999"}), 404)
        georeport_error(requests.get(f"{v2}/requests/{A}-19990101-0001.{fmt}"), 404)
        for unknown in ("999999", "宣州"):
            params = {"jurisdiction_id": unknown}
            georeport_error(requests.get(f"{v2}/services.{fmt}", params=params), 404)
            georeport_error(requests.get(f"{v2}/requests.{fmt}", params=params), 404)
    georeport_error(requests.get(f"{v2}/services.csv"), 404)
    # the rest of the API keeps citygrid's own error body
    other = requests.get(f"{live}/cases")
    assert other.status_code == 401 and other.json()["error"]["code"] == "unauthorized"


def test_a_county_key_reads_nothing_of_another(v2, city, keys):
    lat_b, lon_b = point(city, B, 11)
    made = post(v2, keys[B]["public"], lat_b, lon_b, service_code="event-06010",
                description="宁国市的井盖")
    assert made.status_code == 201, made.text
    rid_b = made.json()[0]["service_request_id"]
    a, b = keys[A]["reader"], keys[B]["reader"]
    for fmt in ("json", "xml"):
        one = f"{v2}/requests/{rid_b}.{fmt}"
        # B's own key reads it, as api_key or as a Bearer header
        assert requests.get(one, params={"api_key": b}).status_code == 200
        assert rid_b in requests.get(one, headers=bearer(b)).text
        # B's intake key (a public app's) creates only: it reads what no key reads
        georeport_error(requests.get(one, params={"api_key": keys[B]["public"]}), 404)
        # A's key, or no key (B does not list publicly), does not
        georeport_error(requests.get(one, params={"api_key": a}), 404)
        georeport_error(requests.get(one), 404)
        for params in ({"api_key": a}, {"api_key": a, "service_request_id": rid_b}, {}):
            listed = requests.get(f"{v2}/requests.{fmt}", params=params)
            assert listed.status_code == 200 and rid_b not in listed.text
            assert "宁国市的井盖" not in listed.text
        # naming B's jurisdiction: as unknown as a county that does not exist
        for params in ({"api_key": a, "jurisdiction_id": B}, {"jurisdiction_id": B}):
            georeport_error(requests.get(f"{v2}/requests.{fmt}", params=params), 404)
        georeport_error(requests.get(f"{v2}/services.{fmt}",
                                     params={"api_key": a, "jurisdiction_id": B}), 404)
        # A's key cannot report in B
        georeport_error(post(v2, keys[A]["public"], lat_b, lon_b, fmt=fmt), 403)
        # nor name B's services: they are not among those its key sees
        georeport_error(post(v2, keys[A]["public"], lat_b, lon_b, fmt=fmt,
                             service_code="event-06010"), 404)
    # two different tokens at once are refused rather than one of them chosen
    georeport_error(requests.get(f"{v2}/requests.json", params={"api_key": a},
                                 headers=bearer(b)), 400)


def test_discovery_names_the_endpoint_and_its_formats(v2):
    doc = requests.get(f"{v2}/discovery.json").json()
    (endpoint,) = doc["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == v2 and endpoint["type"] == "production"
    assert set(endpoint["formats"]) == {"application/json", "text/xml"}
    assert doc["changeset"] and CJK.search(doc["contact"]) and "api_key" in doc["key_service"]
    root = xml_of(requests.get(f"{v2}/discovery.xml"))
    assert root.tag == "discovery" and root.findtext("contact") == doc["contact"]
    assert root.findtext("endpoints/endpoint/url") == v2
    assert {f.text for f in root.findall("endpoints/endpoint/formats/format")} == {
        "application/json", "text/xml"}
    # a GeoReport client follows the discovered url
    assert GeoReport(endpoint["url"], jurisdiction=A).get_service_list()
