"""The one-point component query (`PointCells.within`), compiled (lookup/_cells.c), against its
Python version and against a brute-force distance over every point: the same components, the
same distances to the last bit, the radius included. The lookups' agreement with PostGIS is
tests/test_lookup.py's."""

from __future__ import annotations

import numpy as np
import pytest

from lookup import components
from lookup.components import CELL_M, PointCells


def test_the_compiled_query_is_built() -> None:
    # scripts/setup.sh builds it (pip install -e . runs setup.py); without it every lookup
    # with a class falls back to the Python loop, five times slower
    assert components._cells is not None


def brute(xy: np.ndarray, x: float, y: float, radius: float) -> dict[int, float]:
    dx, dy = xy[:, 0] - x, xy[:, 1] - y
    d = np.sqrt(dx * dx + dy * dy)       # IEEE: the same doubles as math.sqrt of the same sum
    hit = np.flatnonzero(d <= radius)
    return dict(zip(hit.tolist(), d[hit].tolist(), strict=True))


@pytest.mark.parametrize("radius", [0.5, 10.0, 30.0, CELL_M, 33.0, 75.0])
def test_within_finds_what_brute_force_finds(radius: float) -> None:
    rng = np.random.default_rng(7)
    # a district's local frame straddles its origin: negative coordinates and cell boundaries
    xy = rng.uniform(-500, 500, size=(20_000, 2))
    xy[:50] = np.floor(xy[:50] / CELL_M) * CELL_M          # points on cell corners
    xy[50:60] = xy[60:70]                                   # coincident points
    cells = PointCells(xy)
    queries = [*rng.uniform(-520, 520, size=(300, 2)).tolist(), *xy[:60].tolist()]
    for x, y in queries:
        found, dist = cells.within(x, y, radius)
        assert (found, dist) == cells.within_py(x, y, radius)
        assert dict(zip(found, dist, strict=True)) == brute(xy, x, y, radius)


def test_the_radius_is_included() -> None:
    xy = np.array([[3.0, 4.0], [0.0, 5.0000001], [-5.0, 0.0]])
    found, dist = PointCells(xy).within(0.0, 0.0, 5.0)
    assert sorted(zip(found, dist, strict=True)) == [(0, 5.0), (2, 5.0)]


def test_nothing_near_and_nothing_at_all() -> None:
    cells = PointCells(np.array([[1000.0, 1000.0]]))
    assert cells.within(0.0, 0.0, 30.0) == ([], [])
    empty = PointCells(np.empty((0, 2)))
    assert empty.within(0.0, 0.0, 30.0) == ([], [])
