"""Grid topology QA on tiny hand-made grids: 100 m squares whose problems can be seen by eye."""

from __future__ import annotations

import pytest
import shapely
from shapely.geometry import Polygon, box

from gis.crs import parse_crs
from grid.codes import Scheme
from grid.qa import GridShape, QaOptions, check_grids
from tests.gridfiles import SIZE, X0, Y0, block, legacy_code, square

CRS = parse_crs("EPSG:4549")


def run(shapes, *, options=None, scheme=Scheme.LEGACY, digits=14, communities=None,
        streets=None):
    return check_grids(shapes, district="341802", scheme=scheme, grid_digits=digits, crs=CRS,
                       options=options, communities=communities, streets=streets)


def shapes_of(grids):
    return [GridShape(code=c, geom=g, row=i + 1) for i, (c, g) in enumerate(grids)]


def kinds(findings):
    return sorted(f.kind for f in findings)


def test_clean_block_has_no_findings():
    assert run(shapes_of(block(3, 3))) == []


def test_overlap_is_found_with_its_area_and_place():
    a = (legacy_code(1, 1), square(0, 0))
    b = (legacy_code(1, 2), square(1, 0, shift=(-10.0, 0.0)))  # 10 m into its western neighbour
    (finding,) = run(shapes_of([a, b]))
    assert finding.kind == "overlap" and finding.severity == "error"
    assert set(finding.grids) == {a[0], b[0]}
    assert finding.area_m2 == pytest.approx(10 * SIZE, abs=0.01)
    assert finding.rows == (1, 2)
    lon, lat = finding.where
    assert 118.7 < lon < 118.8 and 30.9 < lat < 31.0


def test_overlap_thinner_than_tolerance_is_ignored_but_thicker_is_not():
    a = (legacy_code(1, 1), square(0, 0))
    sliver = (legacy_code(1, 2), square(1, 0, shift=(-0.01, 0.0)))   # 1 cm
    assert run(shapes_of([a, sliver])) == []
    assert kinds(run(shapes_of([a, sliver]), options=QaOptions(tolerance_m=0.001))) == ["overlap"]


def test_gap_inside_the_covered_area_is_found_with_its_neighbours():
    grids = [g for g in block(3, 3) if g[0] != legacy_code(1, 5)]   # the centre is missing
    (finding,) = run(shapes_of(grids))
    assert finding.kind == "gap" and finding.severity == "error"
    assert finding.area_m2 == pytest.approx(SIZE * SIZE, abs=0.01)
    assert len(finding.grids) == 8 and legacy_code(1, 5) not in finding.grids


def test_gap_around_an_island_counts_only_the_uncovered_ring():
    grids = block(3, 3)
    centre = legacy_code(1, 5)
    grids = [(c, g if c != centre else square(1, 1).buffer(-5.0, join_style="mitre"))
             for c, g in grids]
    (finding,) = run(shapes_of(grids))
    assert finding.kind == "gap"
    assert finding.area_m2 == pytest.approx(SIZE * SIZE - 90 * 90, abs=0.01)
    assert centre in finding.grids


def test_a_notch_in_the_outer_edge_is_not_a_gap():
    grids = [g for g in block(3, 3) if g[0] != legacy_code(1, 2)]   # northern middle missing
    assert run(shapes_of(grids)) == []


def test_duplicate_codes_name_every_row():
    code = legacy_code(1, 1)
    findings = run(shapes_of([(code, square(0, 0)), (code, square(1, 0))]))
    (dup,) = [f for f in findings if f.kind == "duplicate_code"]
    assert dup.rows == (1, 2) and dup.reason == "duplicate"
    assert f"网格编码 {code} 出现 2 次（要素 1、2）" in dup.message


@pytest.mark.parametrize(("code", "expect"), [
    ("3418020010010", "有 13 位，应为 14 位"),
    ("3418020010010A", "含非数字字符 'A'"),
    ("34188100100101", "属于区县 341881，不是 341802"),
    ("", "网格编码为空"),
])
def test_malformed_codes_say_what_is_wrong(code, expect):
    (finding,) = run([GridShape(code=code or None, geom=square(0, 0), row=7)])
    assert finding.kind == "malformed_code" and finding.severity == "error"
    assert finding.message.startswith("要素 7：") and expect in finding.message


