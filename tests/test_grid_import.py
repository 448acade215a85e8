"""Grid import against PostGIS, from files made by GDAL (not by citygrid)."""

from __future__ import annotations

import zipfile

import pytest
import shapely
import sqlalchemy as sa

from gis.errors import CrsError
from gis.fields import FieldMappingError
from grid import store
from grid.districts import UnknownDistrict, add_district, get_district
from grid.hierarchy import import_boundaries
from grid.importer import GridImportOptions, import_grids
from grid.qa import QaOptions
from grid.tables import community, grid, grid_import, street
from tests.gridfiles import SIZE, block, grid_file, legacy_code, square, write_geojson

NAMES = {"街道名称": None, "社区名称": None}


@pytest.fixture
def xuanzhou(db):
    add_district(db, "341802", name="宣州区", scheme="legacy", crs="EPSG:4549")
    return db


def named(grids, street="澄江街道", community="府山社区"):
    return {"街道名称": [street] * len(grids), "社区名称": [community] * len(grids)}


def test_gbk_shapefile_imports_with_names_and_areas(xuanzhou, tmp_path):
    grids = block(3, 2)
    path = grid_file(tmp_path, grids, extra=named(grids, community="宜堃社区"))
    report, qa = import_grids(xuanzhou, path, "341802")
    assert (report.read, report.imported, report.rejected, report.status) == (6, 6, 0, "ok")
    assert report.encoding.startswith("CP936") and report.crs.startswith("EPSG:4549")
    assert report.mapping["code"] == "网格编码" and report.mapping["community_name"] == "社区名称"
    assert qa.findings == []
    names = dict(xuanzhou.execute(sa.select(community.c.code, community.c.name)).all())
    assert names == {"341802001001": "宜堃社区"}
    assert xuanzhou.execute(sa.select(street.c.name)).scalar() == "澄江街道"
    stored = store.current_grids(xuanzhou, "341802")
    assert [g.code for g in stored] == [c for c, _ in grids]
    assert all(g.area_m2 == pytest.approx(SIZE * SIZE, rel=1e-6) for g in stored)
    lon, lat = stored[0].geom.centroid.coords[0]
    assert 118.7 < lon < 118.8 and 30.9 < lat < 31.0   # stored lon/lat in EPSG:4490
    assert stored[0].attrs["社区名称"] == "宜堃社区"


def test_reimporting_the_same_file_changes_nothing(xuanzhou, tmp_path):
    path = grid_file(tmp_path, block(3, 2))
    import_grids(xuanzhou, path, "341802")
    rows_before = xuanzhou.execute(sa.select(sa.func.count()).select_from(grid)).scalar()
    report, _ = import_grids(xuanzhou, path, "341802")
    assert (report.imported, report.updated, report.unchanged, report.extra["retired"]) == \
        (0, 0, 6, 0)
    assert xuanzhou.execute(sa.select(sa.func.count()).select_from(grid)).scalar() == rows_before


def test_a_changed_grid_set_retires_old_versions_and_keeps_them(xuanzhou, tmp_path):
    first = block(3, 2)
    import_grids(xuanzhou, grid_file(tmp_path / "v1", first), "341802")
    before = store.transaction_clock(xuanzhou)
    moved_code = legacy_code(1, 6)
    second = [(c, g) for c, g in first if c not in {legacy_code(1, 1), moved_code}]
    second.append((moved_code, square(2, 1, size=90)))      # reshaped
    second.append((legacy_code(1, 7), square(3, 0)))          # new
    report, _ = import_grids(xuanzhou, grid_file(tmp_path / "v2", second), "341802",
                             GridImportOptions(qa=QaOptions(accept=frozenset({"area"}))))
    assert (report.imported, report.updated, report.unchanged) == (1, 1, 4)
    assert report.extra["retired_codes"] == [legacy_code(1, 1)]
    now = {g.code: g for g in store.current_grids(xuanzhou, "341802")}
    assert legacy_code(1, 1) not in now and legacy_code(1, 7) in now
    then = {g.code: g for g in store.current_grids(xuanzhou, "341802", at=before)}
    assert legacy_code(1, 1) in then and legacy_code(1, 7) not in then
    assert then[moved_code].area_m2 == pytest.approx(SIZE * SIZE, rel=1e-6)
    assert now[moved_code].area_m2 == pytest.approx(90 * 90, rel=1e-6)
    history = store.grid_history(xuanzhou, "341802", moved_code)
    assert len(history) == 2 and history[0]["valid_to"] == history[1]["valid_from"]


def test_gb47678_geopackage_in_4490_with_standard_field_names(db, tmp_path):
    add_district(db, "341881", name="宁国市", scheme="gb47678", crs="EPSG:4549")
    grids = [(f"341881001A01{i:03d}", square(i, 0)) for i in range(1, 4)]
    path = grid_file(tmp_path, grids, fmt="gpkg", code_field="DYWGBSM", to_crs="EPSG:4490",
                     extra={"JDMC": ["西津街道"] * 3, "SQMC": ["津北社区"] * 3})
    report, _ = import_grids(db, path, "341881")
    assert report.imported == 3 and report.crs.startswith("EPSG:4490")
    assert report.encoding == "UTF-8"
    stored = store.current_grids(db, "341881")
    assert {g.community_code for g in stored} == {"341881001A01"}
    assert stored[0].area_m2 == pytest.approx(SIZE * SIZE, rel=1e-4)


