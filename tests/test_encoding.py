"""DBF text encodings: where a shapefile declares its encoding, detection when it does not, and
refusing text that does not fit. Every shapefile here is written by GDAL's ogr2ogr."""

from __future__ import annotations

import pytest

from gis.encoding import parse_encoding
from gis.errors import EncodingError, InputFileError
from gis.vector import read_vector
from tests.filemaker import geojson, language_id, patch_dbf, set_language_id, shapefile

ROWS = [{"网格编码": "34180200100101", "社区名称": "鳌峰社区"},
        {"网格编码": "34180200100102", "社区名称": "济川社区"}]


def values(layer, column):
    return list(layer.frame[column])


def without_cpg(shp):
    shp.with_suffix(".cpg").unlink()
    return shp


# -- encoding names ----------------------------------------------------------------------------


@pytest.mark.parametrize("label, codec", [
    ("GBK", "gb18030"), ("GB2312", "gb18030"), ("CP936", "gb18030"), ("936", "gb18030"),
    ("ANSI 936", "gb18030"), ("UTF-8", "utf-8"), ("utf8", "utf-8"), ("65001", "utf-8"),
    ("1252", "cp1252"), ("ISO-8859-1", "iso8859-1"),
])
def test_parse_encoding_understands_cpg_labels(label, codec):
    assert parse_encoding(label, ".cpg").codec == codec


def test_parse_encoding_refuses_an_unknown_name_naming_it():
    with pytest.raises(EncodingError, match="未知的字符编码 'klingon'"):
        parse_encoding("klingon", "--encoding")


# -- declared encodings ------------------------------------------------------------------------


def test_gbk_shapefile_with_cpg_decodes_names_and_values(tmp_path):
    layer = read_vector(shapefile(tmp_path, ROWS, encoding="CP936"))
    assert layer.columns == ["网格编码", "社区名称"]
    assert values(layer, "社区名称") == ["鳌峰社区", "济川社区"]
    assert layer.report_encoding() == "CP936 (.cpg)"


def test_gbk_declared_by_dbf_language_id_without_cpg(tmp_path):
    shp = without_cpg(shapefile(tmp_path, ROWS, encoding="CP936"))
    set_language_id(shp, 0x4D)
    layer = read_vector(shp)
    assert values(layer, "社区名称") == ["鳌峰社区", "济川社区"]
    assert layer.encoding.declared_by == "DBF language id"


def test_utf8_shapefile_with_cpg_decodes(tmp_path):
    layer = read_vector(shapefile(tmp_path, [{"社区": "鳌峰社区"}], encoding="UTF-8"))
    assert values(layer, "社区") == ["鳌峰社区"]
    assert layer.report_encoding() == "UTF-8 (.cpg)"


def test_gbk_only_character_decodes_when_cpg_says_gb2312(tmp_path):
    with pytest.raises(UnicodeEncodeError):
        "堃".encode("gb2312")  # the point: 堃 is GBK, not GB2312
    shp = shapefile(tmp_path, [{"负责人": "王堃"}], encoding="CP936")
    shp.with_suffix(".cpg").write_text("GB2312")
    assert values(read_vector(shp), "负责人") == ["王堃"]


# -- undeclared encodings ----------------------------------------------------------------------


def test_undeclared_gbk_is_detected(tmp_path):
    shp = without_cpg(shapefile(tmp_path, ROWS, encoding="CP936"))
    assert language_id(shp) == 0
    layer = read_vector(shp)
    assert values(layer, "社区名称") == ["鳌峰社区", "济川社区"]
    assert layer.report_encoding() == "GBK (detected)"


def test_ansi_language_id_counts_as_undeclared_and_gbk_is_detected(tmp_path):
    shp = without_cpg(shapefile(tmp_path, ROWS, encoding="CP936"))
    set_language_id(shp, 0x57)
    layer = read_vector(shp)
    assert values(layer, "社区名称") == ["鳌峰社区", "济川社区"]
    assert layer.encoding.declared_by == "detected"


def test_undeclared_utf8_is_detected(tmp_path):
    shp = without_cpg(shapefile(tmp_path, [{"社区": "鳌峰社区"}], encoding="UTF-8"))
    layer = read_vector(shp)
    assert values(layer, "社区") == ["鳌峰社区"]
    assert layer.report_encoding() == "UTF-8 (detected)"


