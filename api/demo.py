"""The demo: the sample city (two counties of 宣城市) registered and loaded, idempotently."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy.engine import Engine

from census.importer import import_components
from gis.db import session_scope
from grid.districts import add_district
from grid.hierarchy import import_boundaries
from grid.importer import import_grids
from lookup.rules import import_rules

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"

# (code, name, scheme, folder) of each sample county
COUNTIES = (
    ("341802", "宣州区", "legacy", "341802_xuanzhou"),
    ("341881", "宁国市", "gb47678", "341881_ningguo"),
)


# A few cases in every state, so that the map has something to show: (district, grid, class,
# kind, description, hours ago, actions taken).
SAMPLE_CASES = (
    ("341802", "34180200100101", "0102", "event", "路口成堆垃圾未清运", 2, ()),
    ("341802", "34180200200215", "0104", "event", "人行道油污", 5, ("accept", "file")),
    ("341802", "34180200300320", "0501", "event", "无照游商占道", 30,
     ("accept", "file", "dispatch")),
    ("341802", "34180200200108", "0505", "event", "机动车占用盲道", 8,
     ("accept", "file", "dispatch", "handle")),
    ("341802", "34180200100230", "0110", "event", "道路坑洼", 120,
     ("accept", "file", "dispatch", "handle", "verify", "close")),
    ("341881", "341881001001005", "06010", "event", "垃圾桶满溢", 3,
     ("accept", "file", "dispatch")),
    ("341881", "341881002002010", "06012", "event", "路面泥土", 1, ("accept",)),
)
ACTORS = {"accept": ("受理员", "王受理"), "file": ("值班长", "钱值班"),
          "dispatch": ("派遣员", "赵派遣"), "handle": ("专业部门", "处置单位"),
          "verify": ("监督员", "张监督"), "close": ("值班长", "钱值班")}


def load_samples(engine: Engine, folder: Path | None = None,
                 echo: Callable[[str], None] = print, cases: bool = True) -> None:
    base = folder or SAMPLES
    for code, name, scheme, sub in COUNTIES:
        with session_scope(engine) as s:
            add_district(s, code, name=name, scheme=scheme, crs="EPSG:4549")
            communities = base / sub / "社区边界.shp"
            if communities.exists():
                report = import_boundaries(s, communities, code, "community")
                echo(report.summary())
            grid_report, _ = import_grids(s, base / sub / "单元网格.shp", code)
            echo(grid_report.summary())
            if grid_report.status != "ok":
                raise RuntimeError(f"sample grids of {code} failed QA")
        for census_file in sorted((base / sub).glob("*部件*.shp")):
            with session_scope(engine) as s:
                echo(import_components(s, census_file, code).summary())
        for rules_file in (base / sub / "权责清单.csv", base / sub / "责任区域.shp"):
            if rules_file.exists():
                with session_scope(engine) as s:
                    echo(import_rules(s, rules_file, code).summary())
    if cases:
        _sample_cases(engine, echo)


def _sample_cases(engine: Engine, echo: Callable[[str], None]) -> None:
    """Report the sample cases (once: only into districts that have no case yet)."""
    from datetime import timedelta

    import sqlalchemy as sa

    from cases.intake import Report, report_case
    from cases.tables import case_file
    from cases.workflow import Actor, apply
    from lookup.index import LookupIndex
    from lookup.resolve import Resolver

    with session_scope(engine) as s:
        have = set(s.scalars(sa.select(case_file.c.district_code).distinct()))
        now = s.execute(sa.select(sa.func.now())).scalar_one()
    todo = [c for c in SAMPLE_CASES if c[0] not in have]
    if not todo:
        return
    resolver = Resolver(LookupIndex(engine).load())
    for district, grid, cls, kind, text, hours, actions in todo:
        with session_scope(engine) as s:
            point = s.execute(sa.text(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM grid "
                "WHERE district_code = :d AND code = :g AND valid_to IS NULL) x"),
                {"d": district, "g": grid}).first()
            if point is None:
                continue
            at = now - timedelta(hours=hours)
            number, _ = report_case(s, resolver, Report(
                lon=point[0], lat=point[1], class_code=cls, kind=kind, description=text,
                source="监督员上报", person="张监督"), at=at)
            for i, action in enumerate(actions, start=1):
                post, person = ACTORS[action]
                apply(s, number, action, Actor(post, person),
                      at=at + timedelta(minutes=10 * i))
    echo(f"{len(todo)} sample cases reported")


# One token per seat of the case workflow in the first sample county, so that a person can try
# each: (label, role, post, person, department).
SEATS = (
    ("city administrator", "city_admin", None, "市管理员", None),
    ("受理员", "operator", "受理员", "王受理", None),
    ("值班长", "operator", "值班长", "钱值班", None),
    ("派遣员", "operator", "派遣员", "赵派遣", None),
    ("监督员", "operator", "监督员", "张监督", None),
    ("专业部门", "operator", "专业部门", "孙处置", "宣城市宣州区城市管理局"),
)


def demo_tokens(engine: Engine, home: Path) -> list[tuple[str, str]]:
    """(label, token) for each seat, made once and kept in `home` (`demo-tokens`)."""
    import sqlalchemy as sa

    from api.tokens import api_token, create_token, hash_token

    saved = home / "demo-tokens"
    known: dict[str, str] = {}
    if saved.exists():
        for line in saved.read_text("utf-8").splitlines():
            label, _, raw = line.partition("\t")
            if raw:
                known[label] = raw.strip()
    out: list[tuple[str, str]] = []
    with session_scope(engine) as s:
        for label, role, post, person, department in SEATS:
            kept = known.get(label)
            if kept and s.execute(sa.select(api_token.c.id).where(
                    api_token.c.token_hash == hash_token(kept), api_token.c.revoked_at.is_(None),
                    sa.or_(api_token.c.expires_at.is_(None),
                           api_token.c.expires_at > sa.func.now()))).first():
                out.append((label, kept))
                continue
            raw, _ = create_token(s, role=role, districts=None if role == "city_admin"
                                  else COUNTIES[0][0], name=person, post=post,
                                  department=department)
            out.append((label, raw))
    home.mkdir(parents=True, exist_ok=True)
    saved.write_text("".join(f"{label}\t{raw}\n" for label, raw in out), "utf-8")
    saved.chmod(0o600)
    return out
