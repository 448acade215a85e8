"""A column at a time, plain values are what the value-by-value conversions made of the pandas
frame before (the grid import's attributes and fields), for every kind of field GDAL writes."""

from __future__ import annotations

import pytest

from gis.values import jsonable, jsonable_values, text, text_values
from gis.vector import read_vector
from tests.filemaker import geojson, ogr2ogr, shapefile

ROWS = [
    {"名称": "府山社区", "整数": 1, "实数": 1.5, "日期": "2020-01-02",
     "时间": "2020-01-02T03:04:05", "是否": True, "长整数": 12345678901234567,
     "编码": 34180200100101, "实编码": 34180200100101.0, "空": None},
    {"名称": None, "整数": None, "实数": None, "日期": None, "时间": None, "是否": None,
     "长整数": None, "编码": None, "实编码": None, "空": None},
    {"名称": "  两头有空格 ", "整数": -7, "实数": float("1e300"), "日期": "1999-12-31",
     "时间": "1999-12-31T23:59:59", "是否": False, "长整数": -1, "编码": 0, "实编码": 2.0**60,
     "空": None},
]


@pytest.fixture(params=[(fmt, nulls) for fmt in ("geojson", "shp", "gpkg")
                        for nulls in ("with empty values", "without")], ids=str)
def layer(request, tmp_path):
    fmt, nulls = request.param
    # without empty values, integer and boolean fields come as numpy columns of their own type
    rows = ROWS if nulls == "with empty values" else [ROWS[0], ROWS[2]]
    src = geojson(tmp_path / "src.geojson", rows)
    if fmt == "shp":
        return read_vector(shapefile(tmp_path / "shp", rows, encoding="UTF-8"))
    if fmt == "gpkg":
        return read_vector(ogr2ogr(tmp_path / "g.gpkg", src, "-f", "GPKG"))
    return read_vector(src)


def test_a_column_at_a_time_is_value_by_value(layer):
    frame = layer.frame
    records = [{c: jsonable(v) for c, v in r.items()} for r in frame.to_dict("records")]
    columns = {c: jsonable_values(frame[c]) for c in frame.columns}
    assert [{c: values[i] for c, values in columns.items()} for i in range(len(frame))] \
        == records
    for c in frame.columns:
        assert text_values(frame[c]) == [text(v) for v in frame[c].to_numpy(dtype=object)], c


def test_an_arrow_column_gives_what_its_frame_column_gives(layer):
    # the grid import reads its columns from Arrow, without pandas
    frame = layer.frame
    for c in layer.columns:
        column = layer.table.column(c)
        assert jsonable_values(column) == jsonable_values(frame[c]), c
        assert text_values(column) == text_values(frame[c]), c
    if len(layer) == len(ROWS):
        # the row of empty values is empty in every column, dates too (they were "NaT")
        assert {c: jsonable_values(layer.table.column(c))[1] for c in layer.columns} \
            == dict.fromkeys(layer.columns)


LAZY = """
import sys
import numpy as np
from gis import lazypandas
lazypandas.defer()
import pyarrow as pa
from gis.values import jsonable_values, text_values
from gis.vector import read_vector
layer = read_vector(sys.argv[1])
values = [(jsonable_values(layer.table.column(c)), text_values(layer.table.column(c)))
          for c in layer.columns]
print("pandas after reading:", "pandas" in sys.modules)
import importlib.util
assert importlib.util.find_spec("pandas") is not None   # asking loads nothing
import pandas as pd
print("NaN of a Series empty:", pa.array(pd.Series([1.0, np.nan])).null_count == 1)
print("pd.NA of a Series empty:", pa.array(pd.Series([pd.NA, "x"], dtype=object)).null_count)
print("categories kept:", pa.types.is_dictionary(pa.array(pd.Categorical(["a", "b"])).type))
print("to_pandas:", pa.table({"x": [1, 2]}).to_pandas()["x"].tolist())
"""


def test_pandas_is_imported_only_when_wanted_and_then_pyarrow_sees_it(tmp_path):
    """gis.lazypandas: reading a shapefile's attributes into plain values imports no pandas;
    once something imports pandas, pyarrow reads a pandas object as pandas again."""
    import subprocess
    import sys
    from pathlib import Path

    shp = shapefile(tmp_path / "shp", ROWS, encoding="UTF-8")
    out = subprocess.run([sys.executable, "-c", LAZY, str(shp)], capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "pandas after reading: False", "NaN of a Series empty: True",
        "pd.NA of a Series empty: 1", "categories kept: True", "to_pandas: [1, 2]"]
