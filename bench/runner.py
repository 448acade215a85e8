"""`python -m bench [NAMES...]`: run benchmarks, print one line each with the medians and the
ratio ours / anchor.

Progress goes to stderr while they run; the result lines go to stdout at the end, together, so
that `python -m bench > results.txt` keeps just them. Exit status: 0 when every benchmark
measured, 1 when one could not (its line says why), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import importlib
import traceback
from pathlib import Path

from bench.measure import Benchmark, MeasurementFailed, Result, Run, Timings, log, seconds
from bench.synthetic import WORK
from gis.errors import CitygridError

PROFILES = WORK / "profiles"

# The registry: one module per benchmark, each defining BENCHMARK. Run in this order by default.
MODULES = (
    "bench.grid_qa",
    "bench.grid_import",
    "bench.census_import",
    "bench.lookup",
    "bench.lookup_bulk",
    "bench.lookup_http",
    "bench.lookup_reload",
    "bench.capacity",
    "bench.tiles",
    "bench.evaluation",
)


def registry() -> dict[str, Benchmark]:
    found: dict[str, Benchmark] = {}
    for module in MODULES:
        benchmark: Benchmark = importlib.import_module(module).BENCHMARK
        found[benchmark.name] = benchmark
    return found


def parse_args(argv: list[str] | None, known: dict[str, Benchmark]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Time citygrid against an anchor measured in the same run; print medians "
                    "and the ratio ours / anchor (lower is better).")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run (default: all): {', '.join(known)}")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--repeat", type=_positive_int, metavar="N",
                        help="timed runs of each side (default: each benchmark's own, 3 for "
                             "the heavy ones); the median is quoted")
    parser.add_argument("--scale", type=_positive_float, default=1.0, metavar="F",
                        help="size of the input relative to the full benchmark (default 1.0: "
                             "e.g. 10,000 grids); 0.1 makes a quick run")
    parser.add_argument("--profile", action="store_true",
                        help="after timing, profile one more run of ours with cProfile: print "
                             f"its top to stderr and keep it in {_relative(PROFILES)}/NAME.pstats")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every timed run and what the benchmark checked")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(known)}")
    return args


def main(argv: list[str] | None = None) -> int:
    known = registry()
    args = parse_args(argv, known)
    if args.list:
        width = max(len(n) for n in known)
        for b in known.values():
            print(f"{b.name:<{width}}  ours:   {b.ours}\n{'':<{width}}  anchor: {b.anchor}")
        return 0

    names = list(dict.fromkeys(args.names)) or list(known)
    lines: list[str] = []
    failed = False
    for name in names:
        b = known[name]
        run = Run(name=name, repeat=args.repeat or b.default_repeat, scale=args.scale,
                  profile=PROFILES if args.profile else None)
        log(f"{name}: {b.ours}, against {b.anchor}; {run.repeat} runs each")
        try:
            result = b.measure(run)
        except (MeasurementFailed, CitygridError) as exc:
            # Messages meant for a user (no database, ogr2ogr missing): the line says it all.
            lines.append(f"{name}: FAILED: {exc}")
            failed = True
            continue
        except Exception as exc:
            # A bug, in the benchmark or in what it measures: the traceback is what helps.
            traceback.print_exc()
            lines.append(f"{name}: FAILED: {type(exc).__name__}: {exc}")
            failed = True
            continue
        lines.append(result_line(name, result, run))
        if args.verbose:
            lines.extend(detail_lines(result.timings, result.notes))
        for label, timings in result.more.items():
            more = Result(result.more_sizes.get(label, result.size), timings,
                          summary=result.more_summaries.get(label, ""))
            lines.append(result_line(f"{name}/{label}", more, run))
            if args.verbose:
                lines.extend(detail_lines(timings, []))
    for line in lines:
        print(line)
    return 1 if failed else 0


def result_line(name: str, result: Result, run: Run) -> str:
    t = result.timings
    scale = f", scale {run.scale:g}" if run.scale != 1 else ""
    line = (f"{name:<12} {result.size:>14}   ours {seconds(t.ours_median):>9}   "
            f"anchor {seconds(t.anchor_median):>9}   ratio {t.ratio:6.2f}   "
            f"(medians of {len(t.ours)}{scale})")
    return f"{line}   {result.summary}" if result.summary else line


def detail_lines(t: Timings, notes: list[str]) -> list[str]:
    return [f"    ours:   {', '.join(seconds(s) for s in t.ours)}",
            f"    anchor: {', '.join(seconds(s) for s in t.anchor)}",
            *(f"    {note}" for note in notes)]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a positive whole number")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
