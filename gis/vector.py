"""Reading vector files the way census and grid data arrive: a .shp with its sidecars, a .zip
holding one, a GeoPackage or a GeoJSON.

`read_vector` returns a `VectorLayer`: decoded attributes, shapely geometries in the file's CRS
(or the one the user assigned), and where the CRS and the encoding came from. It checks that the
coordinates fit the CRS. Nothing here knows about grids or components.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import shapely
from pyproj import CRS

from gis import crs as crsmod
from gis import shapefile
from gis.dbf import (
    date_column,
    logical_column,
    non_ascii_rows,
    number_column,
    open_dbf,
    text_column,
    wide_integer_columns,
)
from gis.encoding import (
    Encoding,
    choose_encoding,
    declared_encoding,
    decode_arrow,
    decode_name,
    non_ascii_sample,
    parse_encoding,
    recover_bytes,
)
from gis.errors import CrsError, InputFileError

if TYPE_CHECKING:
    import pandas as pd

# GDAL (pyogrio, which loads pandas and geopandas with it: half a second of a command's start)
# is imported where a file needs it; a shapefile of points or of one-ring polygons with a plain
# DBF (a census, a unit-grid file) is read without it.

SUPPORTED = (".shp", ".zip", ".gpkg", ".geojson", ".json")
SHAPEFILE_MAGIC = (9994).to_bytes(4, "big")

# Limits on archives: generous for real census deliveries, fatal for zip bombs.
MAX_ZIP_ENTRIES = 10_000
MAX_ZIP_BYTES = 32 * 1024**3
MAX_ZIP_RATIO = 1_000


@dataclass
class VectorLayer:
    source: str                 # what the user named (the archive and its entry, for a zip)
    table: pa.Table             # attributes, decoded, columns named as in the file
    _geometry: np.ndarray | None    # shapely geometries (None where none), in `crs`: `geometry`
    crs: CRS
    crs_from: str               # "file", "--crs", "--crs (the file said EPSG:…)"
    encoding: Encoding | None   # None for formats that are UTF-8 by definition
    layer: str | None = None
    warnings: list[str] = field(default_factory=list)
    _frame: pd.DataFrame | None = None
    # the feature ids GDAL and QGIS show (a GeoPackage's own; None: the position from 0, as a
    # shapefile's and a GeoJSON's are)
    fids: np.ndarray | None = None
    # x and y, in `crs`, of a layer whose every row is a point with finite coordinates, as a
    # shapefile's fixed-size point records hold them (a census): the census import works on
    # these and never makes the points in the file's CRS; `geometry` makes them when asked
    xy: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.xy[0]) if self.xy is not None else len(self.geometry)

    @property
    def geometry(self) -> np.ndarray:
        if self._geometry is None:
            assert self.xy is not None
            self._geometry = np.asarray(shapely.points(*self.xy), dtype=object)
        return self._geometry

    def fid(self, i: int) -> int:
        """The feature id of the i-th row as QGIS shows it: what reports call a row."""
        return int(self.fids[i]) if self.fids is not None else int(i)

    @property
    def columns(self) -> list[str]:
        return list(self.table.column_names)

    @property
    def frame(self) -> pd.DataFrame:
        """The attributes as a pandas DataFrame of plain Python values (made once)."""
        if self._frame is None:
            import pandas as pd

            self._frame = pd.DataFrame(
                {c: plain_column(self.table.column(c)) for c in self.table.column_names},
                index=pd.RangeIndex(len(self)))
        return self._frame

    def report_crs(self) -> str:
        return crsmod.describe(self.crs)

    def report_encoding(self) -> str:
        if self.encoding is None:
            return "UTF-8"
        return f"{self.encoding.label} ({self.encoding.declared_by})"


def plain_column(column: pa.ChunkedArray) -> np.ndarray:
    """A column as numpy. An integer column with empty values becomes Python ints and None:
    numpy would make it float64 with NaN, and a code of 16 digits or more would change."""
    if pa.types.is_integer(column.type) and column.null_count:
        return np.array(column.to_pylist(), dtype=object)
    return column.to_numpy(zero_copy_only=False)


def read_vector(path: str | os.PathLike[str], *, crs: str | None = None,
                encoding: str | None = None, layer: str | None = None) -> VectorLayer:
    """Read a vector file; raise InputFileError/EncodingError/CrsError with a one-line message."""
    return _read(Path(path), str(path), crs, encoding, layer)


def _read(p: Path, source: str, crs: str | None, encoding: str | None,
          layer: str | None) -> VectorLayer:
    if not p.exists():
        raise InputFileError(f"{source}：文件不存在 ({source}: no such file)")
    if p.is_dir():
        raise InputFileError(f"{source} 是文件夹，请指定其中的 .shp、.zip、.gpkg 或 .geojson 文件 "
                             f"({source} is a directory; name the .shp, .zip, .gpkg or .geojson)")
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        kind = p.suffix or "(none)"
        raise InputFileError(f"{source}：不支持的文件类型 {kind!r}，应为 .shp、.zip、.gpkg 或 "
                             f".geojson ({source}: unsupported file type {kind!r})")
    if p.stat().st_size == 0:
        raise InputFileError(f"{source} 是空文件 ({source} is empty)")
    if suffix == ".zip":
        with _extracted(p, source) as (root, inner):
            return _read(inner, f"{source} ({inner.relative_to(root).as_posix()})", crs,
                         encoding, layer)
    if suffix == ".shp":
        return _read_shapefile(p, source, crs, encoding)
    if encoding is not None and encoding.strip().lower().replace("-", "") not in {"utf8"}:
        raise InputFileError(f"{source}：{p.suffix} 文件按定义是 UTF-8，--encoding {encoding} "
                             f"只用于 shapefile ({source}: {p.suffix} files are UTF-8 by "
                             "definition; --encoding applies to shapefiles only)")
    return _read_other(p, source, crs, layer)


# -- shapefiles --------------------------------------------------------------------------------


def _sidecar(shp: Path, ext: str) -> Path | None:
    """The sidecar file with this extension, matching the .shp's stem in any letter case."""
    for candidate in shp.parent.glob(f"{glob_escape(shp.stem)}.*"):
        if candidate.suffix.lower() == ext and candidate.stem == shp.stem:
            return candidate
    return None


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _read_shapefile(shp: Path, source: str, crs: str | None, encoding: str | None) -> VectorLayer:
    with open(shp, "rb") as fh:
        if fh.read(4) != SHAPEFILE_MAGIC:
            raise InputFileError(f"{source} 不是 shapefile：文件头不是 shapefile 的文件头 "
                                 f"({source} is not a shapefile: its header is not one)")
    dbf = _sidecar(shp, ".dbf")
    if dbf is None:
        raise InputFileError(f"{source}：缺少 .dbf 文件（shapefile 由 .shp、.shx、.dbf 组成，"
                             f"通常还有 .prj 和 .cpg） ({source}: the .dbf file is missing)")
    if _sidecar(shp, ".shx") is None:
        raise InputFileError(f"{source}：缺少 .shx 文件 ({source}: the .shx file is missing)")
    has_prj = _sidecar(shp, ".prj") is not None
    if not has_prj and crs is None:
        raise CrsError(f"{source} 没有 .prj 文件，坐标系未知；请用 --crs 指定，例如 "
                       f"--crs EPSG:4549 ({source} has no .prj: its coordinate system is "
                       "unknown)")
    declared = (parse_encoding(encoding, "--encoding") if encoding is not None
                else declared_encoding(dbf, _sidecar(shp, ".cpg")))
    fast = _read_shapefile_columnar(shp, dbf, source, crs, declared)
    if fast is not None:
        return fast
    import pyogrio

    try:
        # ISO-8859-1 carries every byte through unchanged; decoding happens below, strictly.
        meta, table = pyogrio.read_arrow(shp, encoding="latin1")
    except _gdal_errors() as exc:
        raise _unreadable(source, "不是可读的 shapefile", exc, "is not a readable shapefile") \
            from exc

    geom_col = meta.get("geometry_name") or "wkb_geometry"
    names = [c for c in table.column_names if c != geom_col]
    string_cols = [c for c in names if pa.types.is_string(table.schema.field(c).type)
                   or pa.types.is_large_string(table.schema.field(c).type)]
    samples = [b for c in string_cols for b in non_ascii_sample(table.column(c))]
    name_bytes = [recover_bytes(c) for c in names]
    chosen = choose_encoding(declared, samples, name_bytes)
    # GDAL reads an integer field of 19 digits or more as a float64: take its digits instead.
    wide = wide_integer_columns(dbf, table.num_rows)

    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for c in names:
        name = decode_name(c, chosen)
        if name in columns:
            raise _same_name(source, name)
        if c in string_cols:
            columns[name] = decode_arrow(table.column(c), chosen, name)
        else:
            columns[name] = wide.get(recover_bytes(c), table.column(c))
    return _finish(source, pa.table(columns), _geometries(table, geom_col), meta.get("crs"),
                   crs, chosen, None, ".prj")


