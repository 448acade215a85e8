"""Vector tiles built by PostGIS (`ST_AsMVT`): `/tiles/{layer}/{z}/{x}/{y}.pbf`, so that a
million-component census pans smoothly.

Each layer is a database function, `citygrid_tile_<layer>(z, x, y)` (migration 0008): the
statement of `api/sql/tile_<layer>.sql` confined to the caller's districts explicitly, run as
its owner, so that the spatial index serves it (row-level security would keep PostGIS's `&&`
from using the index) and without JIT or parallel workers (which cost more than a tile)."""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Literal

import sqlalchemy as sa
from fastapi import APIRouter, Path
from fastapi.responses import Response

from api.deps import Db, Reader
from gis.errors import BadInput, NotFound

router = APIRouter(tags=["map"])
MVT = "application/vnd.mapbox-vector-tile"


@dataclass(frozen=True)
class TileLayer:
    name: str
    sql: sa.TextClause
    minzoom: int        # below it the layer's tiles are empty (too many features to be useful)
    maxzoom: int = 22


def _layer(name: str, minzoom: int) -> TileLayer:
    return TileLayer(name, sa.text(f"SELECT citygrid_tile_{name}(:z, :x, :y)"), minzoom)


def plain_statement(name: str) -> str:
    """The layer's statement without the confinement, as `api/sql/tile_<name>.sql` has it (the
    benchmark's anchor; the tests check that the functions give the same tiles)."""
    return resources.files("api").joinpath("sql", f"tile_{name}.sql").read_text("utf-8")


LAYERS = {layer.name: layer for layer in (
    _layer("grids", 11), _layer("outlines", 8), _layer("components", 14))}


def render_tile(db: object, layer: str, z: int, x: int, y: int) -> bytes:
    spec = LAYERS.get(layer)
    if spec is None:
        raise NotFound(f"no tile layer {layer!r} (layers: {', '.join(LAYERS)})")
    if not 0 <= z <= spec.maxzoom:
        raise BadInput(f"z: {z} is outside 0..{spec.maxzoom}")
    if not (0 <= x < 2**z and 0 <= y < 2**z):
        raise BadInput(f"x/y: ({x}, {y}) is not a tile of zoom {z}")
    if z < spec.minzoom:
        return b""
    data = db.execute(spec.sql, {"z": z, "x": x, "y": y}).scalar()  # type: ignore[attr-defined]
    return bytes(data or b"")


@router.get("/tiles/{layer}/{z}/{x}/{y}.pbf", response_class=Response,
            responses={200: {"content": {MVT: {}}}})
def tile(layer: Literal["grids", "outlines", "components"], db: Db, who: Reader,
         z: int = Path(ge=0, le=22), x: int = Path(ge=0), y: int = Path(ge=0)) -> Response:
    """A Mapbox vector tile of a layer: grids, outlines (streets and communities), components."""
    data = render_tile(db, layer, z, x, y)
    return Response(data, media_type=MVT, headers={"Cache-Control": "max-age=60"})


@router.get("/tiles.json", tags=["map"])
def tiles_index() -> dict[str, object]:
    """The tile layers and the zoom levels they start at."""
    return {name: {"url": f"/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf", "minzoom": layer.minzoom}
            for name, layer in LAYERS.items()}
