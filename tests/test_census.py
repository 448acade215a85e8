"""The component census: import with exact accounting, re-import, retirement, profiles, export
round trips, conversion to GB/T 47678 and local catalog classes. Input files are made by GDAL."""

from __future__ import annotations

import datetime as dt
import json
import subprocess

import pytest
import shapely
import sqlalchemy as sa

from census.catalog import add_catalog_file, get_class
from census.convert import convert_census
from census.export import export_components
from census.importer import ComponentImportOptions, NoGrids, import_components
from census.tables import component, organisation
from grid.districts import add_district
from grid.importer import import_grids
from tests.gridfiles import X0, Y0, block, grid_file, ogr2ogr, square, write_geojson

D = "341802"


def today_cst() -> dt.date:
    """Dates the database stamps are China Standard Time dates."""
    return dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()


def code(cls: str, serial: int, district: str = D) -> str:
    return f"{district}{cls}{serial:06d}"


def inside(col: int, row: int, dx: float = 50.0, dy: float = 50.0) -> shapely.Point:
    """A point inside grid cell (col, row) of tests.gridfiles' lattice."""
    return shapely.Point(X0 + col * 100 + dx, Y0 - row * 100 - dy)


@pytest.fixture
def district(db, tmp_path):
    """宣州区 with a 3×2 block of grids (legacy codes 34180200100101…06)."""
    add_district(db, D, name="宣州区", scheme="legacy", crs="EPSG:4549")
    report, _ = import_grids(db, grid_file(tmp_path / "grids", block(3, 2)), D)
    assert report.imported == 6
    return db


def census_file(folder, rows, *, fmt="shp", name="部件", to_crs=None):
    """rows: (properties, geometry) in EPSG:4549, written by ogr2ogr (GBK for shapefiles)."""
    folder.mkdir(parents=True, exist_ok=True)
    src = write_geojson(folder / f"{name}.src.geojson", rows)
    args = ["-t_srs", to_crs] if to_crs else []
    if fmt == "shp":
        out = folder / f"{name}.shp"
        ogr2ogr("-f", "ESRI Shapefile", str(out), str(src), "-lco", "ENCODING=CP936", *args)
    else:
        out = folder / f"{name}.gpkg"
        ogr2ogr("-f", "GPKG", str(out), str(src), "-nln", name, *args)
    src.unlink()
    return out


def chinese(c, *, name="上水井盖", dept="宣州区住建局", owner="宣城市供水有限公司",
            keeper="宣城市供水有限公司", grid=None, status="完好", initial="20240315",
            changed=None, **extra):
    return {"标识码": c, "部件名称": name, "主管部门": dept, "权属单位": owner, "养护单位": keeper,
            "所在网格": grid, "状态": status, "初始日期": initial, "变更日期": changed, **extra}


def stored(db, district=D):
    rows = db.execute(sa.select(component).where(component.c.district_code == district)
                      .order_by(component.c.code)).all()
    return {r.code: r for r in rows}


