"""Cases on the sample city: intake resolved on the spot, every path of the workflow with its
history and clocks, duplicates, statistics counted by hand, and Open311 through a client that
was not written for citygrid."""

from __future__ import annotations

from datetime import datetime

import pytest
import requests
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.settings import Settings
from cases.intake import Report, report_case
from cases.store import get_case, list_cases
from cases.workflow import Actor, IllegalTransition, RoleNotAllowed, apply
from cases.worktime import CST
from lookup.resolve import Resolver
from tests.conftest import bearer, make_token


def t(*args: int) -> datetime:
    return datetime(*args, tzinfo=CST)


@pytest.fixture(scope="module")
def spots(city):
    """Places in the sample city: inside a sanitation zone (澄江街道) and outside any zone."""
    _, _, index = city
    d = index.districts["341802"]
    zoned = d.grid_geoms[0].centroid
    plain = d.grid_geoms[-1].centroid
    return {"zoned": (zoned.x, zoned.y), "plain": (plain.x, plain.y)}


@pytest.fixture
def session(city):
    _, engine, _ = city
    with Session(engine) as s:
        yield s
        s.rollback()


def report(session, city, where, cls="0102", kind="event", at=None, **kw):
    _, _, index = city
    number, dups = report_case(session, Resolver(index), Report(
        lon=where[0], lat=where[1], class_code=cls, kind=kind,
        description=kw.pop("description", "路边有成堆垃圾"), **kw), at=at)
    return number, dups


def test_intake_resolves_and_keeps_a_snapshot(session, city, spots):
    number, _ = report(session, city, spots["zoned"], at=t(2026, 3, 2, 9, 0))
    case = get_case(session, number)
    assert number.startswith("341802-20260302-")
    assert case["state"] == "reported" and case["grid"] == "34180200100101"
    assert case["department"] in {"宣城市洁城环境服务有限公司", "宣城市绿源保洁有限公司"}
    assert case["snapshot"]["responsible"]["basis"] == "responsibility_zone"
    assert case["snapshot"]["street"]["name"] == "澄江街道"
    # the centre's accept clock: 15 working minutes
    assert case["due_at"] == t(2026, 3, 2, 9, 15).isoformat()
    (entry,) = case["history"]
    assert (entry["action"], entry["post"], entry["to"]) == ("report", "监督员", "reported")
    assert "reporter" not in case


def test_a_component_case_goes_to_the_components_maintainer(session, city):
    _, _, index = city
    cc = index.districts["341881"].components["01001"]
    d = index.districts["341881"]
    x, y = cc.geom(0).x, cc.geom(0).y
    lon, lat = x / d.frame.kx + d.frame.lon0, y / d.frame.ky + d.frame.lat0
    number, _ = report(session, city, (lon, lat + 1e-5), cls="01001", kind=None,
                       description="井盖缺失", at=t(2026, 3, 2, 9, 30))
    case = get_case(session, number)
    assert case["snapshot"]["component"]["code"] == cc.code(0)
    assert case["department"] == case["snapshot"]["component"]["maintainer"]
    assert case["class"] == {"code": "01001", "name": "供水井盖", "kind": "component"}


def test_illegal_transitions_and_roles_are_refused(session, city, spots):
    number, _ = report(session, city, spots["plain"], at=t(2026, 11, 25, 9, 0))
    with pytest.raises(IllegalTransition, match=r"当前为「上报」，不能「核查通过」.*is reported: "
                                                r"verify is not allowed; allowed: accept, urge"):
        apply(session, number, "verify", Actor("监督员", "张"))
    with pytest.raises(RoleNotAllowed, match=r"专业部门不能「受理」.*\(专业部门 may not accept"):
        apply(session, number, "accept", Actor("专业部门", "某局"))


def test_history_is_append_only(session, city, spots):
    number, _ = report(session, city, spots["plain"], at=t(2026, 11, 25, 10, 0))
    session.flush()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), session.begin_nested():
        session.execute(sa.text("UPDATE case_event SET person = 'x' WHERE number = :n"),
                        {"n": number})


def test_duplicates_are_suggested(session, city, spots):
    first, dups = report(session, city, spots["zoned"], at=t(2026, 6, 1, 9, 0))
    x, y = spots["zoned"]
    _, dups = report(session, city, (x + 0.0002, y), at=t(2026, 6, 1, 10, 0))
    assert [d["number"] for d in dups] == [first] and 15 < dups[0]["distance_m"] < 25
    _, dups = report(session, city, (x, y), cls="0104", at=t(2026, 6, 1, 10, 5))
    assert dups == []
    _, dups = report(session, city, spots["plain"], at=t(2026, 6, 1, 10, 10))
    assert dups == []
    _, dups = report(session, city, (x, y), at=t(2026, 6, 8, 9, 0))    # past the 72 h window
    assert dups == []


