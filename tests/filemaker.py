"""Input files made the way users' files are made: by GDAL's own ogr2ogr, never by citygrid.

Rows are 100 m squares in a line near 宣城 (EPSG:4549 coordinates), one square per row, so a test
can tell by eye where each row is.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

# South-west corner of row 0, in EPSG:4549 (CGCS2000 GK CM 120E): near 宣城,
# lon ≈ 118.75, lat ≈ 30.94
X0, Y0 = 380_400.0, 3_424_400.0
SIDE = 100.0

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def square(i: int, x0: float = X0, y0: float = Y0) -> list[list[list[float]]]:
    x = x0 + i * SIDE
    return [[[x, y0], [x + SIDE, y0], [x + SIDE, y0 + SIDE], [x, y0 + SIDE], [x, y0]]]


def run(*args: str | Path) -> str:
    """Run a GDAL command; fail the test with GDAL's own words if it fails."""
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                            errors="replace", timeout=60)
    assert result.returncode == 0, f"{args[0]} failed: {result.stderr}"
    return result.stdout


def geojson(path: Path, rows: Sequence[Mapping[str, object]], *, epsg: int | None = 4549,
            x0: float = X0, y0: float = Y0, null_rows: Sequence[int] = ()) -> Path:
    """A GeoJSON FeatureCollection of squares with these attributes, in `epsg` coordinates.

    `epsg=None` leaves out the crs member (RFC 7946: longitude/latitude); rows in `null_rows`
    have no geometry.
    """
    features = [{"type": "Feature", "properties": dict(row),
                 "geometry": None if i in null_rows else
                 {"type": "Polygon", "coordinates": square(i, x0, y0)}}
                for i, row in enumerate(rows)]
    doc: dict[str, object] = {"type": "FeatureCollection", "features": features}
    if epsg is not None:
        doc["crs"] = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def point_geojson(path: Path, x: float, y: float, *, epsg: int) -> Path:
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}},
           "features": [{"type": "Feature", "properties": {},
                         "geometry": {"type": "Point", "coordinates": [x, y]}}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def first_point(path: Path) -> tuple[float, float]:
    """The coordinates of the first point of a GeoJSON file, in the order GDAL wrote them."""
    x, y = json.loads(path.read_text(encoding="utf-8"))["features"][0]["geometry"]["coordinates"]
    return float(x), float(y)


def ogr2ogr(dst: Path, src: Path, *options: str) -> Path:
    run("ogr2ogr", *options, dst, src)
    return dst


def shapefile(folder: Path, rows: Sequence[Mapping[str, object]], *, name: str = "grid",
              encoding: str = "CP936", epsg: int = 4549, assign_srs: str | None = None,
              null_rows: Sequence[int] = (), options: Sequence[str] = ()) -> Path:
    """A shapefile written by ogr2ogr with `-lco ENCODING=…` (which writes a .cpg).

    `assign_srs` labels the file with another CRS without touching the coordinates (-a_srs),
    as a contractor's wrong .prj does; `options` go to ogr2ogr as they are (e.g. -t_srs).
    """
    folder.mkdir(parents=True, exist_ok=True)
    src = geojson(folder / f"{name}.src.geojson", rows, epsg=epsg, null_rows=null_rows)
    options = ["-f", "ESRI Shapefile", "-lco", f"ENCODING={encoding}", *options]
    if assign_srs:
        options += ["-a_srs", assign_srs]
    shp = ogr2ogr(folder / f"{name}.shp", src, *options)
    src.unlink()
    return shp


def sidecar(shp: Path, ext: str) -> Path:
    return shp.with_suffix(ext)


def set_language_id(shp: Path, ldid: int) -> None:
    """Set the DBF header's language driver id (byte 29)."""
    dbf = sidecar(shp, ".dbf")
    data = bytearray(dbf.read_bytes())
    data[29] = ldid
    dbf.write_bytes(bytes(data))


def language_id(shp: Path) -> int:
    return sidecar(shp, ".dbf").read_bytes()[29]


def patch_dbf(shp: Path, old: bytes, new: bytes) -> None:
    """Overwrite bytes in the DBF in place (same length), as a broken writer would."""
    assert len(old) == len(new)
    dbf = sidecar(shp, ".dbf")
    data = dbf.read_bytes()
    assert data.count(old) == 1, f"{old!r} occurs {data.count(old)} times in {dbf}"
    dbf.write_bytes(data.replace(old, new))


def copy_shapefile(shp: Path, folder: Path, stem: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = stem or shp.stem
    for ext in SHAPEFILE_PARTS:
        part = sidecar(shp, ext)
        if part.exists():
            shutil.copy(part, folder / f"{stem}{ext}")
    return folder / f"{stem}.shp"


def zip_shapefile(shp: Path, archive: Path, folder: str = "", stem: str | None = None) -> Path:
    """Zip the parts of a shapefile, optionally under a folder inside the archive."""
    stem = stem or shp.stem
    with zipfile.ZipFile(archive, "a") as zf:
        for ext in SHAPEFILE_PARTS:
            part = sidecar(shp, ext)
            if part.exists():
                zf.write(part, f"{folder}{stem}{ext}")
    return archive
