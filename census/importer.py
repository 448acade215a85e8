"""Census import: a component file into the district's census, in one transaction.

Every row ends imported, updated, unchanged or rejected with a reason:

    null_geometry, lost_digits (a code that came as a float too big to be exact, or in a
    spreadsheet's scientific notation), bad_code, wrong_district, unknown_class, class_mismatch,
    invalid_geometry, unknown_status, bad_date, duplicate (a later occurrence of a code),
    outside (in no grid of the district: often swapped X/Y or a wrong CRS)

The work is column-wise (Arrow arrays, numpy, one pass of points against grids) so a million take
seconds, and the database sees one COPY into a staging table and one set-based merge
(`census/sql/`). Nothing is written on a dry run (the caller rolls back) or on failure.
"""

from __future__ import annotations

import binascii
import io
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import shapely
import sqlalchemy as sa
from sqlalchemy.orm import Session

from census import catalog, organisations, partitions, profiles, quality
from census.codes import check_codes
from census.messages import message
from census.tables import census_import
from gis import columns
from gis import crs as crsmod
from gis.db import CHANGES, notify
from gis.errors import BadInput
from gis.fields import FieldMappingError, load_specs, resolve_fields
from gis.geometry import points_in
from gis.report import ImportReport
from gis.sql import statement
from gis.vector import VectorLayer, no_features, read_vector
from grid import store as grid_store
from grid.districts import District, get_district
from grid.locks import lock_district

COMPONENT_FIELDS = load_specs("census", "fields.toml")
PROFILE_KIND = "components"
COPY_ROWS = 50_000
MAX_EXAMPLES = 20

# Fields that hold codes: a row whose code lost digits on the way in is rejected, not stored.
CODE_TARGETS = ("code", "class_code", "grid_code", "dept_code", "owner_code", "maintainer_code")

# Geometry type ids (shapely.get_type_id) a component may have.
POINTS, LINES, POLYGONS = {0, 4}, {1, 2, 5}, {3, 6}

Progress = Callable[[str, int, int], None]
# the rows in storage CRS: shapely geometries, or x and y of a layer of points (VectorLayer.xy)
Storage = np.ndarray | tuple[np.ndarray, np.ndarray]


class NoGrids(BadInput):
    code = "no_grids"


def _is_none(values: np.ndarray) -> np.ndarray:
    # (numpy compares an object array with None element by element, with `is` first)
    return np.asarray(values == None, dtype=bool)  # noqa: E711


@dataclass(frozen=True)
class ComponentImportOptions:
    crs: str | None = None
    encoding: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    profile: str | None = None
    save_profile: str | None = None
    dry_run: bool = False
    retire_missing: bool = False


@dataclass
class _Rows:
    """The file's rows, with the reason each rejected row is rejected (first that applies)."""

    n: int
    reason: np.ndarray                    # object: None = importable so far
    detail: dict[int, str] = field(default_factory=dict)   # row index → extra message text
    clash: dict[int, int] = field(default_factory=dict)    # a duplicate → the row it repeats
    pending: np.ndarray = field(init=False)                # bool: no reason yet

    def __post_init__(self) -> None:
        self.pending = np.ones(self.n, dtype=bool)

    def flag(self, mask: np.ndarray, reason: str) -> None:
        hit = np.asarray(mask, dtype=bool) & self.pending
        self.reason[hit] = reason
        self.pending &= ~hit