def test_overdue_and_due_soon_lists(session, city, spots):
    number, _ = report(session, city, spots["plain"], at=t(2026, 11, 24, 9, 0))
    overdue, _ = list_cases(session, overdue=True, now=t(2026, 11, 24, 9, 16))
    assert number in {c["number"] for c in overdue}
    soon, _ = list_cases(session, due_within=__import__("datetime").timedelta(minutes=10),
                         now=t(2026, 11, 24, 9, 10))
    assert number in {c["number"] for c in soon}
    not_yet, _ = list_cases(session, overdue=True, now=t(2026, 11, 24, 9, 14))
    assert number not in {c["number"] for c in not_yet}


@pytest.fixture(scope="module")
def client(city, admin_token):
    url, _, _ = city
    with TestClient(create_app(Settings(database_url=url)), headers=bearer(admin_token)) as c:
        yield c


def test_cases_over_http(client, spots):
    lon, lat = spots["plain"]
    created = client.post("/cases", json={"lon": lon, "lat": lat, "class": "0102",
                                          "kind": "event", "description": "暴露垃圾",
                                          "source": "12345热线",
                                          "reporter": {"name": "市民", "phone": "13900000000"}})
    assert created.status_code == 201
    case = created.json()
    assert case["snapshot"]["grid"]["code"] == case["grid"] and "duplicates" in case
    assert "13900000000" not in created.text
    number = case["number"]
    url = client.app.state.context.settings.database_url
    seat = {post: bearer(make_token(url, "operator", "341802", post=post, name=name,
                                    department="宣城市宣州区城市管理局" if post == "专业部门"
                                    else None))
            for post, name in (("受理员", "王受理"), ("监督员", "张监督"), ("值班长", "钱值班"),
                               ("派遣员", "赵派遣"), ("专业部门", "孙处置"))}

    def step(post, action, **body):
        return client.post(f"/cases/{number}/transitions", headers=seat[post],
                           json={"action": action, **body})

    assert step("受理员", "accept").json()["needs_confirmation"] is True   # a 12345 report
    early = step("值班长", "file")
    assert early.status_code == 409 and early.json()["error"]["code"] == "illegal_transition"
    assert "等待监督员核实" in early.json()["error"]["message"]
    assert step("监督员", "confirm").status_code == 200
    moved = step("值班长", "file")
    assert moved.status_code == 200 and moved.json()["state"] == "filed"
    assert moved.json()["history"][-1]["person"] == "钱值班"
    illegal = step("监督员", "verify")
    assert illegal.status_code == 409
    assert illegal.json()["error"]["code"] == "illegal_transition"
    assert "立案" in illegal.json()["error"]["message"]
    assert "filed" in illegal.json()["error"]["detail"]["state"]
    role = step("监督员", "dispatch")
    assert role.status_code == 403 and role.json()["error"]["code"] == "role_not_allowed"
    assert step("派遣员", "dispatch").status_code == 200
    asked = step("专业部门", "request_extend", extend_by="1 working_days", reason="需调度车辆")
    assert asked.status_code == 200 and asked.json()["pending"]["kind"] == "extend"
    again = step("专业部门", "request_suspend", reason="另一申请")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_allowed_now"
    shown = client.get(f"/cases/{number}").json()
    assert shown["pending"]["extend_by"] == "1 working_days"
    assert [s["step"] for s in shown["steps"]] == ["accept", "confirm", "file", "dispatch",
                                                   "dispose"]
    assert shown["steps"][-1]["due"] == shown["disposal_due_at"]
    page = client.get("/cases", params={"district": "341802", "state": "dispatched"}).json()
    assert number in {c["number"] for c in page["items"]}
    assert [h["action"] for h in shown["history"]] == [
        "report", "accept", "confirm", "file", "dispatch", "request_extend"]
    assert client.get("/cases/341802-19990101-0001").status_code == 404
    outside = client.post("/cases", json={"lon": 100, "lat": 30, "class": "0102",
                                          "description": "x"})
    assert outside.status_code == 404
    stats_ = client.get("/stats", params={"district": "341802", "from": "2026-01-01",
                                          "to": "2026-12-31"})
    assert stats_.status_code == 200 and stats_.json()["rows"][0]["reported"] >= 1


