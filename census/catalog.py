"""The class catalog (部件/事件 classes of both code generations), the legacy→GB/T 47678 class
mapping and the status code table: data shipped in `census/catalog/`, loaded into tables.

National rows come from the package and are refreshed on every migration, except rows a city has
replaced with its official copy (`citygrid catalog add FILE --official`). Local extension classes
are added with `citygrid catalog add FILE`; they never pass for national ones.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from census.tables import class_catalog, class_mapping, component_status
from gis.csvfile import read_csv
from gis.errors import BadInput
from gis.report import ImportReport
from grid.codes import Scheme

OFFICIAL_PREFIX = "official copy"
KINDS = ("component", "event")


class UnknownClass(BadInput):
    code = "unknown_class"


@dataclass(frozen=True)
class ClassInfo:
    scheme: str
    kind: str
    code: str
    name: str
    major_code: str
    major_name: str | None
    national: bool
    standard: str


def _package_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("census").joinpath("catalog", name).read_text("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def sync_reference_data(conn: Connection | Session) -> None:
    """Load the shipped national catalog, mapping and statuses (idempotent)."""
    rows = [{**r, "national": True} for r in _package_csv("classes.csv")]
    stmt = insert(class_catalog).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[class_catalog.c.scheme, class_catalog.c.kind, class_catalog.c.code],
        set_={c: stmt.excluded[c] for c in ("major_code", "major_name", "name", "name_en",
                                            "standard", "provenance", "national")},
        # a city's official copy, or its local class of the same code, stays as the city set it
        where=sa.and_(class_catalog.c.national,
                      ~class_catalog.c.provenance.startswith(OFFICIAL_PREFIX)))
    conn.execute(stmt)
    mapping = _package_csv("legacy_to_gb47678.csv")
    conn.execute(sa.delete(class_mapping))
    conn.execute(sa.insert(class_mapping), [
        {"legacy_code": m["legacy_code"], "gb47678_code": m["gb47678_code"],
         "basis": m["basis"]} for m in mapping])
    statuses = [{"code": s["code"], "in_service": s["in_service"] == "true",
                 "sort": int(s["sort"]), "note": s["note"]} for s in _package_csv("statuses.csv")]
    st = insert(component_status).values(statuses)
    conn.execute(st.on_conflict_do_update(
        index_elements=[component_status.c.code],
        set_={"in_service": st.excluded.in_service, "sort": st.excluded.sort,
              "note": st.excluded.note}))


def classes(session: Session, scheme: Scheme | str, kind: str = "component"
            ) -> dict[str, ClassInfo]:
    """All classes of a scheme and kind, by code."""
    s = Scheme(scheme) if not isinstance(scheme, Scheme) else scheme
    rows = session.execute(sa.select(class_catalog).where(
        class_catalog.c.scheme == s.value, class_catalog.c.kind == kind))
    return {r.code: ClassInfo(r.scheme, r.kind, r.code, r.name, r.major_code, r.major_name,
                              r.national, r.standard) for r in rows}


def get_class(session: Session, scheme: Scheme | str, code: str,
              kind: str | None = None) -> ClassInfo:
    """One class; with kind None, a component class is preferred over an event of that code."""
    for k in ([kind] if kind else list(KINDS)):
        found = classes(session, scheme, k).get(code)
        if found:
            return found
    s = Scheme(scheme) if not isinstance(scheme, Scheme) else scheme
    kind_zh = {"component": "部件", "event": "事件"}.get(kind or "", "")
    raise UnknownClass(f"类别 {code!r} 不在 {s.value} {kind_zh}分类代码表中 "
                       f"(class {code!r} is not in the {s.value} catalog"
                       + (f" of {kind} classes)" if kind else ")"))


def all_classes(session: Session, *, scheme: str | None = None,
                kind: str | None = None) -> list[dict[str, Any]]:
    stmt = sa.select(class_catalog).order_by(class_catalog.c.scheme, class_catalog.c.kind,
                                             class_catalog.c.code)
    if scheme:
        stmt = stmt.where(class_catalog.c.scheme == scheme)
    if kind:
        stmt = stmt.where(class_catalog.c.kind == kind)
    return [dict(r._mapping) for r in session.execute(stmt)]


def statuses(session: Session) -> dict[str, bool]:
    return dict(session.execute(sa.select(component_status.c.code,
                                          component_status.c.in_service)).all())


def mapping_to_gb47678(session: Session) -> dict[str, tuple[str, str]]:
    rows = session.execute(sa.select(class_mapping))
    return {r.legacy_code: (r.gb47678_code, r.basis) for r in rows}


REQUIRED = ("scheme", "kind", "code", "name")


def add_catalog_file(session: Session, path: str | os.PathLike[str], *,
                     official: bool = False) -> ImportReport:
    """Load local extension classes, or (official=True) a city's official copy of national ones.

    CSV (UTF-8) with columns scheme, kind, code, name and optionally major_code, major_name,
    name_en, standard. Every row ends imported, updated, unchanged or rejected.
    """
    p = Path(path)
    rows, encoding = read_csv(p, required=REQUIRED)
    report = ImportReport(kind="catalog", district="*", source=str(path), encoding=encoding)
    existing = {(r.scheme, r.kind, r.code): r for r in session.execute(sa.select(class_catalog))}
    provenance = (f"{OFFICIAL_PREFIX} loaded from {p.name}" if official
                  else f"local extension loaded from {p.name}")
    seen: set[tuple[str, str, str]] = set()
    for i, raw in enumerate(rows, start=1):
        report.read += 1
        row = {k: v.strip() for k, v in raw.items() if k}
        scheme, kind, code, name = (row.get(c, "") for c in REQUIRED)
        problem = _row_problem(scheme, kind, code, name)
        if problem:
            report.reject(i, code or None, problem[0], f"第 {i} 行：{problem[1]}")
            continue
        key = (scheme, kind, code)
        if key in seen:
            report.reject(i, code, "duplicate", f"第 {i} 行：{scheme} {kind} {code} 重复 "
                                                 f"(row {i}: {scheme} {kind} {code} repeated)")
            continue
        seen.add(key)
        old = existing.get(key)
        if old is not None and old.national and not official:
            report.reject(i, code, "national_class",
                          f"第 {i} 行：{scheme} {kind} {code} 是国家标准类别（{old.name}）："
                          "正式文本请用 --official 导入，本地类别请用本地代码 "
                          f"(row {i}: {code} is a national class; load an official copy with "
                          "--official, or use a local code)")
            continue
        if old is None and official:
            report.reject(i, code, "unknown_class",
                          f"第 {i} 行：{scheme} {kind} {code} 不在国家类别表中："
                          "--official 只替换国家类别，本地类别导入时不加 --official "
                          f"(row {i}: {code} is not in the national catalog; local classes go "
                          "without --official)")
            continue
        values: dict[str, Any] = {
            "scheme": scheme, "kind": kind, "code": code, "name": name,
            "major_code": row.get("major_code") or code[:2],
            "major_name": row.get("major_name") or (old.major_name if old else None),
            "name_en": row.get("name_en") or (old.name_en if old else None),
            "standard": row.get("standard") or (old.standard if official and old else "local"),
            "provenance": provenance, "national": bool(official)}
        if values["major_code"] != code[:2]:
            report.reject(i, code, "bad_code", f"第 {i} 行：大类代码 {values['major_code']} "
                                               f"不是 {code} 的前两位 (row {i}: major_code "
                                               f"{values['major_code']} is not the first two "
                                               f"digits of {code})")
            continue
        if old is not None and all(getattr(old, k) == v for k, v in values.items()
                                   if k != "provenance"):
            report.unchanged += 1
            continue
        stmt = insert(class_catalog).values(**values)
        session.execute(stmt.on_conflict_do_update(
            index_elements=[class_catalog.c.scheme, class_catalog.c.kind, class_catalog.c.code],
            set_={**{k: stmt.excluded[k] for k in values if k not in ("scheme", "kind",
                                                                        "code")},
                  "loaded_at": sa.func.now()}))
        if old is None:
            report.imported += 1
        else:
            report.updated += 1
    return report


def _row_problem(scheme: str, kind: str, code: str, name: str) -> tuple[str, str] | None:
    if scheme not in ("legacy", "gb47678"):
        return "bad_scheme", (f"编码标准 {scheme!r} 应为 legacy 或 gb47678 "
                              f"(scheme {scheme!r} is not legacy or gb47678)")
    if kind not in KINDS:
        return "bad_kind", (f"类型 {kind!r} 应为 component（部件）或 event（事件） "
                            f"(kind {kind!r} is not component or event)")
    digits = Scheme(scheme).class_digits
    if len(code) != digits or not (code.isascii() and code.isdigit()):
        return "bad_code", (f"类别代码 {code!r} 不是 {digits} 位数字（{scheme}） "
                            f"(class code {code!r} is not {digits} digits, {scheme})")
    if not name:
        return "missing_name", f"类别 {code} 没有名称 (class {code} has no name)"
    return None