def import_components(session: Session, path: str | os.PathLike[str], district_code: str,
                      options: ComponentImportOptions | None = None,
                      progress: Progress | None = None,
                      reading: Future[VectorLayer] | None = None) -> ImportReport:
    """Import a census file into a district. The caller commits (or rolls back a dry run).
    `reading`: `read_vector(path, crs=options.crs, encoding=options.encoding)` already started
    by the caller (`citygrid import components` starts it before it imports this module)."""
    opts = options or ComponentImportOptions()
    step = progress or (lambda stage, done, total: None)
    # The file is read on a second thread while the district is locked and its grids loaded
    # (numpy and Arrow there, mostly the database's time here: bench/census_import.py).
    with ThreadPoolExecutor(max_workers=1) as pool:
        if reading is None:
            reading = pool.submit(read_vector, path, crs=opts.crs, encoding=opts.encoding)
        lock_district(session, district_code, "import.components")
        first = partitions.hold_first_load(
            session, district_code, lambda: step("waiting for another first census", 0, 1))
        district = get_district(session, district_code)
        grids = grid_store.current_grids(session, district.code)
        if not grids:
            raise NoGrids(f"区县 {district.code} 尚无单元网格，请先导入网格"
                          f"（citygrid import grids PATH --district {district.code}） "
                          f"(district {district.code} has no grids yet; import its grids "
                          "first)")
        step("reading", 0, 1)
        layer = reading.result()
    if len(layer) == 0:
        raise no_features(layer.source)
    mapping = _mapping(session, layer, opts)
    report = ImportReport(kind="components", district=district.code, source=layer.source,
                          crs=f"{layer.report_crs()} ({layer.crs_from})",
                          encoding=layer.report_encoding(), read=len(layer),
                          dry_run=opts.dry_run, mapping=mapping)
    if opts.profile:
        report.extra["profile"] = opts.profile

    step("checking", 0, len(layer))
    rows, values = _check(session, district, layer, mapping)
    report.extra["quality"] = quality.measure(
        values, mapping, len(layer), catalog.classes(session, district.scheme, "component"),
        session.execute(sa.select(sa.func.current_date())).scalar_one(), layer.fid)
    step("assigning grids", 0, len(layer))
    storage, grid_codes = _assign_grids(rows, layer, grids)
    keep = np.flatnonzero(rows.pending)
    _cross_check_grids(report, values.get("grid_code"), grid_codes, keep, layer)
    _duplicates(rows, values["code"])
    keep = np.flatnonzero(rows.pending)

    step("organisations", 0, len(keep))
    org_ids = _organisations(session, district, values, keep, report)

    for i in np.flatnonzero(~rows.pending):
        code = values["code"][i].as_py()
        earlier = rows.clash.get(int(i))
        clash = None if earlier is None else layer.fid(earlier)
        report.reject(layer.fid(int(i)), code, str(rows.reason[i]),
                      message(str(rows.reason[i]), int(i), values, rows.detail.get(int(i)),
                              clash, district, layer.fid(int(i))), clash)

    if opts.save_profile and not opts.dry_run:
        profiles.save(session, opts.save_profile, PROFILE_KIND, mapping)
        report.extra["saved_profile"] = opts.save_profile

    import_id = session.execute(sa.insert(census_import).values(
        district_code=district.code, source=layer.source, report={})
        .returning(census_import.c.id)).scalar_one()
    fresh = first and bool(len(keep)) and partitions.can_load_fresh(session, district.code)
    if fresh:
        # A first census: straight into a table of its own, indexed and attached afterwards.
        target = partitions.create_load_table(session, district.code)
        staged = _copy(session, layer, values, keep, storage, grid_codes, org_ids, mapping,
                       step, target, {"district_code": columns.literal(district.code),
                                             "import_id": pa.scalar(import_id, pa.int64())})
        step("merging", 0, staged)
        partitions.finish_load(session, district.code)
        report.imported = staged
        report.extra["loaded"] = "fresh partition"
    else:
        _new_stage(session)
        staged = _copy(session, layer, values, keep, storage, grid_codes, org_ids, mapping,
                       step, "component_stage", {})
        step("merging", 0, staged)
        inserted, updated = session.execute(
            statement("census", "merge_components"),
            {"district": district.code, "import_id": import_id}).one()
        report.imported, report.updated = int(inserted), int(updated)
    report.unchanged = staged - report.imported - report.updated
    if opts.retire_missing:
        result = session.execute(statement("census", "retire_missing"), {
            "district": district.code,
            "reason": f"absent from the re-survey {layer.source}"})
        retired = result.rowcount  # type: ignore[attr-defined]
        report.extra["retired"] = int(retired)
    session.execute(sa.text("DROP TABLE IF EXISTS component_stage"))
    report.extra["import_id"] = import_id
    assert report.balanced(), report.summary()
    session.execute(sa.update(census_import).where(
        census_import.c.district_code == district.code, census_import.c.id == import_id)
        .values(report=report.to_dict()))
    notify(session, CHANGES, f"components:{district.code}")
    step("done", staged, staged)
    return report


# -- mapping -----------------------------------------------------------------------------------


