"""Street and community outlines: what a grid import stores is what PostGIS's ST_Union of the
current grids makes (how they were made before), for a clean coverage and for grids whose
overlaps were accepted."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import box

from grid.districts import add_district
from grid.importer import GridImportOptions, import_grids
from grid.outlines import outlines
from grid.qa import QaOptions
from tests.conftest import SAMPLES
from tests.gridfiles import block, grid_file, legacy_code, square

XUANZHOU = SAMPLES / "341802_xuanzhou" / "单元网格.shp"


@pytest.fixture
def xuanzhou(db):
    add_district(db, "341802", name="宣州区", scheme="legacy", crs="EPSG:4549")
    return db


def against_st_union(session, level):
    """{code: (stored outline is ST_Union's, hausdorff distance in degrees)} of a level."""
    key = f"{level}_code"
    rows = session.execute(sa.text(
        f"SELECT t.code, ST_Equals(t.outline, u.geom), "
        f"ST_HausdorffDistance(t.outline, u.geom), t.outline IS NULL AND u.geom IS NULL "
        f"FROM {level} t LEFT JOIN (SELECT {key} AS code, "
        f"ST_Multi(ST_CollectionExtract(ST_Union(geom), 3)) AS geom FROM grid "
        f"WHERE district_code = '341802' AND valid_to IS NULL GROUP BY 1) u ON u.code = t.code "
        f"WHERE t.district_code = '341802'")).all()
    return {r[0]: (bool(r[1]) or bool(r[3]), r[2] or 0.0) for r in rows}


def assert_outlines_are_st_unions(session):
    for level in ("community", "street"):
        found = against_st_union(session, level)
        assert found, level
        assert all(same and distance < 1e-9 for same, distance in found.values()), (level, found)


def test_sample_outlines_are_the_union_of_their_grids(xuanzhou):
    report, _ = import_grids(xuanzhou, XUANZHOU, "341802")
    assert report.status == "ok" and report.imported > 100
    assert_outlines_are_st_unions(xuanzhou)


def test_accepted_overlaps_and_a_later_import_keep_outlines_the_union(xuanzhou, tmp_path):
    grids = [*block(3, 2),                                   # community 1: columns 0-2
             *[(legacy_code(2, i + 1), square(3 + i % 2, i // 2)) for i in range(4)],
             # community 3, south of 1: its second grid overlaps its first by 20 m, accepted
             (legacy_code(3, 1), square(0, 2)),
             (legacy_code(3, 2), square(1, 2, shift=(-20.0, 0.0)))]
    accept = GridImportOptions(qa=QaOptions(accept=frozenset({"overlap", "gap", "area"})))
    report, qa = import_grids(xuanzhou, grid_file(tmp_path / "v1", grids), "341802", accept)
    assert report.status == "ok" and any(f.kind == "overlap" for f in qa.findings)
    assert_outlines_are_st_unions(xuanzhou)
    # community 2 is gone, one grid of community 1 changes, the rest are unchanged
    later = [(c, g) for c, g in grids if not c.startswith("341802001002")]
    later[0] = (later[0][0], square(0, 0, size=90))
    report, _ = import_grids(xuanzhou, grid_file(tmp_path / "v2", later), "341802", accept)
    assert (report.updated, report.extra["retired"]) == (1, 4)
    assert_outlines_are_st_unions(xuanzhou)
    gone = xuanzhou.execute(sa.text("SELECT outline FROM community "
                                    "WHERE code = '341802001002'")).scalar()
    assert gone is None


def test_a_coverage_is_dissolved_and_anything_else_unioned():
    def outline_of(*shapes):
        geoms = np.array(shapes, dtype=object)
        n = len(geoms)
        found = outlines(["341802001"] * n, ["341802001001"] * n, geoms)
        assert set(found.streets) == {"341802001"} and set(found.communities) == {"341802001001"}
        assert shapely.equals(found.streets["341802001"], found.communities["341802001001"])
        return found.communities["341802001001"]

    whole = box(0, 0, 200, 100)
    # a coverage: two squares sharing an edge
    assert shapely.equals(outline_of(box(0, 0, 100, 100), box(100, 0, 200, 100)), whole)
    # edges not matched: the big square's edge has no vertex where the two small ones meet
    got = outline_of(box(0, 0, 100, 100), box(100, 0, 200, 50), box(100, 50, 200, 100))
    assert got.is_valid and shapely.equals(got, whole)
    # overlapping, and one inside another
    got = outline_of(box(0, 0, 120, 100), box(100, 0, 200, 100), box(10, 10, 20, 20))
    assert got.is_valid and shapely.equals(got, whole)
    # the same grid twice
    got = outline_of(box(0, 0, 100, 100), box(0, 0, 100, 100), box(100, 0, 200, 100))
    assert got.is_valid and shapely.equals(got, whole)
    # apart: two polygons
    got = outline_of(box(0, 0, 100, 100), box(150, 0, 200, 100))
    assert got.geom_type == "MultiPolygon" and len(got.geoms) == 2