def test_dirty_rows_of_every_reason_are_accounted_for(district, tmp_path):
    rows = [
        # feature ids as QGIS shows a shapefile's, from 0
        (chinese(code("0101", 1)), inside(0, 0)),                              # 0 ok
        (chinese(code("0101", 2)), None),                                      # 1 null_geometry
        (chinese("34180201010000"), inside(0, 0)),                             # 2 bad_code
        (chinese(code("0101", 3, "341881")), inside(0, 0)),                    # 3 wrong_district
        (chinese(code("0199", 1)), inside(1, 0)),                              # 4 unknown_class
        (chinese(code("0101", 9), 小类代码="0102"), inside(0, 1)),             # 5 class_mismatch
        (chinese(code("0101", 4), status="坏了"), inside(1, 0)),               # 6 unknown_status
        (chinese(code("0101", 5), initial="2024-13-45"), inside(1, 1)),        # 7 bad_date
        (chinese(code("0101", 1)), inside(2, 0)),                              # 8 duplicate of 0
        (chinese(code("0101", 6)), shapely.Point(Y0 - 50, X0 + 50)),           # 9 outside (X/Y)
        (chinese(code("0102", 1), name=None), inside(2, 1)),                   # 10 ok, name=class
        (chinese(code("0101", 7), 小类代码="101"), inside(0, 1)),              # 11 ok: a number
    ]
    report = import_components(district, census_file(tmp_path, rows), D)
    assert (report.read, report.imported, report.rejected) == (12, 3, 9) and report.balanced()
    reasons = {r.row: r.reason for r in report.rejects}
    assert reasons == {1: "null_geometry", 2: "bad_code", 3: "wrong_district",
                       4: "unknown_class", 5: "class_mismatch", 6: "unknown_status",
                       7: "bad_date", 8: "duplicate", 9: "outside"}
    messages = {r.row: r.message for r in report.rejects}
    assert messages[2].startswith("要素 2：标识码 '34180201010000' 不是 16 位")
    assert "小类 0199 不在" in messages[4] and "'坏了'" in messages[6]
    assert "小类字段为 0102，而标识码" in messages[5] and "的小类是 0101" in messages[5]
    assert "2024-13-45" in messages[7]
    duplicate = next(r for r in report.rejects if r.reason == "duplicate")
    assert duplicate.clashes_with == 0 and "与要素 0 重复" in duplicate.message
    assert duplicate.to_dict()["reason_zh"] == "编码重复"
    comps = stored(district)
    # a class field saved as a number (101, its leading zero lost) names the 标识码's class
    assert set(comps) == {code("0101", 1), code("0102", 1), code("0101", 7)}
    first = comps[code("0101", 1)]
    assert first.grid_code == "34180200100101" and first.status == "完好"
    assert first.initial_date == dt.date(2024, 3, 15)
    assert comps[code("0102", 1)].name == "污水井盖"          # from the catalog
    orgs = dict(district.execute(sa.select(organisation.c.id, organisation.c.name)).all())
    assert orgs[first.owner_id] == "宣城市供水有限公司" and orgs[first.dept_id] == "宣州区住建局"


def test_invalid_polygons_are_rejected_with_the_reason(district, tmp_path):
    bowtie = shapely.Polygon([(X0 + 10, Y0 - 10), (X0 + 40, Y0 - 40), (X0 + 40, Y0 - 10),
                              (X0 + 10, Y0 - 40)])
    rows = [(chinese(code("0405", 1), name="绿地"), shapely.box(X0 + 10, Y0 - 40, X0 + 40,
                                                                 Y0 - 10)),
            (chinese(code("0405", 2), name="绿地"), bowtie)]
    report = import_components(district, census_file(tmp_path, rows, name="绿地"), D)
    assert (report.imported, [(r.row, r.reason) for r in report.rejects]) == \
        (1, [(1, "invalid_geometry")])
    assert "Self-intersection" in report.rejects[0].message


def test_cjt214_english_names_in_a_geopackage_in_4490(district, tmp_path):
    credit = "91350100M000100Y43"
    rows = [({"ObjID": code("0118", i), "ObjName": "路灯", "DeptCode1": "C001",
              "DeptName1": "宣州区城管局", "DeptCode2": credit, "DeptName2": "宣州区市政处",
              "DeptCode3": credit, "DeptName3": "宣州区市政处", "BGID": "34180200100101",
              "ObjState": "破损", "ORDate": "2024-05-06", "CHDate": "2025/01/02",
              "DataSource": "实测", "Note": "灯杆倾斜", "Material": "钢"}, inside(0, 0, dx=10 * i))
            for i in (1, 2, 3)]
    report = import_components(district, census_file(tmp_path, rows, fmt="gpkg",
                                                     to_crs="EPSG:4490"), D)
    assert report.imported == 3 and report.crs.startswith("EPSG:4490")
    assert report.mapping["owner_code"] == "DeptCode2" and report.mapping["note"] == "Note"
    c = stored(district)[code("0118", 1)]
    assert (c.status, c.note, c.data_source) == ("破损", "灯杆倾斜", "实测")
    assert c.change_date == dt.date(2025, 1, 2) and c.attrs == {"Material": "钢"}
    org = district.execute(sa.select(organisation).where(organisation.c.id == c.owner_id)).one()
    assert (org.code, org.credit_code) == (credit, credit)
    dept = district.execute(sa.select(organisation).where(organisation.c.id == c.dept_id)).one()
    assert (dept.code, dept.credit_code) == ("C001", None)     # a local code, not a credit code


