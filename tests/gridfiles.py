"""Tiny hand-made grids near 宣城 (EPSG:4549), and grid files made from them by GDAL's ogr2ogr,
so the importer reads files that citygrid did not write itself."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Polygon, box, mapping

X0, Y0 = 380_000.0, 3_424_000.0   # EPSG:4549, inside 宣州区
SIZE = 100.0


def square(col: int, row: int, *, size: float = SIZE, grow: float = 0.0,
           shift: tuple[float, float] = (0.0, 0.0)) -> Polygon:
    """The cell at (col, row) of a 100 m lattice; row 0 is the northernmost."""
    x = X0 + col * SIZE + shift[0]
    y = Y0 - row * SIZE + shift[1]
    return box(x - grow, y - size - grow, x + size + grow, y + grow)


def legacy_code(community: int, seq: int, *, street: int = 1, district: str = "341802") -> str:
    return f"{district}{street:03d}{community:03d}{seq:02d}"


def block(cols: int, rows: int, *, community: int = 1, street: int = 1,
          district: str = "341802") -> list[tuple[str, Polygon]]:
    """A cols × rows block of one community, sequence west→east, north→south."""
    out = []
    for r in range(rows):
        for c in range(cols):
            out.append((legacy_code(community, r * cols + c + 1, street=street,
                                    district=district), square(c, r)))
    return out


def write_geojson(path: Path, features: Iterable[tuple[dict[str, Any], Any]],
                  crs: str = "EPSG:4549") -> Path:
    epsg = crs.split(":")[1]
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}},
           "features": [{"type": "Feature", "properties": props,
                         "geometry": None if geom is None else mapping(geom)}
                        for props, geom in features]}
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def ogr2ogr(*args: str) -> None:
    result = subprocess.run(["ogr2ogr", *args], capture_output=True, text=True, errors="replace")
    assert result.returncode == 0, result.stderr


def grid_file(folder: Path, grids: Sequence[tuple[str, Any]], *, fmt: str = "shp",
              name: str = "单元网格", code_field: str = "网格编码",
              extra: dict[str, Sequence[Any]] | None = None, to_crs: str | None = None) -> Path:
    """Write grids through ogr2ogr: a GBK shapefile (with .cpg), a GeoPackage or a GeoJSON."""
    folder.mkdir(parents=True, exist_ok=True)
    feats = []
    for i, (code, geom) in enumerate(grids):
        props = {code_field: code}
        for key, values in (extra or {}).items():
            props[key] = values[i]
        feats.append((props, geom))
    src = write_geojson(folder / f"{name}.src.geojson", feats)
    args: list[str] = []
    if to_crs:
        args += ["-t_srs", to_crs]
    if fmt == "shp":
        out = folder / f"{name}.shp"
        ogr2ogr("-f", "ESRI Shapefile", str(out), str(src), "-lco", "ENCODING=CP936", *args)
    elif fmt == "gpkg":
        out = folder / f"{name}.gpkg"
        ogr2ogr("-f", "GPKG", str(out), str(src), "-nln", name, *args)
    else:
        out = folder / f"{name}.geojson"
        ogr2ogr("-f", "GeoJSON", str(out), str(src), *args)
    src.unlink()
    return out


def area(geom: Any) -> float:
    return float(shapely.area(geom))
