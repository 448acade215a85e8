"""The operator console in Debian's headless Chromium: a case walked from 上报 to 结案 through
the page, each step by the post that owns it with that post's own token; each post sees only
its own buttons; a case reported through the API appears in an open page without a reload; the
map opens on the caller's county with its grids drawn; the class picker finds a class by name
and warns of a duplicate before submitting."""

from __future__ import annotations

import io

import numpy as np
import pytest
import requests
from PIL import Image

from tests.conftest import bearer, make_token
from tests.test_map import (
    click_at,
    go,
    grid_centre,
    open_page,
    report_here,
)

COUNTY = "341881"
GRID = "341881001002007"
QUIET = "341881001003003"         # a grid no other test reports in: its centre has no case pin


@pytest.fixture(scope="module")
def posts(city):
    url = city[0]
    return {post: make_token(url, "operator", COUNTY, post=post, name=f"{post}小李")
            for post in ("监督员", "受理员", "值班长", "派遣员")}


def offered(page):
    return page.eval_on_selector_all(".actions details[data-action]",
                                     "els => els.map(e => e.dataset.action)")


def do(page, number, action, fill=None):
    """Open the case, press the action, fill its form and submit; wait for the next state."""
    page.fill("#search-q", number)
    page.click("#search button")
    page.wait_for_selector(f"#case-detail h2[data-number='{number}']", timeout=15_000)
    before = page.evaluate("document.body.dataset.case")
    page.click(f".actions details[data-action='{action}'] summary")
    for name, value in (fill or {}).items():
        sel = f".actions form[data-action='{action}'] [name='{name}']"
        if page.eval_on_selector(sel, "e => e.tagName") == "SELECT":
            page.select_option(sel, value)
        else:
            page.fill(sel, value)
    page.click(f".actions form[data-action='{action}'] button")
    page.wait_for_function(f"document.body.dataset.case && document.body.dataset.case !== "
                           f"'{before}'", timeout=15_000)
    return page.evaluate("document.body.dataset.case").split(":")[1]


def test_a_case_goes_from_report_to_close_in_the_browser(browser, live, city, posts):
    supervisor = open_page(browser, live, posts["监督员"])
    number = report_here(supervisor, city, GRID, "event:06010", "人行道上成堆垃圾（控制台测试）")
    case = requests.get(f"{live}/cases/{number}", headers=bearer(posts["监督员"])).json()
    assert case["state"] == "reported" and case["source"] == "监督员上报"
    supervisor.close()
    department = case["department"]
    posts["专业部门"] = make_token(city[0], "operator", COUNTY, post="专业部门", name="保洁员",
                                department=department)

    steps = [("受理员", "accept", None, "accepted"), ("值班长", "file", None, "filed"),
             ("派遣员", "dispatch", {"department": department}, "dispatched"),
             ("专业部门", "handle", {"note": "已清运"}, "handled"),
             ("监督员", "verify", None, "checked"), ("值班长", "close", None, "closed")]
    for post, action, fill, state in steps:
        page = open_page(browser, live, posts[post])
        page.fill("#search-q", number)
        page.click("#search button")
        page.wait_for_selector(f"#case-detail h2[data-number='{number}']", timeout=15_000)
        shown = offered(page)
        assert action in shown, (post, shown)
        assert {"accept", "file", "dispatch", "handle", "verify", "close"} & set(shown) == \
            {action}, (post, shown)                 # nothing another post could do
        assert do(page, number, action, fill) == state
        assert f"{post}" in page.inner_text("#me") and page.problems == [], page.problems
        assert page.outside == [], page.outside
        page.context.close()

    done = requests.get(f"{live}/cases/{number}", headers=bearer(posts["值班长"])).json()
    assert [h["action"] for h in done["history"]] == [
        "report", "accept", "file", "dispatch", "handle", "verify", "close"]
    assert [h["post"] for h in done["history"][1:]] == ["受理员", "值班长", "派遣员", "专业部门",
                                                        "监督员", "值班长"]


def test_the_detail_shows_the_clock_history_and_a_request_form(browser, live, city, posts):
    page = open_page(browser, live, posts["受理员"])
    number = report_here(page, city, GRID, "event:06010", "需要受理的案件（详情测试）")
    page.fill("#search-q", number)
    page.click("#search button")
    panel = page.wait_for_selector(f"#case-detail h2[data-number='{number}']", timeout=15_000)
    text = page.inner_text("#case-detail")
    assert "受理期限" in text and ("还剩" in text or "已超期" in text)
    assert "上报" in text and "受理员小李" in text and "暴露垃圾" in text
    assert offered(page) == ["accept"]
    # a photo added from the detail is stored and shown (fetched with the token)
    shot = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 40, 40)).save(shot, "PNG")
    page.set_input_files("form.add-photo input[name=photo]",
                         {"name": "现场.png", "mimeType": "image/png", "buffer": shot.getvalue()})
    assert page.inner_text("form.add-photo label.file") == "现场.png"
    page.click("form.add-photo button")
    page.wait_for_function("[...document.querySelectorAll('#case-detail .photos img')]"
                           ".some(i => i.src.startsWith('blob:') && i.naturalWidth === 64)",
                           timeout=15_000)
    assert panel is not None and page.problems == []
    page.context.close()