def test_reimport_update_retire_and_return(district, tmp_path):
    rows = [(chinese(code("0101", i)), inside(i - 1, 0)) for i in (1, 2, 3)]
    path = census_file(tmp_path / "a", rows)
    assert import_components(district, path, D).imported == 3
    again = import_components(district, path, D)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 3)

    changed = [(chinese(code("0101", 1), status="破损"), inside(0, 0)),
               (chinese(code("0101", 2)), inside(1, 0))]
    report = import_components(district, census_file(tmp_path / "b", changed), D,
                               ComponentImportOptions(retire_missing=True))
    assert (report.imported, report.updated, report.unchanged) == (0, 1, 1)
    assert report.extra["retired"] == 1
    comps = stored(district)
    assert comps[code("0101", 1)].status == "破损"
    assert comps[code("0101", 1)].change_date == today_cst()
    gone = comps[code("0101", 3)]
    assert gone.retired_at == today_cst() and gone.status == "注销"

    back = import_components(district, path, D)
    assert (back.updated, back.unchanged) == (2, 1)
    assert stored(district)[code("0101", 3)].retired_at is None


def test_the_files_own_grid_field_is_cross_checked(district, tmp_path):
    rows = [(chinese(code("0101", 1), grid="34180200100101"), inside(0, 0)),
            (chinese(code("0101", 2), grid="34180200100101"), inside(2, 1))]
    report = import_components(district, census_file(tmp_path, rows), D)
    assert report.imported == 2 and report.extra["grid_mismatches"] == 1
    (example,) = report.extra["grid_mismatch_examples"]
    assert example == {"row": 1, "file_grid": "34180200100101",
                       "assigned_grid": "34180200100106"}
    assert stored(district)[code("0101", 2)].grid_code == "34180200100106"


def test_a_profile_saved_for_one_county_maps_the_next(district, db, tmp_path):
    odd = [({"编号": code("0101", 1), "设施": "上水井盖", "管理方": "宣州区住建局"}, inside(0, 0))]
    fields = {"code": "编号", "name": "设施", "dept_name": "管理方"}
    report = import_components(district, census_file(tmp_path / "a", odd), D,
                               ComponentImportOptions(fields=fields, save_profile="承包商甲"))
    assert report.imported == 1 and report.extra["saved_profile"] == "承包商甲"

    add_district(db, "341881", name="宁国市", scheme="gb47678", crs="EPSG:4549")
    grids = [(f"341881001001{i:03d}", square(i, 0)) for i in range(3)]
    import_grids(db, grid_file(tmp_path / "g2", grids), "341881")
    second = [({"编号": "34188101001000001", "设施": "供水井盖", "管理方": "宁国市住建局"},
               inside(1, 0))]
    report = import_components(db, census_file(tmp_path / "b", second), "341881",
                               ComponentImportOptions(profile="承包商甲"))
    assert report.imported == 1 and report.mapping["dept_name"] == "管理方"
    without = census_file(tmp_path / "c", [({"BH": "34188101001000002"}, inside(1, 0))])
    with pytest.raises(Exception, match=r"^字段映射方案 '承包商甲' 把 code 对应到字段 '编号'.*"
                                        r"\(profile '承包商甲' maps code to field '编号'"):
        import_components(db, without, "341881", ComponentImportOptions(profile="承包商甲"))


def test_a_district_without_grids_is_refused(db, tmp_path):
    add_district(db, D, name="宣州区", crs="EPSG:4549")
    with pytest.raises(NoGrids, match="import its grids first"):
        import_components(db, census_file(tmp_path, [(chinese(code("0101", 1)), inside(0, 0))]),
                          D)


