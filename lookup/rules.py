"""Responsibility rules as data: `citygrid rules import FILE --district CODE`.

    a CSV   the district's responsibility list (权责清单): class → department, optionally a
            search radius for components of the class; and rows without a class that name the
            office answering for a street or town (街道代码 or 街道名称 → 属地责任单位)
    a vector file (.shp/.zip/.gpkg/.geojson)
            responsibility zones: polygon × classes → unit (a sanitation contract area, a park)

Both are versioned like grids: an import replaces the current set, and rows that change or go
are retired (valid_to), never deleted. A CSV replaces the class entries when it has a 类别代码
column and the street offices when it has a 属地责任单位 column, so either may come on its own.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from census import catalog
from gis import crs as crsmod
from gis.csvfile import read_csv
from gis.db import CHANGES, notify
from gis.errors import InputFileError
from gis.fields import load_specs, resolve_fields
from gis.geometry import problem, problem_zh, same_shape, to_multipolygon
from gis.report import ImportReport
from gis.values import text
from gis.vector import no_features, read_vector
from gis.versions import compare, retire
from grid import store as grid_store
from grid.codes import Scheme
from grid.districts import District, get_district
from grid.locks import lock_district
from lookup.offices import listed_offices
from lookup.tables import duty, rules_import, street_office, zone

RULE_FIELDS = {s.target: s for s in load_specs("lookup", "rules_fields.toml")}
LIST_TARGETS = ("kind", "class_code", "department", "radius_m", "note", "street_code",
                "street_name", "office")
ZONE_TARGETS = ("zone_code", "zone_name", "unit", "classes")
KINDS = {"部件": "component", "component": "component", "bj": "component",
         "事件": "event", "事项": "event", "event": "event", "matter": "event", "sj": "event"}
# what 类型 may say on a row naming a street's office (or nothing)
TERRITORIAL = {"属地", "属地兜底", "街道", "镇", "乡", "乡镇", "镇街", "街镇", "territorial"}
VECTOR_SUFFIXES = {".shp", ".zip", ".gpkg", ".geojson", ".json"}
_SPLIT = re.compile(r"[,，;；、\s]+")


def import_rules(session: Session, path: str | os.PathLike[str], district_code: str, *,
                 fields: dict[str, str] | None = None, crs: str | None = None,
                 encoding: str | None = None, dry_run: bool = False) -> ImportReport:
    """Import a responsibility list (CSV) or responsibility zones (vector); the caller commits."""
    lock_district(session, district_code, "rules.import")
    district = get_district(session, district_code)
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        report = _import_list(session, p, district, fields or {}, encoding, dry_run)
    elif suffix in VECTOR_SUFFIXES:
        report = _import_zones(session, p, district, fields or {}, crs, encoding, dry_run)
    else:
        raise InputFileError(f"{path}：应为 .csv 权责清单，或责任区域的矢量文件"
                             "（.shp、.zip、.gpkg、.geojson） "
                             f"({path}: expected a .csv responsibility list or a vector file of "
                             "zones: .shp, .zip, .gpkg, .geojson)")
    if not dry_run:
        notify(session, CHANGES, f"rules:{district.code}")
    return report


def _specs(targets: tuple[str, ...], required: tuple[str, ...]) -> list[Any]:
    from dataclasses import replace

    return [replace(RULE_FIELDS[t], required=t in required) for t in targets]


def _known_classes(session: Session, district: District) -> dict[tuple[str, str], str]:
    """(kind, code) → name for the district's scheme."""
    known = {("event", c): i.name
             for c, i in catalog.classes(session, district.scheme, "event").items()}
    known.update({("component", c): i.name
                  for c, i in catalog.classes(session, district.scheme, "component").items()})
    return known


