"""属地兜底 names the real office (lookup/offices.py): the 权责清单's, the street boundary file's,
or one made from the street's name and kind — never a made-up "梅渚街道办事处" for a town.

The county is made by hand: two streets side by side around the origin of tests/tiny.py, the
west one (x −100…0 m) and the east one (0…100 m), each of one community with two 100 m grids.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from grid.codes import Scheme, StreetCode
from grid.districts import add_district
from grid.hierarchy import import_boundaries
from grid.importer import import_grids
from lookup.chain import OFFICE_SOURCE_ZH
from lookup.index import LookupIndex
from lookup.offices import numbered_kinds, office_of
from lookup.resolve import Resolver
from lookup.rules import import_rules
from lookup.tables import duty
from tests import tiny
from tests.conftest import Cli, bearer, make_token, reloaded
from tests.filemaker import ogr2ogr

CODE = "341802"
WEST, EAST = (-50.0, -50.0), (50.0, 50.0)     # a point in each street, metres from the origin


# -- the naming rules, as a unit --------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind", "office"), [
    ("澄江街道", None, "澄江街道办事处"), ("梅渚镇", None, "梅渚镇人民政府"),
    ("周王乡", None, "周王乡人民政府"), ("梅渚", "镇", "梅渚镇人民政府"),
    ("澄江", "街道", "澄江街道办事处"), ("周王", "乡", "周王乡人民政府"),
    ("梅渚", None, "梅渚（属地）"), ("开发区", None, "开发区（属地）"),
    ("梅渚镇", "街道", "梅渚镇人民政府"),           # the name's own suffix wins: no 镇街道办事处
    ("澄江街道办事处", "街道", "澄江街道办事处")])   # already an office
def test_the_office_of_a_street_from_its_name_and_kind(name, kind, office):
    assert office_of(name, kind) == office


def test_street_codes_tell_towns_where_gbt10114_numbering_can_be_trusted():
    assert [StreetCode(f"341802{c}").numbered_kind for c in ("001", "099", "102", "201", "399",
                                                               "401", "000", "0A1")] == [
        "街道", "街道", "镇", "乡", "乡", None, None, None]
    # a contractor's 001, 002 … says nothing; 1xx–3xx say 镇/乡, and then 0xx says 街道
    assert numbered_kinds(["341802001", "341802002"]) == {}
    assert numbered_kinds(["341802001", "341802102", "341802201", "341802401"]) == {
        "341802001": "街道", "341802102": "镇", "341802201": "乡"}


def test_a_class_code_that_lost_its_leading_zero_is_padded_back_only_when_short():
    assert [Scheme.LEGACY.class_with_zeros(c) for c in ("101", "0101", "1", "10a")] == [
        "0101", None, "0001", None]
    assert Scheme.GB47678.class_with_zeros("1001") == "01001"


# -- through the importers and the lookup index -----------------------------------------------


def county(engine: Engine, folder: Path, west: tuple[str, str], east: tuple[str, str]) -> None:
    """The district with two streets, (code, name) each, known from the grid file alone."""
    features = [tiny._polygon({"网格编码": f"{street}001{seq}", "街道名称": name,
                               "社区名称": f"{name}社区"}, x0, y0, 100, 100)
                for (street, name), x0 in ((west, -100), (east, 0))
                for seq, y0 in (("01", -100), ("02", 0))]
    with Session(engine) as s:
        add_district(s, CODE, name="宣州区", scheme="legacy", crs="EPSG:4549")
        report, _ = import_grids(s, tiny._write(folder / "网格.geojson", features), CODE)
        assert report.status == "ok", report.summary()
        s.commit()


def streets_file(folder: Path, west: dict[str, str], east: dict[str, str],
                 name: str = "街道.geojson") -> Path:
    return tiny._write(folder / name, [tiny._polygon(props, x0, -100, 100, 200)
                                       for props, x0 in ((west, -100), (east, 0))])


def load(engine: Engine, path: Path, level: str | None = None) -> None:
    with Session(engine) as s:
        report = (import_boundaries(s, path, CODE, level) if level
                  else import_rules(s, path, CODE))
        assert report.rejected == 0, report.to_json()
        s.commit()


def offices(engine: Engine) -> list[tuple[str, str]]:
    """(office, where its name came from) at the west and the east point."""
    resolver = Resolver(LookupIndex(engine).load())
    out = []
    for where in (WEST, EAST):
        party = resolver.resolve(*tiny.lonlat(*where)).responsible
        assert party.basis == "territorial_fallback"
        source = [k for k, zh in OFFICE_SOURCE_ZH.items() if party.detail.endswith(f"来自{zh}")]
        out.append((party.department, *source))
    return out


def test_with_no_sign_of_what_a_street_is_no_office_is_made_up(fresh_engine, tmp_path):
    """Names without 街道/镇/乡 and codes numbered 001, 002 in sequence: "（属地）", not the
    "梅渚街道办事处" of old."""
    county(fresh_engine, tmp_path, ("341802001", "澄江"), ("341802002", "梅渚"))
    assert offices(fresh_engine) == [("澄江（属地）", "default"), ("梅渚（属地）", "default")]


def test_a_town_named_without_its_suffix_gets_its_peoples_government(fresh_engine, tmp_path):
    """The street file says 类型 镇 (and has no office column): 梅渚 → 梅渚镇人民政府."""
    county(fresh_engine, tmp_path, ("341802001", "澄江"), ("341802002", "梅渚"))
    load(fresh_engine, streets_file(tmp_path, {"街道代码": "341802001", "类型": "街道"},
                                    {"街道代码": "341802002", "类型": "镇"}), "street")
    assert offices(fresh_engine) == [("澄江街道办事处", "default"), ("梅渚镇人民政府", "default")]


def test_gbt10114_street_codes_tell_a_town_from_a_street(fresh_engine, tmp_path):
    """No street file at all: code 102 is a 镇, and so 001 in the same county a 街道."""
    county(fresh_engine, tmp_path, ("341802001", "澄江"), ("341802102", "梅渚"))
    assert offices(fresh_engine) == [("澄江街道办事处", "default"), ("梅渚镇人民政府", "default")]


def test_a_street_file_with_an_office_column_names_the_office(fresh_engine, tmp_path):
    """A GBK shapefile as a contractor delivers it: the 10-byte DBF field 属地责任单 (属地责任单位
    cut short) names the office; a street it leaves empty falls back to its name and 类型."""
    county(fresh_engine, tmp_path, ("341802001", "澄江"), ("341802002", "梅渚"))
    src = streets_file(tmp_path, {"街道代码": "341802001", "街道名称": "澄江街道",
                                  "属地责任单位": "宣州区澄江街道办事处"},
                       {"街道代码": "341802002", "街道名称": "梅渚", "类型": "镇",
                        "属地责任单位": ""})
    shp = ogr2ogr(tmp_path / "街道.shp", src, "-f", "ESRI Shapefile", "-lco", "ENCODING=CP936")
    load(fresh_engine, shp, "street")
    assert offices(fresh_engine) == [("宣州区澄江街道办事处", "boundary_file"),
                                     ("梅渚镇人民政府", "default")]


def test_the_lists_offices_win_and_a_file_replaces_only_what_it_has_columns_for(
        fresh_engine, tmp_path):
    county(fresh_engine, tmp_path, ("341802001", "澄江"), ("341802002", "梅渚"))
    load(fresh_engine, streets_file(tmp_path, {"街道代码": "341802001", "属地责任单位": "甲"},
                                    {"街道代码": "341802002", "属地责任单位": "乙"}), "street")
    both = tmp_path / "权责清单.csv"       # GBK, as Excel saves it: class rows and street rows
    both.write_text("类型,类别代码,责任部门,街道代码,街道名称,属地责任单位\n"
                    "事件,0102,城管局,,,\n"
                    "属地,,,341802001,,澄江街道办事处（网格中心）\n"
                    ",,,,梅渚镇,梅渚镇人民政府\n", encoding="gbk")   # by name: 梅渚 is 梅渚镇
    load(fresh_engine, both)
    assert offices(fresh_engine) == [("澄江街道办事处（网格中心）", "responsibility_list"),
                                     ("梅渚镇人民政府", "responsibility_list")]
    only = tmp_path / "属地责任单位.csv"     # the offices alone: the class entries stay
    only.write_text("街道名称,属地责任单位\n澄江,澄江街道办事处\n", encoding="utf-8")
    load(fresh_engine, only)
    assert offices(fresh_engine) == [("澄江街道办事处", "responsibility_list"),
                                     ("乙", "boundary_file")]      # 梅渚's row went: retired
    classes = tmp_path / "类别.csv"          # the classes alone: the offices stay
    classes.write_text("类型,类别代码,责任部门\n事件,0102,城管局\n", encoding="utf-8")
    with Session(fresh_engine) as s:
        report = import_rules(s, classes, CODE, dry_run=True)
        assert (report.unchanged, report.extra["retired"]) == (1, 0)
        assert s.execute(sa.select(sa.func.count()).select_from(duty).where(
            duty.c.valid_to.is_(None))).scalar_one() == 1


def test_rows_of_the_list_that_cannot_name_an_office(fresh_engine, tmp_path):
    county(fresh_engine, tmp_path, ("341802001", "澄江"), ("341802002", "梅渚"))
    path = tmp_path / "权责清单.csv"
    path.write_text("类型,类别代码,责任部门,街道代码,街道名称,属地责任单位\n"
                    ",,,341802009,,某办事处\n"           # no such street
                    ",,,341881001,,某办事处\n"           # another district's
                    ",,,341802001,,\n"                   # no office
                    ",,,341802001,梅渚,某办事处\n"       # the code is 澄江's
                    ",,,,周王,某办事处\n"                # no street of that name
                    "事件,0102,城管局,341802001,,某办事处\n"   # a class row naming an office
                    "部件,,,341802002,,某办事处\n"       # a 部件 row needs its class
                    ",,,341802002,,梅渚镇人民政府\n"
                    ",,,,梅渚,梅渚镇政府\n", encoding="utf-8")   # 梅渚 twice
    with Session(fresh_engine) as s:
        report = import_rules(s, path, CODE)
    assert [(r.row, r.reason) for r in report.rejects] == [
        (1, "unknown_street"), (2, "wrong_district"), (3, "missing_office"),
        (4, "street_mismatch"), (5, "unknown_street"), (6, "mixed_row"), (7, "bad_kind"),
        (9, "duplicate")]
    assert report.imported == 1 and report.balanced()
    assert report.rejects[5].message.startswith(
        "第 6 行：类别代码 0102 的行又写了街道或属地责任单位")


def test_a_class_code_that_lost_its_leading_zero_is_rejected_with_a_hint(fresh_engine,
                                                                          tmp_path):
    county(fresh_engine, tmp_path, ("341802001", "澄江"), ("341802002", "梅渚"))
    path = tmp_path / "权责清单.csv"
    path.write_text("类型,类别代码,责任部门\n事件,104,环卫所\n,101,自来水公司\n事件,999,城管局\n"
                    "事件,0102,城管局\n", encoding="gbk")
    with Session(fresh_engine) as s:
        report = import_rules(s, path, CODE)
    assert [(r.row, r.code, r.reason) for r in report.rejects] == [
        (1, "104", "lost_leading_zero"), (2, "101", "lost_leading_zero"),
        (3, "999", "unknown_class")]
    assert report.rejects[0].message.startswith(
        "第 1 行：类别代码 104 可能丢失了前导零，应为 0104？")
    assert "应为 0101？" in report.rejects[1].message and report.imported == 1


# -- a server follows re-imports ---------------------------------------------------------------


@pytest.fixture
def served(county_url: str) -> Iterator[TestClient]:
    from api.app import create_app
    from api.settings import Settings

    with TestClient(create_app(Settings(database_url=county_url)),
                    headers=bearer(make_token(county_url))) as client:
        yield client


@pytest.fixture
def county_url(county: Engine) -> str:
    """The tiny county of tests/tiny.py (street 341802001 澄江街道), committed."""
    return county.url.render_as_string(hide_password=False).replace("+psycopg", "")


def test_a_reimport_changes_the_answer_of_a_running_server(served, county_url, tmp_path):
    lon, lat = tiny.lonlat(50, -80)                  # grid 02: no component, zone or entry

    def office() -> str:
        answer = served.get("/lookup", params={"lon": lon, "lat": lat}).json()
        assert answer["responsible"]["basis"] == "territorial_fallback", answer
        return answer["responsible"]["department"]

    assert office() == "澄江街道办事处"
    cli = Cli(county_url, tmp_path)
    street = {"街道代码": "341802001", "街道名称": "澄江街道"}
    boundary = tiny._write(tmp_path / "街道.geojson", [
        tiny._polygon({**street, "类型": "城区", "属地责任单位": "宣州区澄江街道办事处"},
                      -100, -100, 200, 200)])
    with reloaded(served.app, CODE):
        done = cli("import", "streets", str(boundary), "--district", CODE)
    assert "类型不是街道、镇或乡，未记录 (not 街道, 镇 or 乡, not stored): 城区" in done.stderr
    assert office() == "宣州区澄江街道办事处"
    listed = tmp_path / "属地.csv"
    listed.write_text("街道代码,属地责任单位\n341802001,澄江街道城市管理办公室\n", encoding="gbk")
    with reloaded(served.app, CODE):
        cli("rules", "import", str(listed), "--district", CODE)
    assert office() == "澄江街道城市管理办公室"
    listed.write_text("街道代码,属地责任单位\n341802001,澄江街道综合执法队\n", encoding="gbk")
    with reloaded(served.app, CODE):
        cli("rules", "import", str(listed), "--district", CODE)
    assert office() == "澄江街道综合执法队"
