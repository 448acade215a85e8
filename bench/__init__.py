"""citygrid's benchmarks, each timing something of ours against an anchor in the same run.

Run them with `python -m bench [NAMES...]` (`make bench`); `python -m bench --help` lists the
options (`--list`, `--repeat`, `--scale`, `--profile`, `--verbose`).

To add one, write a module here that defines `BENCHMARK = Benchmark(name, ours, anchor,
measure)` (`bench.measure`) and add it to `bench.runner.MODULES`. Its `measure(run)` makes its
input with `bench.synthetic` (cached in bench/.work/), works in a database of its own from
`bench.databases.throwaway_database`, times both sides with `run.compare(ours, anchor)`, and
returns a `Result`. It raises `MeasurementFailed` when it could not do the work it claims to
time; it never asserts on the numbers.
"""
