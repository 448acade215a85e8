"""`/tiles/{layer}/{z}/{x}/{y}.pbf` (Mapbox vector tiles made by PostGIS, from the server's
cache when it has them; gzip-compressed for clients that take it, with an ETag so that a
client's copy is confirmed by 304 without a body) and their TileJSON documents."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Header, Path, Request
from fastapi.responses import Response

from api import tilejson
from api.deps import Db, Reader
from api.tiles import ALL, MVT, TileCache, cached_tile, scope
from grid import store
from grid.districts import list_districts

router = APIRouter(tags=["map"])
# a tile shows what the caller's token may see: no shared cache may keep it
CACHE_CONTROL = "private, max-age=60"
TileName = Literal["grids", "outlines", "components", "all"]


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether Accept-Encoding takes gzip (named or `*`, with a q above 0)."""
    for item in (accept_encoding or "").split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip().lower() not in ("gzip", "*"):
            continue
        q = params.strip().lower()
        try:
            return not q.startswith("q=") or float(q[2:]) > 0
        except ValueError:
            return False
    return False


def matches(if_none_match: str | None, etag: str) -> bool:
    """If-None-Match's weak comparison: one of its tags (W/ or not) is `etag`, or it is `*`."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


@router.get("/tiles/{layer}/{z}/{x}/{y}.pbf", response_class=Response, responses={
    200: {"content": {MVT: {}}, "description": "the tile (gzip when the client accepts it)"},
    304: {"description": "If-None-Match names the tile's ETag: the client's copy is current"}})
def tile(layer: TileName, request: Request, db: Db, who: Reader,
         z: int = Path(ge=0, le=22), x: int = Path(ge=0, le=2**22 - 1),
         y: int = Path(ge=0, le=2**22 - 1),
         accept_encoding: str | None = Header(None, include_in_schema=False),
         if_none_match: str | None = Header(None, include_in_schema=False)) -> Response:
    """A Mapbox vector tile of a layer: grids, outlines (streets and communities), components,
    or all of them in one tile."""
    cache: TileCache = request.app.state.tiles
    found = cached_tile(db, cache, (layer, z, x, y, scope(who)))
    body, gzipped = found.body(accepts_gzip(accept_encoding))
    headers = {"ETag": found.validator(gzipped), "Cache-Control": CACHE_CONTROL,
               "Vary": "Accept-Encoding"}
    if matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(body, media_type=MVT, headers=headers)


def _tilejson(request: Request, response: Response, db: Any, layer: str) -> dict[str, Any]:
    boxes = [box for d in list_districts(db) if (box := store.extent(db, d.code))]
    response.headers["Cache-Control"] = CACHE_CONTROL          # the bounds are the caller's
    return tilejson.document(str(request.base_url), layer, tilejson.union(boxes))


@router.get("/tiles.json")
def tiles_json(request: Request, response: Response, db: Db) -> dict[str, Any]:
    """TileJSON 3.0.0 of every layer in one tile (`/tiles/all/…`), bounded by the districts
    of the caller's token (the world without one)."""
    return _tilejson(request, response, db, ALL)


@router.get("/tiles/{layer}.json")
def layer_tilejson(layer: TileName, request: Request, response: Response,
                   db: Db) -> dict[str, Any]:
    """TileJSON 3.0.0 of one layer's tiles (`all`: the same as /tiles.json)."""
    return _tilejson(request, response, db, layer)
