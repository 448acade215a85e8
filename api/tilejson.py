"""TileJSON 3.0.0 (github.com/mapbox/tilejson-spec, 3.0.0) of the vector tiles, so that MapLibre,
QGIS or GDAL find the tiles, their layers and attributes, and where the data is from one URL:
every layer (the tile `all`) or one of them. The bounds and centre are those of the districts
the caller sees; the tiles need the caller's token as well."""

from __future__ import annotations

import math
from typing import Any

from api.tiles import ALL, DETAIL_ZOOM, LAYERS

WORLD = [-180.0, -85.051129, 180.0, 85.051129]     # TileJSON's default bounds (Web Mercator)
ATTRIBUTION = "citygrid 数字城管：单元网格、街道社区边界与部件普查"
_NAMES = {ALL: "单元网格、街道社区边界与城市部件 grids, outlines and components",
          **{name: " · ".join(v.description for v in layer.contents)
             for name, layer in LAYERS.items()}}


def union(boxes: list[list[float]]) -> list[float] | None:
    """The box [west, south, east, north] around boxes of the same form (None: no box)."""
    if not boxes:
        return None
    return [min(b[0] for b in boxes), min(b[1] for b in boxes),
            max(b[2] for b in boxes), max(b[3] for b in boxes)]


def fit_zoom(bounds: list[float], minzoom: int, maxzoom: int) -> int:
    """The highest zoom at which the bounds fit in one 512-pixel tile (MapLibre's), within
    minzoom..maxzoom."""
    def mercator_y(lat: float) -> float:      # 0..1 of the world's height, from the equator
        return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / (2 * math.pi)

    west, south, east, north = bounds
    span = max((east - west) / 360, mercator_y(north) - mercator_y(south))
    zoom = math.floor(math.log2(1 / span)) if span > 0 else maxzoom
    return max(minzoom, min(maxzoom, zoom))


def document(base_url: str, layer: str, bounds: list[float] | None) -> dict[str, Any]:
    """The TileJSON of a layer (`all`: every layer), with tile URLs under `base_url` (the
    server's address as the client reached it) and the given bounds (None: the world's)."""
    layers = list(LAYERS.values()) if layer == ALL else [LAYERS[layer]]
    minzoom = min(spec.minzoom for spec in layers)
    box = [round(v, 6) for v in bounds] if bounds else WORLD
    centre = [round((box[0] + box[2]) / 2, 6), round((box[1] + box[3]) / 2, 6),
              fit_zoom(box, minzoom, DETAIL_ZOOM)]
    return {
        "tilejson": "3.0.0",
        "name": f"citygrid {layer}",
        "description": f"{_NAMES[layer]}。瓦片需令牌 (tiles need a token): "
                       "Authorization: Bearer <token>",
        "attribution": ATTRIBUTION,
        "scheme": "xyz",
        "tiles": [f"{base_url.rstrip('/')}/tiles/{layer}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": minzoom,
        "maxzoom": DETAIL_ZOOM,
        "bounds": box,
        "center": centre,
        "vector_layers": [{"id": v.id, "description": v.description, "fields": v.fields,
                           "minzoom": spec.minzoom, "maxzoom": DETAIL_ZOOM}
                          for spec in layers for v in spec.contents],
    }
