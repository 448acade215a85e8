"""The precedence of the responsibility rules: first as a unit (`lookup.chain`), then through
the resolver on the tiny hand-made county of tests/tiny.py, where every answer can be worked out
by eye."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from lookup.chain import BASES, chain
from lookup.index import LookupIndex
from lookup.resolve import Resolver
from lookup.result import Area, ComponentHit
from tests import tiny

STREET = Area("341802001", "澄江街道")


def hit(maintainer: str | None = None, department: str | None = None) -> ComponentHit:
    return ComponentHit(code="3418020101000001", class_code="0101", class_name="上水井盖",
                        name=None, owner="业主", maintainer=maintainer, department=department,
                        distance_m=2.0)


def order(**kw: object) -> list[tuple[str, str]]:
    args = {"component": None, "zones": [], "listed": None, "class_code": "0102",
            "street": STREET, **kw}
    return [(p.department, p.basis) for p in chain(**args)]  # type: ignore[arg-type]


def test_each_rule_in_its_place():
    full = order(component=hit("养护", "主管"), zones=[("Z1", "小区", "小"), ("Z0", "大区", "大")],
                 listed="清单")
    assert full == [("养护", "component_maintainer"), ("主管", "component_department"),
                    ("小", "responsibility_zone"), ("大", "responsibility_zone"),
                    ("清单", "responsibility_list"), ("澄江街道办事处", "territorial_fallback")]
    assert [basis for _, basis in full] == [BASES[0], BASES[1], BASES[2], BASES[2], BASES[3],
                                            BASES[4]]


@pytest.mark.parametrize(("kw", "first"), [
    ({"component": hit("养护", "主管"), "listed": "清单"}, ("养护", "component_maintainer")),
    ({"component": hit(None, "主管"), "listed": "清单"}, ("主管", "component_department")),
    ({"component": hit(None, None), "listed": "清单"}, ("清单", "responsibility_list")),
    ({"zones": [("Z", "区", "区单位")], "listed": "清单"}, ("区单位", "responsibility_zone")),
    ({"listed": "清单"}, ("清单", "responsibility_list")),
    ({"listed": "清单", "class_code": None}, ("澄江街道办事处", "territorial_fallback")),
    ({}, ("澄江街道办事处", "territorial_fallback")),
])
def test_the_first_rule_that_applies_decides(kw, first):
    assert order(**kw)[0] == first


def test_the_chain_is_lazy():
    """A lookup asks for zones only when no component decided."""
    def zones():
        raise AssertionError("zones were looked for")
        yield

    parties = chain(component=hit("养护"), zones=zones(), listed=None, class_code="0101",
                    street=STREET)
    assert next(parties).basis == "component_maintainer"


# -- through the resolver, on the tiny county --------------------------------------------------


@pytest.fixture(scope="module")
def resolver(databases, tmp_path_factory):
    url = databases.create("tiny", template=databases.template)
    from gis.db import make_engine

    engine = make_engine(url)
    with Session(engine) as s:
        tiny.build(s, tmp_path_factory.mktemp("tiny"))
        s.commit()
    yield Resolver(LookupIndex(engine).load())
    engine.dispose()


def ask(resolver, x, y, cls=None, kind=None):
    return resolver.resolve(*tiny.lonlat(x, y), cls, kind)


@pytest.mark.parametrize(("where", "cls", "kind", "grid", "party"), [
    ((-12, -50), "0101", None, "01", ("自来水公司", "component_maintainer")),   # 2 m from M1
    ((12, -50), "0101", None, "02", ("城建局", "component_department")),       # 2 m from M2
    ((-50, 50), "0102", "event", "03", ("保洁公司", "responsibility_zone")),    # Z1 inside Z0
    ((50, 50), "0102", "event", "04", ("物业公司", "responsibility_zone")),     # Z0 only
    ((-50, 50), "0101", None, "03", ("物业公司", "responsibility_zone")),       # no component
    ((-50, -80), "0102", "event", "01", ("城管局", "responsibility_list")),
    ((50, -80), "0104", "event", "02", ("环卫所", "responsibility_list")),
    ((50, -80), "0105", "event", "02", ("澄江街道办事处", "territorial_fallback")),
    ((50, -80), None, None, "02", ("澄江街道办事处", "territorial_fallback")),
])
def test_who_is_responsible_where(resolver, where, cls, kind, grid, party):
    answer = ask(resolver, *where, cls, kind)
    assert answer.grid == f"341802001001{grid}"
    assert (answer.responsible.department, answer.responsible.basis) == party
    assert (answer.street.name, answer.community.name) == ("澄江街道", "小社区")
    assert not answer.ambiguous


def test_a_component_beyond_its_radius_is_not_found(resolver):
    answer = ask(resolver, -10, -85, "0101")          # 35 m south of M1: beyond 30 m
    assert answer.component is None
    assert answer.responsible.basis == "territorial_fallback"


def test_the_edge_of_two_grids_and_two_components_as_near(resolver):
    answer = ask(resolver, 0, -50, "0101")
    assert answer.ambiguous
    assert {answer.grid, *answer.other_grids} == {"34180200100101", "34180200100102"}
    assert answer.component is not None and answer.component.distance_m == pytest.approx(10, 0.01)
    assert {answer.component.code, *(c.code for c in answer.other_components)} == {
        "3418020101000001", "3418020101000002"}
    # the lower code wins the tie, as PostGIS's ORDER BY would have it
    assert answer.component.code == "3418020101000001"


def test_an_analysts_geodataframe_gets_its_answers(resolver):
    """The same answers as columns of a GeoDataFrame, from any CRS it declares."""
    import geopandas as gpd
    import shapely

    from lookup.frame import resolve_frame

    spots = [(-12, -50), (12, -50), (-50, 80), (5000, 5000)]
    frame = gpd.GeoDataFrame(
        {"编号": ["a", "b", "c", "d"], "类别": ["0101", "0101", None, "0101"]},
        geometry=[shapely.Point(*tiny.lonlat(x, y)) for x, y in spots], crs=4490).to_crs(4549)
    out = resolve_frame(resolver, frame, class_column="类别")
    assert list(out["编号"]) == ["a", "b", "c", "d"] and out.crs == frame.crs
    assert list(out["grid"][:3]) == ["34180200100101", "34180200100102", "34180200100103"]
    assert list(out["responsible"][:3]) == ["自来水公司", "城建局", "物业公司"]
    assert list(out["basis"][:2]) == ["component_maintainer", "component_department"]
    assert out["component"][0] == "3418020101000001"
    assert out["error"][3] == "outside_coverage" and out["grid"].isna()[3]
    assert out["grid"].map(type)[0] is str          # codes stay text
