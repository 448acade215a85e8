"""Python's cyclic garbage collector, held off while a bulk load makes objects by the hundred
thousand.

Every shapely geometry, row dict and dataclass is an object the collector tracks. Each few
hundred thousand made set off a full collection, which walks every tracked object of the
process in one call holding the GIL: 0.15–0.3 s in the middle of a 10,000-grid import
(bench/grid_import.py), 150–200 ms in a lookup district's load while lookups wait. Loads make
no reference cycles worth collecting early: what they free, reference counting frees, and the
collector catches up after.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[None]:
    """The collector off for the block (and on again after, unless it was off before)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
