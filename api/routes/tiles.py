"""`/tiles/{layer}/{z}/{x}/{y}.pbf` (Mapbox vector tiles made by PostGIS, from the server's
cache when it has them) and the tile index."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from api.deps import Db, Reader
from api.tiles import LAYERS, MVT, TileCache, render_tile, scope

router = APIRouter(tags=["map"])


@router.get("/tiles/{layer}/{z}/{x}/{y}.pbf", response_class=Response,
            responses={200: {"content": {MVT: {}}}})
def tile(layer: Literal["grids", "outlines", "components"], request: Request, db: Db,
         who: Reader, z: int = Path(ge=0, le=22), x: int = Path(ge=0, le=2**22 - 1),
         y: int = Path(ge=0, le=2**22 - 1)) -> Response:
    """A Mapbox vector tile of a layer: grids, outlines (streets and communities), components."""
    cache: TileCache = request.app.state.tiles
    key = (layer, z, x, y, scope(who))
    data = cache.get(key)
    if data is None:
        generation = cache.generation
        data = render_tile(db, layer, z, x, y)
        cache.put(key, data, generation)
    return Response(data, media_type=MVT, headers={"Cache-Control": "max-age=60"})


@router.get("/tiles.json", tags=["map"])
def tiles_index() -> dict[str, object]:
    """The tile layers and the zoom levels they start at."""
    return {name: {"url": f"/tiles/{name}/{{z}}/{{x}}/{{y}}.pbf", "minzoom": layer.minzoom}
            for name, layer in LAYERS.items()}