def _census_of_three_kinds(tmp_path):
    rows = [(chinese(code("0101", 1), note="井盖松动", 材质="铸铁"), inside(0, 0)),
            (chinese(code("0211", 1), name="交通护栏", changed="20250101"),
             shapely.LineString([(X0 + 110, Y0 - 50), (X0 + 180, Y0 - 60)])),
            (chinese(code("0405", 1), name="绿地", owner=None),
             shapely.box(X0 + 220, Y0 - 80, X0 + 280, Y0 - 20))]
    return [census_file(tmp_path / kind, [row], name=kind)
            for kind, row in zip(("点", "线", "面"), rows, strict=True)]


COMPARED = ("code", "class_code", "name", "status", "initial_date", "change_date", "note",
            "grid_code", "attrs")


def _snapshot(db):
    orgs = dict(db.execute(sa.select(organisation.c.id, organisation.c.name)).all())
    out = {}
    for c, r in stored(db).items():
        geom = shapely.from_wkb(bytes(db.execute(sa.select(sa.func.ST_AsBinary(component.c.geom))
                                                 .where(component.c.code == c)).scalar()))
        out[c] = ({k: getattr(r, k) for k in COMPARED},
                  tuple(orgs.get(i) for i in (r.dept_id, r.owner_id, r.maintainer_id)), geom)
    return out


@pytest.mark.parametrize("suffix", [".shp", ".gpkg", ".geojson"])
def test_export_then_import_loses_nothing(district, tmp_path, fresh_engine, suffix):
    for path in _census_of_three_kinds(tmp_path):
        assert import_components(district, path, D).imported == 1
    before = _snapshot(district)
    out = tmp_path / "out" / f"部件导出{suffix}"
    out.parent.mkdir()
    report = export_components(district, D, out)
    assert report.count == 3
    from gis.db import session_scope

    with session_scope(fresh_engine) as s:
        add_district(s, D, name="宣州区", scheme="legacy", crs="EPSG:4549")
        import_grids(s, grid_file(tmp_path / "grids2", block(3, 2)), D)
        for path in report.files:
            assert import_components(s, path, D).imported >= 1
        after = _snapshot(s)
    assert set(after) == set(before)
    for c, (attrs, orgs, geom) in before.items():
        attrs_after, orgs_after, geom_after = after[c]
        expected = dict(attrs)
        assert attrs_after == expected, c
        assert orgs_after == orgs
        assert shapely.equals_exact(geom, geom_after, tolerance=1e-9)


def test_shapefile_export_is_what_gdal_reads(district, tmp_path):
    for path in _census_of_three_kinds(tmp_path):
        import_components(district, path, D)
    report = export_components(district, D, tmp_path / "census.shp", crs="EPSG:4549")
    assert sorted(p.rsplit("_", 1)[1] for p in report.files) == ["line.shp", "point.shp",
                                                                 "polygon.shp"]
    point = next(p for p in report.files if p.endswith("_point.shp"))
    info = subprocess.run(["ogrinfo", "-al", "-so", point], capture_output=True, text=True,
                          check=True).stdout
    assert "Feature Count: 1" in info and "ObjID: String" in info
    assert "ORDate: Date" in info and "CGCS2000" in info and "材质: String" in info
    cpg = (tmp_path / "census_point.cpg").read_text()
    assert cpg.strip().upper() in {"GBK", "CP936", "936"}
    dump = subprocess.run(["ogrinfo", "-al", "-q", point], capture_output=True, text=True,
                          check=True).stdout
    assert "上水井盖" in dump and "井盖松动" in dump


