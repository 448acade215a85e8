"""Onboarding a county as a GIS clerk does it: a contractor's folder, made here with GDAL's
ogr2ogr (not by citygrid), through `citygrid onboard` to live lookups, a conformance report
that names every missing mandatory attribute, and the rejected rows as a layer.

    旌德县 341825 (legacy, CJ/T 213/214): two towns of one community each, three 100 m grids per
    town (a GBK shapefile in EPSG:4549); town boundaries, one naming its office; a census of
    manhole covers that lacks 所在单元网格, 初始日期 and the department codes, with a repeated
    标识码 and a cover outside the grids; a GBK 权责清单; a stray note.
    广德市 341882 (GB/T 47678-2026): the same grids under 15-character codes, in a GeoPackage;
    a census with every mandatory attribute of GB/T 47678.5 Table 2.
"""

from __future__ import annotations

import json

import pyogrio
import pytest
import sqlalchemy as sa

from census.codes import _USCC_ALPHABET, _USCC_WEIGHTS
from gis.db import make_engine
from tests.gridfiles import X0, Y0, grid_file, ogr2ogr, square, write_geojson

JINGDE, GUANGDE = "341825", "341882"


def credit_code(body: str) -> str:
    """A 统一社会信用代码 with its check character (GB 32100)."""
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(body, _USCC_WEIGHTS, strict=False))
    return body + _USCC_ALPHABET[(31 - total % 31) % 31]


def grids(district: str, digits: int) -> list[tuple[str, object]]:
    """Two towns (streets 001 and 002), one community each, three grids per town."""
    out = []
    for street in (1, 2):
        for seq in range(1, 4):
            code = f"{district}{street:03d}001{seq:0{digits - 12}d}"
            out.append((code, square(seq - 1, street - 1)))
    return out


def at(col: float, row: float) -> object:
    from shapely.geometry import Point

    return Point(X0 + col * 100 + 50, Y0 - row * 100 - 50)


def shapefile(folder, name, features, *, encoding="CP936"):
    src = write_geojson(folder / f"{name}.src.geojson", features)
    ogr2ogr("-f", "ESRI Shapefile", str(folder / f"{name}.shp"), str(src), "-lco",
            f"ENCODING={encoding}")
    src.unlink()


@pytest.fixture
def jingde(tmp_path):
    folder = tmp_path / "旌德县交付"
    grid_file(folder, grids(JINGDE, 14), name="单元网格",
              extra={"街道名称": ["旌阳镇"] * 3 + ["三溪镇"] * 3, "社区名称": ["城中社区"] * 6})
    from shapely.geometry import box
    shapefile(folder, "乡镇边界", [
        ({"乡镇代码": f"{JINGDE}001", "乡镇名称": "旌阳镇", "属地责任单位": "旌阳镇人民政府"},
         box(X0, Y0 - 100, X0 + 300, Y0)),
        ({"乡镇代码": f"{JINGDE}002", "乡镇名称": "三溪镇"},
         box(X0, Y0 - 200, X0 + 300, Y0 - 100))])

    def cover(serial, name="上水井盖"):
        return {"标识码": f"{JINGDE}0101{serial:06d}", "部件名称": name,
                "主管部门": "旌德县住建局", "状态": "完好"}
    shapefile(folder, "部件普查", [(cover(1), at(0, 0)), (cover(2), at(1, 1)),
                                  (cover(1), at(2, 0)),      # feature 2 repeats feature 0
                                  (cover(3), at(9, 9)),      # feature 3 outside the grids
                                  (cover(4, "路灯"), at(2, 1))])   # a lamp filed as a cover
    (folder / "权责清单.csv").write_bytes("类型,类别代码,责任部门\n事件,0102,旌德县城管局\n"
                                         "部件,0101,旌德县住建局\n".encode("gbk"))
    (folder / "说明.txt").write_text("交付说明", encoding="utf-8")
    return folder


@pytest.fixture
def guangde(tmp_path):
    folder = tmp_path / "广德市交付"
    grid_file(folder, grids(GUANGDE, 15), fmt="gpkg", name="单元网格", code_field="DYWGBSM")
    dept = credit_code("11341882MB1234567")
    shapefile(folder, "管理部件", [
        ({"GLBJBSM": f"{GUANGDE}01001{n:06d}", "GLBJMC": "供水井盖", "ZGBMDM": dept,
          "ZGBMMC": "广德市住建局", "SZDYWGBSM": grid, "GLBJZT": "完好", "CSRQ": "20250315"},
         at(col, row))
        for n, (grid, col, row) in enumerate([(f"{GUANGDE}001001001", 0, 0),
                                              (f"{GUANGDE}002001002", 1, 1)], start=1)])
    return folder


