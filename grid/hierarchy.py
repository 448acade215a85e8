"""Streets (街道/乡镇, 9-character codes) and communities (社区/村, 12) with their own
boundaries, for counties that deliver them. Without such files, streets and communities are
known from the grid codes and name fields alone (see `grid.importer`).

A street file may also say what each street is (类型: 街道, 镇 or 乡) and name the office that
answers for it (属地责任单位: 梅渚镇人民政府); both are the file's, replaced by the next file, and
read by the territorial fallback of lookups (`lookup.offices`)."""

from __future__ import annotations

import os
from collections.abc import Mapping

import shapely
from sqlalchemy.orm import Session

from gis import crs as crsmod
from gis.db import CHANGES, notify
from gis.errors import BadInput
from gis.fields import load_specs, resolve_fields
from gis.geometry import problem, problem_zh, same_shape, to_multipolygon
from gis.report import ImportReport
from gis.values import text_values
from gis.vector import no_features, read_vector
from gis.versions import compare
from grid import store
from grid.districts import get_district
from grid.locks import lock_district
from grid.qa import LEVEL_ZH

BOUNDARY_FIELDS = load_specs("grid", "boundary_fields.toml")
LEVEL_DIGITS = {"street": 9, "community": 12}
STREET_ONLY = ("kind", "office")
# what a 类型 column says → 街道 | 镇 | 乡 (乡镇 says neither, so it is not here)
STREET_KINDS = {"街道": "街道", "街道办事处": "街道", "街办": "街道", "subdistrict": "街道",
                "street": "街道", "镇": "镇", "建制镇": "镇", "town": "镇", "乡": "乡",
                "民族乡": "乡", "township": "乡"}


def street_kind(value: str | None) -> str | None:
    """街道, 镇 or 乡 from what a 类型 cell says (None: empty or not one of them)."""
    return STREET_KINDS.get((value or "").strip().lower())


def import_boundaries(session: Session, path: str | os.PathLike[str], district_code: str,
                      level: str, *, crs: str | None = None, encoding: str | None = None,
                      fields: Mapping[str, str] | None = None,
                      dry_run: bool = False) -> ImportReport:
    """Import street or community boundaries; the caller commits."""
    if level not in LEVEL_DIGITS:
        raise BadInput(f"未知的层级 {level!r}，应为 street 或 community "
                       f"(unknown level {level!r}: street or community)")
    lock_district(session, district_code, f"import.{level}")
    district = get_district(session, district_code)
    layer = read_vector(path, crs=crs, encoding=encoding)
    if len(layer) == 0:
        raise no_features(layer.source)
    specs = [s for s in BOUNDARY_FIELDS if level == "street" or s.target not in STREET_ONLY]
    mapping = resolve_fields(layer.columns, specs, fields)
    report = ImportReport(kind=f"{level} boundaries", district=district.code,
                          source=layer.source, crs=f"{layer.report_crs()} ({layer.crs_from})",
                          encoding=layer.report_encoding(), read=len(layer), dry_run=dry_run,
                          mapping=mapping)
    storage = crsmod.reproject(layer.geometry, layer.crs, crsmod.STORAGE_CRS)
    codes = text_values(layer.table.column(mapping["code"]))
    names, kinds, offices = (
        text_values(layer.table.column(col)) if col else [None] * len(layer)
        for col in (mapping.get("name"), mapping.get("kind"), mapping.get("office")))
    digits = LEVEL_DIGITS[level]
    known = store.boundaries(session, district.code, level)
    known_names = store.names(session, district.code, level)
    stored = store.streets(session, district.code) if level == "street" else {}
    wanted: dict[str, tuple[str | None, shapely.Geometry, str | None, str | None]] = {}
    not_understood: set[str] = set()
    first: dict[str, int] = {}             # code → the feature it first appeared in
    zh = LEVEL_ZH[level]
    for i, code in enumerate(codes):
        row = layer.fid(i)
        if not code or len(code) != digits or not code[:6].isdigit():
            report.reject(row, code, "bad_code", f"要素 {row}：{zh}代码 {code!r} 不是 {digits} 位 "
                          f"(feature {row}: {level} code {code!r} is not {digits} characters)")
            continue
        if code[:6] != district.code:
            report.reject(row, code, "wrong_district",
                          f"要素 {row}：{zh} {code} 属于区县 {code[:6]}，不是 {district.code} "
                          f"(feature {row}: {level} {code} belongs to district {code[:6]})")
            continue
        if code in wanted:
            report.reject(row, code, "duplicate", f"要素 {row}：{zh}代码 {code} 与要素 "
                          f"{first[code]} 重复 (feature {row}: {code} repeats feature "
                          f"{first[code]})", first[code])
            continue
        why = problem(storage[i])
        if why is not None:
            reason = "null_geometry" if why == "no geometry" else "invalid_geometry"
            report.reject(row, code, reason, f"要素 {row}：{zh} {code} {problem_zh(why)} "
                                             f"(feature {row}: {code}: {why})")
            continue
        first[code] = row
        kind = street_kind(kinds[i])
        if kinds[i] and kind is None:
            not_understood.add(str(kinds[i]))
        wanted[code] = (names[i], to_multipolygon(storage[i]), kind, offices[i])
    if not_understood:
        report.extra["kinds_not_understood"] = sorted(not_understood)
    # a street or community known only from grid codes (no boundary yet) gets one: changed
    own = {code: (s.kind, s.office) for code, s in stored.items()}    # streets only
    current = {code: (name, known.get(code), *own.get(code, (None, None)))
               for code, name in known_names.items()}
    changes = compare(current, wanted, lambda old, new: old[1] is not None and (
        new[0] is None or new[0] == old[0]) and same_shape(old[1], new[1])
        and old[2:] == new[2:])
    changes.count(report)
    if not dry_run:
        for code in changes.to_write:
            name, geom, kind, office = wanted[code]
            store.set_boundary(session, district.code, level, code, name, geom, kind=kind,
                               office=office)
    if not dry_run and changes.to_write:
        # running servers reload the district (street and community names, offices)
        notify(session, CHANGES, f"{level}s:{district.code}")
    return report
