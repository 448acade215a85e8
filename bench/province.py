"""The province on paper, for bench/capacity.py: what is assumed of a province (its counties'
census sizes, its peak load, its read rates), how district sets are packed into API processes
under a memory budget (CITYGRID_DISTRICTS), and the checks of the plan. The measured inputs
(memory a million components, lookups a core) come from bench/capacity.py's run."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bench.measure import MeasurementFailed

# -- the province on paper: what is assumed -----------------------------------------------------

SEED = 34                        # 安徽 (GB/T 2260 34): the draw of county sizes
COUNTIES = 100
PROVINCE_COMPONENTS = 30_000_000
SIZE_SIGMA = 0.8                 # log-normal σ of county census sizes
BUDGET_MB = 4_096                # index memory per process (the plan); the sweep adds others
SWEEP_MB = (1_024, 2_048, 4_096, 8_192)


@dataclass(frozen=True)
class Assumptions:
    # Single lookups (GET /lookup) at the province's busiest hour: ~10,000 采集员 and 监督员 on
    # shift, their 城管通 placing them every 10 s (1,000/s), plus reports through 12345 and
    # 城管通, each looked up when reported, verified, dispatched and checked, and the
    # departments' systems through the API; about 30 times the working day's average. Lookup
    # load is taken to follow a county's components (an urban district has more of both).
    peak_lookups_s: int = 2_000
    # Processes are planned to be at most half busy at that peak.
    headroom: float = 2.0
    # Every district set is served by two processes at least: one restarts or reloads, the
    # other answers (the router sends the set's prefixes to both).
    min_replicas: int = 2
    # What one uvicorn worker answers over HTTP, as a share of the in-process rate measured
    # here (the HTTP stack, the token, the JSON): `python -m bench lookup_http` on 2026-12-06,
    # 1,688 req/s with a class (wrk on the same two cores), against ~12,900 lookups/s in process
    # here: 0.13; README's earlier row, 902 req/s against ~10,000 (99 µs): 0.09.
    http_share: float = 0.10
    # Lookups that name no district (by coordinates alone, `?district=` not given: 12345's
    # geocoded addresses, other systems) go to the default process first (README, "Processes
    # by district"), which answers 421 for a point of another set, and nginx asks that set's:
    # the default set answers them all once, at the cost of a lookup each (most of a lookup's
    # cost over HTTP is the HTTP). Half of them, and the largest set is the default.
    unnamed_share: float = 0.5
    # Besides the index: the web stack (FastAPI, uvicorn, the routes: `import api.app` adds
    # 27 MB to the lookup's libraries, measured 2026-12-06) and a full tile cache
    # (tile_cache_mb, 256 by default, api/settings.py).
    web_stack_mb: float = 30.0
    tile_cache_mb: float = 256.0
    # Reads that go to the standbys (CITYGRID_READ_DATABASE_URL), per county at its peak:
    # 20 people with the map open (指挥中心 seats, 监督员, departments) asking a tile a second,
    # a tenth of them not in the process's tile cache (z14–16 are rendered again after an
    # import), each rendered in 40 ms (README: the bare ST_AsMVT of a z15 tile of ~11,000
    # components); and 2 other reads a second (OGC API features pages, case lists,
    # statistics) of 25 ms each; planned at most half busy.
    map_users_per_county: int = 20
    tiles_per_user_s: float = 1.0
    tile_miss: float = 0.10
    tile_render_s: float = 0.040
    other_reads_per_county_s: float = 2.0
    other_read_s: float = 0.025
    read_headroom: float = 2.0
    standby_cores: int = 16      # a standby of 16 cores, and one spare (rebuilt, upgraded)
    spare_standbys: int = 1


ASSUMED = Assumptions()


@dataclass(frozen=True)
class MemoryModel:
    """What loading districts adds to a process's resident set: `per_million` for every
    million components it holds, and `largest_per_million` for every million of its largest
    district, once (the loading connection's receive buffer, which holds that district's rows
    as one value, and the allocator's pages kept from loading it)."""

    per_million: float
    largest_per_million: float

    def index_mb(self, components: int, largest: int) -> float:
        return components / 1e6 * self.per_million + largest / 1e6 * self.largest_per_million



# -- 3. the province on paper -------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    memory: MemoryModel          # the index a set of districts adds to a process
    load_peak_mb_per_million: float   # held beyond the loaded while a district loads
    base_mb: float               # a process before its districts (interpreter … first load)
    lookups_per_s: float         # in process, one core, with a class
    load_components_per_s: float  # loading the index


@dataclass(frozen=True)
class DistrictSet:
    codes: tuple[str, ...]
    components: int
    largest: int
    index_mb: float
    process_mb: float            # steady: base, web stack, tile cache, index
    reload_mb: float             # while its largest district reloads (old and new copy held)
    peak_lookups_s: float        # its own lookups, and for the default set the 421s
    replicas: int
    load_s: float                # its index loaded at a process's start


@dataclass(frozen=True)
class Plan:
    budget_mb: float
    counties: tuple[tuple[str, int], ...]
    sets: tuple[DistrictSet, ...]
    lookup_cores: float          # needed at the peak with headroom, over HTTP (with the 421s)
    lookup_cores_in_process: float
    read_core_s: float           # standby core-seconds a second at the peak, before headroom
    standbys: int

    @property
    def processes(self) -> int:
        return sum(s.replicas for s in self.sets)

    @property
    def index_mb(self) -> float:
        return sum(s.index_mb for s in self.sets)

    @property
    def total_mb(self) -> float:
        return sum(s.replicas * s.process_mb for s in self.sets)


def county_sizes() -> tuple[tuple[str, int], ...]:
    """COUNTIES census sizes summing to PROVINCE_COMPONENTS, seeded, log-normal; codes of 16
    prefectures (34PPCC)."""
    raw = np.random.default_rng(SEED).lognormal(0.0, SIZE_SIGMA, COUNTIES)
    sizes = np.floor(raw / raw.sum() * PROVINCE_COMPONENTS).astype(np.int64)
    sizes[int(np.argmax(sizes))] += PROVINCE_COMPONENTS - int(sizes.sum())
    codes = [f"34{i % 16 + 1:02d}{i // 16 + 1:02d}" for i in range(COUNTIES)]
    return tuple(zip(codes, (int(s) for s in sizes), strict=True))


class TooSmall(MeasurementFailed):
    """A county alone needs more index memory than the budget (a district is never split)."""


def pack(counties: tuple[tuple[str, int], ...], memory: MemoryModel,
         budget_mb: float) -> list[list[tuple[str, int]]]:
    """First-fit decreasing by components; a county is never split. A set's first county is
    its largest (they come largest first), so what a set holds is known as it fills."""
    bins: list[list[tuple[str, int]]] = []
    held: list[int] = []
    for code, n in sorted(counties, key=lambda c: (-c[1], c[0])):
        if memory.index_mb(n, n) > budget_mb:
            raise TooSmall(f"county {code} alone needs {memory.index_mb(n, n):,.0f} MB of "
                           f"index, more than the budget of {budget_mb:,.0f} MB a process")
        for i, members in enumerate(bins):
            if memory.index_mb(held[i] + n, members[0][1]) <= budget_mb:
                members.append((code, n))
                held[i] += n
                break
        else:
            bins.append([(code, n)])
            held.append(n)
    return bins


def simulate(m: Measured, budget_mb: float) -> Plan:
    a = ASSUMED
    counties = county_sizes()
    total = sum(n for _, n in counties)
    http_rate = m.lookups_per_s * a.http_share
    sets: list[DistrictSet] = []
    packed = pack(counties, m.memory, budget_mb)
    for i, members in enumerate(packed):
        n = sum(c for _, c in members)
        largest = max(c for _, c in members)
        index_mb = m.memory.index_mb(n, largest)
        process_mb = m.base_mb + a.web_stack_mb + a.tile_cache_mb + index_mb
        peak = a.peak_lookups_s * n / total
        if i == 0:      # the default set: 421 for the unnamed lookups of the others
            peak += a.peak_lookups_s * a.unnamed_share * (1 - n / total)
        sets.append(DistrictSet(
            codes=tuple(code for code, _ in members), components=n, largest=largest,
            index_mb=index_mb, process_mb=process_mb,
            # a reload builds the new copy beside the old one, and loading it takes more
            reload_mb=process_mb + largest / 1e6 * (m.memory.per_million
                                                     + m.load_peak_mb_per_million),
            peak_lookups_s=peak,
            replicas=max(a.min_replicas, math.ceil(peak * a.headroom / http_rate)),
            load_s=n / m.load_components_per_s))
    reads = (COUNTIES * a.map_users_per_county * a.tiles_per_user_s * a.tile_miss
             * a.tile_render_s + COUNTIES * a.other_reads_per_county_s * a.other_read_s)
    standbys = math.ceil(reads * a.read_headroom / a.standby_cores) + a.spare_standbys
    requests = sum(s.peak_lookups_s for s in sets)
    return Plan(budget_mb=budget_mb, counties=counties, sets=tuple(sets),
                lookup_cores=requests * a.headroom / http_rate,
                lookup_cores_in_process=a.peak_lookups_s * a.headroom / m.lookups_per_s,
                read_core_s=reads, standbys=standbys)


def verify(plan: Plan, m: Measured) -> str:
    """The plan's own checks; a failure is the benchmark's (MeasurementFailed)."""
    a = ASSUMED
    problems: list[str] = []
    codes = [c for c, _ in plan.counties]
    placed = [c for s in plan.sets for c in s.codes]
    if len(set(codes)) != COUNTIES or sorted(placed) != sorted(codes):
        problems.append(f"{len(placed)} placements of {len(set(placed))} counties, not each of "
                        f"{COUNTIES} once")
    if sum(n for _, n in plan.counties) != PROVINCE_COMPONENTS:
        problems.append("the county sizes do not add up to the province")
    if sum(s.components for s in plan.sets) != PROVINCE_COMPONENTS:
        problems.append("the sets' components do not add up to the province")
    size = dict(plan.counties)
    for i, s in enumerate(plan.sets, 1):
        if s.index_mb > plan.budget_mb:
            problems.append(f"set {i} holds {s.index_mb:,.0f} MB, over {plan.budget_mb:,.0f}")
        if s.components != sum(size[c] for c in s.codes) or s.largest != max(
                size[c] for c in s.codes):
            problems.append(f"set {i}'s components are not its counties'")
    expected_mb = m.memory.index_mb(PROVINCE_COMPONENTS, sum(s.largest for s in plan.sets))
    if not math.isclose(plan.index_mb, expected_mb, rel_tol=1e-9):
        problems.append(f"index {plan.index_mb:,.1f} MB in sets, {expected_mb:,.1f} MB in all")
    steady = sum(s.replicas * (m.base_mb + a.web_stack_mb + a.tile_cache_mb) for s in plan.sets)
    if not math.isclose(plan.total_mb, steady + sum(s.replicas * s.index_mb for s in plan.sets),
                        rel_tol=1e-9):
        problems.append("the processes' memory does not add up")
    default = plan.sets[0].components / PROVINCE_COMPONENTS
    expected = a.peak_lookups_s * (1 + a.unnamed_share * (1 - default))
    if not math.isclose(sum(s.peak_lookups_s for s in plan.sets), expected, rel_tol=1e-9):
        problems.append("the sets' peak requests do not add up to the province's lookups and "
                        "the default set's 421s")
    if plan.processes < plan.lookup_cores:
        problems.append(f"{plan.processes} processes for {plan.lookup_cores:.1f} cores needed")
    # Sets are never fewer than all the index memory over the budget; and first fit: the first
    # (largest) county of a set did not fit in any set before it, which has only grown since.
    lower = math.ceil(m.memory.index_mb(PROVINCE_COMPONENTS, 0) / plan.budget_mb)
    if len(plan.sets) < lower:
        problems.append(f"{len(plan.sets)} sets hold what needs {lower} at least")
    for j, later in enumerate(plan.sets):
        if size[later.codes[0]] != later.largest:
            problems.append(f"set {j + 1} does not start with its largest county")
        for i, earlier in enumerate(plan.sets[:j]):
            if m.memory.index_mb(earlier.components + later.largest,
                                 earlier.largest) <= plan.budget_mb:
                problems.append(f"set {j + 1}'s first county fits in set {i + 1}")
    if simulate(m, plan.budget_mb) != plan:
        problems.append("the same inputs gave another plan")
    if problems:
        raise MeasurementFailed("the simulation's checks failed: " + "; ".join(problems))
    return (f"simulation checked: {COUNTIES} counties each placed once, no set over "
            f"{plan.budget_mb:,.0f} MB, components, memory and peak load add up, "
            f"{len(plan.sets)} sets (at least {lower}), first fit, the same plan twice")


def table(plan: Plan, m: Measured) -> list[str]:
    a = ASSUMED
    sizes = np.array([n for _, n in plan.counties])
    lines = [
        f"province on paper: {COUNTIES} counties, {PROVINCE_COMPONENTS:,} components (seed "
        f"{SEED}, log-normal σ {SIZE_SIGMA}: median county {int(np.median(sizes)):,}, smallest "
        f"{int(sizes.min()):,}, largest {int(sizes.max()):,}); index "
        f"{m.memory.per_million:,.0f} MB a million components + "
        f"{m.memory.largest_per_million:,.0f} MB a million of a set's largest county, once; "
        f"budget {plan.budget_mb:,.0f} MB of index a process",
        f"{'set':>3} {'counties':>8} {'components':>12} {'largest':>10} {'index':>9} "
        f"{'process':>9} {'reload':>9} {'peak/s':>7} {'procs':>5} {'load':>6}",
    ]
    for i, s in enumerate(plan.sets, 1):
        lines.append(f"{i:>3} {len(s.codes):>8} {s.components:>12,} {s.largest:>10,} "
                     f"{s.index_mb:>6,.0f} MB {s.process_mb:>6,.0f} MB {s.reload_mb:>6,.0f} MB "
                     f"{s.peak_lookups_s:>7,.0f} {s.replicas:>5} {s.load_s:>5.0f}s")
    lines += [
        f"{'all':>3} {COUNTIES:>8} {PROVINCE_COMPONENTS:>12,} {'':>10} {plan.index_mb:>6,.0f} MB "
        f"{'':>9} {'':>9} {sum(s.peak_lookups_s for s in plan.sets):>7,.0f} "
        f"{plan.processes:>5}   → {plan.processes} processes, {plan.total_mb / 1024:,.1f} GB in "
        f"all ({a.peak_lookups_s:,} lookups/s and the 421s)",
        f"lookup cores at {a.peak_lookups_s:,}/s with {a.headroom:g}× headroom: "
        f"{plan.lookup_cores:.1f} over HTTP ({a.http_share:.0%} of "
        f"{m.lookups_per_s:,.0f}/s a core in process; set 1 is the default and answers the "
        f"421s of the {a.unnamed_share:.0%} that name no district), "
        f"{plan.lookup_cores_in_process:.2f} in process; every set at least {a.min_replicas} "
        "processes",
        f"standbys: reads {plan.read_core_s:.1f} core-s/s at the peak × {a.read_headroom:g} = "
        f"{plan.read_core_s * a.read_headroom:.1f} cores → "
        f"{plan.standbys - a.spare_standbys} of {a.standby_cores} cores + "
        f"{a.spare_standbys} spare = {plan.standbys}",
        f"columns: process = base (interpreter, libraries, first load) {m.base_mb:,.0f} MB + "
        f"web stack {a.web_stack_mb:,.0f} + tile cache {a.tile_cache_mb:,.0f} + index; reload ="
        f" the process while its largest county loads again (its new copy beside the old, and "
        f"+{m.load_peak_mb_per_million:,.0f} MB a million while loading); peak/s = its "
        "lookups a second at the peak (set 1: and the 421s); load = its index at a process's "
        f"start ({m.load_components_per_s:,.0f} components/s)",
    ]
    return lines


def sweep(m: Measured) -> list[str]:
    out = ["budget sweep (index a process → sets, processes, memory in all, largest reload):"]
    for budget in SWEEP_MB:
        try:
            p = simulate(m, budget)
        except TooSmall as exc:
            out.append(f"  {budget / 1024:g} GB → too small: {exc}")
            continue
        verify(p, m)
        out.append(f"  {budget / 1024:g} GB → {len(p.sets)} set{'s' if len(p.sets) > 1 else ''}, "
                   f"{p.processes} processes, {p.total_mb / 1024:,.1f} GB, "
                   f"{max(s.reload_mb for s in p.sets):,.0f} MB: " + "; ".join(
                       f"{len(s.codes)} counties {s.components / 1e6:.1f} M × {s.replicas} of "
                       f"{s.process_mb:,.0f} MB" for s in p.sets))
    return out
