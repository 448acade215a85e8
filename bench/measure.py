"""What a benchmark is, and how its timings are taken.

A benchmark times one thing of ours against an anchor: the same work done by a well-known tool or
a bare library call, measured in the same run on the same machine, so that the ratio means
something even on a shared, noisy machine where absolute times drift. Both sides run alternately
(ours, anchor, ours, anchor, …) so that a slow minute hurts both, and the median is quoted.

Benchmarks report numbers; they do not assert. A benchmark raises only when it could not measure
what it claims to (an import that was refused, an anchor tool that failed).
"""

from __future__ import annotations

import cProfile
import gc
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class MeasurementFailed(RuntimeError):
    """The benchmark could not do the work it times, so its number would mean nothing."""


def log(message: str) -> None:
    """Progress for the person watching; stdout is kept for the result lines."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Timings:
    ours: list[float]     # seconds, one per repetition
    anchor: list[float]

    @property
    def ours_median(self) -> float:
        return statistics.median(self.ours)

    @property
    def anchor_median(self) -> float:
        return statistics.median(self.anchor)

    @property
    def ratio(self) -> float:
        return self.ours_median / self.anchor_median


@dataclass
class Result:
    """What one benchmark measured. `size` says how much work was timed ("10,000 grids")."""

    size: str
    timings: Timings
    notes: list[str] = field(default_factory=list)   # shown with --verbose
    # Appended to the result line: what the ratio alone does not say (a second ratio, a
    # throughput, whether the target is met).
    summary: str = ""
    # More comparisons of the same work measured in the same run, each printed as a result line
    # of its own, named NAME/LABEL (the whole process as a user starts it, beside the call).
    more: dict[str, Timings] = field(default_factory=dict)
    # a `more` line's size and summary where they are not the result's (another input size)
    more_sizes: dict[str, str] = field(default_factory=dict)
    more_summaries: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Benchmark:
    """One entry of the registry (`bench.runner.MODULES`); each benchmark module defines one
    as `BENCHMARK`."""

    name: str
    ours: str                        # what of ours is timed
    anchor: str                      # what it is compared with
    measure: Callable[[Run], Result]
    default_repeat: int = 3          # heavy benchmarks: 3; quick ones may want more


@dataclass(frozen=True)
class Run:
    """How one benchmark is to be run, resolved from the command line and its own defaults."""

    name: str
    repeat: int
    scale: float             # 1.0 is the size the targets are stated for
    profile: Path | None     # when set, profile one extra run of ours into this folder

    def compare(self, ours: Callable[[], object], anchor: Callable[[], object], *,
                before_ours: Callable[[], object] | None = None,
                before_anchor: Callable[[], object] | None = None,
                warmup: int = 0) -> Timings:
        """Time `ours` and `anchor` alternately, `repeat` times each.

        `before_ours` and `before_anchor` run untimed before every call of their side (e.g.
        empty the tables it fills), so each timed call starts from the same state; each leaves
        the other side's results alone, so they can be checked afterwards. `warmup` untimed
        rounds of both come first, for work whose first call pays one-off costs (pyproj's
        database, GDAL's drivers) that a long-running process pays once.
        """
        for _ in range(warmup):
            _call(ours, before_ours)
            _call(anchor, before_anchor)
        ours_s: list[float] = []
        anchor_s: list[float] = []
        for i in range(self.repeat):
            ours_s.append(_timed(ours, before_ours))
            anchor_s.append(_timed(anchor, before_anchor))
            log(f"  {self.name} {i + 1}/{self.repeat}: ours {seconds(ours_s[-1])}, "
                f"anchor {seconds(anchor_s[-1])}")
        if self.profile is not None:
            self._profile(self.profile, ours, before_ours)
        return Timings(ours_s, anchor_s)

    def _profile(self, folder: Path, fn: Callable[[], object],
                 before: Callable[[], object] | None) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / f"{self.name}.pstats"
        if before is not None:
            before()
        profiler = cProfile.Profile()
        profiler.runcall(fn)
        profiler.dump_stats(out)
        log(f"  {self.name}: profile of one more run of ours in {out}; its top by own time:")
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("tottime").print_stats(15)


def _call(fn: Callable[[], object], before: Callable[[], object] | None) -> None:
    if before is not None:
        before()
    fn()


def _timed(fn: Callable[[], object], before: Callable[[], object] | None) -> float:
    if before is not None:
        before()
    # Garbage from the previous call is collected now rather than inside the timed one.
    gc.collect()
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def seconds(value: float) -> str:
    """A duration to about three significant digits: '2.31 s', '412 ms', '3.05 ms', '21.4 µs'."""
    if value >= 1:
        return f"{value:.2f} s"
    if value >= 0.01:
        return f"{value * 1000:.0f} ms"
    if value >= 0.001:
        return f"{value * 1000:.2f} ms"
    return f"{value * 1e6:.1f} µs"