def _mapping(session: Session, layer: VectorLayer,
             opts: ComponentImportOptions) -> dict[str, str | None]:
    overrides: dict[str, str] = {}
    if opts.profile:
        saved = profiles.load(session, opts.profile, PROFILE_KIND)
        missing = {t: s for t, s in saved.items() if t not in opts.fields
                   and s not in layer.columns}
        if missing:
            target, source = next(iter(missing.items()))
            raise FieldMappingError(
                f"字段映射方案 {opts.profile!r} 把 {target} 对应到字段 {source!r}，但 "
                f"{layer.source} 中没有该字段（文件中有 {'、'.join(layer.columns)}）；"
                f"请用 --field {target}=字段名 覆盖 "
                f"(profile {opts.profile!r} maps {target} to field {source!r}, which "
                f"{layer.source} does not have; override with --field {target}=FIELD)")
        overrides.update(saved)
    overrides.update(opts.fields)
    return resolve_fields(layer.columns, COMPONENT_FIELDS, overrides)


# -- checks ------------------------------------------------------------------------------------


def _column(layer: VectorLayer, mapping: Mapping[str, str | None], target: str) -> pa.Array:
    source = mapping.get(target)
    if source is None:
        return pa.nulls(len(layer), pa.string())
    return columns.text(layer.table.column(source))


def _check(session: Session, district: District, layer: VectorLayer,
           mapping: Mapping[str, str | None]) -> tuple[_Rows, dict[str, Any]]:
    n = len(layer)
    rows = _Rows(n=n, reason=np.full(n, None, dtype=object))
    values: dict[str, Any] = {t: _column(layer, mapping, t) for t in
                              ("code", "class_code", "name", "dept_code", "dept_name",
                               "owner_code", "owner_name", "maintainer_code", "maintainer_name",
                               "grid_code", "status", "data_source", "note")}
    if layer.xy is None:
        rows.flag(shapely.is_missing(layer.geometry), "null_geometry")
    for target in CODE_TARGETS:
        source = mapping.get(target)
        if source is None:
            continue
        lost = columns.lost_digits(layer.table.column(source), values.get(target))
        for i in np.flatnonzero(lost & rows.pending):
            rows.detail[int(i)] = f"{source} {values[target][int(i)].as_py()}"
        rows.flag(lost, "lost_digits")

    known = catalog.classes(session, district.scheme, "component")
    check = check_codes(values["code"], scheme=district.scheme, district=district.code,
                        known_classes=set(known))
    for reason in ("bad_code", "wrong_district", "unknown_class"):
        rows.flag(np.equal(check.reason, reason), reason)
    values["class"] = check.class_code

    if mapping.get("class_code"):
        # A class field kept as a number (101 for 0101, as a spreadsheet or a numeric DBF field
        # saves it) names the same class: the 标识码 is what counts, its class is not refused.
        given = pc.utf8_lpad(values["class_code"], width=district.scheme.class_digits,
                             padding="0")
        mismatch = pc.fill_null(pc.not_equal(given, check.class_code), False)
        rows.flag(columns.as_numpy(mismatch), "class_mismatch")

    if layer.xy is None:        # (points with finite coordinates are present and valid)
        _check_geometries(rows, layer.geometry)

    known_status = set(catalog.statuses(session))
    status = values["status"]
    unknown = pc.fill_null(pc.invert(pc.is_in(status, value_set=pa.array(
        sorted(known_status), pa.string()))), False)
    unknown = pc.and_(unknown, pc.is_valid(status))
    rows.flag(columns.as_numpy(unknown), "unknown_status")

    for target in ("initial_date", "change_date"):
        source = mapping.get(target)
        if source is None:
            values[target] = pa.nulls(n, pa.date32())
            continue
        parsed, bad = columns.dates(layer.table.column(source))
        values[target] = parsed
        for i in np.flatnonzero(bad & rows.pending):
            rows.detail[int(i)] = f"{source} {layer.table.column(source)[int(i)].as_py()!r}"
        rows.flag(bad, "bad_date")

    # the class name stands in for a missing component name
    names = [known[c].name if c in known else None
             for c in check.class_code.to_pylist()] if pc.any(
        pc.is_null(values["name"])).as_py() else None
    if names is not None:
        values["name"] = pc.coalesce(values["name"], pa.array(names, pa.string()))
    return rows, values


def _check_geometries(rows: _Rows, geoms: np.ndarray) -> None:
    kinds = shapely.get_type_id(geoms)
    supported = np.isin(kinds, list(POINTS | LINES | POLYGONS))
    present = ~shapely.is_missing(geoms)
    valid = np.zeros(rows.n, dtype=bool)
    valid[present] = shapely.is_valid(geoms[present])
    bad_geom = present & (~supported | ~valid)
    for i in np.flatnonzero(bad_geom & rows.pending):
        g = geoms[i]
        rows.detail[int(i)] = (f"is a {g.geom_type}" if kinds[i] not in POINTS | LINES | POLYGONS
                               else str(shapely.is_valid_reason(g)))
    rows.flag(bad_geom, "invalid_geometry")