def conformance(folder):
    return json.loads((folder / "citygrid-onboarding" / "conformance.json").read_text("utf-8"))


def items(body, code):
    return [i for i in body["items"] if i["code"] == code]


def test_a_legacy_county_goes_live_with_one_command(cli, jingde, fresh_url):
    result = cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县")
    assert f"旌德县（{JINGDE}）已上线" in result.stdout
    assert f"/map?district={JINGDE}" in result.stdout
    assert "说明.txt：未识别" in result.stderr
    body = conformance(jingde)
    assert (body["district"], body["scheme"], body["verdict"]) == (JINGDE, "legacy", "fail")
    kinds = {d["file"]: d["kind"] for d in body["deliveries"]["found"]}
    assert kinds == {"单元网格.shp": "grids", "乡镇边界.shp": "streets", "部件普查.shp": "census",
                     "权责清单.csv": "rules"}
    # every missing mandatory attribute is named, with the column found for the others
    (fields,) = items(body, "census_fields")
    assert fields["status"] == "fail" and fields["file"] == "部件普查.shp"
    for name in ("主管部门代码", "所在单元网格", "初始日期", "权属单位名称", "养护单位名称"):
        assert name in fields["detail"]
    (census,) = body["census"]
    by_field = {f["field"]: f for f in census["mandatory_fields"]}
    assert by_field["部件标识码"]["source_field"] == "标识码"
    assert by_field["主管部门名称"]["source_field"] == "主管部门"
    assert by_field["主管部门名称"]["filled_share"] == 1.0
    assert by_field["初始日期"]["source_field"] is None
    assert census["rejected_by_reason"] == {"duplicate": 1, "outside": 1}
    # what was lost by its shape, names that contradict the class, and who puts each right
    (placed,) = items(body, "census_geometry")
    assert placed["status"] == "fail" and "不在本区县任何单元网格内 1" in placed["detail"]
    (named,) = items(body, "census_names")
    assert named["status"] == "fail" and "0101 上水井盖 名为“路灯”1 个" in named["detail"]
    (hierarchy,) = items(body, "hierarchy")
    assert hierarchy["status"] == "warn" and "未提供社区（村）边界" in hierarchy["detail"]
    who = {i["code"]: i["fix_by"] for i in body["items"]}
    assert who["census_fields"] == who["grid_codes"] == who["hierarchy"] == "contractor"
    assert who["rules"] == "county" and who["manual"] == who["calendar"] == "city"
    assert "不符合 必填属性［部件普查.shp］" in result.stderr
    assert "（承建单位补正）" in result.stderr
    assert f"citygrid token create --role district_gis --district {JINGDE}" in result.stderr
    # the grids passed QA, and lookups at six grids and the three components came out right
    assert {i["code"]: i["status"] for i in body["items"]
            if i["code"].startswith("grid_")} == {
        "grid_codes": "pass", "grid_geometry": "pass", "grid_overlaps": "pass",
        "grid_gaps": "pass", "grid_nesting": "pass", "grid_area": "pass",
        "grid_coverage": "pass"}
    (lookups,) = items(body, "lookups")
    assert lookups["status"] == "pass"
    assert "抽检 9 个点（网格与部件），9 个答对" in lookups["detail"]
    html = (jingde / "citygrid-onboarding" / "conformance.html").read_text("utf-8")
    assert "<h1>贯标符合性报告</h1>" in html and "不符合" in html and "所在单元网格" in html
    # the county answers lookups, and 属地兜底 names the office the boundary file gave
    out = json.loads(cli("lookup", *lonlat(at(0, 0)), "--class", "0102", "--kind", "event").stdout)
    assert out["grid"]["code"] == f"{JINGDE}00100101"
    assert out["responsible"]["department"] == "旌德县城管局"
    out = json.loads(cli("lookup", *lonlat(at(1, 0))).stdout)
    assert out["responsible"]["department"] == "旌阳镇人民政府"
    out = json.loads(cli("lookup", *lonlat(at(1, 1))).stdout)
    assert out["responsible"]["department"] == "三溪镇人民政府"


def lonlat(point):
    from gis import crs as crsmod

    x, y = crsmod.reproject_xy([point.x], [point.y], crsmod.parse_crs("EPSG:4549"),
                               crsmod.STORAGE_CRS)
    return f"{float(x[0]):.8f}", f"{float(y[0]):.8f}"