def test_zip_holding_a_shapefile(xuanzhou, tmp_path):
    shp = grid_file(tmp_path / "src", block(2, 2))
    archive = tmp_path / "grids.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in shp.parent.glob(f"{shp.stem}.*"):
            zf.write(part, f"交付/{part.name}")
    report, _ = import_grids(xuanzhou, archive, "341802")
    assert report.imported == 4 and report.source == f"{archive} (交付/单元网格.shp)"


def test_qa_errors_refuse_the_file_and_write_nothing(xuanzhou, tmp_path):
    grids = [*block(2, 1), (legacy_code(1, 3), square(2, 0, shift=(-30.0, 0.0)))]
    report, qa = import_grids(xuanzhou, grid_file(tmp_path, grids), "341802")
    assert report.status == "refused" and qa.errors
    assert report.rejected == report.read == 3 and report.balanced()
    reasons = {r.row: r.reason for r in report.rejects}
    assert reasons[0] == "refused" and reasons[1] == "overlap" and reasons[2] == "overlap"
    # the rows were written while the overlap was being found (grid.importer): all undone
    assert store.grid_count(xuanzhou, "341802") == 0
    assert store.hierarchy(xuanzhou, "341802") == []
    assert xuanzhou.execute(sa.select(sa.func.count()).select_from(grid_import)).scalar() == 0
    assert "import_id" not in report.extra


def test_dry_run_reports_but_writes_nothing(xuanzhou, tmp_path):
    report, _ = import_grids(xuanzhou, grid_file(tmp_path, block(2, 2)), "341802",
                             GridImportOptions(dry_run=True))
    assert report.dry_run and report.imported == 4
    assert store.grid_count(xuanzhou, "341802") == 0


def test_accepted_duplicates_keep_the_first_and_reject_the_rest(xuanzhou, tmp_path):
    code = legacy_code(1, 1)
    grids = [(code, square(0, 0)), (legacy_code(1, 2), square(1, 0)), (code, square(2, 0))]
    report, _ = import_grids(xuanzhou, grid_file(tmp_path, grids), "341802",
                             GridImportOptions(qa=QaOptions(accept=frozenset({"duplicate_code"}))))
    assert (report.imported, report.rejected) == (2, 1) and report.balanced()
    (reject,) = report.rejects
    assert (reject.row, reject.code, reject.reason, reject.clashes_with) == (2, code, "duplicate",
                                                                          0)
    assert reject.message.startswith(f"要素 2：网格编码 {code} 与要素 0 重复")
    stored = {g.code: g for g in store.current_grids(xuanzhou, "341802")}
    assert stored[code].geom.centroid.x < stored[legacy_code(1, 2)].geom.centroid.x


def test_codes_stored_in_numeric_fields_keep_all_digits(xuanzhou, tmp_path):
    grids = block(2, 1)
    path = grid_file(tmp_path, [(int(c), g) for c, g in grids])
    report, _ = import_grids(xuanzhou, path, "341802")
    assert report.imported == 2
    assert [g.code for g in store.current_grids(xuanzhou, "341802")] == [c for c, _ in grids]


def test_a_district_without_crs_gets_the_gauss_kruger_zone_of_its_data(db, tmp_path):
    add_district(db, "341802", name="宣州区")
    report, _ = import_grids(db, grid_file(tmp_path, block(2, 1)), "341802")
    assert report.extra["district_crs"].startswith("EPSG:4549")
    assert get_district(db, "341802").crs == "EPSG:4549"


def test_field_override_and_missing_code_field(xuanzhou, tmp_path):
    path = grid_file(tmp_path, block(2, 1), code_field="BH")
    with pytest.raises(FieldMappingError,
                       match=r"找不到 code（单元网格标识码）的字段.*请用 --field code=字段名 指定"):
        import_grids(xuanzhou, path, "341802")
    report, _ = import_grids(xuanzhou, path, "341802",
                             GridImportOptions(fields={"code": "BH"}))
    assert report.imported == 2


def test_unknown_district_is_refused(db, tmp_path):
    with pytest.raises(UnknownDistrict, match="citygrid district add 341802"):
        import_grids(db, grid_file(tmp_path, block(1, 1)), "341802")


def test_zone_prefixed_eastings_under_a_cm_prj_are_refused(xuanzhou, tmp_path):
    grids = [(c, shapely.affinity.translate(g, xoff=40_000_000)) for c, g in block(2, 1)]
    src = write_geojson(tmp_path / "g.geojson", [({"网格编码": c}, g) for c, g in grids])
    with pytest.raises(CrsError, match="EPSG:4528"):
        import_grids(xuanzhou, src, "341802")
    report, _ = import_grids(xuanzhou, src, "341802", GridImportOptions(crs="EPSG:4528"))
    assert report.imported == 2 and "the file said EPSG:4549" in report.crs


def test_nesting_against_imported_community_boundaries(xuanzhou, tmp_path):
    boundary = shapely.box(*square(0, 0).union(square(1, 0)).bounds)
    bpath = write_geojson(tmp_path / "社区.geojson",
                          [({"社区代码": "341802001001", "社区名称": "府山社区"}, boundary)])
    breport = import_boundaries(xuanzhou, bpath, "341802", "community")
    assert breport.imported == 1
    grids = [(legacy_code(1, 1), square(0, 0)), (legacy_code(1, 2), square(1, 0, grow=0.0)),
             (legacy_code(1, 3), square(2, 0))]
    report, qa = import_grids(xuanzhou, grid_file(tmp_path, grids), "341802")
    assert report.status == "refused"
    (nest,) = [f for f in qa.findings if f.kind == "nesting"]
    assert nest.grids == (legacy_code(1, 3),)
    assert nest.area_m2 == pytest.approx(SIZE * SIZE, abs=0.01)