def _read_shapefile_columnar(shp: Path, dbf: Path, source: str, crs: str | None,
                             declared: Encoding | None) -> VectorLayer | None:
    """The fast path: attributes straight from the DBF (gis.dbf); points and one-ring
    polygons straight from the .shp (gis.shapefile), other geometries from GDAL. None when the
    DBF needs GDAL's general reader."""
    table = open_dbf(dbf)
    if table is None:
        return None
    points = shapefile.point_records(shp)
    shx = _sidecar(shp, ".shx")
    assert shx is not None
    geometry = shapefile.polygon_records(shp, shx) if points is None else None
    if points is not None or geometry is not None:
        meta = {"crs": crsmod.prj_crs(_sidecar(shp, ".prj"))}
    else:
        import pyogrio

        try:
            meta, geoms = pyogrio.read_arrow(shp, columns=[], encoding="latin1")
        except _gdal_errors() as exc:
            raise _unreadable(source, "不是可读的 shapefile", exc,
                              "is not a readable shapefile") from exc
        geometry = _geometries(geoms, meta.get("geometry_name") or "wkb_geometry")
    read = points[0] if points is not None else geometry
    assert read is not None
    if len(read) != table.count:
        return None
    texts = [f for f in table.fields if f.kind == b"C"]
    samples = [b for f in texts for b in non_ascii_rows(table.column(f))]
    chosen = choose_encoding(declared, samples, [f.raw_name for f in table.fields])
    columns: dict[str, pa.Array] = {}
    for f in table.fields:
        name = decode_name(f.raw_name.decode("latin-1"), chosen)
        if name in columns:
            raise _same_name(source, name)
        raw = table.column(f)
        if f.kind == b"C":
            columns[name] = text_column(raw, chosen, name)
        elif f.kind in (b"N", b"F"):
            columns[name] = number_column(raw, f)
        elif f.kind == b"D":
            columns[name] = date_column(raw)
        else:
            columns[name] = logical_column(raw)
    return _finish(source, pa.table(columns) if columns else pa.table({}), geometry,
                   meta.get("crs"), crs, chosen, None, ".prj", xy=points)