def test_the_rejected_rows_are_a_layer_with_their_feature_ids(cli, jingde):
    cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县")
    layer = pyogrio.read_dataframe(jingde / "citygrid-onboarding" / "rejects.gpkg",
                                   layer="部件普查")
    rows = {r.row: r for r in layer.itertuples()}
    assert set(rows) == {2, 3}            # QGIS shows a shapefile's features from 0
    assert (rows[2].reason, rows[2].reason_zh, rows[2].clashes_with) == (
        "duplicate", "编码重复", 0)
    assert rows[2].标识码 == f"{JINGDE}0101000001" and "与要素 0 重复" in rows[2].message
    assert rows[3].reason == "outside" and rows[3].geometry.x > 118


def test_running_it_again_changes_nothing(cli, jingde, fresh_url):
    cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县")
    again = cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县")
    body = conformance(jingde)
    counts = {(i["kind"], i["source"].rsplit("/", 1)[-1]): (i["imported"], i["updated"])
              for i in body["imports"]}
    assert set(counts.values()) == {(0, 0)}, counts
    assert "已上线" in again.stdout


def test_a_gb47678_county_in_a_geopackage_conforms(cli, guangde):
    cli("onboard", str(guangde), "--district", GUANGDE, "--name", "广德市", "--scheme", "gb47678")
    body = conformance(guangde)
    (fields,) = items(body, "census_fields")
    assert fields["status"] == "pass", fields
    (credit,) = items(body, "census_credit_codes")
    assert credit["status"] == "pass" and "2 个是有效的统一社会信用代码" in credit["detail"]
    assert {f["field"] for f in body["census"][0]["mandatory_fields"] if f["mandatory"]} == {
        "管理部件标识码", "管理部件名称", "主管部门代码", "主管部门名称", "所在单元网格标识码",
        "管理部件状态", "初始日期"}


def test_a_dry_run_checks_everything_and_writes_nothing(cli, jingde, fresh_url):
    result = cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县", "--dry-run")
    assert "试运行完成" in result.stderr and "已上线" not in result.stdout
    assert "部件试导入" in result.stderr and "would import" in result.stderr
    assert conformance(jingde)["dry_run"] is True
    assert districts(fresh_url) == []


def districts(url):
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT code FROM district ORDER BY code")).scalars().all()
    finally:
        engine.dispose()


def test_grids_that_fail_qa_stop_the_county_with_the_reasons(cli, tmp_path, fresh_url):
    folder = tmp_path / "重叠"
    bad = grids(JINGDE, 14)
    bad[1] = (bad[1][0], square(0, 0, grow=20))            # overlaps its neighbours
    grid_file(folder, bad, name="单元网格")
    result = cli("onboard", str(folder), "--district", JINGDE, "--name", "旌德县", check=1)
    assert "未上线" in result.stderr and "网格重叠" in result.stderr
    body = conformance(folder)
    assert body["gate_failed"] and items(body, "grid_overlaps")[0]["status"] == "fail"
    layer = pyogrio.read_dataframe(folder / "citygrid-onboarding" / "rejects.gpkg",
                                   layer="单元网格")
    assert len(layer) == 6 and "overlap" in set(layer["reason"])
    assert districts(fresh_url) == []


@pytest.mark.parametrize(("make", "needle"), [
    ("nothing", "没有可识别的单元网格文件"),
    ("two_grids", "有 2 个单元网格文件：单元网格.shp、网格2.shp"),
    ("other_district", "是 341802 的单元网格"),
])
def test_a_folder_that_cannot_be_onboarded_is_refused_by_name(cli, tmp_path, fresh_url, make,
                                                              needle):
    folder = tmp_path / make
    folder.mkdir()
    if make == "nothing":
        (folder / "readme.txt").write_text("x", encoding="utf-8")
    elif make == "two_grids":
        grid_file(folder, grids(JINGDE, 14), name="单元网格")
        grid_file(folder, grids(JINGDE, 14), name="网格2")
    else:
        grid_file(folder, grids("341802", 14), name="单元网格")
    result = cli("onboard", str(folder), "--district", JINGDE, "--name", "旌德县", check=2)
    assert needle in result.stderr and len(result.stderr.strip().splitlines()) == 2
    assert not (folder / "citygrid-onboarding").exists() and districts(fresh_url) == []


def test_the_conformance_of_a_live_county(cli, jingde):
    cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县")
    out = cli("conformance", "--district", JINGDE, "--json").stdout
    body = json.loads(out)
    assert body["verdict"] == "fail" and items(body, "census_fields")[0]["status"] == "fail"
    assert body["census"][0]["file"] == "部件普查.shp"


