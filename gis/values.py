"""Plain values out of what file readers return (numpy scalars, NaN, pandas timestamps), one at
a time or a column at a time: a column of a pandas frame, or an Arrow column as `VectorLayer`
holds it (a command that reads a file needs no pandas for that: importing it is a third of a
second of the command's start)."""

from __future__ import annotations

import datetime as dt
import math
import sys
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from gis.columns import FLOAT_EXACT

if TYPE_CHECKING:
    import pandas as pd


def jsonable(value: Any) -> Any:
    """A JSON-safe plain value; NaN/NaT/None become None, dates ISO strings."""
    if value is None:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    # a pandas value can only come from pandas once it is imported
    pd = sys.modules.get("pandas")
    # NaT first: it is a datetime whose isoformat() is "NaT"
    if pd is not None and (value is pd.NaT or value is pd.NA):
        return None
    if pd is not None and isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def jsonable_values(column: pd.Series | pa.ChunkedArray | pa.Array) -> list[Any]:
    """`jsonable` of each value of a column as pandas gives them (`to_dict("records")`):
    numbers, booleans and text a column at a time, anything else value by value. An Arrow
    column gives what the same column of `VectorLayer.frame` gives."""
    if isinstance(column, pa.ChunkedArray | pa.Array):
        return _arrow_jsonable(column)
    import pandas as pd

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


def _arrow_jsonable(column: pa.ChunkedArray | pa.Array) -> list[Any]:
    kind = column.type
    if pa.types.is_floating(kind):
        # NaN is empty, as it is in a frame
        return [None if v is None or v != v else v for v in column.to_pylist()]
    if (pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_string(kind)
            or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        return column.to_pylist()
    if pa.types.is_date(kind):
        # the frame holds a date as a pandas timestamp at midnight
        return [None if v is None else f"{v.isoformat()}T00:00:00" for v in column.to_pylist()]
    # times, timestamps (a zone is dropped in a frame), binary: as the frame has them
    import pandas as pd

    from gis.vector import plain_column

    return jsonable_values(pd.Series(plain_column(column)))


def text(value: Any) -> str | None:
    """A stripped string, or None for empty/missing. Integral floats below 2**53 lose their
    '.0' (a 14-digit grid code in a Real field); larger ones keep their exponent, because
    float64 does not know their last digits (see gis.columns.text)."""
    return _text(jsonable(value))


def text_values(column: pd.Series | pa.ChunkedArray | pa.Array) -> list[str | None]:
    """`text` of each value of a column."""
    return [_text(v) for v in jsonable_values(column)]


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < FLOAT_EXACT:
        value = int(value)
    result = str(value).strip()
    return result or None