def test_a_case_reported_through_the_api_appears_without_a_reload(browser, live, city, posts):
    page = open_page(browser, live, posts["值班长"])
    page.wait_for_function("document.body.dataset.live === '1'", timeout=20_000)
    lon, lat = grid_centre(city, GRID)
    made = requests.post(f"{live}/cases", headers=bearer(posts["受理员"]), json={
        "lon": lon, "lat": lat, "class": "06010", "kind": "event", "source": "12345热线",
        "description": "12345 转来的案件（实时推送测试）",
        "reporter": {"name": "市民王", "phone": "13912345678"}})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    page.wait_for_selector(f"#case-list li[data-number='{number}']", timeout=20_000)
    assert "新案件" in page.inner_text("#new-badge")
    # the 值班长 (a centre post) sees the caller's contact in the case
    page.click(f"#case-list li[data-number='{number}']")
    page.wait_for_selector(f"#case-detail h2[data-number='{number}']", timeout=15_000)
    assert "13912345678" in page.inner_text("#case-detail")
    assert page.problems == []
    page.context.close()


def test_an_open_form_survives_a_change_pushed_by_the_server(browser, live, city, posts):
    """An operator halfway through a form loses neither the open form nor what was typed when
    another operator's change to the case arrives and the case is shown again."""
    lon, lat = grid_centre(city, GRID)
    made = requests.post(f"{live}/cases", headers=bearer(posts["受理员"]), json={
        "lon": lon, "lat": lat, "class": "06010", "kind": "event", "source": "12345热线",
        "description": "督办中的案件（表单保留测试）"})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    page = open_page(browser, live, posts["值班长"])
    page.wait_for_function("document.body.dataset.live === '1'", timeout=20_000)
    page.fill("#search-q", number)
    page.click("#search button")
    page.wait_for_selector(f"#case-detail h2[data-number='{number}']", timeout=15_000)
    page.click(".actions details[data-action='urge'] summary")
    page.fill(".actions form[data-action='urge'] [name='note']", "请今天下班前处理")
    # another 值班长 urges the same case: pushed to the page, which shows the case again
    other = make_token(city[0], "operator", COUNTY, post="值班长", name="值班长老周")
    urged = requests.post(f"{live}/cases/{number}/transitions", headers=bearer(other),
                          json={"action": "urge", "note": "抓紧"})
    assert urged.status_code == 200, urged.text
    page.wait_for_function("document.querySelector('#case-detail .history').innerText"
                           ".includes('值班长老周')", timeout=20_000)
    assert page.eval_on_selector(".actions details[data-action='urge']", "d => d.open")
    assert page.input_value(".actions form[data-action='urge'] [name='note']") == "请今天下班前处理"
    assert page.problems == []
    page.context.close()


def test_the_picker_finds_a_class_by_name_and_warns_of_a_duplicate(browser, live, city, posts):
    page = open_page(browser, live, posts["监督员"])
    report_here(page, city, QUIET, "event:06010", "第一起（重复测试）")
    page.keyboard.press("Escape")
    lon, lat = grid_centre(city, QUIET)
    go(page, lon, lat, 18)
    click_at(page, lon + 0.0001, lat)         # ≈ 10 m east: beside the first case's pin
    page.wait_for_selector(".popup form.report", timeout=15_000)
    page.fill(".popup input[name=class-q]", "暴露垃圾")
    visible = page.eval_on_selector_all(".popup select[name=class] option:not([hidden])",
                                        "els => els.map(e => e.value)")
    assert "event:06010" in visible and len(visible) < 10
    page.select_option(".popup select[name=class]", "event:06010")
    page.wait_for_selector(".popup .dups:not([hidden])", timeout=10_000)
    assert "可能重复" in page.inner_text(".popup .dups")
    assert page.problems == []
    page.context.close()


def test_the_map_opens_on_the_callers_county_with_its_grids(browser, live, city):
    token = make_token(city[0], "operator", COUNTY, post="受理员", name="开图测试")
    page = open_page(browser, live, token)
    page.wait_for_function("citygridMap.loaded() && citygridMap.areTilesLoaded()",
                           timeout=30_000)
    page.wait_for_timeout(500)
    bounds = page.evaluate("citygridMap.getBounds().toArray()")
    d = city[2].districts[COUNTY]
    minx, _, maxx, _ = d.bbox
    assert bounds[0][0] <= minx and bounds[1][0] >= maxx          # the county fills the view
    assert (maxx - minx) / (bounds[1][0] - bounds[0][0]) > 0.5
    shot = np.asarray(Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB"))
    line = np.array([0x5D, 0x6D, 0x7E])
    assert (np.abs(shot.astype(int) - line).sum(axis=2) < 60).mean() > 0.002
    legend = page.inner_text("#legend-components")
    assert "市政公用设施" in legend and "房屋土地" not in legend      # 宁国市 is GB/T 47678
    page.mouse.move(683, 400)
    page.wait_for_function("document.getElementById('cursor').textContent.includes('EPSG:4549')",
                           timeout=10_000)
    assert "CGCS2000" in page.inner_text("#cursor") and page.outside == []
    page.context.close()


def test_a_photo_that_is_not_one_is_refused_and_nothing_is_kept(live, city, posts):
    made = requests.post(f"{live}/cases", headers=bearer(posts["监督员"]), json={
        "lon": grid_centre(city, QUIET)[0], "lat": grid_centre(city, QUIET)[1],
        "class": "06010", "kind": "event", "description": "照片测试"})
    assert made.status_code == 201, made.text
    number = made.json()["number"]
    url, who = f"{live}/cases/{number}/media", bearer(posts["监督员"])
    for name, body, kind in (("现场.png", b"not a picture at all", "image/png"),
                             ("空.jpg", b"", "image/jpeg")):
        refused = requests.post(url, headers=who, files={"file": (name, body, kind)})
        error = refused.json()["error"]
        assert (refused.status_code, error["code"]) == (400, "bad_photo"), refused.text
        assert error["message"].startswith(("只接受", "照片为空"))
    case = requests.get(f"{live}/cases/{number}", headers=who).json()
    assert case["photos"] == []
