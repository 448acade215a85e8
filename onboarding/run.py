"""`citygrid onboard DIR`: a contractor's folder to a live county, in one transaction.

In order: find the deliveries (onboarding.deliveries), register the district, import the street
and community boundaries, the grids — QA is the gate: a grid file with error-level findings
stops everything — each census file, the 权责清单 and the zones; sample lookups against what was
imported; build the conformance report. Then commit (or, with --dry-run, roll everything back)
and write `conformance.json`, `conformance.html` and `rejects.gpkg` to the output folder. Running
it again on the same folder changes nothing: every row comes out unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from census.importer import ComponentImportOptions, import_components
from gis import crs as crsmod
from gis.report import ImportReport
from grid.districts import District, add_district, get_district
from grid.hierarchy import import_boundaries
from grid.importer import GridImportOptions, import_grids
from grid.qa import QaReport
from lookup.rules import import_rules
from onboarding import conformance, html, rejects
from onboarding.deliveries import KIND_ZH, OUT_DIR, Deliveries, find
from onboarding.probes import probe


@dataclass(frozen=True)
class OnboardOptions:
    district: str
    name: str
    scheme: str | None = None
    crs: str | None = None
    encoding: str | None = None
    out: Path | None = None
    dry_run: bool = False
    map_base: str = "http://127.0.0.1:8000"


@dataclass
class Outcome:
    district: District
    deliveries: Deliveries
    reports: list[ImportReport] = field(default_factory=list)
    qa: QaReport | None = None
    report: conformance.Conformance | None = None
    files: list[Path] = field(default_factory=list)
    gate_failed: bool = False
    dry_run: bool = False
    map_url: str = ""

    @property
    def live(self) -> bool:
        return not self.gate_failed and not self.dry_run


def onboard(s: Session, folder: Path, opts: OnboardOptions,
            echo: Callable[[str], None] = print) -> Outcome:
    """Everything in `s`'s transaction; the caller commits when the outcome is live, and rolls
    back otherwise (a dry run, a failed gate). The report files are written either way."""
    deliveries = find(folder, opts.district, crs=opts.crs, encoding=opts.encoding)
    for d in deliveries.found:
        echo(f"  {d.name}：{KIND_ZH[d.kind]}，{d.rows} 行（{d.why}）")
    for name, why in deliveries.ignored:
        echo(f"  {name}：未识别（{why}）")
    crs, enc = opts.crs, opts.encoding
    district, _ = add_district(s, opts.district, name=opts.name, scheme=opts.scheme,
                               crs=opts.crs if _projected(opts.crs) else None)
    outcome = Outcome(district, deliveries, dry_run=opts.dry_run)
    rejected: list[rejects.Rejected] = []

    def keep(report: ImportReport, path: Path, kind: str) -> None:
        # a dry run imports into a transaction that is rolled back: its reports say "would"
        report.dry_run = opts.dry_run
        outcome.reports.append(report)
        echo(f"  {report.summary()}")
        rejected.append(rejects.Rejected.read(path, kind, report.rejects, crs=crs,
                                              encoding=enc)
                        if report.rejects else rejects.Rejected(path.name, kind, [], [],
                                                               np.array([], dtype=object)))

    for kind, level in (("streets", "street"), ("communities", "community")):
        if (b := deliveries.one(kind)) is not None:
            keep(import_boundaries(s, b.path, district.code, level, crs=crs, encoding=enc),
                 b.path, kind)
    grids = deliveries.one("grids")
    assert grids is not None                                # find() refuses a folder without
    report, outcome.qa = import_grids(s, grids.path, district.code,
                                      GridImportOptions(crs=opts.crs, encoding=opts.encoding))
    keep(report, grids.path, "grids")
    district = outcome.district = get_district(s, district.code)   # its CRS may be new
    census_reports: list[dict[str, Any]] = []
    probes: list[conformance.Probe] = []
    if report.status == "refused":
        outcome.gate_failed = True
    else:
        for d in deliveries.all("census"):
            r = import_components(s, d.path, district.code,
                                  ComponentImportOptions(crs=crs, encoding=enc))
            keep(r, d.path, "census")
            census_reports.append(r.to_dict())
        for kind in ("rules", "zones"):
            if (rules := deliveries.one(kind)) is not None:
                keep(import_rules(s, rules.path, district.code, crs=crs, encoding=enc),
                     rules.path, kind)
        probes = probe(s, district)
    outcome.report = conformance.build(s, district, outcome.qa, census_reports=census_reports,
                                       probes=probes, deliveries=deliveries.to_dict())
    if outcome.live:
        rejects.store(s, district.code, rejected)
        conformance.save(s, outcome.report)
    outcome.files = _write(opts.out or folder / OUT_DIR, outcome, rejected)
    outcome.map_url = f"{opts.map_base.rstrip('/')}/map?district={district.code}"
    return outcome


def _projected(crs: str | None) -> bool:
    return bool(crs) and crsmod.parse_crs(str(crs)).is_projected


def _write(out: Path, outcome: Outcome, rejected: list[rejects.Rejected]) -> list[Path]:
    assert outcome.report is not None
    out.mkdir(parents=True, exist_ok=True)
    body = outcome.report.to_dict() | {
        "live": outcome.live, "dry_run": outcome.dry_run, "gate_failed": outcome.gate_failed,
        "imports": [r.to_dict() | {"rejects": len(r.rejects)} for r in outcome.reports]}
    paths = [out / "conformance.json", out / "conformance.html", out / "rejects.gpkg"]
    paths[0].write_text(json.dumps(body, ensure_ascii=False, indent=2, default=str), "utf-8")
    paths[1].write_text(html.page(body), "utf-8")
    rejects.write_gpkg(paths[2], rejected)
    return paths
