"""What a census file says about itself, measured as it is imported and kept with the import's
report (`quality`): how full each attribute is, whether its dates are plausible, whether the
统一社会信用代码 it gives are well formed, and how many components fall in local (non-national)
classes. The 贯标 conformance report (onboarding.conformance) is made from these numbers, for a
county being onboarded and for one already live alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from census.catalog import ClassInfo
from census.codes import valid_credit_code

CREDIT_TARGETS = ("dept_code", "owner_code", "maintainer_code")


def _filled(arr: pa.Array, n: int) -> float:
    if not n:
        return 0.0
    present = pc.is_valid(arr)
    if pa.types.is_string(arr.type):
        present = pc.and_(present, pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(arr), ""),
                                                False))
    return round(pc.sum(present).as_py() / n, 4) if n else 0.0


def measure(values: Mapping[str, Any], mapping: Mapping[str, str | None], n: int,
            classes: Mapping[str, ClassInfo], today: date,
            fid: Callable[[int], int] = int) -> dict[str, Any]:
    """The quality block of a census import's report, over all `n` rows read."""
    filled = {t: (_filled(values[t], n) if mapping.get(t) else 0.0)
              for t in mapping if t in values}
    initial = values["initial_date"].to_pylist()
    change = values["change_date"].to_pylist()
    dated = [d for d in initial + change if d is not None]
    dates = {
        "dated": sum(d is not None for d in initial),
        "future_initial": sum(d is not None and d > today for d in initial),
        "future_change": sum(d is not None and d > today for d in change),
        "change_before_initial": sum(a is not None and b is not None and b < a
                                     for a, b in zip(initial, change, strict=True)),
        "earliest": min(dated).isoformat() if dated else None,
        "latest": max(dated).isoformat() if dated else None,
    }
    credit: dict[str, dict[str, int]] = {}
    for target in CREDIT_TARGETS:
        if not mapping.get(target):
            continue
        given = [v for v in values[target].to_pylist() if v]
        credit[target] = {"given": len(given),
                          "well_formed": sum(valid_credit_code(v) for v in given),
                          "credit_length": sum(len(v) == 18 for v in given)}
    codes = np.array(values["class"].to_pylist(), dtype=object)
    known = np.array([c in classes for c in codes], dtype=bool)
    local = np.array([c in classes and not classes[c].national for c in codes], dtype=bool)
    return {"rows": n, "filled": filled, "dates": dates, "credit_codes": credit,
            "classes": {"known": int(known.sum()), "local": int(local.sum()),
                        "distinct": sorted({str(c) for c in codes[known]})},
            "names": _names(values.get("name"), codes, classes, fid)}


def _names(names: pa.Array | None, codes: np.ndarray, classes: Mapping[str, ClassInfo],
           fid: Callable[[int], int], examples: int = 5) -> dict[str, Any]:
    """Components whose name is not their class's (a 部件名称 of 路灯 on 0101 上水井盖 says the
    class code, or the name, is wrong: lookups and cases go by the class). A name that contains
    the class name or is contained in it (污水井 for 污水井盖) agrees."""
    checked = mismatched = 0
    seen: dict[tuple[str, str], list[int]] = {}
    listed = names.to_pylist() if names is not None else []
    for i, (name, code) in enumerate(zip(listed, codes, strict=False)):
        info = classes.get(code)
        name = (name or "").strip()
        if not name or info is None:
            continue
        checked += 1
        if name in info.name or info.name in name:
            continue
        mismatched += 1
        seen.setdefault((str(code), name), []).append(fid(i))
    top = sorted(seen.items(), key=lambda kv: -len(kv[1]))[:examples]
    # each with the feature ids of its first rows, as QGIS shows them ($id = N)
    return {"checked": checked, "mismatched": mismatched,
            "examples": [{"class": c, "class_name": classes[c].name, "name": nm,
                          "rows": len(ids), "features": ids[:5]} for (c, nm), ids in top]}