def test_wrong_district_is_its_own_reject_reason():
    (finding,) = run([GridShape(code="34188100100101", geom=square(0, 0), row=1)])
    assert finding.reason == "wrong_district"


def test_gb47678_codes_take_capitals_but_not_lowercase():
    ok = GridShape(code="341881001A0B001", geom=square(0, 0), row=1)
    bad = GridShape(code="341881001a0b002", geom=square(1, 0), row=2)
    findings = check_grids([ok, bad], district="341881", scheme=Scheme.GB47678, grid_digits=15,
                           crs=CRS)
    (finding,) = findings
    assert finding.kind == "malformed_code" and finding.grids == ("341881001a0b002",)


def test_invalid_geometry_says_why_and_where():
    bowtie = Polygon([(X0, Y0), (X0 + 100, Y0 - 100), (X0 + 100, Y0), (X0, Y0 - 100)])
    (finding,) = run([GridShape(code=legacy_code(1, 1), geom=bowtie, row=3)])
    assert finding.kind == "invalid_geometry" and finding.reason == "invalid_geometry"
    assert "几何图形无效：自相交" in finding.message
    assert finding.where is not None


def test_missing_geometry_is_rejected_as_null_geometry():
    (finding,) = run([GridShape(code=legacy_code(1, 1), geom=None, row=4)])
    assert finding.kind == "invalid_geometry" and finding.reason == "null_geometry"


def test_line_instead_of_polygon_is_invalid():
    line = shapely.LineString([(X0, Y0), (X0 + 100, Y0)])
    (finding,) = run([GridShape(code=legacy_code(1, 1), geom=line, row=1)])
    assert "是 LineString，不是面" in finding.message


def test_grid_reaching_outside_its_community_boundary():
    grids = block(2, 1)
    community = {legacy_code(1, 1)[:12]: box(X0, Y0 - 100, X0 + 200, Y0)}
    assert run(shapes_of(grids), communities=community) == []
    pushed = [(grids[0][0], grids[0][1]), (grids[1][0], square(1, 0, shift=(10.0, 0.0)))]
    findings = run(shapes_of(pushed), communities=community)
    (nest,) = [f for f in findings if f.kind == "nesting"]
    assert nest.grids == (grids[1][0],)
    assert nest.area_m2 == pytest.approx(10 * SIZE, abs=0.01)


def test_street_and_community_code_fields_must_agree_with_the_grid_code():
    code = legacy_code(1, 1)
    agree = GridShape(code=code, geom=square(0, 0), row=1, street_code="001",
                      community_code=code[:12])
    assert run([agree]) == []
    disagree = GridShape(code=code, geom=square(0, 0), row=1, community_code="341802001002")
    (finding,) = run([disagree])
    assert finding.kind == "nesting" and "341802001002" in finding.message


def test_area_outliers_are_warnings_and_the_band_is_configurable():
    small = (legacy_code(1, 1), box(X0, Y0 - 30, X0 + 30, Y0))
    (finding,) = run(shapes_of([small]))
    assert finding.kind == "area" and finding.severity == "warning"
    assert finding.area_m2 == pytest.approx(900)
    assert run(shapes_of([small]), options=QaOptions(area_band_m2=(500, 2000))) == []


def test_accepted_kinds_become_warnings():
    a = (legacy_code(1, 1), square(0, 0))
    b = (legacy_code(1, 2), square(1, 0, shift=(-10.0, 0.0)))
    (finding,) = run(shapes_of([a, b]), options=QaOptions(accept=frozenset({"overlap"})))
    assert finding.severity == "warning"


def test_different_names_for_one_community_are_a_warning():
    code1, code2 = legacy_code(1, 1), legacy_code(1, 2)
    shapes = [GridShape(code=code1, geom=square(0, 0), row=1, community_name="府山社区"),
              GridShape(code=code2, geom=square(1, 0), row=2, community_name="府山村")]
    (finding,) = run(shapes)
    assert finding.kind == "name_conflict" and finding.severity == "warning"
    assert "府山社区" in finding.message and "府山村" in finding.message
