"""Cases on the sample city: intake resolved on the spot, every path of the workflow with its
history and clocks, duplicates, statistics counted by hand, and Open311 through a client that
was not written for citygrid."""

from __future__ import annotations

from datetime import date, datetime

import pytest
import requests
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from api.app import create_app
from api.settings import Settings
from cases.intake import Report, report_case
from cases.stats import stats
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
    assert (entry["action"], entry["role"], entry["to"]) == ("report", "监督员", "reported")
    assert "reporter" not in case


def test_a_component_case_goes_to_the_components_maintainer(session, city):
    _, _, index = city
    cc = index.districts["341881"].components["01001"]
    d = index.districts["341881"]
    x, y = cc.geoms[0].x, cc.geoms[0].y
    lon, lat = x / d.frame.kx + d.frame.lon0, y / d.frame.ky + d.frame.lat0
    number, _ = report(session, city, (lon, lat + 1e-5), cls="01001", kind=None,
                       description="井盖缺失", at=t(2026, 3, 2, 9, 30))
    case = get_case(session, number)
    assert case["snapshot"]["component"]["code"] == cc.codes[0]
    assert case["department"] == case["snapshot"]["component"]["maintainer"]
    assert case["class"] == {"code": "01001", "name": "供水井盖", "kind": "component"}


def test_every_path_of_the_workflow(session, city, spots):
    number, _ = report(session, city, spots["plain"], at=t(2026, 11, 27, 16, 0))
    apply(session, number, "file", Actor("值班长", "王受理"), at=t(2026, 11, 27, 16, 10))
    apply(session, number, "dispatch", Actor("派遣员", "赵派遣"), at=t(2026, 11, 27, 16, 20))
    case = get_case(session, number)
    assert case["department"] == "宣城市宣州区城市管理局"          # the 权责清单 for 0102
    assert case["disposal_due_at"] == t(2026, 11, 30, 10, 20).isoformat()   # 4 工作时, weekend
    apply(session, number, "handle", Actor("专业部门", "城管局"), at=t(2026, 11, 30, 9, 0))
    assert get_case(session, number)["due_at"] == t(2026, 11, 30, 9, 30).isoformat()  # 核查
    apply(session, number, "rework", Actor("监督员", "张监督"), note="未清理干净",
          at=t(2026, 11, 30, 9, 20))
    case = get_case(session, number)
    assert case["state"] == "dispatched" and case["rework_count"] == 1
    assert case["due_at"] == t(2026, 11, 30, 10, 20).isoformat()   # the clock ran on
    apply(session, number, "extend", Actor("值班长", "钱值班"), extend_by="2 working_hours",
          at=t(2026, 11, 30, 9, 40))
    assert get_case(session, number)["disposal_due_at"] == t(2026, 11, 30, 14, 20).isoformat()
    apply(session, number, "return", Actor("专业部门", "城管局"), note="不属于我局",
          at=t(2026, 11, 30, 10, 0))
    case = get_case(session, number)
    assert case["state"] == "filed" and case["return_count"] == 1
    # returned to the next party of the chain: no component, no zone here, the 权责清单's
    # department has had it, so the street office (属地兜底) of 济川街道
    assert case["department"] == "济川街道办事处"
    apply(session, number, "dispatch", Actor("派遣员", "赵派遣"), at=t(2026, 11, 30, 10, 5))
    apply(session, number, "handle", Actor("专业部门", "街道"), at=t(2026, 11, 30, 11, 0))
    apply(session, number, "verify", Actor("监督员", "张监督"), at=t(2026, 11, 30, 11, 20))
    case = get_case(session, number)
    assert case["state"] == "closed" and case["closed_at"] == t(2026, 11, 30, 11, 20).isoformat()
    actions = [(h["action"], h["role"], h["from"], h["to"]) for h in case["history"]]
    assert actions == [
        ("report", "监督员", None, "reported"), ("file", "值班长", "reported", "filed"),
        ("dispatch", "派遣员", "filed", "dispatched"),
        ("handle", "专业部门", "dispatched", "handled"),
        ("rework", "监督员", "handled", "dispatched"),
        ("extend", "值班长", "dispatched", "dispatched"),
        ("return", "专业部门", "dispatched", "filed"),
        ("dispatch", "派遣员", "filed", "dispatched"),
        ("handle", "专业部门", "dispatched", "handled"),
        ("verify", "监督员", "handled", "closed")]
    returned = case["history"][6]
    assert returned["detail"]["returned_by"] == "宣城市宣州区城市管理局"
    assert returned["note"] == "不属于我局"


