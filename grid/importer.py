"""Grid import: read a grid file, run the topology QA, and write a new version of the district's
grid set in one transaction — or nothing at all.

Every row ends as imported (new code), updated (the code exists with another shape or other
attributes: the old row is retired, not deleted), unchanged, or rejected with a reason. Error-level
QA findings refuse the whole file; kinds the user accepts (`accept`) are only warnings, and rows
that still cannot be stored (no geometry, a bad code, a later duplicate) are rejected one by one.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import shapely
from sqlalchemy.orm import Session

from gis import collector
from gis import crs as crsmod
from gis.db import CHANGES, notify
from gis.geometry import same_shape, to_multipolygon
from gis.report import ImportReport
from gis.values import jsonable_values
from gis.versions import Changes, compare, retire
from grid import store
from grid.codes import GridCode
from grid.districts import get_district, set_crs
from grid.inspect import file_checks, file_report
from grid.locks import lock_district
from grid.outlines import Outlines, outlines
from grid.qa import ERROR, Finding, QaOptions, QaReport
from grid.reading import GridFile, read_grid_file
from grid.tables import grid as grid_t


@dataclass(frozen=True)
class GridImportOptions:
    crs: str | None = None
    encoding: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    dry_run: bool = False
    qa: QaOptions = field(default_factory=QaOptions)


def import_grids(session: Session, path: str | os.PathLike[str], district_code: str,
                 options: GridImportOptions | None = None) -> tuple[ImportReport, QaReport]:
    """Import a grid file into a district. The caller commits; nothing is written on refusal
    or dry run."""
    with collector.paused():
        return _import_grids(session, path, district_code, options or GridImportOptions())


def _import_grids(session: Session, path: str | os.PathLike[str], district_code: str,
                  opts: GridImportOptions) -> tuple[ImportReport, QaReport]:
    lock_district(session, district_code, "import.grids")
    district = get_district(session, district_code)
    gf = read_grid_file(path, district, crs=opts.crs, encoding=opts.encoding, fields=opts.fields)
    rows, layout = file_checks(session, district, gf, opts.qa)
    if opts.dry_run or any(f.severity == ERROR for f in rows.findings):
        qa = file_report(district, gf, opts.qa, rows.findings + layout())
        report = _new_report(gf, district.code, opts, qa)
        if qa.errors:
            return _refused(report, gf, qa), qa
        _plan(session, gf, district.code, report, qa.findings)
        return report, qa
    # Which rows are stored follows from each row's own findings; the layout's (overlaps, gaps,
    # nesting: geometry work, most of the QA's time) can only refuse the whole file. So the
    # rows are written, in a savepoint, while a second thread checks the layout, and a refusal
    # rolls the savepoint back: the database's time and the QA's overlap (bench/grid_import.py).
    # The street and community outlines are drawn on that thread too, after the QA.
    with ThreadPoolExecutor(max_workers=1) as pool:
        checked = pool.submit(layout)
        savepoint = session.begin_nested()
        try:
            report = _new_report(gf, district.code, opts, None)
            plan = _plan(session, gf, district.code, report, rows.findings)
            drawn = pool.submit(_outlines, plan)
            _write(session, gf, district.code, report, plan)
        finally:
            findings = rows.findings + checked.result()
    qa = file_report(district, gf, opts.qa, findings)
    if qa.errors:
        savepoint.rollback()
        return _refused(_new_report(gf, district.code, opts, qa), gf, qa), qa
    savepoint.commit()
    _set_qa(report, qa)
    _finish(session, district.code, report, drawn.result())
    return report, qa


def _new_report(gf: GridFile, district_code: str, opts: GridImportOptions,
                qa: QaReport | None) -> ImportReport:
    layer = gf.layer
    report = ImportReport(kind="grids", district=district_code, source=layer.source,
                          crs=f"{layer.report_crs()} ({layer.crs_from})",
                          encoding=layer.report_encoding(), read=len(layer),
                          dry_run=opts.dry_run, mapping=gf.mapping)
    if gf.target_chosen:
        report.extra["district_crs"] = (f"{crsmod.describe(gf.target)}（区县原无坐标系，"
                                        "取数据所在的 3 度高斯-克吕格投影带） "
                                        "(the district had none: the 3-degree Gauss-Krüger "
                                        "zone of the data)")
    report.extra["qa"] = None      # (set when the QA is done, here in its place)
    if qa is not None:
        _set_qa(report, qa)
    return report


def _set_qa(report: ImportReport, qa: QaReport) -> None:
    report.extra["qa"] = {"errors": len(qa.errors), "warnings": len(qa.warnings),
                          "counts": qa.to_dict()["counts"]}


def _refused(report: ImportReport, gf: GridFile, qa: QaReport) -> ImportReport:
    report.status = "refused"
    first_reason: dict[int, tuple[str, str]] = {}
    for f in qa.errors:
        for row in f.rows:
            first_reason.setdefault(row, (f.reason, f.message))
    n = len(qa.errors)
    for s in gf.shapes:
        reason, message = first_reason.get(
            s.row if s.row is not None else -1,
            ("refused", f"未导入：文件有 {n} 项错误级质量检查问题 "
                        f"(not imported: the file has {n} error-level QA findings)"))
        report.reject(s.row if s.row is not None else 0, s.code, reason, message)
    return report


@dataclass
class _Plan:
    """What an import writes: the file's rows by code, and how they compare with the stored."""

    rows_by_code: dict[str, dict]
    current: dict[str, store.StoredGrid]
    changes: Changes