class RowProblem(ValueError):
    """What is wrong with a row: a stable reason and a message naming the bad value."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def class_keys(token: str, kind: str | None, known: dict[tuple[str, str], str],
               district: District) -> list[tuple[str, str]]:
    """The (kind, code) keys a rule names. A legacy code that is both a component and an event
    class (0102 污水井盖 / 0102 暴露垃圾) must say which; a GB/T 47678 code that is both names a
    component and its 〈部件〉异常 matter alike, so it means both."""
    code = token.strip()
    if ":" in code or "：" in code:
        prefix, code = code.replace("：", ":").split(":", 1)
        kind = KINDS.get(prefix.strip().lower())
        if kind is None:
            raise RowProblem("bad_kind", f"类型 {prefix!r} 应为 部件 或 事件 "
                             f"({prefix!r} is not 部件/component or 事件/event)")
    if kind is not None:
        if (kind, code) not in known:
            raise _unknown(code, [kind], known, district)
        return [(kind, code)]
    kinds = [k for k in ("component", "event") if (k, code) in known]
    if not kinds:
        raise _unknown(code, ["component", "event"], known, district)
    if len(kinds) == 2 and district.scheme is Scheme.LEGACY:
        raise RowProblem("ambiguous_class",
                         f"{code} 既是部件类别（{known[('component', code)]}）又是事件类别"
                         f"（{known[('event', code)]}）：请写明类型 部件/事件，或写 事件:{code} "
                         f"({code} is both a component and an event class: say which)")
    return [(k, code) for k in kinds]


def _unknown(code: str, kinds: list[str], known: dict[tuple[str, str], str],
             district: District) -> RowProblem:
    """A class code not in the catalog; when it is a known code that lost its leading zeros in a
    spreadsheet (101 for 0101), the problem says so (`lost_leading_zero`)."""
    padded = district.scheme.class_with_zeros(code)
    if padded and any((k, padded) in known for k in kinds):
        return RowProblem("lost_leading_zero",
                          f"类别代码 {code} 可能丢失了前导零，应为 {padded}？"
                          "请把该列设为文本再保存 "
                          f"(class code {code} looks like {padded} without its leading zero, as a "
                          "spreadsheet saves a number: format the column as text)")
    what = f"{kinds[0]} class" if len(kinds) == 1 else "class"
    what_zh = {"component": "部件类别", "event": "事件类别"}.get(kinds[0], "类别") \
        if len(kinds) == 1 else "类别"
    return RowProblem("unknown_class", f"{what_zh} {code!r} 不在 {district.scheme.value} "
                                       f"的类别表中 ({what} {code!r} is not in the "
                                       f"{district.scheme.value} catalog)")


def _import_list(session: Session, path: Path, district: District, fields: dict[str, str],
                 encoding: str | None, dry_run: bool) -> ImportReport:
    rows, enc = read_csv(path, encoding=encoding)
    columns = list(rows[0].keys())
    mapping = resolve_fields(columns, _specs(LIST_TARGETS, ()), fields)
    if mapping["class_code"] or not mapping["office"]:
        # a list of classes (not of street offices alone): each class needs its department
        mapping = resolve_fields(columns, _specs(LIST_TARGETS, ("class_code", "department")),
                                 fields)
    report = ImportReport(kind="responsibility list", district=district.code, source=str(path),
                          encoding=enc, read=len(rows), dry_run=dry_run, mapping=mapping)
    known = _known_classes(session, district)
    streets = grid_store.names(session, district.code, "street")
    current = {(r.kind, r.class_code): r for r in session.execute(sa.select(duty).where(
        duty.c.district_code == district.code, duty.c.valid_to.is_(None)))}
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    offices: dict[str, str] = {}
    row_keys: list[list[tuple[str, str]]] = []
    for i, row in enumerate(rows, start=1):
        def get(target: str, row: dict[str, str] = row) -> str | None:
            col = mapping.get(target)
            return text(row.get(col)) if col else None

        code, dept, kind_text = get("class_code"), get("department"), get("kind")
        street_code, street_name, office = get("street_code"), get("street_name"), get("office")
        if not code and (street_code or street_name or office):
            try:
                street = _street_of(kind_text, street_code, street_name, office, streets,
                                    district)
            except RowProblem as exc:
                report.reject(i, street_code or street_name, exc.reason,
                              f"第 {i} 行：{exc.message}")
                continue
            if street in offices:
                report.reject(i, street, "duplicate",
                              f"第 {i} 行：街道 {street} 的属地责任单位重复 "
                              f"(street {street} is listed twice)")
                continue
            offices[street] = str(office)
            continue
        if street_code or street_name or office:
            report.reject(i, code, "mixed_row",
                          f"第 {i} 行：类别代码 {code} 的行又写了街道或属地责任单位："
                          "属地责任单位请单独成行、类别代码留空 (a class row names a street or an "
                          "office: name offices on rows of their own; street-specific duties "
                          "are zones)")
            continue
        kind = KINDS.get((kind_text or "").lower()) if kind_text else None
        if kind_text and kind is None:
            report.reject(i, code, "bad_kind", f"第 {i} 行：类型 {kind_text!r} 应为 部件 或 事件 "
                                                  f"(row {i}: {kind_text!r} is not 部件 or 事件)")
            continue
        try:
            keys = class_keys(code or "", kind, known, district)
        except RowProblem as exc:
            report.reject(i, code, exc.reason, f"第 {i} 行：{exc.message}")
            continue
        if not dept:
            report.reject(i, code, "missing_department", f"第 {i} 行：类别 {code} 没有责任部门 "
                                                         f"(row {i}: class {code} has no "
                                                         "department)")
            continue
        radius = get("radius_m")
        try:
            radius_m = float(radius) if radius else None
        except ValueError:
            radius_m = -1.0
        if radius_m is not None and not radius_m > 0:
            report.reject(i, code, "bad_radius", f"第 {i} 行：半径 {radius!r} 不是正的米数 "
                                                 f"(row {i}: radius {radius!r} is not a "
                                                 "positive number of metres)")
            continue
        if any(k in wanted for k in keys):
            report.reject(i, code, "duplicate", f"第 {i} 行：类别 {code} 重复 "
                                                 f"(row {i}: class {code} is listed twice)")
            continue
        for key in keys:
            wanted[key] = {"department": dept, "radius_m": radius_m, "note": get("note")}
        row_keys.append(keys)
    # a file replaces what it has columns for: class entries, street offices, or both
    changes = compare(current if mapping["class_code"] else {}, wanted, lambda old, new: (
        old.department, old.radius_m, old.note) == (
        new["department"], new["radius_m"], new["note"]))
    office_changes = compare(listed_offices(session, district.code) if mapping["office"] else {},
                             offices, lambda old, new: bool(old == new))
    # a row of the file counts once, though a GB/T 47678 code may name two (kind, code) keys
    for keys in row_keys:
        states = {changes.state(key) for key in keys}
        if states == {"new"}:
            report.imported += 1
        elif states == {"unchanged"}:
            report.unchanged += 1
        else:
            report.updated += 1
    office_changes.count(report)
    report.extra["retired"] = len(changes.gone) + len(office_changes.gone)
    if dry_run:
        return report
    at = grid_store.transaction_clock(session)
    import_id = _new_import(session, district, "list", str(path))
    retire(session, duty, district.code, ["kind", "class_code"], changes.to_retire, at)
    if changes.to_write:
        session.execute(sa.insert(duty), [
            {"district_code": district.code, "kind": k, "class_code": c, "valid_from": at,
             "import_id": import_id, **wanted[(k, c)]} for k, c in changes.to_write])
    retire(session, street_office, district.code, ["street_code"], office_changes.to_retire, at)
    if office_changes.to_write:
        session.execute(sa.insert(street_office), [
            {"district_code": district.code, "street_code": c, "valid_from": at,
             "office": offices[c], "import_id": import_id} for c in office_changes.to_write])
    _save_report(session, district, import_id, report)
    return report


def _street_of(kind_text: str | None, code: str | None, name: str | None, office: str | None,
               streets: dict[str, str | None], district: District) -> str:
    """The street a row naming an office is for, by its code or else its name (梅渚 and 梅渚镇
    are one street); raises RowProblem."""
    def stem(n: str) -> str:
        return next((n[:-len(s)] for s in ("街道", "镇", "乡") if n.endswith(s) and n != s), n)

    if kind_text and kind_text.lower() not in TERRITORIAL:
        raise RowProblem("bad_kind", f"类型 {kind_text!r} 的行要有类别代码；"
                                     f"属地责任单位的行类型留空或写“属地” (a {kind_text} row "
                                     "needs a class code)")
    if not office:
        raise RowProblem("missing_office", f"街道 {code or name} 没有属地责任单位 "
                                           "(the row names a street but no office)")
    if code:
        if code[:6] != district.code:
            raise RowProblem("wrong_district", f"街道代码 {code} 不属于 {district.code} "
                                               f"(street {code} belongs to district {code[:6]})")
        if code not in streets:
            raise RowProblem("unknown_street", f"街道代码 {code} 不是本区县已知的街道（乡镇），"
                                               f"请先导入网格或街道边界 (no street {code} in the "
                                               "district)")
        known_name = streets[code]
        if name and known_name and stem(name) != stem(known_name):
            raise RowProblem("street_mismatch", f"街道代码 {code} 是{known_name}，不是{name} "
                                                f"(street {code} is {known_name}, not {name})")
        return code
    assert name is not None
    found = [c for c, n in streets.items() if n == name] or \
        [c for c, n in streets.items() if n and stem(n) == stem(name)]
    if len(found) != 1:
        reason = "ambiguous_street" if found else "unknown_street"
        raise RowProblem(reason, f"街道名称 {name} 对应{len(found)}个街道（乡镇），请写街道代码 "
                                 f"(street name {name} matches {len(found)} streets: give its "
                                 "code)")
    return found[0]


def _import_zones(session: Session, path: Path, district: District, fields: dict[str, str],
                  crs: str | None, encoding: str | None, dry_run: bool) -> ImportReport:
    layer = read_vector(path, crs=crs, encoding=encoding)
    if len(layer) == 0:
        raise no_features(layer.source)
    mapping = resolve_fields(layer.columns, _specs(ZONE_TARGETS, ("unit",)), fields)
    if not mapping.get("zone_code") and not mapping.get("zone_name"):
        raise InputFileError(f"{layer.source}：责任区域需要编码或名称字段（区域编码 或 区域名称），"
                             f"文件中的字段为 {'、'.join(layer.columns)} "
                             f"({layer.source}: zones need a code or a name field, 区域编码 or "
                             f"区域名称; the file has {', '.join(layer.columns)})")
    report = ImportReport(kind="responsibility zones", district=district.code,
                          source=layer.source, crs=f"{layer.report_crs()} ({layer.crs_from})",
                          encoding=layer.report_encoding(), read=len(layer), dry_run=dry_run,
                          mapping=mapping)
    known = _known_classes(session, district)
    storage = crsmod.reproject(layer.geometry, layer.crs, crsmod.STORAGE_CRS)
    target = district.projected_crs() or crsmod.gk3_crs_for_lon(118.0)
    projected = crsmod.reproject(layer.geometry, layer.crs, target)
    records = layer.frame.to_dict("records")

    def get(row: dict[str, Any], t: str) -> str | None:
        col = mapping.get(t)
        return text(row.get(col)) if col else None

    current = {r.code: r for r in session.execute(
        sa.select(zone.c.code, zone.c.name, zone.c.unit, zone.c.classes,
                  sa.func.ST_AsBinary(zone.c.geom).label("wkb")).where(
            zone.c.district_code == district.code, zone.c.valid_to.is_(None)))}
    wanted: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(records):
        i = layer.fid(n)           # the feature id QGIS shows
        code = get(row, "zone_code") or get(row, "zone_name")
        name = get(row, "zone_name") or code
        unit = get(row, "unit")
        why = problem(storage[n])
        if why is not None:
            report.reject(i, code, "null_geometry" if why == "no geometry" else
                          "invalid_geometry", f"要素 {i}：区域 {code} {problem_zh(why)} "
                          f"(feature {i}: zone {code}: {why})")
            continue
        if not unit:
            report.reject(i, code, "missing_unit", f"要素 {i}：区域 {code} 没有责任单位 "
                                                   f"(feature {i}: zone {code} has no unit)")
            continue
        try:
            classes = [f"{k}:{c}" for token in _SPLIT.split(get(row, "classes") or "") if token
                       for k, c in class_keys(token, None, known, district)]
        except RowProblem as exc:
            report.reject(i, code, exc.reason, f"要素 {i}：区域 {code}：{exc.message}")
            continue
        if code in wanted:
            report.reject(i, code, "duplicate", f"要素 {i}：区域 {code} 重复 "
                                                 f"(feature {i}: zone {code} appears twice)")
            continue
        wanted[str(code)] = {"name": name, "unit": unit, "classes": sorted(classes),
                             "geom": to_multipolygon(storage[n]),
                             "area_m2": float(shapely.area(projected[n]))}
    changes = compare(current, wanted, lambda old, new: (
        old.name, old.unit, sorted(old.classes)) == (new["name"], new["unit"], new["classes"])
        and same_shape(shapely.from_wkb(bytes(old.wkb)), new["geom"]))
    changes.count(report)
    report.extra["retired"] = len(changes.gone)
    if dry_run:
        return report
    at = grid_store.transaction_clock(session)
    import_id = _new_import(session, district, "zones", layer.source)
    retire(session, zone, district.code, ["code"], changes.to_retire, at)
    for code in changes.to_write:
        z = wanted[code]
        session.execute(sa.insert(zone).values(
            district_code=district.code, code=code, valid_from=at, name=z["name"],
            unit=z["unit"], classes=z["classes"], area_m2=z["area_m2"], import_id=import_id,
            geom=sa.func.ST_GeomFromWKB(shapely.to_wkb(z["geom"]), 4490)))
    _save_report(session, district, import_id, report)
    return report


def _new_import(session: Session, district: District, kind: str, source: str) -> int:
    return session.execute(sa.insert(rules_import).values(
        district_code=district.code, kind=kind, source=source, report={})
        .returning(rules_import.c.id)).scalar_one()


def _save_report(session: Session, district: District, import_id: int,
                 report: ImportReport) -> None:
    session.execute(sa.update(rules_import).where(
        rules_import.c.district_code == district.code, rules_import.c.id == import_id)
        .values(report=report.to_dict()))


def current_duties(session: Session,
                   district_code: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, code) → department, radius, note."""
    rows = session.execute(sa.select(duty).where(duty.c.district_code == district_code,
                                                 duty.c.valid_to.is_(None)))
    return {(r.kind, r.class_code): {"department": r.department, "radius_m": r.radius_m,
                                     "note": r.note} for r in rows}


def current_zones(session: Session, district_code: str) -> list[dict[str, Any]]:
    rows = session.execute(sa.select(
        zone.c.code, zone.c.name, zone.c.unit, zone.c.classes, zone.c.area_m2,
        sa.func.ST_AsBinary(zone.c.geom).label("wkb")).where(
        zone.c.district_code == district_code, zone.c.valid_to.is_(None))
        .order_by(zone.c.area_m2, zone.c.code))
    return [{"code": r.code, "name": r.name, "unit": r.unit, "classes": list(r.classes),
             "area_m2": r.area_m2, "geom": shapely.from_wkb(bytes(r.wkb))} for r in rows]

