"""The operator map in a real headless Chromium (Debian's, driven by Playwright): it loads clean,
draws the grids, answers a click with the right grid, finds a component, and takes a report."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image


def open_page(browser, live, token, path="/map"):
    """A page of its own context holding `token`, ready; `problems` collects console errors and
    `outside` every request that left the server."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    context.add_init_script(f"localStorage.setItem('citygrid.token', '{token}')")
    pg = context.new_page()
    pg.problems, pg.outside = [], []
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.on("request", lambda r: pg.outside.append(r.url) if not r.url.startswith(live)
          and not r.url.startswith(("data:", "blob:")) else None)
    pg.goto(f"{live}{path}")
    pg.wait_for_selector("body[data-ready='1']", timeout=60_000)
    return pg


@pytest.fixture
def page(browser, live, admin_token):
    pg = open_page(browser, live, admin_token)
    yield pg
    pg.context.close()


def go(page, lon, lat, zoom):
    page.evaluate(f"citygridMap.jumpTo({{center: [{lon}, {lat}], zoom: {zoom}}})")
    page.wait_for_function("citygridMap.loaded() && citygridMap.areTilesLoaded()",
                           timeout=30_000)
    page.wait_for_timeout(300)


def click_at(page, lon, lat):
    x, y = page.evaluate(f"(() => {{ const p = citygridMap.project([{lon}, {lat}]); "
                         "return [p.x, p.y]; })()")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)


def grid_centre(city, code):
    _, _, index = city
    d = index.districts[code[:6]]
    i = list(d.grid_codes).index(code)
    c = d.grid_geoms[i].representative_point()
    return c.x, c.y


def test_the_page_loads_with_no_console_errors(page):
    assert page.title().startswith("citygrid")
    assert page.locator("#legend-components li").count() >= 5
    assert page.problems == []


def test_the_grid_layer_is_drawn_at_a_known_place(page, city):
    lon, lat = grid_centre(city, "34180200200215")
    go(page, lon, lat, 16)
    page.evaluate("for (const id of ['component-point','component-line','component-fill']) "
                  "citygridMap.setLayoutProperty(id, 'visibility', 'none')")
    page.wait_for_timeout(500)
    shot = np.asarray(Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB"))
    line = np.array([0x5D, 0x6D, 0x7E])
    near_line = (np.abs(shot.astype(int) - line).sum(axis=2) < 60).mean()
    assert near_line > 0.005, f"only {near_line:.4%} of the map is grid lines"
    blank = (np.abs(shot.astype(int) - np.array([0xEE, 0xF1, 0xF4])).sum(axis=2) < 10).mean()
    assert blank < 0.95
    assert page.problems == []


def test_a_click_shows_the_grid_and_who_is_responsible(page, city):
    lon, lat = grid_centre(city, "34180200200215")
    go(page, lon, lat, 17)
    click_at(page, lon, lat)
    popup = page.wait_for_selector(".popup[data-grid]", timeout=15_000)
    assert popup.get_attribute("data-grid") == "34180200200215"
    text = popup.inner_text()
    assert "鳌峰街道" in text and "责任单位" in text and "依据" in text
    assert page.problems == []


def test_search_flies_to_a_component(page, city):
    _, _, index = city
    cc = index.districts["341881"].components["01001"]
    code = cc.code(5)
    d = index.districts["341881"]
    lon = cc.geom(5).x / d.frame.kx + d.frame.lon0
    lat = cc.geom(5).y / d.frame.ky + d.frame.lat0
    page.fill("#search-q", code)
    page.click("#search button")
    page.wait_for_function(f"document.body.dataset.found === '{code}'", timeout=15_000)
    page.wait_for_function("!citygridMap.isMoving()", timeout=15_000)
    centre = page.evaluate("citygridMap.getCenter().toArray()")
    assert abs(centre[0] - lon) < 2e-4 and abs(centre[1] - lat) < 2e-4
    assert page.evaluate("citygridMap.getZoom()") >= 17
    assert code in page.inner_text("#search-msg")
    page.fill("#search-q", "3418029999999999")
    page.click("#search button")
    page.wait_for_function("document.getElementById('search-msg').textContent.includes("
                           "'没有找到')", timeout=10_000)


def report_here(page, city, grid, class_value, description):
    lon, lat = grid_centre(city, grid)
    go(page, lon, lat, 17)
    click_at(page, lon, lat)
    page.wait_for_selector(".popup[data-grid] form.report", timeout=15_000)
    page.fill(".popup input[name=class-q]", class_value.split(":")[1])
    page.select_option(".popup select[name=class]", class_value)
    page.fill(".popup textarea[name=description]", description)
    page.click(".popup form.report button")
    try:
        result = page.wait_for_selector(".popup .result[data-number]", timeout=30_000)
    except Exception:
        # what the operator would see instead of a case number
        said = page.inner_text(".popup .result") if page.locator(".popup").count() else "-"
        raise AssertionError(f"no case number after reporting: {said!r}; "
                             f"{page.problems}") from None
    return result.get_attribute("data-number")


def test_a_case_reported_from_the_popup_appears_in_the_list(page, city):
    number = report_here(page, city, "341881002001005", "event:06010",
                         "路口有成堆垃圾（浏览器测试）")
    assert number.startswith("341881-")
    item = page.wait_for_selector(f"#case-list li[data-number='{number}']", timeout=10_000)
    assert "暴露垃圾" in item.inner_text()
    assert page.problems == []


@pytest.mark.parametrize("path, drawn", [("/docs", ".swagger-ui .opblock"),
                                          ("/redoc", ".api-content h2")])
def test_the_api_documentation_renders_with_no_internet(browser, live, path, drawn):
    """Swagger UI and ReDoc come from citygrid's own /vendor: with every request that leaves the
    server refused, the pages still draw the operations."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(live):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(f"{live}{path}")
    pg.wait_for_selector(drawn, timeout=60_000)
    text = pg.locator("body").inner_text()
    context.close()
    assert "/lookup" in text and outside == [] and errors == []
