"""Evaluation of a month, counted by hand: November 2026 on the tiny county, at 11-30 12:00.

The history (built with case import-history, every deadline worked out in tests/histories.py's
terms: the centre's steps on 7×24 duty, 15 or 30 minutes; 暴露垃圾 4 工作时):

  N1  张's report; 赵 dispatches late (10:00, due 09:25); 城管局 handles on time (15:00, due 16:00)
  N2  reported 11-30 11:00, dispatched 11:15: due 17:15, not yet due at the counting moment
  N3  城管局 applies for a return (→ 环卫所), 赵 approves; 赵 dispatches again; 环卫所 on time
  N4  城管局's extension (2 工作时) approved before its deadline: due 17:15, handled 17:00
  N5  城管局 asks to extend after its deadline (refused); still unhandled at the counting moment
  N6  挂账 approved: out of the 立案 base, no clock runs
  N7  filed by 周, then 作废 by 钱: counted against 周
  N8  返工: handled 11:00, reworked, handled again 16:00 after its 15:15 deadline
  N9  a 12345 report 张 finds untrue on site (不属实)
  N10 a 公众 report in 张's patrol grid, accepted late by 李, confirmed and filed: 漏报 for 张
  N11 a 公众 report 11-30 11:00 nobody accepted: overdue at the counting moment (受理员)
  N12 陈's report in grid 03 (保洁公司's zone); handled, never checked: overdue (陈 patrols it)
  N13 张 fixed a problem on the spot (自行处置)
  N14 reported and handled in October; 钱 closes it late on 11-02
  N15 张's report 钱 declines to file (不予立案): not a valid report, and no 立案 for 钱
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime
from html import unescape as html_unescape
from urllib.parse import urlencode

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from cases.evaluation import _grouping, _plain, _statement, cases_behind, evaluate, period
from cases.scoring import import_scheme, parse, scheme_for, score_rows, shipped
from cases.worktime import CST
from tests.histories import act, replay, report, t, through_dispatch

AT = datetime(2026, 11, 30, 12, 0, tzinfo=CST)
PATROLS = [("张监督", "34180200100101"), ("张监督", "34180200100102"),
           ("陈监督", "34180200100103"), ("陈监督", "34180200100104")]
NORTH = (-50, 50)                     # grid 03, in zone Z1: 暴露垃圾 goes to 保洁公司


def line(n, day, *, accept="王受理", filer="钱值班"):
    """Reported by 张 at 09:00, accepted 09:05, filed 09:10, dispatched by 赵 09:15."""
    rows = through_dispatch(n, day)
    rows[1]["person"], rows[2]["person"] = accept, filer
    return rows


def close(n, day, handle, verify, end):
    return [act(n, t(2026, 11, day, *handle), "handle", "专业部门", "处置人"),
            act(n, t(2026, 11, day, *verify), "verify", "监督员", "张监督"),
            act(n, t(2026, 11, day, *end), "close", "值班长", "钱值班")]


def month() -> list[dict[str, str]]:
    rows = [report("N1", t(2026, 11, 2, 9, 0)),
            act("N1", t(2026, 11, 2, 9, 5), "accept", "受理员", "王受理"),
            act("N1", t(2026, 11, 2, 9, 10), "file", "值班长", "钱值班"),
            act("N1", t(2026, 11, 2, 10, 0), "dispatch", "派遣员", "赵派遣"),
            *close("N1", 2, (15, 0), (15, 10), (15, 20))]
    rows += [{**r, "at": r["at"].replace("2026-11-02T09", "2026-11-30T11")}
             for r in line("N2", 2)]
    rows += [*line("N3", 3),
             act("N3", t(2026, 11, 3, 9, 30), "request_return", "专业部门", "孙处置",
                 department="环卫所", reason="不属本单位职责"),
             act("N3", t(2026, 11, 3, 9, 40), "approve", "派遣员", "赵派遣"),
             act("N3", t(2026, 11, 3, 9, 50), "dispatch", "派遣员", "赵派遣"),
             *close("N3", 3, (15, 0), (15, 10), (15, 20))]
    rows += [*line("N4", 4),
             act("N4", t(2026, 11, 4, 10, 0), "request_extend", "专业部门", "孙处置",
                 extend_by="2 working_hours", reason="需调度车辆"),
             act("N4", t(2026, 11, 4, 10, 10), "approve", "值班长", "钱值班"),
             *close("N4", 4, (17, 0), (17, 10), (17, 20))]
    rows += [*line("N5", 5),
             act("N5", t(2026, 11, 5, 15, 30), "request_extend", "专业部门", "孙处置",
                 extend_by="1 working_days", reason="来不及")]        # refused: too late
    rows += [*line("N6", 6),
             act("N6", t(2026, 11, 6, 10, 0), "request_suspend", "专业部门", "孙处置",
                 reason="涉及拆迁"),
             act("N6", t(2026, 11, 6, 10, 15), "approve", "值班长", "钱值班")]
    rows += [*line("N7", 9, filer="周值班"),
             act("N7", t(2026, 11, 9, 10, 0), "cancel", "值班长", "钱值班")]
    rows += [*line("N8", 10),
             act("N8", t(2026, 11, 10, 11, 0), "handle", "专业部门", "孙处置"),
             act("N8", t(2026, 11, 10, 11, 10), "rework", "监督员", "张监督"),
             *close("N8", 10, (16, 0), (16, 10), (16, 20))]
    rows += [report("N9", t(2026, 11, 11, 9, 0), "受理员", "王受理", source="12345热线"),
             act("N9", t(2026, 11, 11, 9, 5), "accept", "受理员", "王受理"),
             act("N9", t(2026, 11, 11, 9, 20), "refute", "监督员", "张监督")]
    rows += [report("N10", t(2026, 11, 12, 9, 0), "受理员", "李受理", source="公众"),
             act("N10", t(2026, 11, 12, 9, 20), "accept", "受理员", "李受理"),   # due 09:15
             act("N10", t(2026, 11, 12, 9, 30), "confirm", "监督员", "张监督"),
             act("N10", t(2026, 11, 12, 9, 40), "file", "值班长", "钱值班"),
             act("N10", t(2026, 11, 12, 9, 50), "dispatch", "派遣员", "赵派遣"),
             *close("N10", 12, (11, 0), (11, 10), (11, 20))]
    rows += [report("N11", t(2026, 11, 30, 11, 0), "受理员", "李受理", source="公众",
                    where=(-50, 60))]
    rows += [report("N12", t(2026, 11, 27, 9, 0), "监督员", "陈监督", where=NORTH),
             act("N12", t(2026, 11, 27, 9, 5), "accept", "受理员", "王受理"),
             act("N12", t(2026, 11, 27, 9, 10), "file", "值班长", "钱值班"),
             act("N12", t(2026, 11, 27, 9, 15), "dispatch", "派遣员", "赵派遣"),
             act("N12", t(2026, 11, 27, 10, 0), "handle", "专业部门", "保洁员")]
    rows += [report("N13", t(2026, 11, 13, 9, 0), self_handled="true")]
    rows += [report("N14", t(2026, 10, 30, 9, 0), cls="0104", where=(50, -80)),
             act("N14", t(2026, 10, 30, 9, 5), "accept", "受理员", "王受理"),
             act("N14", t(2026, 10, 30, 9, 10), "file", "值班长", "钱值班"),
             act("N14", t(2026, 10, 30, 9, 15), "dispatch", "派遣员", "赵派遣"),
             act("N14", t(2026, 10, 30, 11, 0), "handle", "专业部门", "环卫工"),
             act("N14", t(2026, 10, 30, 11, 10), "verify", "监督员", "张监督"),
             act("N14", t(2026, 11, 2, 9, 0), "close", "值班长", "钱值班")]   # due 10-30 11:40
    rows += [report("N15", t(2026, 11, 16, 9, 0)),
             act("N15", t(2026, 11, 16, 9, 5), "accept", "受理员", "王受理"),
             act("N15", t(2026, 11, 16, 9, 10), "reject", "值班长", "钱值班",
                 reason="不属于城市管理范围")]
    return rows


@pytest.fixture
def november(county, tmp_path):
    result = replay(county, tmp_path, month())
    assert [(r.code, r.reason) for r in result.rejects] == [("341802-N5", "not_allowed_now")]
    with Session(county) as s:
        yield s, period(s, "341802", date(2026, 11, 1), date(2026, 11, 30), AT, PATROLS)


def rows_by(session, p, by):
    return {(r.get("post"), r["key"]) if by in ("post", "person") else r["key"]: r
            for r in evaluate(session, p, by)}


def test_the_area_counts(november):
    s, p = november
    (d,) = evaluate(s, p, "district")
    assert {k: d[k] for k in ("reported", "self_handled", "public_reported", "public_confirmed",
                              "filed", "suspended", "cancelled", "closed", "closed_on_time",
                              "overdue_open", "due_to_close")} == {
        "reported": 13, "self_handled": 1, "public_reported": 3, "public_confirmed": 1,
        "filed": 9, "suspended": 1, "cancelled": 1, "closed": 6, "closed_on_time": 5,
        "overdue_open": 3, "due_to_close": 9}
    assert (d["close_rate"], d["on_time_close_rate"], d["public_rate"]) == (0.6667, 0.5556,
                                                                             0.1111)
    assert (d["key"], d["name"]) == ("341802", "宣州区")
    grids = rows_by(s, p, "grid")
    assert {k: grids["34180200100103"][k] for k in ("reported", "public_reported", "filed",
                                                    "overdue_open")} == {
        "reported": 2, "public_reported": 1, "filed": 1, "overdue_open": 2}
    assert (grids["34180200100102"]["reported"], grids["34180200100102"]["closed"]) == (0, 1)
    (street,) = evaluate(s, p, "street")
    assert (street["key"], street["name"], street["reported"]) == ("341802001", "澄江街道", 13)


def test_departments_are_charged_only_for_their_own_steps(november):
    s, p = november
    deps = rows_by(s, p, "department")
    assert set(deps) == {"城管局", "环卫所", "保洁公司"}
    mine = {k: deps["城管局"][k] for k in ("to_handle", "handled", "handled_on_time",
                                          "overdue_unhandled", "reworked", "extended",
                                          "returned")}
    # N1 on time though dispatched late; N2 not yet due; N3 returned (charged here, not to
    # 环卫所); N5 overdue; N6 suspended, N7 void: nothing to handle
    assert mine == {"to_handle": 5, "handled": 4, "handled_on_time": 3, "overdue_unhandled": 1,
                    "reworked": 1, "extended": 1, "returned": 1}
    assert {k: deps["城管局"][k] for k in ("handle_rate", "on_time_handle_rate", "rework_rate",
                                          "overdue_rate", "extension_rate")} == {
        "handle_rate": 0.8, "on_time_handle_rate": 0.6, "rework_rate": 0.25,
        "overdue_rate": 0.2, "extension_rate": 0.2}
    assert {k: deps["环卫所"][k] for k in ("to_handle", "handled", "handled_on_time",
                                          "returned")} == {"to_handle": 1, "handled": 1,
                                                           "handled_on_time": 1, "returned": 0}
    assert deps["保洁公司"]["handled_on_time"] == 1 and deps["保洁公司"]["overdue_unhandled"] == 0


def test_posts_and_persons(november):
    s, p = november
    people = rows_by(s, p, "person")
    zhang = people[("监督员", "张监督")]
    assert {k: zhang[k] for k in ("reports", "valid_reports", "self_handled", "to_verify",
                                  "verified_on_time", "to_check", "checked_on_time",
                                  "missed")} == {
        "reports": 9, "valid_reports": 8, "self_handled": 1, "to_verify": 2,
        "verified_on_time": 2, "to_check": 6, "checked_on_time": 6, "missed": 1}
    chen = people[("监督员", "陈监督")]
    assert (chen["reports"], chen["to_check"], chen["checked_on_time"],
            chen["check_on_time_rate"], chen["verify_on_time_rate"]) == (1, 1, 0, 0.0, None)
    assert {k: people[("受理员", "王受理")][k] for k in ("to_accept", "accepted",
                                                       "accepted_on_time")} == {
        "to_accept": 11, "accepted": 11, "accepted_on_time": 11}
    assert (people[("受理员", "李受理")]["accepted_on_time"],
            people[("受理员", "李受理")]["to_accept"]) == (0, 1)
    assert people[("受理员", "（受理员，未指定）")]["to_accept"] == 1         # N11, nobody's yet
    qian = people[("值班长", "钱值班")]
    assert {k: qian[k] for k in ("to_file", "filed", "filed_on_time", "cancelled", "to_close",
                                 "closed", "closed_on_time")} == {
        "to_file": 9, "filed": 9, "filed_on_time": 9, "cancelled": 0, "to_close": 6,
        "closed": 6, "closed_on_time": 5}
    zhou = people[("值班长", "周值班")]
    assert (zhou["filed"], zhou["cancelled"], zhou["accurate_file_rate"]) == (1, 1, 0.0)
    zhao = people[("派遣员", "赵派遣")]
    assert {k: zhao[k] for k in ("to_dispatch", "dispatched", "dispatched_on_time",
                                 "returned_after_dispatch", "accurately_dispatched")} == {
        "to_dispatch": 11, "dispatched": 11, "dispatched_on_time": 10,
        "returned_after_dispatch": 1, "accurately_dispatched": 10}
    assert zhao["dispatch_on_time_rate"] == 0.9091
    posts = rows_by(s, p, "post")
    assert (posts[("受理员", "受理员")]["to_accept"], posts[("受理员", "受理员")]["accepted"]) \
        == (13, 12)
    assert "专业部门" not in {r.get("post") for r in evaluate(s, p, "person")}


def test_the_cases_behind_each_number(november):
    s, p = november
    assert cases_behind(s, p, "department", "城管局", "overdue_unhandled") == ["341802-N5"]
    assert cases_behind(s, p, "department", "城管局", "returned") == ["341802-N3"]
    assert cases_behind(s, p, "district", "341802", "closed_on_time") == [
        "341802-N1", "341802-N10", "341802-N14", "341802-N3", "341802-N4"]
    assert cases_behind(s, p, "district", "341802", "overdue_open") == [
        "341802-N11", "341802-N12", "341802-N5"]
    late = set(cases_behind(s, p, "person", "派遣员:赵派遣", "to_dispatch")) - set(
        cases_behind(s, p, "person", "派遣员:赵派遣", "dispatched_on_time"))
    assert late == {"341802-N1"}
    assert cases_behind(s, p, "person", "值班长:周值班", "accurately_filed") == []
    reports = cases_behind(s, p, "person", "监督员:张监督", "reports")
    valid = cases_behind(s, p, "person", "监督员:张监督", "valid_report_rate")
    assert len(reports) == 9 and set(reports) - set(valid) == {"341802-N15"}


def test_counting_earlier_gives_what_was_known_then(county, tmp_path):
    replay(county, tmp_path, month())
    with Session(county) as s:
        # 11-05 15:00: N5 is not due until 15:15, and N2, N11, N12 do not exist yet
        early = period(s, "341802", date(2026, 11, 1), date(2026, 11, 30),
                       datetime(2026, 11, 5, 15, 0, tzinfo=CST), PATROLS)
        (d,) = evaluate(s, early, "district")
        assert (d["reported"], d["closed"], d["overdue_open"]) == (4, 4, 0)
        deps = {r["key"]: r for r in evaluate(s, early, "department")}
        assert deps["城管局"]["overdue_unhandled"] == 0


def test_scores_and_grades_follow_the_citys_rules(november, tmp_path):
    s, p = november
    scheme = scheme_for(s, "341802")
    deps = {r["key"]: r for r in score_rows(evaluate(s, p, "department"), "department", scheme)}
    # 0.8 × 30 + 0.6 × 20 + (1 − 0.25) × 20 + (1 − 0.2) × 20 + (1 − 0.2) × 10
    assert (deps["城管局"]["score"], deps["城管局"]["grade"]) == (75.0, "B")
    assert (deps["环卫所"]["score"], deps["环卫所"]["grade"]) == (100.0, "A")
    people = score_rows(evaluate(s, p, "person"), "person", scheme)
    zhao = next(r for r in people if r["key"] == "赵派遣")
    # 派遣数 11 → the lowest band (40/100) × 20, 按时 10/11 × 40, 准确 10/11 × 40
    assert zhao["score"] == round(8 + 40 * 10 / 11 + 40 * 10 / 11, 2)
    # a city's own rules, loaded from its file, take over
    own = tmp_path / "考核办法.toml"
    own.write_text(shipped().replace("weight = 30", "weight = 40", 1), encoding="utf-8")
    import_scheme(s, own)
    rescored = {r["key"]: r for r in score_rows(evaluate(s, p, "department"), "department",
                                                scheme_for(s, "341802"))}
    assert rescored["城管局"]["score"] == 83.0


@pytest.mark.parametrize(("text", "words"), [
    ("[grades]\nA = 90\n[[department]]\nitem = 'x'\nvalue = 'handled / nothing'\nweight = 1\n",
     "nothing"),
    ("[grades]\nA = 90\n[[department]]\nitem = 'x'\nvalue = 'handled ** 2'\nweight = 1\n",
     "only"),
    ("[grades]\nA = 90\n[[department]]\nitem = 'x'\nvalue = '__import__(1)'\nweight = 1\n",
     "__import__"),
    ("[[department]]\nitem = 'x'\nvalue = 'handled'\nweight = 1\n", "grades"),
    ("[grades]\nA = 90\n[[department]]\nitem = 'x'\nweight = 1\n", "value"),
    ("[grades]\nA = 90\n[[stations]]\n", "unknown sections"),
])
def test_a_bad_scheme_is_refused_naming_what_is_wrong(text, words):
    from cases.scoring import BadScheme

    with pytest.raises(BadScheme, match=words):
        parse(text, "考核办法.toml")



# -- the monthly report ------------------------------------------------------------------------

REPORT = {"district": "341802", "month": "2026-11", "at": AT.isoformat()}


@pytest.fixture
def client(county, november):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from tests.conftest import bearer, make_token

    url = county.url.render_as_string(hide_password=False).replace("+psycopg", "")
    with TestClient(create_app(Settings(database_url=url)),
                    headers=bearer(make_token(url))) as c:
        yield c


def test_the_monthly_page_and_its_links_to_the_cases(client):
    page = client.get("/reports/evaluation", params=REPORT)
    assert page.status_code == 200
    text = page.text
    assert "宣州区数字化城市管理绩效评价月报（2026-11）" in text
    assert "统计时点 2026-11-30 12:00" in text
    assert "宣城市数字化城市管理考核办法（样例）" in text
    # 城管局's row: its counts, its score 75.00 and grade B, ranked below 100-point 环卫所
    row = text[text.index("<td class=name>城管局"):]
    row = row[:row.index("</tr>")]
    assert ">5<" in row and ">80.0%<" in row and "75.00" in row and ">B<" in row
    href = re.search(r'href="([^"]+indicator=overdue_unhandled[^"]*)"', row).group(1)
    drill = client.get(html_unescape(href))
    assert drill.status_code == 200 and "341802-N5" in drill.text and "共 1 件" in drill.text
    # without a token a browser gets the shell, which asks for the map's token
    shell = client.get("/reports/evaluation", params=REPORT, headers={"Authorization": ""})
    assert "citygrid.token" in shell.text and "城管局" not in shell.text


def test_the_workbook_has_the_same_numbers(client):
    from openpyxl import load_workbook

    resp = client.get("/reports/evaluation.xlsx", params=REPORT)
    assert resp.status_code == 200
    book = load_workbook(io.BytesIO(resp.content))
    assert book.sheetnames == ["说明", "区域（街道）", "专业部门", "岗位-监督员", "岗位-受理员",
                               "岗位-值班长", "岗位-派遣员"]
    sheet = book["专业部门"]
    head = [c.value for c in sheet[1]]
    rows = {r[1].value: r for r in sheet.iter_rows(min_row=2)}
    mine = rows["城管局"]
    cell = dict(zip(head, mine, strict=True))
    assert (cell["应处置数"].value, cell["处置数"].value, cell["超期待处置数"].value) == (5, 4, 1)
    assert (cell["处置率"].value, cell["得分"].value, cell["等级"].value) == (0.8, 75.0, "B")
    assert "indicator=overdue_unhandled" in cell["超期待处置数"].hyperlink.target
    people = {r[1].value: r for r in book["岗位-派遣员"].iter_rows(min_row=2)}
    assert people["赵派遣"][0].value == 1                          # ranked first
    csv_text = client.get("/reports/evaluation.csv", params={**REPORT, "by": "department"}).text
    lines = [line.split(",") for line in csv_text.lstrip("\ufeff").splitlines()]
    assert lines[0][:4] == ["对象代码", "对象", "应处置数", "处置数"]
    assert next(x for x in lines if x[0] == "城管局")[:4] == ["城管局", "城管局", "5", "4"]


def test_the_cli_prints_and_writes_the_same(county, november, tmp_path):
    from tests.conftest import Cli

    url = county.url.render_as_string(hide_password=False).replace("+psycopg", "")
    cli = Cli(url, tmp_path)
    args = ["stats", "--district", "341802", "--from", "2026-11-01", "--to", "2026-11-30",
            "--at", AT.isoformat()]
    data = __import__("json").loads(cli(*args, "--by", "department").stdout)
    assert {r["key"]: r["to_handle"] for r in data["rows"]}["城管局"] == 5
    table = cli(*args, "--by", "person", "--format", "table").stdout
    assert "派遣员 赵派遣：应派遣数 11，派遣数 11，按时派遣数 10" in table
    out = tmp_path / "11月.xlsx"
    cli(*args, "--format", "xlsx", "--out", str(out))
    from openpyxl import load_workbook

    assert load_workbook(out)["专业部门"].max_row == 4          # a heading and 3 departments
    assert "--out" in cli(*args, "--format", "xlsx", check=2).stderr


def test_the_page_renders_and_prints_in_chromium(county, november, tmp_path):
    from tests.conftest import ARGS, CHROMIUM, make_token, serving

    if CHROMIUM is None:
        pytest.fail("chromium is not installed (make setup installs it)")
    from playwright.sync_api import sync_playwright

    url = county.url.render_as_string(hide_password=False).replace("+psycopg", "")
    token = make_token(url)
    with serving(url) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.add_init_script(f"localStorage.setItem('citygrid.token', '{token}')")
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{base}/reports/evaluation?" + urlencode(REPORT))
        page.wait_for_function("window.citygridReportReady === true", timeout=30_000)
        assert page.locator("canvas").count() == 6 and not problems
        drawn = page.evaluate("(() => { const c = document.querySelector('canvas');"
                              " const d = c.getContext('2d').getImageData(0, 0, c.width, "
                              "c.height).data; return d.some((v, i) => i % 4 === 3 && v > 0); "
                              "})()")
        assert drawn, "the chart drew nothing"
        assert "城管局" in page.inner_text("body")
        pdf = page.pdf(format="A4", landscape=True)
        assert pdf.startswith(b"%PDF") and len(pdf) > 10_000
        browser.close()


@pytest.mark.parametrize(("by", "index"), [("person", "ix_case_event_step"),
                                           ("person", "ix_case_event_report"),
                                           ("person", "ix_case_file_due"),
                                           ("department", "ix_case_event_handle"),
                                           ("department", "ix_case_event_action")])
def test_a_months_evaluation_can_read_its_indexes(november, by, index):
    """The partial indexes a year's evaluation needs (bench/evaluation.py) match its statements:
    the steps in ix_case_event_step are cases.flow's, so the planner may use it."""
    s, p = november
    _plain(s)
    s.execute(text("SET LOCAL enable_seqscan = off"))
    s.execute(text("SET LOCAL enable_bitmapscan = off"))
    explain = _statement("EXPLAIN " + _grouping(by).text)
    plan = "\n".join(s.execute(explain, p.params() | {"per_case": False}).scalars())
    s.rollback()
    assert index in plan