def _gdal_errors() -> tuple[type[Exception], ...]:
    """What pyogrio raises for a file GDAL cannot read."""
    from pyogrio.errors import DataLayerError, DataSourceError

    return DataSourceError, DataLayerError, RuntimeError


def _geometries(table: pa.Table, geom_col: str) -> np.ndarray:
    wkb = table.column(geom_col).to_numpy(zero_copy_only=False)
    geoms = np.asarray(shapely.from_wkb(wkb), dtype=object)
    # citygrid is 2D: survey files often carry Z (PointZ, PolygonZ) that storage does not keep.
    if shapely.has_z(geoms).any():
        geoms = np.asarray(shapely.force_2d(geoms), dtype=object)
    return geoms


# -- GeoPackage, GeoJSON -----------------------------------------------------------------------


def _read_other(p: Path, source: str, crs: str | None, layer: str | None) -> VectorLayer:
    import pyogrio

    try:
        layers = pyogrio.list_layers(p)
    except _gdal_errors() as exc:
        raise _unreadable(source, f"不是可读的 {p.suffix} 文件", exc,
                          f"is not a readable {p.suffix} file") from exc
    names = [str(row[0]) for row in layers]
    if layer is None:
        spatial = [str(row[0]) for row in layers if row[1] is not None]
        if len(spatial) != 1:
            if not spatial:
                raise InputFileError(f"{source} 中没有含几何图形的图层 "
                                     f"({source} holds no layer with geometries)")
            raise InputFileError(f"{source} 有 {len(spatial)} 个图层（{'、'.join(spatial)}），"
                                 f"请指定一个 ({source} holds {len(spatial)} layers; name one)")
        layer = spatial[0]
    elif layer not in names:
        raise InputFileError(f"{source} 中没有图层 {layer!r}（它有 {'、'.join(names)}） "
                             f"({source} has no layer {layer!r})")
    try:
        meta, table = pyogrio.read_arrow(p, layer=layer, return_fids=True)
    except _gdal_errors() as exc:
        raise _unreadable(source, "读不出来", exc, "is not readable") from exc
    geom_col = meta.get("geometry_name") or "wkb_geometry"
    fid_col = meta.get("fid_column") or "OGC_FID"
    fids = (table.column(fid_col).to_numpy() if fid_col in table.column_names
            and p.suffix.lower() == ".gpkg" else None)
    attrs = table.drop_columns([c for c in (geom_col, fid_col) if c in table.column_names])
    out = _finish(source, attrs, _geometries(table, geom_col), meta.get("crs"), crs, None,
                  layer, "the file")
    out.fids = fids
    return out


