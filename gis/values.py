"""Plain values out of what file readers return (numpy scalars, NaN, pandas timestamps), one at
a time or a column at a time."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from gis.columns import FLOAT_EXACT


def jsonable(value: Any) -> Any:
    """A JSON-safe plain value; NaN/NaT/None become None, dates ISO strings."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if value is pd.NaT or value is pd.NA:
        return None
    return value


def jsonable_values(column: pd.Series) -> list[Any]:
    """`jsonable` of each value of a column as pandas gives them (`to_dict("records")`):
    numbers, booleans and text a column at a time, anything else value by value."""
    dtype = column.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return column.to_numpy().tolist()
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        values = column.to_numpy()
        out = values.tolist()
        for i in np.flatnonzero(np.isnan(values)):
            out[i] = None
        return out
    if isinstance(dtype, pd.StringDtype):
        out = column.tolist()
        for i in np.flatnonzero(column.isna().to_numpy()):
            out[i] = None
        return out
    return [jsonable(v) for v in column]


def text(value: Any) -> str | None:
    """A stripped string, or None for empty/missing. Integral floats below 2**53 lose their
    '.0' (a 14-digit grid code in a Real field); larger ones keep their exponent, because
    float64 does not know their last digits (see gis.columns.text)."""
    return _text(jsonable(value))


def text_values(column: pd.Series) -> list[str | None]:
    """`text` of each value of a column."""
    return [_text(v) for v in jsonable_values(column)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < FLOAT_EXACT:
        value = int(value)
    result = str(value).strip()
    return result or None