def test_return_to_an_operators_choice_and_reject(session, city, spots):
    number, _ = report(session, city, spots["plain"], at=t(2026, 11, 26, 9, 0))
    apply(session, number, "file", Actor("值班长", "钱值班"), at=t(2026, 11, 26, 9, 5))
    apply(session, number, "dispatch", Actor("派遣员", "赵派遣"), at=t(2026, 11, 26, 9, 10))
    apply(session, number, "return", Actor("专业部门", "城管局"),
          department="宣州区环境卫生管理所", at=t(2026, 11, 26, 9, 30))
    assert get_case(session, number)["department"] == "宣州区环境卫生管理所"
    other, _ = report(session, city, spots["plain"], at=t(2026, 11, 26, 9, 40),
                      description="误报")
    apply(session, other, "reject", Actor("值班长", "王受理"), note="不属于城管范围",
          at=t(2026, 11, 26, 9, 45))
    assert get_case(session, other)["state"] == "void"


def test_staged_limits_give_each_stage_its_clock(session, city, spots):
    number, _ = report(session, city, spots["plain"], cls="0101", description="私搭乱建",
                       at=t(2026, 9, 29, 9, 0))
    apply(session, number, "file", Actor("值班长", "王"), at=t(2026, 9, 29, 9, 5))
    apply(session, number, "dispatch", Actor("派遣员", "赵"), at=t(2026, 9, 29, 9, 10))
    assert get_case(session, number)["disposal_due_at"] == t(2026, 9, 29, 15, 10).isoformat()
    apply(session, number, "handle", Actor("专业部门", "执法"), at=t(2026, 9, 29, 11, 0))
    apply(session, number, "verify", Actor("监督员", "张"), at=t(2026, 9, 29, 11, 30))
    case = get_case(session, number)                 # 处罚: 7 工作日, across National Day
    assert (case["state"], case["stage_no"]) == ("dispatched", 2)
    assert case["disposal_due_at"] == t(2026, 10, 14, 11, 30).isoformat()   # 10-10 调休


def test_illegal_transitions_and_roles_are_refused(session, city, spots):
    number, _ = report(session, city, spots["plain"], at=t(2026, 11, 25, 9, 0))
    with pytest.raises(IllegalTransition, match=r"is reported \(上报\): verify"):
        apply(session, number, "verify", Actor("监督员", "张"))
    with pytest.raises(RoleNotAllowed, match="专业部门 may not file"):
        apply(session, number, "file", Actor("专业部门", "某局"))