def _finish(source: str, table: pa.Table, geometry: np.ndarray | None, file_crs: str | None,
            crs_option: str | None, encoding: Encoding | None, layer: str | None,
            file_crs_word: str, xy: tuple[np.ndarray, np.ndarray] | None = None) -> VectorLayer:
    """The layer, its CRS chosen and checked; `xy` instead of `geometry` for points."""
    if geometry is not None:
        geometry = np.asarray(geometry, dtype=object)
        geometry[shapely.is_missing(geometry) | shapely.is_empty(geometry)] = None
    if crs_option is not None:
        chosen = crsmod.parse_crs(crs_option)
        if file_crs and not crsmod.same_crs(CRS.from_user_input(file_crs), chosen):
            crs_from = f"--crs (the file said {crsmod.describe(CRS.from_user_input(file_crs))})"
        else:
            crs_from = "--crs"
        origin = "--crs"
    elif file_crs:
        chosen, crs_from, origin = CRS.from_user_input(file_crs), "file", f"{file_crs_word}"
    else:
        raise CrsError(f"{source} 没有说明坐标系；请用 --crs 指定，例如 --crs EPSG:4549 "
                       f"({source} does not say its coordinate system)")
    if xy is not None:
        if len(xy[0]):
            crsmod.check_coordinates(_bulk(*xy), chosen, origin)
    else:
        assert geometry is not None
        present = geometry[~shapely.is_missing(geometry)]
        if len(present):
            crsmod.check_coordinates(bulk_bounds(present), chosen, origin)
    return VectorLayer(source=source, table=table, _geometry=geometry, crs=chosen,
                       crs_from=crs_from, encoding=encoding, layer=layer, xy=xy)


