"""Street and community outlines: the union of their current grids, drawn on the map.

Grids that form a valid coverage (neighbours share their edges exactly, interiors disjoint; a
surveyed grid set usually is one) are dissolved by `shapely.coverage_union_all`, which only drops
the shared edges: about ten times faster than a full union, with the same result (PostGIS's
`ST_Union` made these outlines before; bench/grid_import.py). A group for which that result
cannot be trusted is unioned in full: overlapping or unmatched edges, which QA may have been
told to accept, leave a dissolved shape that is invalid or smaller than its grids together.
A street is dissolved from its communities' outlines, or else from its grids.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.errors import GEOSException
from shapely.geometry import MultiPolygon

from gis.geometry import to_multipolygon

# how far the area of a dissolved coverage may differ from its grids' total, relative to it:
# rounding, not overlaps
AREA_RTOL = 1e-9


@dataclass(frozen=True)
class Outlines:
    streets: dict[str, MultiPolygon]
    communities: dict[str, MultiPolygon]


def outlines(streets: Sequence[str], communities: Sequence[str], geoms: np.ndarray) -> Outlines:
    """The outline of every street and community of these grids: their street and community
    codes, and their shapes (EPSG:4490, valid polygons), one each."""
    by_community = dict(_groups(np.asarray(communities), np.arange(len(geoms))))
    community_outline = {code: _union(geoms[rows]) for code, rows in by_community.items()}
    street_of = {communities[rows[0]]: streets[rows[0]] for rows in by_community.values()}
    street_outline: dict[str, MultiPolygon] = {}
    keys = np.array([street_of[c] for c in community_outline])
    parts = np.array(list(community_outline.values()), dtype=object)
    street_rows = dict(_groups(np.asarray(streets), np.arange(len(geoms))))
    for code, members in _groups(keys, parts):
        dissolved = _dissolved(members)
        street_outline[code] = (dissolved if dissolved is not None
                                else to_multipolygon(shapely.union_all(geoms[street_rows[code]])))
    return Outlines(streets=street_outline, communities=community_outline)


def _union(geoms: np.ndarray) -> MultiPolygon:
    dissolved = _dissolved(geoms)
    return dissolved if dissolved is not None else to_multipolygon(shapely.union_all(geoms))


def _dissolved(geoms: np.ndarray) -> MultiPolygon | None:
    """The coverage union of these shapes, or None when it is not their union."""
    try:
        merged = shapely.coverage_union_all(geoms)
    except GEOSException:
        return None
    total = float(shapely.area(geoms).sum())
    if not shapely.is_valid(merged) or abs(merged.area - total) > AREA_RTOL * total:
        return None
    return to_multipolygon(merged)


def _groups(keys: np.ndarray, values: np.ndarray) -> Iterator[tuple[str, np.ndarray]]:
    """(key, its values) for each distinct key, in key order; values keep their order."""
    if not len(keys):
        return
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    cuts = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    for key, group in zip(keys[np.r_[0, cuts]], np.split(values, cuts), strict=True):
        yield str(key), group