def test_history_is_append_only(session, city, spots):
    number, _ = report(session, city, spots["plain"], at=t(2026, 11, 25, 10, 0))
    session.flush()
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), session.begin_nested():
        session.execute(sa.text("UPDATE case_event SET actor = 'x' WHERE number = :n"),
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


def test_stats_match_a_hand_count(session, city, spots):
    """Five cases on 2026-05-11/12 (a Monday and Tuesday), counted by hand."""
    day = (2026, 5, 11)
    a, _ = report(session, city, spots["zoned"], at=t(*day, 9, 0))
    b, _ = report(session, city, spots["plain"], at=t(*day, 9, 5))
    c, _ = report(session, city, spots["plain"], cls="0104", at=t(*day, 9, 10))
    d, _ = report(session, city, spots["plain"], at=t(*day, 9, 15))
    report(session, city, spots["zoned"], cls="0104", at=t(*day, 9, 20))      # e
    for n in (a, b, c, d):
        apply(session, n, "file", Actor("值班长", "王"), at=t(*day, 9, 30))
        apply(session, n, "dispatch", Actor("派遣员", "赵"), at=t(*day, 9, 40))
    # a: closed on time; b: reworked once, then closed late; c: returned, still open;
    # d: handled, not verified; e: never filed (its accept clock has run out)
    apply(session, a, "handle", Actor("专业部门", "x"), at=t(*day, 10, 0))
    apply(session, a, "verify", Actor("监督员", "y"), at=t(*day, 10, 10))
    apply(session, b, "handle", Actor("专业部门", "x"), at=t(*day, 10, 0))
    apply(session, b, "rework", Actor("监督员", "y"), at=t(*day, 10, 20))
    # b's deadline was 5-11 15:40 (4 工作时 from 9:40): handled the next morning is late
    apply(session, b, "handle", Actor("专业部门", "x"), at=t(2026, 5, 12, 9, 0))
    apply(session, b, "verify", Actor("监督员", "y"), at=t(2026, 5, 12, 9, 10))
    apply(session, c, "return", Actor("专业部门", "x"), at=t(*day, 11, 0))
    apply(session, d, "handle", Actor("专业部门", "x"), at=t(*day, 11, 0))
    session.flush()
    out = stats(session, "341802", date(2026, 5, 11), date(2026, 5, 12))
    total = {k: out["total"][k] for k in ("reported", "filed", "closed", "closed_on_time",
                                          "handled", "reworked", "returned", "overdue_open")}
    assert total == {"reported": 5, "filed": 4, "closed": 2, "closed_on_time": 1,
                     "handled": 4, "reworked": 1, "returned": 1, "overdue_open": 3}
    assert out["total"]["close_rate"] == 0.5            # 2 / 4
    assert out["total"]["on_time_rate"] == 0.2          # 1 / (2 closed + 3 overdue open)
    assert out["total"]["rework_rate"] == 0.25          # 1 / 4
    by_street = {g["key"]: g for g in stats(session, "341802", date(2026, 5, 11),
                                            date(2026, 5, 12), "street")["groups"]}
    assert by_street["341802001"]["reported"] == 2 and by_street["341802001"]["name"] == "澄江街道"
    assert by_street["341802003"]["reported"] == 3
    only_first_day = stats(session, "341802", date(2026, 5, 11), date(2026, 5, 11))["total"]
    assert (only_first_day["closed"], only_first_day["handled"]) == (1, 3)


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
    leader = bearer(make_token(url, "operator", "341802", post="值班长", name="钱值班"))
    supervisor = bearer(make_token(url, "operator", "341802", post="监督员", name="张监督"))
    moved = client.post(f"/cases/{number}/transitions", headers=leader,
                        json={"action": "file"})
    assert moved.status_code == 200 and moved.json()["state"] == "filed"
    assert moved.json()["history"][-1]["actor"] == "钱值班"
    illegal = client.post(f"/cases/{number}/transitions", headers=supervisor,
                          json={"action": "verify"})
    assert illegal.status_code == 409
    assert illegal.json()["error"]["code"] == "illegal_transition"
    assert "filed" in illegal.json()["error"]["message"]
    role = client.post(f"/cases/{number}/transitions", headers=supervisor,
                       json={"action": "dispatch"})
    assert role.status_code == 403 and role.json()["error"]["code"] == "role_not_allowed"
    page = client.get("/cases", params={"district": "341802", "state": "filed"}).json()
    assert number in {c["number"] for c in page["items"]}
    assert client.get(f"/cases/{number}").json()["history"][1]["action"] == "file"
    assert client.get("/cases/341802-19990101-0001").status_code == 404
    outside = client.post("/cases", json={"lon": 100, "lat": 30, "class": "0102",
                                          "description": "x"})
    assert outside.status_code == 404
    stats_ = client.get("/stats", params={"district": "341802", "from": "2026-01-01",
                                          "to": "2026-12-31", "by": "department"})
    assert stats_.status_code == 200 and stats_.json()["total"]["reported"] >= 1


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
    assert req["expected_datetime"] and req["media_url"] == "https://example.org/p.jpg"
    assert abs(req["lat"] - lat) < 1e-6 and "w@example.com" not in str(req)
    one = client.get_service_request(rid)
    assert one["service_request_id"] == rid
    seats = {"值班长": {}, "派遣员": {}, "监督员": {},
             "专业部门": {"department": "宣城市宣州区城市管理局"}}
    for action, post in (("file", "值班长"), ("dispatch", "派遣员"), ("handle", "专业部门"),
                         ("verify", "监督员")):
        token = make_token(city[0], "operator", "341802", post=post, **seats[post])
        r = requests.post(f"{live}/cases/{rid}/transitions", headers=bearer(token),
                          json={"action": action})
        assert r.ok, r.text
    assert client.get_service_request(rid)["status"] == "closed"
    closed = client.get_service_requests(status="closed", service_code="event-0102")
    assert rid in {r["service_request_id"] for r in closed}
    bad = requests.post(f"{live}/open311/v2/requests.json", headers=public,
                        data={"service_code": "event-9999", "lat": lat, "long": lon})
    assert bad.status_code == 400 and bad.json()[0]["code"] == 400


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
