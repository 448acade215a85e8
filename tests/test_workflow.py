"""The CJ/T 315 flow on the tiny county (tests/tiny.py), built the way a county brings its old
system's cases: histories imported with `case import-history`, each row replayed under the live
rules. Every deadline here was worked out by hand:

    the centre (7×24 duty): 受理 15 min, 核实 30 min, 立案 15 min, 派遣 15 min, 核查 30 min,
    结案 30 min; departments: 08:00–12:00 and 14:00–18:00 on working days;
    暴露垃圾 (event 0102, 4 工作时) lies at (-50, -80) in grid 01, where the 权责清单 names 城管局.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from cases.limits import add_calendar, calendar_status, import_manual, set_duty
from cases.workflow import Actor, apply
from cases.worktime import CST
from tests import tiny
from tests.histories import act, case, replay, report, t, through_dispatch


def test_the_main_line_with_every_clock(county, tmp_path):
    rows = [*through_dispatch("A1"),
            act("A1", t(2026, 11, 2, 15, 0), "handle", "专业部门", "孙处置"),
            act("A1", t(2026, 11, 2, 15, 20), "verify", "监督员", "张监督"),
            act("A1", t(2026, 11, 2, 15, 40), "close", "值班长", "钱值班")]
    result = replay(county, tmp_path, rows)
    assert (result.read, result.imported, result.rejected, result.skipped) == (7, 7, 0, 0)
    c = case(county, "A1")
    assert (c["state"], c["department"], c["scheme"]) == ("closed", "城管局", "legacy")
    clocks = [(s["step"], s["holder"], s["due"], s["done_at"], s["late"]) for s in c["steps"]]
    assert clocks == [
        ("accept", "受理员", t(2026, 11, 2, 9, 15), t(2026, 11, 2, 9, 5), False),
        ("file", "值班长", t(2026, 11, 2, 9, 20), t(2026, 11, 2, 9, 10), False),
        ("dispatch", "派遣员", t(2026, 11, 2, 9, 25), t(2026, 11, 2, 9, 15), False),
        # 4 working hours from 09:15: 2 h 45 min before noon, 1 h 15 min after 14:00
        ("dispose", "城管局", t(2026, 11, 2, 15, 15), t(2026, 11, 2, 15, 0), False),
        ("check", "监督员", t(2026, 11, 2, 15, 30), t(2026, 11, 2, 15, 20), False),
        ("close", "值班长", t(2026, 11, 2, 15, 50), t(2026, 11, 2, 15, 40), False)]
    who = [(h["action"], h["post"], h["person"], h["department"], h["step"], h["due"])
           for h in c["history"]]
    assert who[4] == ("handle", "专业部门", "孙处置", "城管局", "dispose", t(2026, 11, 2, 15, 15))
    assert who[0][:3] == ("report", "监督员", "张监督")


def test_a_public_report_is_confirmed_on_site_before_filing(county, tmp_path):
    rows = [report("B1", t(2026, 11, 3, 20, 0), "受理员", "王受理", source="12345热线"),
            act("B1", t(2026, 11, 3, 20, 30), "accept", "受理员", "王受理"),      # 15 min late
            act("B1", t(2026, 11, 3, 20, 40), "file", "值班长", "钱值班"),        # not yet
            act("B1", t(2026, 11, 3, 20, 45), "confirm", "监督员", "张监督"),     # skipped
            report("B2", t(2026, 11, 3, 21, 0), "受理员", "王受理", source="公众"),
            act("B2", t(2026, 11, 3, 21, 5), "accept", "受理员", "王受理"),
            act("B2", t(2026, 11, 3, 21, 50), "refute", "监督员", "张监督"),      # 不属实, late
            report("B3", t(2026, 11, 3, 21, 0)),                                 # a 监督员's own
            act("B3", t(2026, 11, 3, 21, 5), "accept", "受理员", "王受理"),
            act("B3", t(2026, 11, 3, 21, 10), "confirm", "监督员", "张监督")]      # no 核实
    result = replay(county, tmp_path, rows)
    assert [(r.row, r.code, r.reason) for r in result.rejects] == [
        (3, "341802-B1", "illegal_transition"), (10, "341802-B3", "illegal_transition")]
    assert "等待监督员核实" in result.rejects[0].message and "awaiting" in result.rejects[0].message
    assert result.skipped == 1
    b1 = case(county, "B1")
    assert b1["state"] == "accepted" and b1["needs_confirmation"]
    assert [(s["step"], s["due"], s["late"]) for s in b1["steps"][:1]] == [
        ("accept", t(2026, 11, 3, 20, 15), True)]          # 7×24 duty: 20:15, not 08:15
    assert b1["step"]["step"] == "confirm" and b1["due_at"] == t(2026, 11, 3, 21, 0)
    b2 = case(county, "B2")
    assert b2["state"] == "void" and b2["history"][-1]["detail"]["outcome"] == "不属实"
    assert b2["steps"][-1] == {**b2["steps"][-1], "step": "confirm", "late": True}


def test_extensions_are_applications_decided_before_the_deadline(county, tmp_path):
    rows = [*through_dispatch("C1"),
            act("C1", t(2026, 11, 2, 10, 0), "request_extend", "专业部门", "孙处置",
                extend_by="2 working_hours", reason="需要调度车辆"),
            act("C1", t(2026, 11, 2, 10, 5), "approve", "派遣员", "赵派遣"),    # not his
            *through_dispatch("C2"),
            act("C2", t(2026, 11, 2, 10, 0), "request_extend", "专业部门", "孙处置",
                extend_by="2工作时", reason="需要调度车辆"),
            act("C2", t(2026, 11, 2, 10, 1), "request_suspend", "专业部门", "孙处置",
                reason="另一申请"),                                             # one at a time
            *through_dispatch("C3"),
            act("C3", t(2026, 11, 2, 10, 0), "request_extend", "专业部门", "孙处置",
                extend_by="2 working_hours", reason="需要调度车辆"),
            act("C3", t(2026, 11, 2, 10, 10), "approve", "值班长", "钱值班"),
            act("C3", t(2026, 11, 2, 17, 0), "handle", "专业部门", "孙处置"),
            *through_dispatch("C4"),
            act("C4", t(2026, 11, 2, 15, 30), "request_extend", "专业部门", "孙处置",
                extend_by="1 working_days", reason="来不及"),                     # too late
            *through_dispatch("C5"),
            act("C5", t(2026, 11, 2, 10, 0), "request_extend", "专业部门", "孙处置",
                extend_by="1 working_days", reason="材料未到"),
            act("C5", t(2026, 11, 2, 10, 30), "deny", "值班长", "钱值班")]
    result = replay(county, tmp_path, rows)
    assert [(r.code, r.reason) for r in result.rejects] == [
        ("341802-C1", "role_not_allowed"), ("341802-C2", "not_allowed_now"),
        ("341802-C4", "not_allowed_now")]
    assert "已过" in result.rejects[2].message
    c1 = case(county, "C1")
    assert c1["pending"]["kind"] == "extend" and c1["pending"]["reason"] == "需要调度车辆"
    c3 = case(county, "C3")
    dispose = next(s for s in c3["steps"] if s["step"] == "dispose")
    assert dispose["due"] == t(2026, 11, 2, 17, 15) and not dispose["late"]   # 15:15 + 2 h
    assert c3["extension_count"] == 1 and c3["pending"] is None
    c5 = case(county, "C5")
    assert c5["disposal_due_at"] == t(2026, 11, 2, 15, 15) and c5["extension_count"] == 0


def test_a_return_is_applied_for_and_the_dispatch_clock_starts_at_approval(county, tmp_path):
    rows = [*through_dispatch("D1"),
            act("D1", t(2026, 11, 2, 9, 30), "request_return", "专业部门", "孙处置",
                department="环卫所", reason="不属本单位职责"),
            act("D1", t(2026, 11, 2, 9, 40), "approve", "派遣员", "赵派遣"),
            act("D1", t(2026, 11, 2, 9, 50), "dispatch", "派遣员", "赵派遣"),
            act("D1", t(2026, 11, 2, 10, 0), "handle", "专业部门", "孙处置",
                department="城管局")]                  # no longer its case
    result = replay(county, tmp_path, rows)
    assert [(r.row, r.reason) for r in result.rejects] == [(8, "role_not_allowed")]
    d1 = case(county, "D1")
    assert (d1["state"], d1["department"], d1["return_count"]) == ("dispatched", "环卫所", 1)
    approve = d1["history"][5]
    assert approve["detail"] == {**approve["detail"], "returned_by": "城管局",
                                 "instead": "环卫所"}
    dispatches = [s for s in d1["steps"] if s["step"] == "dispatch"]
    assert dispatches[-1]["started"] == t(2026, 11, 2, 9, 40)
    assert dispatches[-1]["due"] == t(2026, 11, 2, 9, 55)
    assert d1["disposal_due_at"] == t(2026, 11, 2, 15, 50)   # 4 工作时 from 09:50


def test_suspension_stops_the_clock_and_resumption_restarts_it(county, tmp_path):
    rows = [*through_dispatch("E1"),
            act("E1", t(2026, 11, 2, 10, 0), "request_suspend", "专业部门", "孙处置",
                reason="涉及拆迁，暂无法处置"),
            act("E1", t(2026, 11, 2, 10, 15), "approve", "值班长", "钱值班"),
            act("E1", t(2026, 11, 3, 9, 0), "urge", "值班长", "钱值班"),
            act("E1", t(2026, 11, 4, 9, 0), "resume", "值班长", "钱值班")]
    assert replay(county, tmp_path, rows).rejected == 0
    e1 = case(county, "E1")
    # 3 working hours were left at 10:15 (10:15–12:00, 14:00–15:15): due 12:00 on the 4th
    assert e1["disposal_due_at"] == t(2026, 11, 4, 12, 0) and e1["urge_count"] == 1
    clocks = [(s["step"], s["due"], s["ended_by"]) for s in e1["steps"]]
    assert clocks[3:] == [("dispose", t(2026, 11, 2, 15, 15), "approve"),
                          ("dispose", t(2026, 11, 4, 12, 0), None)]


def test_cancel_callback_and_self_handled(county, tmp_path):
    rows = [*through_dispatch("F1"),
            act("F1", t(2026, 11, 2, 9, 30), "cancel", "值班长", "周值班"),
            report("F2", t(2026, 11, 2, 9, 0), "受理员", "王受理", source="12345热线"),
            act("F2", t(2026, 11, 2, 9, 5), "accept", "受理员", "王受理"),
            act("F2", t(2026, 11, 2, 9, 10), "confirm", "监督员", "张监督"),
            act("F2", t(2026, 11, 2, 9, 15), "file", "值班长", "钱值班"),
            act("F2", t(2026, 11, 2, 9, 20), "dispatch", "派遣员", "赵派遣"),
            act("F2", t(2026, 11, 2, 11, 0), "handle", "专业部门", "孙处置"),
            act("F2", t(2026, 11, 2, 11, 10), "verify", "监督员", "张监督"),
            act("F2", t(2026, 11, 2, 11, 20), "close", "值班长", "钱值班"),
            act("F2", t(2026, 11, 2, 16, 0), "callback", "受理员", "王受理",
                satisfaction="满意"),
            act("F2", t(2026, 11, 2, 16, 5), "callback", "受理员", "王受理",
                satisfaction="不满意"),                                   # once only
            report("F3", t(2026, 11, 2, 10, 0), self_handled="true"),
            report("F4", t(2026, 11, 2, 10, 0), "受理员", "王受理", source="12345热线",
                   self_handled="true")]                                  # not a 监督员
    result = replay(county, tmp_path, rows)
    assert [(r.code, r.reason) for r in result.rejects] == [
        ("341802-F2", "not_allowed_now"), ("341802-F4", "bad_input")]
    f1 = case(county, "F1")
    assert f1["state"] == "void" and f1["history"][-1]["detail"]["filed_by"] == "钱值班"
    assert case(county, "F2")["satisfaction"] == "满意"
    f3 = case(county, "F3")
    assert (f3["state"], f3["self_handled"], f3["steps"]) == ("closed", True, [])


def test_staged_limits_give_each_stage_its_clock(county, tmp_path):
    n = "G1"        # 私搭乱建 (event 0101): 停工 4 工作时 → 处罚 7 工作日 → 拆除 20 工作日
    rows = [report(n, t(2026, 9, 29, 9, 0), cls="0101"),
            act(n, t(2026, 9, 29, 9, 2), "accept", "受理员", "王受理"),
            act(n, t(2026, 9, 29, 9, 5), "file", "值班长", "钱值班"),
            act(n, t(2026, 9, 29, 9, 10), "dispatch", "派遣员", "赵派遣", department="执法局"),
            act(n, t(2026, 9, 29, 11, 0), "handle", "专业部门", "执法"),
            act(n, t(2026, 9, 29, 11, 30), "verify", "监督员", "张监督")]
    assert replay(county, tmp_path, rows).rejected == 0
    g1 = case(county, n)
    assert (g1["state"], g1["stage_no"]) == ("dispatched", 2)
    # 7 working days across National Day (10-01..07) and the 调休 Saturday 10-10
    assert g1["disposal_due_at"] == t(2026, 10, 14, 11, 30)


def test_the_manual_decides_what_can_be_filed(county, tmp_path):
    n = "H1"                  # 废弃车辆 (event 0107): the sample manual has no row for it
    rows = [report(n, t(2026, 11, 2, 9, 0), cls="0107"),
            act(n, t(2026, 11, 2, 9, 5), "accept", "受理员", "王受理"),
            act(n, t(2026, 11, 2, 9, 10), "file", "值班长", "钱值班")]
    result = replay(county, tmp_path, rows)
    assert [(r.code, r.reason) for r in result.rejects] == [("341802-H1", "no_handling_rule")]
    assert "0107" in result.rejects[0].message
    assert "citygrid manual import" in result.rejects[0].message
    # a city may give an explicit default row: it then applies, marked on the case
    manual = tmp_path / "manual.csv"
    manual.write_text("scheme,kind,class_code,condition_no,filing_condition,limit_value,"
                      "limit_unit\nlegacy,event,*,1,手册未列的事件,3,working_days\n",
                      encoding="utf-8")
    with Session(county) as s:
        import_manual(s, manual)
        apply(s, "341802-H1", "file", Actor("值班长", "钱值班"),
              at=datetime(2026, 11, 2, 9, 20, tzinfo=CST))
        s.commit()
    h1 = case(county, n)
    assert h1["state"] == "filed" and h1["manual_default"]


def test_cases_keep_the_generation_they_were_filed_under(county, tmp_path):
    from census.convert import convert_census

    n = "J1"                  # a 上水井盖 case (component 0101, legacy): 缺失 → 2 紧急工作时
    rows = [report(n, t(2026, 11, 2, 9, 0), cls="0101", kind="component", where=(-12, -50)),
            act(n, t(2026, 11, 2, 9, 5), "accept", "受理员", "王受理"),
            act(n, t(2026, 11, 2, 9, 10), "file", "值班长", "钱值班")]
    assert replay(county, tmp_path, rows).rejected == 0
    with Session(county) as s:
        assert convert_census(s, tiny.CODE, to="gb47678").status == "ok"
        s.commit()
        apply(s, f"341802-{n}", "dispatch", Actor("派遣员", "赵派遣"),
              at=datetime(2026, 11, 2, 9, 20, tzinfo=CST))
        s.commit()
    j1 = case(county, n)
    assert (j1["scheme"], j1["class"]["code"]) == ("legacy", "0101")
    assert j1["disposal_due_at"] == t(2026, 11, 2, 11, 20)      # still the legacy row's 2 h


def test_the_centres_duty_hours_are_its_own(county, tmp_path):
    with Session(county) as s:
        set_duty(s, "08:00-20:00")
        s.commit()
    result = replay(county, tmp_path, [report("K1", t(2026, 11, 3, 20, 0)),
                                       report("K2", t(2026, 11, 7, 19, 50))])   # a Saturday
    assert result.rejected == 0
    assert case(county, "K1")["due_at"] == t(2026, 11, 4, 8, 15)
    assert case(county, "K2")["due_at"] == t(2026, 11, 8, 8, 5)        # duty on Sundays too


def test_deadlines_beyond_the_calendar_are_provisional_until_next_year_is_loaded(county,
                                                                                 tmp_path):
    with Session(county) as s:
        status = calendar_status(s, today=date(2026, 12, 1))
    assert status["covered_until"] == "2026-12-31" and status["days_left"] == 30
    assert "2027" in status["warning"]
    rows = [*[{**r, "at": r["at"].replace("2026-11-02", "2026-12-31")}
              for r in through_dispatch("L1", 2)]]
    assert replay(county, tmp_path, rows).rejected == 0
    l1 = case(county, "L1")     # 4 工作时 from 12-31 09:15: exact, the same day
    assert l1["disposal_due_at"] == t(2026, 12, 31, 15, 15) and not l1["provisional"]
    late = [*[{**r, "number": "L2", "at": r["at"].replace("2026-11-02T09", "2026-12-31T16")}
              for r in through_dispatch("L2", 2)]]
    assert replay(county, tmp_path, late).rejected == 0
    l2 = case(county, "L2")     # 16:15 + 4 h: 1 h 45 min on 12-31, then 2027-01-01 counted
    assert l2["disposal_due_at"] == t(2027, 1, 1, 10, 15) and l2["provisional"]
    year = tmp_path / "2027.csv"                 # a made-up schedule, for the test only
    year.write_text("date,kind,name\n2027-01-01,holiday,元旦\n", encoding="utf-8")
    with Session(county) as s:
        add_calendar(s, year, 2027)
        s.commit()
        assert calendar_status(s, today=date(2026, 12, 1))["covered_until"] == "2027-12-31"
    again = [{**r, "number": "L3"} for r in late]
    assert replay(county, tmp_path, again).rejected == 0
    l3 = case(county, "L3")     # 元旦 off, then the weekend: Monday 01-04
    assert l3["disposal_due_at"] == t(2027, 1, 4, 10, 15) and not l3["provisional"]


def test_a_history_names_each_refused_row_and_skips_the_rest_of_its_case(county, tmp_path):
    rows = [report("M1", t(2026, 11, 2, 9, 0), cls="9999"),               # unknown class
            act("M1", t(2026, 11, 2, 9, 5), "accept", "受理员", "王受理"),    # skipped
            report("M2", t(2026, 11, 2, 9, 0)),
            act("M2", t(2026, 11, 2, 9, 5), "accept", "派遣员", "赵派遣"),    # wrong post
            report("M3", t(2026, 11, 2, 9, 0)),
            act("M3", t(2026, 11, 2, 8, 0), "accept", "受理员", "王受理"),    # before its report
            act("M4", t(2026, 11, 2, 9, 0), "accept", "受理员", "王受理"),    # no such case
            report("M5", t(2026, 11, 2, 9, 0)),
            report("M5", t(2026, 11, 2, 9, 1)),                               # the number again
            act("M6", "yesterday", "accept", "受理员", "王受理")]
    result = replay(county, tmp_path, rows)
    assert [(r.row, r.reason) for r in result.rejects] == [
        (1, "unknown_class"), (4, "role_not_allowed"), (6, "bad_input"), (7, "unknown_case"),
        (9, "duplicate_number"), (10, "bad_input")]
    assert (result.read, result.imported, result.skipped) == (10, 3, 1)
    assert result.imported + result.rejected + result.skipped == result.read
    assert case(county, "M5")["history"][0]["at"] == t(2026, 11, 2, 9, 0)