def bulk_bounds(geoms: np.ndarray) -> tuple[float, float, float, float]:
    """Bounds of the bulk of the data: a CRS is judged by where most rows are, so a few rows with
    swapped X/Y are left for the importers to reject one by one. The 5th to 95th percentile of
    the rows' centres (nearest rank); for fewer than 20 rows, their median centre."""
    b = shapely.bounds(geoms)
    return _bulk((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)


def _bulk(cx: np.ndarray, cy: np.ndarray) -> tuple[float, float, float, float]:
    if len(cx) < 20:
        x, y = float(np.median(cx)), float(np.median(cy))
        return x, y, x, y
    lo = np.percentile(np.column_stack([cx, cy]), 5, axis=0, method="inverted_cdf")
    hi = np.percentile(np.column_stack([cx, cy]), 95, axis=0, method="inverted_cdf")
    return float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])


# -- archives ----------------------------------------------------------------------------------


class TooLarge(InputFileError):
    """A file or archive beyond the limits (a zip bomb, an upload too big)."""

    status = 413


def check_archive(archive: Path, source: str, *, max_entries: int = MAX_ZIP_ENTRIES,
                  max_bytes: int = MAX_ZIP_BYTES) -> None:
    """Refuse archives that are not zips, hold too many entries, expand too far, or have
    entries that would land outside the extraction folder."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise InputFileError(f"{source} 不是有效的 zip 压缩包 "
                             f"({source} is not a valid zip archive)") from exc
    with zf:
        infos = zf.infolist()
        if len(infos) > max_entries:
            raise TooLarge(f"{source} 中有 {len(infos)} 个文件，上限 {max_entries} 个 "
                           f"({source} has {len(infos)} entries, limit {max_entries})")
        total = sum(i.file_size for i in infos)
        packed = sum(i.compress_size for i in infos) or 1
        if total > max_bytes or total / packed > MAX_ZIP_RATIO:
            raise TooLarge(f"{source} 由 {packed} 字节解压为 {total} 字节（上限 {max_bytes} 字节、"
                           f"{MAX_ZIP_RATIO}:1），可能是压缩炸弹，拒绝解压 ({source} expands to "
                           f"{total} bytes from {packed}; refusing a possible zip bomb)")
        for info in infos:
            name = PurePosixPath(info.filename.replace("\\", "/"))
            mode = info.external_attr >> 16
            if name.is_absolute() or ".." in name.parts or (mode and stat.S_ISLNK(mode)):
                raise InputFileError(f"{source}：其中的 {info.filename!r} 会解压到目标文件夹之外，"
                                     f"拒绝此压缩包 ({source}: entry {info.filename!r} would "
                                     "escape the extraction folder)")


@contextmanager
def _extracted(archive: Path, source: str) -> Iterator[tuple[Path, Path]]:
    """Extract a zip safely into a temporary folder; yield it and the one dataset inside."""
    check_archive(archive, source)
    tmp = Path(tempfile.mkdtemp(prefix="citygrid-zip-"))
    try:
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(tmp)
        found = [p for p in tmp.rglob("*")
                 if p.is_file() and p.suffix.lower() in {".shp", ".gpkg", ".geojson"}
                 and "__MACOSX" not in p.parts]
        if not found:
            raise InputFileError(f"{source} 中没有 .shp、.gpkg 或 .geojson 文件 "
                                 f"({source} holds no .shp, .gpkg or .geojson)")
        if len(found) > 1:
            listed = "、".join(sorted(str(p.relative_to(tmp)) for p in found))
            raise InputFileError(f"{source} 中有 {len(found)} 个数据集（{listed}），每个压缩包只放"
                                 f"一个 ({source} holds {len(found)} datasets; zip one per "
                                 "import)")
        yield tmp, found[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def no_features(source: str) -> InputFileError:
    return InputFileError(f"{source} 中没有要素 ({source} has no features)")


def _unreadable(source: str, zh: str, exc: BaseException, en: str) -> InputFileError:
    """GDAL's reason is English: it goes with the English half."""
    return InputFileError(f"{source} {zh} ({source} {en}: {_first_line(exc)})")


def _same_name(source: str, name: str) -> InputFileError:
    return InputFileError(f"{source}：有两个字段都叫 {name!r} "
                          f"({source}: two fields are both named {name!r})")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
