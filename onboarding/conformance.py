"""The 贯标 conformance report (贯标符合性报告) of a county: what the province checks.

Items, each 符合 (pass), 基本符合 (warn) or 不符合 (fail), with what was found: the scheme and
standard edition; the unit grids (codes, geometry, overlaps, gaps, nesting, areas, coverage of the
county's boundaries); for each census file the mandatory attributes of its generation (GB/T
47678.5-2026 Table 2; CJ/T 214's basic attributes), with the column found for each and how full
it is, the codes and classes, 统一社会信用代码, dates and how recent the census is; whether the
handling manual covers the county's classes and the calendar the coming year; a sample of
lookups. The verdict is the worst item. The same report comes from the files while a county is
onboarded and from the database for a county already live (`build`), and is kept (`save`) for the
检查督办 view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.orm import Session

from cases import limits
from cases.tables import handling_rule
from census.tables import census_import
from gis import crs as crsmod
from gis.report import REASONS_ZH
from grid import store
from grid.codes import Scheme
from grid.districts import District
from grid.qa import QaReport
from lookup.rules import current_duties, current_zones
from onboarding.tables import conformance_result

PASS, WARN, FAIL = "pass", "warn", "fail"
STATUS_ZH = {PASS: "符合", WARN: "基本符合", FAIL: "不符合"}
EDITION = {Scheme.LEGACY: "CJ/T 213-2005、CJ/T 214-2007（GB/T 30428）",
           Scheme.GB47678: "GB/T 47678-2026（城市运行管理服务平台）"}
# (our field, the standard's name, its abbreviation); conditional ones are reported, not required
MANDATORY = {
    Scheme.GB47678: (("code", "管理部件标识码", "GLBJBSM"), ("name", "管理部件名称", "GLBJMC"),
                     ("dept_code", "主管部门代码", "ZGBMDM"),
                     ("dept_name", "主管部门名称", "ZGBMMC"),
                     ("grid_code", "所在单元网格标识码", "SZDYWGBSM"),
                     ("status", "管理部件状态", "GLBJZT"), ("initial_date", "初始日期", "CSRQ")),
    Scheme.LEGACY: (("code", "部件标识码", "ObjID"), ("name", "部件名称", "ObjName"),
                    ("dept_code", "主管部门代码", "DeptCode1"),
                    ("dept_name", "主管部门名称", "DeptName1"),
                    ("owner_name", "权属单位名称", "DeptName2"),
                    ("maintainer_name", "养护单位名称", "DeptName3"),
                    ("grid_code", "所在单元网格", "BGID"), ("status", "部件状态", "ObjState"),
                    ("initial_date", "初始日期", "ORDate")),
}
CONDITIONAL = (("change_date", "变更日期", "BGRQ"),)
FULL, MOSTLY_FULL = 0.95, 0.5
CODE_REJECTS = ("bad_code", "wrong_district", "duplicate", "lost_digits", "class_mismatch")
RECENT_YEARS, STALE_YEARS = 3, 5
COVERED, NEARLY_COVERED = 0.99, 0.95
GEOMETRY_REJECTS = ("null_geometry", "invalid_geometry", "outside")
# Who puts an item right: the contractor that made the deliveries (承建单位: grids, boundaries,
# census), the county (区县: its 权责清单 and zones), or the city's platform (市级平台: the
# handling manual and the calendar every county shares). An item not named here is the
# county's to look into.
CONTRACTOR, COUNTY, CITY = "contractor", "county", "city"
FIX_BY_ZH = {CONTRACTOR: "承建单位", COUNTY: "区县城管部门", CITY: "市级平台"}
FIX_BY = {"scheme": COUNTY, "rules": COUNTY, "manual": CITY, "calendar": CITY,
          "lookups": CONTRACTOR}


def fix_by(code: str) -> str:
    if code.startswith(("grid_", "census", "hierarchy")):
        return CONTRACTOR
    return FIX_BY.get(code, COUNTY)


@dataclass(frozen=True)
class Item:
    code: str
    title_zh: str
    status: str
    detail: str
    file: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "title_zh": self.title_zh,
                               "status": self.status, "status_zh": STATUS_ZH[self.status],
                               "detail": self.detail, "fix_by": fix_by(self.code),
                               "fix_by_zh": FIX_BY_ZH[fix_by(self.code)]}
        if self.file:
            out["file"] = self.file
        return out


@dataclass(frozen=True)
class Probe:
    """One sampled lookup: where, what was expected and what came back."""

    what: str            # grid | component
    lon: float
    lat: float
    expected: str
    got: str | None

    @property
    def right(self) -> bool:
        return self.expected == self.got


@dataclass
class Conformance:
    district: District
    generated_at: datetime
    items: list[Item] = field(default_factory=list)
    census: list[dict[str, Any]] = field(default_factory=list)
    deliveries: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        statuses = {i.status for i in self.items}
        return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS

    def add(self, code: str, title_zh: str, status: str, detail: str,
            file: str | None = None) -> None:
        self.items.append(Item(code, title_zh, status, detail, file))

    def to_dict(self) -> dict[str, Any]:
        d = self.district
        return {"district": d.code, "name": d.name, "scheme": d.scheme.value,
                "standard": EDITION[d.scheme],
                "generated_at": self.generated_at.isoformat(timespec="seconds"),
                "verdict": self.verdict, "verdict_zh": STATUS_ZH[self.verdict],
                "items": [i.to_dict() for i in self.items], "census": self.census,
                **({"deliveries": self.deliveries} if self.deliveries is not None else {})}


def build(session: Session, district: District, qa: QaReport, *,
          census_reports: Sequence[dict[str, Any]] | None = None,
          probes: Sequence[Probe] = (), deliveries: dict[str, Any] | None = None,
          today: date | None = None) -> Conformance:
    """The report of a district as `session` sees it. Census reports default to the latest
    import of each file."""
    now = session.execute(sa.select(sa.func.now())).scalar_one()
    day = today or now.date()
    c = Conformance(district, now, deliveries=deliveries)
    c.add("scheme", "编码标准", PASS,
          f"{district.name}（{district.code}）按 {EDITION[district.scheme]} 编码；单元网格编码 "
          f"{district.grid_digits} 位，部件小类代码 {district.scheme.class_digits} 位")
    _grids(c, session, district, qa)
    reports = list(census_reports) if census_reports is not None \
        else latest_census_reports(session, district.code)
    classes: set[str] = set()
    if not reports:
        c.add("census", "部件普查", FAIL, "没有导入任何部件普查数据")
    for report in reports:
        classes |= _census(c, district, report, day)
    _rules(c, session, district, classes)
    _manual(c, session, district, classes)
    _calendar(c, session, day)
    _probes(c, probes)
    return c


def latest_census_reports(session: Session, district_code: str) -> list[dict[str, Any]]:
    rows = session.execute(
        sa.select(census_import.c.report).where(census_import.c.district_code == district_code)
        .order_by(census_import.c.source, census_import.c.at.desc())
        .ext(distinct_on(census_import.c.source))).scalars()
    return [r for r in rows if r]


def save(session: Session, c: Conformance) -> None:
    """Keep the report for the 检查督办 view (one row per district and run)."""
    session.execute(sa.insert(conformance_result).values(
        district_code=c.district.code, generated_at=c.generated_at, verdict=c.verdict,
        body=c.to_dict()))


# -- grids -------------------------------------------------------------------------------------

GRID_CHECKS = (("grid_codes", "网格编码", ("malformed_code", "duplicate_code")),
               ("grid_geometry", "网格几何", ("invalid_geometry",)),
               ("grid_overlaps", "网格重叠", ("overlap",)),
               ("grid_gaps", "网格缝隙", ("gap",)),
               ("grid_nesting", "网格不跨社区、街道边界", ("nesting",)))


def _grids(c: Conformance, session: Session, district: District, qa: QaReport) -> None:
    for code, title, kinds in GRID_CHECKS:
        found = [f for f in qa.findings if f.kind in kinds]
        errors = [f for f in found if f.severity == "error"]
        status = FAIL if errors else WARN if found else PASS
        detail = (f"{len(found)} 处：" + "；".join(f.message for f in found[:3])
                  + ("……" if len(found) > 3 else "")) if found else f"{qa.grids} 个网格，未发现问题"
        c.add(code, title, status, detail)
    grids = store.current_grids(session, district.code)
    areas = np.array([g.area_m2 for g in grids if g.area_m2 is not None], dtype=float)
    low, high = qa.options.area_band_m2
    if len(areas):
        outside = int(((areas < low) | (areas > high)).sum())
        c.add("grid_area", "网格面积", WARN if outside else PASS,
              f"{len(areas)} 个网格，共 {areas.sum() / 1e6:.2f} 平方千米；最小 {areas.min():,.0f}、"
              f"中位 {np.median(areas):,.0f}、最大 {areas.max():,.0f} 平方米；"
              f"{outside} 个超出 {low:,.0f}–{high:,.0f} 平方米（万米单元网格）")
    _coverage(c, session, district, grids)
    _hierarchy(c, session, district, grids)


def _coverage(c: Conformance, session: Session, district: District,
              grids: list[store.StoredGrid]) -> None:
    target = district.projected_crs()
    bounds = {level: store.boundaries(session, district.code, level)
              for level in ("street", "community")}
    level = "community" if bounds["community"] else "street" if bounds["street"] else None
    if level is None or target is None or not grids:
        c.add("grid_coverage", "网格覆盖辖区", WARN,
              "未提供街道（乡镇）或社区（村）边界，无法核对网格是否覆盖辖区、有无遗漏")
        return
    shapes = crsmod.reproject(np.array([g.geom for g in grids], dtype=object),
                              crsmod.STORAGE_CRS, target)
    area = crsmod.reproject(np.array(list(bounds[level].values()), dtype=object),
                            crsmod.STORAGE_CRS, target)
    whole = shapely.union_all(area)
    covered = shapely.intersection(shapely.union_all(shapes), whole).area / whole.area
    status = PASS if covered >= COVERED else WARN if covered >= NEARLY_COVERED else FAIL
    name = "社区（村）" if level == "community" else "街道（乡镇）"
    c.add("grid_coverage", "网格覆盖辖区", status,
          f"网格覆盖{name}边界面积的 {covered:.1%}（{len(bounds[level])} 个{name}）")


def _hierarchy(c: Conformance, session: Session, district: District,
               grids: list[store.StoredGrid]) -> None:
    """Every street and community the grid codes name should have its name (the lookup answers
    and the evaluation's rows by street and community show it), and a community boundary."""
    problems = []
    for level, zh, codes in (("street", "街道（乡镇）", {g.street_code for g in grids}),
                             ("community", "社区（村）", {g.community_code for g in grids})):
        named = {k for k, v in store.names(session, district.code, level).items() if v}
        nameless = sorted(k for k in codes if k and k not in named)
        if nameless:
            problems.append(f"{len(nameless)} 个{zh}没有名称："
                            + "、".join(nameless[:5]) + ("……" if len(nameless) > 5 else ""))
    if grids and not store.boundaries(session, district.code, "community"):
        problems.append("未提供社区（村）边界")
    c.add("hierarchy", "街道、社区名称与边界", WARN if problems else PASS,
          "；".join(problems) or "网格所在的街道（乡镇）、社区（村）都有名称和边界")


# -- census ------------------------------------------------------------------------------------


def _census(c: Conformance, district: District, report: dict[str, Any], today: date) -> set[str]:
    file = str(report.get("source", "?")).rsplit("/", 1)[-1]
    q = report.get("quality") or {}
    read = int(report.get("read") or 0)
    reasons: dict[str, int] = dict(report.get("reasons") or {})
    mapping: dict[str, str | None] = dict(report.get("mapping") or {})
    filled: dict[str, float] = dict(q.get("filled") or {})
    fields: list[dict[str, Any]] = [
        {"field": name, "abbr": abbr, "target": target, "mandatory": mandatory,
         "source_field": mapping.get(target), "filled_share": filled.get(target, 0.0)}
        for mandatory, listed in ((True, MANDATORY[district.scheme]), (False, CONDITIONAL))
        for target, name, abbr in listed]
    c.census.append({"file": file, "rows": read, "imported": report.get("imported", 0),
                     "updated": report.get("updated", 0),
                     "unchanged": report.get("unchanged", 0),
                     "rejected": report.get("rejected", 0), "rejected_by_reason": reasons,
                     "mandatory_fields": fields})
    required = [f for f in fields if f["mandatory"]]
    absent = [f["field"] for f in required if not f["source_field"]]
    sparse = [f for f in required if f["source_field"] and f["filled_share"] < FULL]
    status = FAIL if absent or any(f["filled_share"] < MOSTLY_FULL for f in sparse) \
        else WARN if sparse else PASS
    parts = []
    if absent:
        parts.append("缺少必填属性：" + "、".join(absent))
    if sparse:
        parts.append("填写不全：" + "、".join(f"{f['field']}（{f['source_field']}，"
                                          f"{f['filled_share']:.0%}）" for f in sparse))
    c.add("census_fields", "必填属性", status,
          "；".join(parts) or f"{len(required)} 项必填属性齐全", file)

    bad = sum(reasons.get(r, 0) for r in CODE_REJECTS)
    share = bad / read if read else 0.0
    why = "、".join(f"{REASONS_ZH.get(r, r)} {reasons[r]}" for r in CODE_REJECTS
                   if reasons.get(r))
    c.add("census_codes", "标识码", FAIL if share >= 0.05 else WARN if bad else PASS,
          f"{read} 行中 {bad} 行标识码有误：{why}" if bad
          else f"{read} 行标识码均有效", file)

    placed = {r: reasons.get(r, 0) for r in GEOMETRY_REJECTS if reasons.get(r)}
    lost = sum(placed.values())
    # rows refused earlier (a bad code) were not placed: say so rather than vouch for them
    unplaced = int(report.get("rejected") or 0) - lost
    c.add("census_geometry", "部件几何与位置",
          FAIL if read and lost / read >= 0.05 else WARN if lost else PASS,
          (f"{read} 行中 {lost} 行因几何退回：" + "、".join(
              f"{REASONS_ZH[r]} {n}" for r, n in placed.items()) if lost
           else "没有因几何或位置退回的行")
          + (f"（另有 {unplaced} 行因其他原因先被退回，未作位置检查）" if unplaced else ""), file)

    names = q.get("names") or {}
    odd, checked = int(names.get("mismatched", 0)), int(names.get("checked", 0))
    if checked:
        c.add("census_names", "部件名称与小类",
              FAIL if odd / checked >= 0.2 else WARN if odd else PASS,
              f"{checked} 个部件中 {odd} 个的名称与小类名称不符（小类代码或名称有误）："
              + "；".join(
                  f"{x['class']} {x['class_name']} 名为“{x['name']}”{x['rows']} 个（要素 "
                  + "、".join(map(str, x.get("features", []))) + "）"
                  for x in names.get("examples", [])) if odd
              else f"{checked} 个部件的名称与小类一致", file)

    classes = q.get("classes") or {}
    unknown = reasons.get("unknown_class", 0)
    local = int(classes.get("local", 0))
    known = int(classes.get("known", 0)) or 1
    c.add("census_classes", "部件分类", FAIL if read and unknown / read >= 0.05
          else WARN if unknown or local / known > 0.1 else PASS,
          f"未知小类 {unknown} 行；地方扩展小类 {local} 行（占 {local / known:.1%}）", file)

    credit = q.get("credit_codes") or {}
    given = sum(v["given"] for v in credit.values())
    good = sum(v["well_formed"] for v in credit.values())
    c.add("census_credit_codes", "统一社会信用代码", PASS if given == good else WARN,
          (f"给出 {given} 个单位代码，{good} 个是有效的统一社会信用代码" if given
           else "未给出单位代码"), file)

    d = q.get("dates") or {}
    odd = int(d.get("future_initial", 0)) + int(d.get("future_change", 0)) \
        + int(d.get("change_before_initial", 0))
    c.add("census_dates", "初始日期与变更日期", WARN if odd else PASS,
          f"晚于今天的初始日期 {d.get('future_initial', 0)} 个、变更日期 "
          f"{d.get('future_change', 0)} 个；变更早于初始 {d.get('change_before_initial', 0)} 个"
          if odd else "日期合理", file)
    latest = d.get("latest")
    if latest is None:
        c.add("census_recency", "普查时效", WARN, "文件没有日期，无法判断普查时间", file)
    else:
        years = (today - date.fromisoformat(latest)).days / 365.25
        c.add("census_recency", "普查时效", PASS if years <= RECENT_YEARS
              else WARN if years <= STALE_YEARS else FAIL,
              f"最近的日期为 {latest}（{years:.1f} 年前）", file)
    mismatches = int(report.get("grid_mismatches") or 0)
    if mapping.get("grid_code"):
        c.add("census_grids", "所在单元网格", WARN if mismatches else PASS,
              f"{mismatches} 个部件的“所在单元网格”与其位置所在网格不一致" if mismatches
              else "与部件位置所在网格一致", file)
    return set(classes.get("distinct") or [])


# -- rules, manual, calendar, lookups ----------------------------------------------------------


def _rules(c: Conformance, session: Session, district: District, classes: set[str]) -> None:
    listed = {code for kind, code in current_duties(session, district.code)
              if kind == "component"}
    zoned = {k.partition(":")[2] for z in current_zones(session, district.code)
             for k in z["classes"] if k.startswith("component:")}
    if not listed and not zoned:
        c.add("rules", "权责清单", WARN, "未导入权责清单或责任区域：无部件可查时一律按属地兜底")
        return
    missing = sorted(classes - listed - zoned)
    c.add("rules", "权责清单", WARN if missing else PASS,
          f"权责清单 {len(listed)} 个小类、责任区域 {len(zoned)} 个小类"
          + (f"；普查中的 {len(missing)} 个小类未列入：{'、'.join(missing[:10])}"
             if missing else ""))


def _manual(c: Conformance, session: Session, district: District, classes: set[str]) -> None:
    rows = session.execute(sa.select(handling_rule.c.kind, handling_rule.c.class_code).where(
        handling_rule.c.scope.in_([district.code, limits.CITY]),
        handling_rule.c.scheme == district.scheme.value)).all()
    have = {(r.kind, r.class_code) for r in rows}
    # the county's classes: those of its census, and those its 权责清单 names (the events it
    # expects cases of)
    listed = set(current_duties(session, district.code))
    wanted = {("component", k) for k in classes} | listed
    missing = sorted(w for w in wanted if w not in have)
    default = {k for k, code in have if code == "*"}
    uncovered = [w for w in missing if w[0] not in default]
    status = FAIL if uncovered else WARN if missing else PASS
    c.add("manual", "立案、处置和结案标准", status,
          f"{len(wanted)} 个小类中 {len(wanted) - len(missing)} 个有立案条件和处置时限"
          + (f"；{len(missing)} 个{'按默认行' if not uncovered else '没有'}："
             f"{'、'.join(code for _, code in missing[:10])}" if missing else ""))


def _calendar(c: Conformance, session: Session, today: date) -> None:
    status = limits.calendar_status(session, today)
    until = status["covered_until"]
    year_ahead = until is not None and (date.fromisoformat(until) - today).days >= 365
    c.add("calendar", "工作日历", PASS if year_ahead else WARN,
          f"节假日和调休安排覆盖到 {until}" if until and year_ahead
          else status["warning"] or f"节假日和调休安排只覆盖到 {until}，不足一年")


def _probes(c: Conformance, probes: Sequence[Probe]) -> None:
    if not probes:
        return
    wrong = [p for p in probes if not p.right]
    c.add("lookups", "查询抽检", FAIL if wrong else PASS,
          f"抽检 {len(probes)} 个点（网格与部件），{len(probes) - len(wrong)} 个答对"
          + ("；答错：" + "；".join(f"({p.lon:.6f}, {p.lat:.6f}) 应为 {p.expected}，得到 "
                                  f"{p.got or '无'}" for p in wrong[:5]) if wrong else ""))