def test_the_supervision_view_lists_each_county_to_those_who_may_see_it(cli, jingde, guangde,
                                                                        fresh_url):
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings
    from tests.conftest import bearer, make_token

    cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县")
    cli("onboard", str(guangde), "--district", GUANGDE, "--name", "广德市", "--scheme", "gb47678")
    admin = make_token(fresh_url)
    clerk = make_token(fresh_url, "district_gis", GUANGDE)
    with TestClient(create_app(Settings(database_url=fresh_url))) as c:
        assert c.get("/supervision", params={"f": "json"}).status_code == 401
        rows = {r["district"]: r for r in c.get("/supervision", params={"f": "json"},
                                                headers=bearer(admin)).json()["districts"]}
        assert set(rows) == {JINGDE, GUANGDE}
        jd = rows[JINGDE]
        assert (jd["live"], jd["grids"], jd["components"], jd["verdict"]) == (
            True, 6, 3, "fail")
        assert {f["code"] for f in jd["failing"]} >= {"census_fields"}
        assert jd["last_import"] and jd["checked_at"]
        own = c.get("/supervision", headers={**bearer(clerk), "Accept": "application/json"})
        assert [r["district"] for r in own.json()["districts"]] == [GUANGDE]
        page = c.get("/supervision", headers=bearer(clerk)).text
        assert "检查督办" in page and "广德市" in page and "旌德县" not in page


def test_the_rejected_rows_are_on_the_map_for_the_countys_gis_staff(cli, jingde, fresh_url,
                                                                      browser):
    from tests.conftest import make_token, serving
    from tests.test_map import click_at, go, open_page

    cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县")
    clerk = make_token(fresh_url, "district_gis", JINGDE)
    operator = make_token(fresh_url, "operator", JINGDE, post="受理员", name="受理员甲")
    lon, lat = (float(v) for v in lonlat(at(9, 9)))          # feature 3, outside the grids
    with serving(fresh_url) as base:
        page = open_page(browser, base, clerk, f"/map?district={JINGDE}")
        page.wait_for_function("document.getElementById('reject-count').textContent === '（2）'",
                               timeout=15_000)
        assert page.inner_text("#rejects-layer").strip() == "退回要素（2）"
        go(page, lon, lat, 17)
        click_at(page, lon, lat)
        popup = page.wait_for_selector(".popup.reject", timeout=10_000).inner_text()
        assert "部件普查.shp" in popup and "$id = 3" in popup
        assert "不在本区县任何单元网格内" in popup and page.problems == []
        page.context.close()
        # an operator works cases: the layer is not theirs (nor is the route)
        page = open_page(browser, base, operator, f"/map?district={JINGDE}")
        assert page.locator("#rejects-layer").is_hidden() and page.problems == []
        page.context.close()


def test_a_class_field_kept_as_a_number_and_a_list_row_without_its_zero(cli, jingde, fresh_url):
    """A contractor's census with its 类别代码 as an Integer field (101 for 0101) imports: the
    标识码 says the class. A 权责清单 row whose code lost its zero is a reject in rejects.gpkg
    (a table's row, no shape), not a crash."""
    def cover(serial):
        return {"标识码": f"{JINGDE}0101{serial:06d}", "部件名称": "上水井盖", "类别代码": 101,
                "主管部门": "旌德县住建局", "状态": "完好"}
    shapefile(jingde, "部件普查", [(cover(1), at(0, 0)), (cover(2), at(1, 1)),
                                  (cover(1), at(2, 0)), (cover(3), at(9, 9))])
    assert pyogrio.read_info(jingde / "部件普查.shp")["dtypes"][2] == "int32"
    (jingde / "权责清单.csv").write_bytes("类型,类别代码,责任部门\n事件,0102,旌德县城管局\n"
                                         "部件,0101,旌德县住建局\n部件,104,旌德县园林局\n"
                                         .encode("gbk"))
    result = cli("onboard", str(jingde), "--district", JINGDE, "--name", "旌德县", "--dry-run")
    assert "试运行完成" in result.stderr
    body = conformance(jingde)
    assert body["census"][0]["rejected_by_reason"] == {"duplicate": 1, "outside": 1}
    (placed,) = items(body, "census_geometry")
    assert "不在本区县任何单元网格内 1" in placed["detail"]
    listed = pyogrio.read_dataframe(jingde / "citygrid-onboarding" / "rejects.gpkg",
                                    layer="权责清单")
    assert list(zip(listed["row"], listed["reason"], strict=True)) == [(3, "lost_leading_zero")]
    assert listed["类别代码"][0] == "104" and "应为 0104" in listed["message"][0]
    assert districts(fresh_url) == []
