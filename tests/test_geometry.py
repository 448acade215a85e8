"""gis.geometry.points_in: the pairs an STRtree "intersects" query finds, without point objects."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely import STRtree

from gis.geometry import points_in


def _tree_pairs(polygons: np.ndarray, x: np.ndarray, y: np.ndarray) -> set[tuple[int, int]]:
    p, g = STRtree(polygons).query(shapely.points(x, y), predicate="intersects")
    return set(zip(p.tolist(), g.tolist(), strict=True))


def _pairs(polygons: np.ndarray, x: np.ndarray, y: np.ndarray) -> set[tuple[int, int]]:
    p, g = points_in(polygons, x, y)
    found = list(zip(p.tolist(), g.tolist(), strict=True))
    assert len(found) == len(set(found)), "a pair found twice"
    return set(found)


def _lattice(n: int, size: float, x0: float = 39_500_000.0, y0: float = 3_400_000.0) -> np.ndarray:
    return np.array([shapely.box(x0 + i * size, y0 + j * size, x0 + (i + 1) * size,
                                 y0 + (j + 1) * size) for i in range(n) for j in range(n)],
                    dtype=object)


def test_points_on_edges_and_corners_go_to_every_grid_they_touch() -> None:
    grids = _lattice(4, 100.0)
    x0, y0 = 39_500_000.0, 3_400_000.0
    # a shared corner (4 grids), an edge (2), an interior point, the outer boundary, outside
    x = np.array([x0 + 100, x0 + 150, x0 + 50, x0, x0 - 1, x0 + 400, x0 + 400.0001])
    y = np.array([y0 + 100, y0 + 100, y0 + 50, y0 + 10, y0 + 10, y0 + 400, y0 + 10])
    pairs = _pairs(grids, x, y)
    assert pairs == _tree_pairs(grids, x, y)
    assert sorted(g for p, g in pairs if p == 0) == [0, 1, 4, 5]
    assert len([g for p, g in pairs if p == 1]) == 2
    assert {p for p, _ in pairs} == {0, 1, 2, 3, 5}


@pytest.mark.parametrize("seed", range(5))
def test_the_same_pairs_as_an_strtree_on_irregular_polygons(seed: int) -> None:
    rng = np.random.default_rng(seed)
    # polygons of very different sizes, one with a hole, a sliver, one covering most of the rest
    centres = rng.uniform(0, 1000, size=(300, 2))
    radii = rng.choice([0.5, 5.0, 20.0, 80.0], size=300)
    polygons = list(shapely.buffer(shapely.points(centres), radii, quad_segs=3))
    polygons.append(shapely.box(100, 100, 900, 900).difference(shapely.box(400, 400, 600, 600)))
    polygons.append(shapely.box(0, 500, 1000, 500.001))
    polygons = np.array(polygons, dtype=object)
    x = rng.uniform(-50, 1050, 20_000)
    y = rng.uniform(-50, 1050, 20_000)
    # and points exactly on vertices of the polygons
    vertices = shapely.get_coordinates(polygons[:50])
    x, y = np.concatenate([x, vertices[:, 0]]), np.concatenate([y, vertices[:, 1]])
    assert _pairs(polygons, x, y) == _tree_pairs(polygons, x, y)


def test_nothing_to_place() -> None:
    grids = _lattice(2, 10.0)
    assert _pairs(grids, np.zeros(0), np.zeros(0)) == set()
    assert _pairs(np.array([], dtype=object), np.array([1.0]), np.array([1.0])) == set()