def _plan(session: Session, gf: GridFile, district_code: str, report: ImportReport,
          findings: list[Finding]) -> _Plan:
    """The rows to store, each other one rejected with its reason (into `report`)."""
    layer = gf.layer
    # Rows that cannot be stored even though their findings were accepted as warnings.
    unusable: dict[int, tuple[str, str]] = {}
    for f in findings:
        if f.reason in {"bad_code", "wrong_district", "null_geometry", "invalid_geometry"}:
            for row in f.rows:
                unusable.setdefault(row, (f.reason, f.message))
    seen: dict[str, int] = {}                  # code → the row it first appeared in
    rows_by_code: dict[str, dict] = {}
    columns = {c: jsonable_values(layer.table.column(c)) for c in layer.columns}
    areas = shapely.area(np.array([s.geom for s in gf.shapes], dtype=object))
    for i, s in enumerate(gf.shapes):
        row = s.row if s.row is not None else i
        if row in unusable:
            report.reject(row, s.code, *unusable[row])
            continue
        assert s.code is not None
        if s.code in seen:
            report.reject(row, s.code, "duplicate",
                          f"要素 {row}：网格编码 {s.code} 与要素 {seen[s.code]} 重复 "
                          f"(feature {row}: grid code {s.code} repeats feature {seen[s.code]})",
                          seen[s.code])
            continue
        seen[s.code] = row
        gc = GridCode(s.code)
        attrs = {c: values[i] for c, values in columns.items()}
        rows_by_code[s.code] = {
            "row": row, "code": s.code, "street_code": gc.street.value,
            "community_code": gc.community.value, "area_m2": float(areas[i]),
            "attrs": attrs, "geom": gf.storage[i],
            "street_name": s.street_name, "community_name": s.community_name}

    current = {g.code: g for g in store.current_grids(session, district_code)}
    changes = compare(current, rows_by_code, lambda old, new: old.attrs == new["attrs"] and
                      same_shape(old.geom, to_multipolygon(new["geom"])))
    changes.count(report)
    report.extra["retired"] = len(changes.gone)
    report.extra["retired_codes"] = changes.gone
    report.extra["hierarchy"] = {
        "streets": len({r["street_code"] for r in rows_by_code.values()}),
        "communities": len({r["community_code"] for r in rows_by_code.values()})}
    assert report.balanced(), report.summary()
    return _Plan(rows_by_code, current, changes)


def _write(session: Session, gf: GridFile, district_code: str, report: ImportReport,
           plan: _Plan) -> None:
    """The new version of the district's grid set, its streets and communities."""
    rows_by_code, changes = plan.rows_by_code, plan.changes
    at = store.transaction_clock(session)
    import_id = store.new_import(session, district_code, gf.layer.source, at)
    report.extra["import_id"] = import_id
    streets = [(r["street_code"], r["street_name"]) for r in rows_by_code.values()]
    communities = [(r["community_code"], r["community_name"]) for r in rows_by_code.values()]
    store.upsert_streets(session, district_code, _one_name_each(streets))
    store.upsert_communities(session, district_code, _one_name_each(communities))
    retire(session, grid_t, district_code, ["code"], changes.to_retire, at)
    store.insert_grids(session, district_code,
                       [rows_by_code[code] for code in changes.to_write], at, import_id)
    if gf.target_chosen:
        set_crs(session, district_code, gf.target)


def _outlines(plan: _Plan) -> Outlines:
    """The outlines of the district's streets and communities as its grids now are: the file's,
    unchanged ones as they were stored."""
    rows_by_code, current = plan.rows_by_code, plan.current
    unchanged = set(plan.changes.unchanged)
    return outlines([r["street_code"] for r in rows_by_code.values()],
                    [r["community_code"] for r in rows_by_code.values()],
                    np.array([current[c].geom if c in unchanged else r["geom"]
                              for c, r in rows_by_code.items()], dtype=object))


def _finish(session: Session, district_code: str, report: ImportReport, now: Outlines) -> None:
    """The outlines, the import report, and the news of the change."""
    store.save_outlines(session, district_code, "community", now.communities)
    store.save_outlines(session, district_code, "street", now.streets)
    store.save_import_report(session, district_code, report.extra["import_id"],
                             report.to_dict())
    notify(session, CHANGES, f"grids:{district_code}")


def _one_name_each(pairs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """One (code, name) per code: the most frequent given name (conflicts are QA warnings)."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for code, name in pairs:
        counted = counts[code]
        if name:
            counted[name] += 1
    return sorted((code, c.most_common(1)[0][0] if c else None) for code, c in counts.items())