def test_undeclared_bytes_that_are_neither_utf8_nor_gbk_are_refused(tmp_path):
    shp = without_cpg(shapefile(tmp_path, [{"NAME": "XXXXXX"}], encoding="CP936"))
    patch_dbf(shp, b"XXXXXX", b"\xff\xfe\xff\xfe\xff\xfe")
    with pytest.raises(EncodingError, match=r"文件没有声明字符编码.*请用 --encoding 指定"):
        read_vector(shp)


def test_undeclared_latin1_text_is_refused_not_read_as_gbk(tmp_path):
    shp = without_cpg(shapefile(tmp_path, [{"NAME": "Müller Straße"}], encoding="ISO-8859-1"))
    with pytest.raises(EncodingError, match=r"文件没有声明字符编码.*请用 --encoding 指定"):
        read_vector(shp)


def test_declared_gbk_with_undecodable_bytes_names_the_row_and_field(tmp_path):
    shp = shapefile(tmp_path, [{"NAME": "鳌峰"}, {"NAME": "XXXX"}], encoding="CP936")
    patch_dbf(shp, b"XXXX", b"\xff\xfe\xff\xfe")
    with pytest.raises(EncodingError) as err:
        read_vector(shp)
    assert "要素 1，字段 NAME：字节 " in err.value.message   # the second row: feature id 1
    assert "不是有效的 CP936（由 .cpg 声明）；请用 --encoding 指定" in err.value.message


def test_a_census_of_repeated_names_with_one_bad_value_names_its_first_row(tmp_path):
    """Repeated values are decoded once each (gis.dbf.text_column): the values come back row by
    row all the same, and a bad one is reported at the first row that holds it."""
    names = ["宣州区城管局", "路灯管理所", "ABC", "", "水务公司"]
    rows = [{"NAME": names[i % len(names)]} for i in range(400)]
    rows[250], rows[330] = {"NAME": "XXXX"}, {"NAME": "YYYY"}
    shp = shapefile(tmp_path, rows, encoding="CP936")
    read = read_vector(shp).table.column("NAME").to_pylist()
    assert read[:6] == ["宣州区城管局", "路灯管理所", "ABC", None, "水务公司", "宣州区城管局"]
    assert read[250] == "XXXX" and read[399] == "水务公司"
    patch_dbf(shp, b"XXXX", b"\xff\xfe\xff\xfe")
    patch_dbf(shp, b"YYYY", b"\xff\xfe\xff\xfe")
    with pytest.raises(EncodingError) as err:
        read_vector(shp)
    assert "要素 250，字段 NAME：字节 " in err.value.message


def test_ascii_codes_read_as_gdal_reads_them(tmp_path):
    """Text is read as GDAL reads it (ASCII columns, codes and dates as text, trimmed in
    numpy): the spaces around a value gone (a tab stays, as GDAL keeps it), a blank value
    null."""
    import pyogrio

    codes = ["34180200100101", "", "  7", "A B", "0012", " ", "x" * 20]
    rows = [{"CODE": codes[i % len(codes)]} for i in range(70)] + [{"CODE": "Q Q"}]
    shp = shapefile(tmp_path, rows, encoding="CP936")
    ours = read_vector(shp).table.column("CODE").to_pylist()
    gdal = pyogrio.read_arrow(shp, columns=["CODE"])[1].column("CODE").to_pylist()
    assert ours == [v or None for v in gdal]
    assert ours[:7] == ["34180200100101", None, "7", "A B", "0012", None, "x" * 20]
    patch_dbf(shp, b"Q Q ", b"Q Q\t")
    ours = read_vector(shp).table.column("CODE").to_pylist()
    gdal = pyogrio.read_arrow(shp, columns=["CODE"])[1].column("CODE").to_pylist()
    assert ours == [v or None for v in gdal] and ours[-1] == "Q Q\t"
    names = ["  宣州区城管局 ", "路灯 管理所", " "]
    shp = shapefile(tmp_path / "gbk", [{"NAME": names[i % 3]} for i in range(30)])
    assert read_vector(shp).table.column("NAME").to_pylist()[:3] == [
        "宣州区城管局", "路灯 管理所", None]


# -- declarations the text contradicts ---------------------------------------------------------


