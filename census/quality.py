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
from gis.columns import EMPTY, as_numpy, combined, literal

CREDIT_TARGETS = ("dept_code", "owner_code", "maintainer_code")


def _filled(arr: pa.Array, n: int) -> float:
    if not n:
        return 0.0
    present = pc.is_valid(arr)
    if pa.types.is_string(arr.type):
        present = pc.and_(present, pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(arr), EMPTY),
                                                False))
    return round(pc.sum(present).as_py() / n, 4) if n else 0.0


def measure(values: Mapping[str, Any], mapping: Mapping[str, str | None], n: int,
            classes: Mapping[str, ClassInfo], today: date,
            fid: Callable[[int], int] = int) -> dict[str, Any]:
    """The quality block of a census import's report, over all `n` rows read. Counted by
    Arrow over whole columns; Python sees only the distinct values (codes, class, name)."""
    filled = {t: (_filled(values[t], n) if mapping.get(t) else 0.0)
              for t in mapping if t in values}
    credit: dict[str, dict[str, int]] = {}
    for target in CREDIT_TARGETS:
        if not mapping.get(target):
            continue
        given = [(v, k) for v, k in _distinct_counts(values[target]) if v]
        credit[target] = {"given": sum(k for _, k in given),
                          "well_formed": sum(k for v, k in given if valid_credit_code(v)),
                          "credit_length": sum(k for v, k in given if len(v) == 18)}
    per_class = [(c, k) for c, k in _distinct_counts(values["class"]) if c in classes]
    return {"rows": n, "filled": filled,
            "dates": _date_counts(values["initial_date"], values["change_date"], today),
            "credit_codes": credit,
            "classes": {"known": sum(k for _, k in per_class),
                        "local": sum(k for c, k in per_class if not classes[c].national),
                        "distinct": sorted(str(c) for c, _ in per_class)},
            "names": _names(values.get("name"), values["class"], classes, fid)}


def _date_counts(initial: pa.Array, change: pa.Array, today: date) -> dict[str, Any]:
    today_scalar = pa.scalar(today, pa.date32())
    both = pa.chunked_array([initial.cast(pa.date32()), change.cast(pa.date32())])
    span = pc.min_max(both)
    earliest, latest = span["min"], span["max"]
    return {
        "dated": _count(pc.is_valid(initial)),
        "future_initial": _count(pc.greater(initial, today_scalar)),
        "future_change": _count(pc.greater(change, today_scalar)),
        "change_before_initial": _count(pc.less(change, initial)),
        "earliest": None if earliest.as_py() is None else earliest.as_py().isoformat(),
        "latest": None if latest.as_py() is None else latest.as_py().isoformat(),
    }


def _count(mask: pa.Array | pa.ChunkedArray) -> int:
    """How many are true (nulls are not)."""
    return int(pc.sum(pc.fill_null(mask, False)).as_py() or 0)


def _distinct_counts(arr: pa.Array) -> list[tuple[Any, int]]:
    """Each distinct value with how many rows hold it (nulls left out)."""
    counted = pc.value_counts(pc.drop_null(arr))
    return list(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(),
                    strict=True))


def _names(names: pa.Array | None, codes: pa.Array, classes: Mapping[str, ClassInfo],
           fid: Callable[[int], int], examples: int = 5) -> dict[str, Any]:
    """Components whose name is not their class's (a 部件名称 of 路灯 on 0101 上水井盖 says the
    class code, or the name, is wrong: lookups and cases go by the class). A name that contains
    the class name or is contained in it (污水井 for 污水井盖) agrees.

    Each distinct (class, name) pair is judged once; the examples are the pairs of most rows
    (ties: the one met first), each with the feature ids of its first rows."""
    checked = mismatched = 0
    top: list[tuple[int, int, str, str]] = []      # (-rows, first row, class, name)
    if names is not None and len(names):
        # the pairs as numbers (Arrow's group_by would load pyarrow.dataset, and pandas with it)
        trimmed = pc.utf8_trim_whitespace(names)
        named = np.flatnonzero(as_numpy(pc.and_(
            pc.is_valid(codes), pc.fill_null(pc.not_equal(trimmed, EMPTY), False))))
        at = pa.array(named, pa.int64())
        class_of, name_of = (combined(pc.dictionary_encode(combined(pc.take(a, at))))
                             for a in (codes, trimmed))
        width = max(len(name_of.dictionary), 1)
        pair = as_numpy(class_of.indices).astype(np.int64) * width + as_numpy(name_of.indices)
        distinct, first_at, counts = np.unique(pair, return_index=True, return_counts=True)
        for code, name, rows, first in zip(
                class_of.dictionary.take(pa.array(distinct // width, pa.int64())).to_pylist(),
                name_of.dictionary.take(pa.array(distinct % width, pa.int64())).to_pylist(),
                counts.tolist(), named[first_at].tolist(), strict=True):
            info = classes.get(code)
            if info is None:
                continue
            checked += rows
            if name in info.name or info.name in name:
                continue
            mismatched += rows
            top.append((-rows, first, code, name))
        top = sorted(top)[:examples]
    listed = []
    for minus_rows, _, code, name in top:
        # each with the feature ids of its first rows, as QGIS shows them ($id = N)
        hit = pc.and_(pc.equal(codes, literal(code)),
                      pc.equal(pc.utf8_trim_whitespace(names), literal(name)))
        first_rows = np.flatnonzero(as_numpy(pc.fill_null(hit, False)))[:5]
        listed.append({"class": code, "class_name": classes[code].name, "name": name,
                       "rows": -minus_rows, "features": [fid(int(i)) for i in first_rows]})
    return {"checked": checked, "mismatched": mismatched, "examples": listed}