def _assign_grids(rows: _Rows, layer: VectorLayer,
                  grids: list[grid_store.StoredGrid]) -> tuple[Storage, np.ndarray]:
    """The rows in storage CRS, and the grid code of each row (None where outside every grid).

    A point on the edge between grids goes to the lowest code, so the answer is stable; lines
    and polygons are placed by a point on their surface.
    """
    storage: Storage
    n = rows.n
    codes = np.full(n, None, dtype=object)
    candidates = np.flatnonzero(rows.pending)
    if layer.xy is not None:    # points: reprojected and placed as coordinates, no geometries
        x, y = crsmod.reproject_xy(*layer.xy, layer.crs, crsmod.STORAGE_CRS)
        storage = (x, y)
        ax, ay = x[candidates], y[candidates]
    else:
        storage = crsmod.reproject(layer.geometry, layer.crs, crsmod.STORAGE_CRS)
        geoms = storage[candidates]
        anchors = geoms.copy()
        others = shapely.get_type_id(geoms) != 0
        if others.any():
            anchors[others] = shapely.point_on_surface(geoms[others])
        ax, ay = shapely.get_x(anchors), shapely.get_y(anchors)
    if not len(candidates):
        return storage, codes
    grid_geoms = np.array([g.geom for g in grids], dtype=object)
    grid_codes = np.array([g.code for g in grids], dtype=object)   # sorted by code
    hit_row, hit_grid = points_in(grid_geoms, ax, ay)
    order = np.lexsort((hit_grid, hit_row))
    hit_row, hit_grid = hit_row[order], hit_grid[order]
    first = np.unique(hit_row, return_index=True)[1]
    codes[candidates[hit_row[first]]] = grid_codes[hit_grid[first]]
    rows.flag(_is_none(codes), "outside")
    return storage, codes


def _cross_check_grids(report: ImportReport, given: pa.Array | None, assigned: np.ndarray,
                       keep: np.ndarray, layer: VectorLayer) -> None:
    """The file's own grid field against the spatial assignment: reported, not rejected."""
    if given is None or not len(keep):
        return
    stated = columns.as_numpy(given)[keep]
    actual = assigned[keep]
    differs = np.asarray((stated != None) & (stated != actual), dtype=bool)  # noqa: E711
    count = int(differs.sum())
    report.extra["grid_mismatches"] = count
    if count:
        report.extra["grid_mismatch_examples"] = [
            {"row": layer.fid(int(keep[k])), "file_grid": stated[k], "assigned_grid": actual[k]}
            for k in np.flatnonzero(differs)[:MAX_EXAMPLES]]


def _duplicates(rows: _Rows, codes: pa.Array) -> None:
    """A code repeated in the file: the first importable occurrence stays, later ones go."""
    pending = np.flatnonzero(rows.pending)
    if not len(pending):
        return
    # each code as the number of its distinct value; the first row holding it keeps it
    ids = pc.take(codes, pa.array(pending, pa.int64())).dictionary_encode().indices
    ids = columns.as_numpy(ids)
    _, first = np.unique(ids, return_index=True)
    later = np.ones(len(pending), dtype=bool)
    later[first] = False
    mask = np.zeros(rows.n, dtype=bool)
    mask[pending[later]] = True
    rows.flag(mask, "duplicate")
    first_row = np.empty(ids.max() + 1, dtype=np.int64)
    first_row[ids[first]] = pending[first]
    rows.clash.update({int(i): int(r) for i, r in zip(pending[later], first_row[ids[later]],
                                                      strict=True)})


def _organisations(session: Session, district: District, values: dict[str, Any],
                   keep: np.ndarray, report: ImportReport) -> dict[str, pa.Array]:
    """Organisation ids for department, owner and maintainer of the importable rows."""
    idx = pa.array(keep, pa.int64())
    named: list[tuple[str, str | None]] = []
    picked: dict[str, pa.Array] = {}
    bad_codes: set[str] = set()
    for role in ("dept", "owner", "maintainer"):
        names = pc.take(values[f"{role}_name"], idx)
        codes = pc.take(values[f"{role}_code"], idx)
        picked[role] = names
        for name, code in organisations.greatest_codes(names, codes):
            if name:
                named.append((name, code))
                if code and len(code) == 18 and not organisations.valid_credit_code(code):
                    bad_codes.add(code)
    ids = organisations.upsert(session, district.code, named)
    report.extra["organisations"] = len(ids)
    if bad_codes:
        report.extra["invalid_credit_codes"] = sorted(bad_codes)[:MAX_EXAMPLES]
    return {role: organisations.ids_for(names, ids) for role, names in picked.items()}


