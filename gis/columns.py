"""Whole-column conversions over Arrow arrays, for imports of a million rows: text with empty
values as null, dates from the formats survey data uses, and per-row JSON objects."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%dT%H:%M:%S",
                "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
# float64 holds every integer below 2**53 exactly, and not every one above.
FLOAT_EXACT = 2**53
SCIENTIFIC = r"^[+-]?[0-9]+(\.[0-9]*)?[eE][+-]?[0-9]+$"

# Every value handed to pyarrow here has its type: pyarrow imports pandas (a third of a second
# of a command's start) to infer the type of a Python value or to lay a column out as numpy
# (`to_numpy`), and a command that makes no pandas object need not (gis.lazypandas).
TEXT = pa.string()


def literal(value: str) -> pa.Scalar:
    """A text scalar, typed."""
    return pa.scalar(value, TEXT)


EMPTY, NO_TEXT = literal(""), pa.scalar(None, TEXT)


def as_numpy(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """`arr.to_numpy(zero_copy_only=False)` for booleans and numbers, from the array's own
    buffers: floats with NaN where empty; booleans and integers must have no empty value (fill
    them first); any other type as a numpy array of Python values."""
    a = combined(arr)
    t, n = a.type, len(a)
    if not (pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)):
        return np.array(a.to_pylist(), dtype=object)
    if a.null_count and not pa.types.is_floating(t):
        raise ValueError(f"as_numpy: {a.null_count} empty values in a {t} column")
    data = a.buffers()[1]
    if pa.types.is_boolean(t):
        bits = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
        return np.unpackbits(bits, bitorder="little", count=a.offset + n)[a.offset:].astype(bool)
    kind = "f" if pa.types.is_floating(t) else "u" if pa.types.is_unsigned_integer(t) else "i"
    dtype = np.dtype(f"{kind}{t.bit_width // 8}")
    values = np.frombuffer(data, dtype=dtype, count=a.offset + n)[a.offset:] if n else \
        np.zeros(0, dtype)
    if a.null_count:
        values = values.copy()
        values[~as_numpy(a.is_valid())] = np.nan
    return values


def combined(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One array of a column's chunks."""
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def text(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Strings, trimmed, empty as null; dates become ISO strings.

    Integers keep every digit. A float is exact only below 2**53 (float64 holds 15 to 17
    significant digits): there an integral value loses its '.0' (a code in a Real field); above
    it a value keeps its exponent ('3.4188101001900004e+16'), so it can never pass for a code
    whose last digits it does not know (see `lost_digits`)."""
    a = combined(arr)
    t = a.type
    if pa.types.is_floating(t):
        values = as_numpy(a)
        finite = np.isfinite(values)
        integral = finite & (np.floor(values) == values) & (np.abs(values) < FLOAT_EXACT)
        out = np.empty(len(values), dtype=object)
        out[integral] = [str(int(v)) for v in values[integral]]
        rest = finite & ~integral
        out[rest] = [repr(float(v)) for v in values[rest]]
        return pa.array(out, type=pa.string())
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        a = pc.cast(a, pa.string()) if not pa.types.is_null(t) else pa.nulls(len(a), pa.string())
    a = pc.cast(a, pa.string())
    a = pc.utf8_trim_whitespace(a)
    return pc.if_else(pc.equal(a, EMPTY), NO_TEXT, a)


def lost_digits(arr: pa.Array | pa.ChunkedArray, as_text: pa.Array | None = None) -> np.ndarray:
    """Mask of the values that cannot be an exact code because digits were lost before they
    reached citygrid: floats of 2**53 or more (a 17-digit 标识码 in a Real field, a JSON number
    written with a decimal point) and text in scientific notation ('3.41881E+16', as a
    spreadsheet saves a long number it holds as a float). `as_text`: `text(arr)`, when the
    caller has it already."""
    a = combined(arr)
    if pa.types.is_floating(a.type):
        values = as_numpy(a)
        return np.isfinite(values) & (np.abs(values) >= FLOAT_EXACT)
    if pa.types.is_integer(a.type) or pa.types.is_null(a.type):
        return np.zeros(len(a), dtype=bool)
    scientific = pc.match_substring_regex(text(a) if as_text is None else as_text, SCIENTIFIC)
    return as_numpy(pc.fill_null(scientific, False))


def dates(arr: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """(date32 values, mask of values given but not understood as a date)."""
    a = combined(arr)
    t = a.type
    if pa.types.is_date(t):
        return pc.cast(a, pa.date32()), np.zeros(len(a), dtype=bool)
    if pa.types.is_timestamp(t):
        return pc.cast(a, pa.date32()), np.zeros(len(a), dtype=bool)
    s = text(a)
    result = pa.nulls(len(s), pa.date32())
    for fmt in DATE_FORMATS:
        parsed = pc.strptime(s, format=fmt, unit="s", error_is_null=True)
        result = pc.coalesce(result, pc.cast(parsed, pa.date32()))
    bad = as_numpy(pc.and_(pc.is_valid(s), pc.is_null(result)))
    return result, bad


def _json_string(s: pa.Array) -> pa.Array:
    """A JSON string literal for each value (null stays null)."""
    s = pc.replace_substring(s, "\\", "\\\\")
    s = pc.replace_substring(s, '"', '\\"')
    s = pc.replace_substring(s, "\n", "\\n")
    s = pc.replace_substring(s, "\r", "\\r")
    s = pc.replace_substring(s, "\t", "\\t")
    s = pc.replace_substring_regex(s, "[\\x00-\\x1f]", " ")
    return pc.binary_join_element_wise(literal('"'), s, literal('"'), EMPTY)


def json_objects(table: pa.Table, columns: Sequence[str]) -> pa.Array:
    """One JSON object per row holding the non-empty values of `columns`, built column-wise.

    An empty value is left out rather than written as null, so a file that has a column for
    every row and one that lacks it where empty give the same objects."""
    n = table.num_rows
    parts: list[pa.Array] = []
    for name in columns:
        a = combined(table.column(name))
        t = a.type
        if pa.types.is_boolean(t):
            value = pc.if_else(a, literal("true"), literal("false"))
        elif pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t):
            value = pc.cast(a, pa.string())
            if pa.types.is_floating(t):
                value = pc.if_else(pc.is_finite(a), value, NO_TEXT)
        else:
            value = _json_string(text(a))
        key = _json_string(pa.array([name], pa.string()))[0].as_py()
        # null if empty
        parts.append(pc.binary_join_element_wise(literal("," + key + ":"), value, EMPTY))
    if not parts:
        return pa.array(["{}"] * n, type=pa.string())
    body = pc.binary_join_element_wise(*parts, EMPTY, null_handling="replace",
                                       null_replacement="")
    body = pc.utf8_ltrim(body, characters=",")
    return pc.binary_join_element_wise(literal("{"), body, literal("}"), EMPTY)