def test_open311_round_trip_with_an_independent_client(live, spots, city, admin_token):
    from georeport import GeoReport

    from gis.db import session_scope
    from grid.districts import add_district

    with session_scope(city[1]) as s:        # the county lists its cases publicly
        add_district(s, "341802", name=None, public_listing=True)
    client = GeoReport(f"{live}/open311/v2", jurisdiction="341802")
    services = client.get_service_list()
    codes = {s["service_code"]: s for s in services}
    assert codes["event-0102"]["service_name"] == "暴露垃圾"
    assert codes["component-0102"]["service_name"] == "污水井盖"
    lon, lat = spots["plain"]
    public = bearer(make_token(city[0], "public_intake", "341802"))
    created = requests.post(f"{live}/open311/v2/requests.json", headers=public, data={
        "jurisdiction_id": "341802", "service_code": "event-0102", "lat": lat, "long": lon,
        "description": "小区门口垃圾成堆", "first_name": "王", "email": "w@example.com",
        "media_url": "https://example.org/p.jpg"})
    assert created.status_code == 201
    (ack,) = created.json()
    rid = ack["service_request_id"]
    (req,) = client.get_service_requests(service_request_id=rid)
    assert req["status"] == "open" and req["service_code"] == "event-0102"
    assert req["agency_responsible"] == "宣城市宣州区城市管理局"
    # no disposal deadline before dispatch: GeoReport's expected_datetime is left out
    assert "expected_datetime" not in req and req["media_url"] == "https://example.org/p.jpg"
    assert abs(req["lat"] - lat) < 1e-6 and "w@example.com" not in str(req)
    one = client.get_service_request(rid)
    assert one["service_request_id"] == rid
    seats = {"受理员": {}, "值班长": {}, "派遣员": {}, "监督员": {},
             "专业部门": {"department": "宣城市宣州区城市管理局"}}
    for action, post in (("accept", "受理员"), ("confirm", "监督员"), ("file", "值班长"),
                         ("dispatch", "派遣员"), ("handle", "专业部门"), ("verify", "监督员"),
                         ("close", "值班长")):
        token = make_token(city[0], "operator", "341802", post=post, **seats[post])
        r = requests.post(f"{live}/cases/{rid}/transitions", headers=bearer(token),
                          json={"action": action})
        assert r.ok, r.text
    assert client.get_service_request(rid)["status"] == "closed"
    closed = client.get_service_requests(status="closed", service_code="event-0102")
    assert rid in {r["service_request_id"] for r in closed}
    bad = requests.post(f"{live}/open311/v2/requests.json", headers=public,
                        data={"service_code": "event-9999", "lat": lat, "long": lon})
    assert bad.status_code == 404 and bad.json()[0]["code"] == 404     # unknown service_code


def test_the_snapshot_survives_a_rules_change(session, city, spots, tmp_path):
    number, _ = report(session, city, spots["plain"], at=t(2026, 7, 1, 9, 0))
    before = get_case(session, number)["snapshot"]
    from lookup.rules import import_rules

    rules = tmp_path / "新清单.csv"
    rules.write_text("类型,类别代码,责任部门\n事件,0102,新成立的综合执法局\n", encoding="utf-8")
    import_rules(session, rules, "341802")
    assert get_case(session, number)["snapshot"] == before
    assert before["responsible"]["department"] == "宣城市宣州区城市管理局"


__all__ = ["shapely"]


def test_case_list_from_the_cli(session, city, spots, tmp_path):
    from tests.conftest import Cli

    number, _ = report(session, city, spots["plain"])      # now: due in 15 working minutes
    session.commit()
    cli = Cli(city[0], tmp_path)
    listed = cli("case", "list", "--district", "341802", "--state", "reported")
    assert number in listed.stdout
    soon = cli("case", "list", "--due-within", "30d").stdout
    assert number in soon
    bad = cli("case", "list", "--due-within", "soon", check=2)
    assert "due_within" in bad.stderr and "'soon'" in bad.stderr


def test_the_calendars_end_is_warned_about(client, tmp_path):
    """12-01: the shipped calendar ends 12-31 — within 30 days: the administrator's health
    detail, the map's configuration and the CLI say so."""
    detail = client.get("/health/detail")
    assert detail.status_code == 200
    calendar = detail.json()["calendar"]
    assert calendar["covered_until"] == "2026-12-31" and calendar["duty"] == "00:00-24:00"
    if calendar["days_left"] is not None and calendar["days_left"] <= 30:
        assert "2027" in calendar["warning"]
        assert client.get("/map/config.json").json()["calendar_warning"] == calendar["warning"]
    assert detail.json()["index"]["ready"] is True