def test_conversion_to_gb47678_maps_by_name_and_refuses_the_unmapped(district, tmp_path):
    rows = [(chinese(code("0101", 7)), inside(0, 0)),
            (chinese(code("0107", 1), name="通讯井盖"), inside(1, 0)),
            (chinese(code("0114", 3), name="无主井盖"), inside(2, 0))]
    import_components(district, census_file(tmp_path, rows), D)
    refused = convert_census(district, D)
    assert refused.status == "refused"
    assert refused.unmapped == [{"legacy_code": "0114", "name": "无主井盖", "components": 1}]
    assert set(stored(district)) == {code("0101", 7), code("0107", 1), code("0114", 3)}

    report = convert_census(district, D, extra={"0114": "01023"})
    assert report.status == "ok" and report.converted == 3
    by_old = {c["legacy_code"]: c for c in report.classes}
    assert by_old["0107"]["gb47678_code"] == "01007" and "通讯→通信" in by_old["0107"]["basis"]
    assert set(stored(district)) == {"34180201001000007", "34180201007000001",
                                     "34180201023000003"}
    assert get_class(district, "gb47678", "01023", "component").name == "不明井盖"
    with pytest.raises(Exception, match=r"^区县 341802 已采用编码标准 gb47678 .*"
                                        "already on scheme gb47678"):
        convert_census(district, D)


def test_local_classes_and_an_official_copy(district, tmp_path):
    local = tmp_path / "local.csv"
    local.write_text("scheme,kind,code,name,major_name\n"
                     "legacy,component,2101,防蚊闸,扩展部件\n"
                     "legacy,component,0101,上水井盖,公用设施\n", encoding="utf-8")
    report = add_catalog_file(district, local)
    assert (report.imported, report.rejected) == (1, 1)
    assert report.rejects[0].reason == "national_class"
    info = get_class(district, "legacy", "2101", "component")
    assert (info.name, info.national, info.standard) == ("防蚊闸", False, "local")
    rows = [(chinese(code("2101", 1), name="防蚊闸"), inside(0, 0))]
    assert import_components(district, census_file(tmp_path / "f", rows), D).imported == 1

    official = tmp_path / "official.csv"
    official.write_text("scheme,kind,code,name\ngb47678,component,01001,供水井盖（官方）\n"
                        "gb47678,component,01999,杜撰的类\n", encoding="utf-8")
    report = add_catalog_file(district, official, official=True)
    assert (report.updated, report.rejected) == (1, 1)
    assert get_class(district, "gb47678", "01001", "component").name == "供水井盖（官方）"
    from census.catalog import sync_reference_data

    sync_reference_data(district)      # a later migration keeps the city's official copy
    assert get_class(district, "gb47678", "01001", "component").name == "供水井盖（官方）"


def test_import_report_is_stored_with_the_import(district, tmp_path):
    from census.tables import census_import

    report = import_components(district, census_file(tmp_path, [(chinese(code("0101", 1)),
                                                                 inside(0, 0))]), D)
    saved = district.execute(sa.select(census_import.c.report).where(
        census_import.c.id == report.extra["import_id"])).scalar_one()
    assert saved["imported"] == 1 and json.dumps(saved, ensure_ascii=False)


def test_each_organisation_name_takes_its_greatest_code_as_group_by_gives_it():
    """census.organisations.greatest_codes (a sort, so as not to load pyarrow.dataset) against
    Arrow's own group_by, on names and codes with empty values, chunked as a file's are."""
    import random

    import pyarrow as pa

    from census.organisations import greatest_codes

    rng = random.Random(28)
    for n in (0, 1, 7, 500):
        names = [rng.choice(["城管局", "住建局", "供电公司", "", None]) for _ in range(n)]
        codes = [rng.choice(["11341802MB1234567X", "A1", "B2", None]) for _ in range(n)]
        half = n // 2
        chunked = (pa.chunked_array([names[:half], names[half:]], pa.string()),
                   pa.chunked_array([codes[:half], codes[half:]], pa.string()))
        # (on one thread: its groups in the order first met)
        grouped = pa.table({"n": chunked[0], "c": chunked[1]}).group_by(
            ["n"], use_threads=False).aggregate([("c", "max")])
        expected = [(name, code) for name, code in zip(
            grouped.column("n").to_pylist(), grouped.column("c_max").to_pylist(), strict=True)
            if name is not None]
        assert greatest_codes(*chunked) == expected, n