def test_utf8_text_declared_gbk_is_refused_suggesting_utf8(tmp_path):
    shp = shapefile(tmp_path, [{"社区": "鳌峰社区"}], encoding="UTF-8")
    shp.with_suffix(".cpg").write_text("GBK")
    with pytest.raises(EncodingError) as err:
        read_vector(shp)
    assert "实际是 UTF-8" in err.value.message and "请用 --encoding UTF-8" in err.value.message
    assert "'鳌峰社区'" in err.value.message or "'社区'" in err.value.message  # what read as UTF-8


def test_gbk_text_declared_cp1252_is_refused_suggesting_gbk(tmp_path):
    shp = shapefile(tmp_path, ROWS, encoding="CP936")
    shp.with_suffix(".cpg").write_text("1252")
    with pytest.raises(EncodingError, match=r"实际是 GBK.*请用 --encoding GBK"):
        read_vector(shp)


# -- field names cut to 10 bytes ---------------------------------------------------------------


def test_field_name_of_five_chinese_characters_round_trips(tmp_path):
    layer = read_vector(shapefile(tmp_path, [{"所在社区名": "鳌峰社区"}], encoding="CP936"))
    assert layer.columns == ["所在社区名"]


def test_six_character_field_name_is_read_as_its_gbk_cut(tmp_path):
    layer = read_vector(shapefile(tmp_path, [{"所在社区名称": "鳌峰社区"}], encoding="CP936"))
    assert layer.columns == ["所在社区名"]


def test_gbk_field_name_cut_in_the_middle_of_a_character_drops_the_half(tmp_path):
    layer = read_vector(shapefile(tmp_path, [{"A所在社区名": "鳌峰社区"}], encoding="CP936"))
    assert layer.columns == ["A所在社区"]


def test_utf8_field_name_cut_leaving_two_bytes_of_a_character_reads(tmp_path):
    # 'JD' + 街道名称 is 14 bytes in UTF-8; GDAL keeps 10: JD, 街, 道 and 2 bytes of 名
    layer = read_vector(shapefile(tmp_path, [{"JD街道名称": "鳌峰街道"}], encoding="UTF-8"))
    assert layer.columns == ["JD街道"]
    assert values(layer, "JD街道") == ["鳌峰街道"]


def test_undeclared_utf8_with_a_cut_field_name_is_detected_as_utf8(tmp_path):
    shp = without_cpg(shapefile(tmp_path, [{"所在社区名称": "鳌峰社区"}], encoding="UTF-8"))
    layer = read_vector(shp)
    assert layer.report_encoding() == "UTF-8 (detected)"
    assert values(layer, layer.columns[0]) == ["鳌峰社区"]


# -- the user's --encoding ---------------------------------------------------------------------


def test_explicit_encoding_overrides_a_wrong_cpg(tmp_path):
    shp = shapefile(tmp_path, ROWS, encoding="CP936")
    shp.with_suffix(".cpg").write_text("1252")
    layer = read_vector(shp, encoding="GBK")
    assert values(layer, "社区名称") == ["鳌峰社区", "济川社区"]
    assert layer.report_encoding() == "GBK (--encoding)"


def test_explicit_encoding_reads_undeclared_latin1(tmp_path):
    shp = without_cpg(shapefile(tmp_path, [{"NAME": "Müller Straße"}], encoding="ISO-8859-1"))
    assert values(read_vector(shp, encoding="ISO-8859-1"), "NAME") == ["Müller Straße"]


def test_explicit_unknown_encoding_is_refused(tmp_path):
    with pytest.raises(EncodingError, match="未知的字符编码 'klingon'"):
        read_vector(shapefile(tmp_path, ROWS), encoding="klingon")


def test_explicit_encoding_contradicted_by_the_text_is_refused(tmp_path):
    shp = shapefile(tmp_path, [{"社区": "鳌峰社区"}], encoding="UTF-8")
    with pytest.raises(EncodingError, match=r"实际是 UTF-8.*请用 --encoding UTF-8"):
        read_vector(shp, encoding="GBK")


def test_cpg_88591_written_by_gdal_is_iso_8859_1(tmp_path):
    shp = shapefile(tmp_path, [{"NAME": "Müller Straße"}], encoding="88591")
    assert shp.with_suffix(".cpg").read_text() == "88591"
    assert values(read_vector(shp), "NAME") == ["Müller Straße"]


def test_geojson_refuses_a_non_utf8_encoding(tmp_path):
    path = geojson(tmp_path / "grid.geojson", ROWS)
    with pytest.raises(InputFileError, match="文件按定义是 UTF-8"):
        read_vector(path, encoding="GBK")
