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