# -- writing -----------------------------------------------------------------------------------


def _new_stage(session: Session) -> None:
    # Two imports in one transaction (a script, the tests) each get a fresh staging table.
    session.execute(sa.text("DROP TABLE IF EXISTS component_stage"))
    session.execute(statement("census", "stage_components"))


def _copy(session: Session, layer: VectorLayer, values: dict[str, Any], keep: np.ndarray,
          storage: Storage, grid_codes: np.ndarray, org_ids: dict[str, pa.Array],
          mapping: Mapping[str, str | None], step: Progress, target: str,
          constants: dict[str, pa.Scalar]) -> int:
    """COPY the importable rows into `target` (the staging table, or a new partition's table,
    which also takes the `constants` columns); return how many."""
    if not len(keep):
        return 0
    n = len(keep)
    idx = pa.array(keep, pa.int64())
    mapped = {s for s in mapping.values() if s}
    extra = [c for c in layer.columns if c not in mapped]
    attrs = columns.json_objects(layer.table.take(idx), extra)
    data_columns = {
        **{name: pa.repeat(value, n) for name, value in constants.items()},
        "code": pc.take(values["code"], idx),
        "class_code": pc.take(values["class"], idx),
        "name": pc.take(values["name"], idx),
        "dept_id": org_ids["dept"], "owner_id": org_ids["owner"],
        "maintainer_id": org_ids["maintainer"],
        "status": pc.take(values["status"], idx),
        "initial_date": pc.take(values["initial_date"], idx),
        "change_date": pc.take(values["change_date"], idx),
        "data_source": pc.take(values["data_source"], idx),
        "note": pc.take(values["note"], idx),
        "grid_code": pa.array(grid_codes[keep], pa.string()),
        "file_grid_code": pc.take(values["grid_code"], idx),
        "attrs": attrs,
        "geom": (points_ewkb_hex(storage[0][keep], storage[1][keep], 4490)
                 if isinstance(storage, tuple) else ewkb_hex(storage[keep], 4490)),
    }
    table = pa.table(data_columns)
    names = ", ".join(table.column_names)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    options = pacsv.WriteOptions(include_header=False)
    with raw.cursor() as cur, cur.copy(
            f"COPY {target} ({names}) FROM STDIN (FORMAT csv)") as copy:
        # In slices: the server parses one while the next is written (two cores at work).
        for start in range(0, n, COPY_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(table.slice(start, COPY_ROWS), buffer, options)
            copy.write(buffer.getbuffer())
            step("copying", min(start + COPY_ROWS, n), n)
    return n


def points_ewkb_hex(x: np.ndarray, y: np.ndarray, srid: int) -> pa.Array:
    """Hex EWKB of points from their coordinates, laid out with numpy."""
    rec = np.empty(len(x), dtype=_POINT_EWKB)
    rec["order"] = 1                                   # little endian
    rec["type"] = 0x20000001                           # Point, with an SRID
    rec["srid"] = srid
    rec["x"], rec["y"] = x, y
    width = 2 * _POINT_EWKB.itemsize
    hexed = binascii.hexlify(rec.tobytes())
    offsets = np.arange(0, width * len(x) + 1, width, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(len(x), pa.py_buffer(offsets),
                                            pa.py_buffer(hexed)).cast(pa.string())


_POINT_EWKB = np.dtype([("order", "u1"), ("type", "<u4"), ("srid", "<u4"), ("x", "<f8"),
                        ("y", "<f8")])


def ewkb_hex(geoms: np.ndarray, srid: int) -> pa.Array:
    """Hex EWKB (with the SRID) of each geometry, as PostGIS reads it from text. A census is
    mostly points: those are laid out with numpy, the rest through shapely."""
    kinds = shapely.get_type_id(geoms)
    if len(geoms) and (kinds == 0).all():
        return points_ewkb_hex(shapely.get_x(geoms), shapely.get_y(geoms), srid)
    with_srid = shapely.set_srid(geoms, srid)
    return pa.array(shapely.to_wkb(with_srid, hex=True, include_srid=True), pa.string())
