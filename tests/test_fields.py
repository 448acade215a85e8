"""gis.fields: which column of a grid file holds which attribute, with the grid field aliases
shipped in grid/fields.toml."""

from __future__ import annotations

import pytest

from gis.fields import FieldMappingError, parse_overrides, resolve_fields
from grid.reading import GRID_FIELDS


def resolve(columns, overrides=None):
    return resolve_fields(columns, GRID_FIELDS, overrides)


# -- names recognised without configuration ----------------------------------------------------


def test_chinese_field_names():
    mapping = resolve(["单元网格标识码", "街道名称", "社区名称", "网格名称"])
    assert mapping["code"] == "单元网格标识码"
    assert mapping["street_name"] == "街道名称"
    assert mapping["community_name"] == "社区名称"
    assert mapping["name"] == "网格名称"


def test_cjt214_english_field_name():
    assert resolve(["BGID", "AREA"])["code"] == "BGID"


def test_gb47678_abbreviations():
    mapping = resolve(["SZDYWGBSM", "SZJDDM", "SZSQDM", "SZSQMC"])
    assert mapping["code"] == "SZDYWGBSM"
    assert mapping["street_code"] == "SZJDDM"
    assert mapping["community_code"] == "SZSQDM"
    assert mapping["community_name"] == "SZSQMC"


def test_pinyin_abbreviations():
    mapping = resolve(["WGBM", "JDMC", "SQMC", "WGMC"])
    assert mapping == {"code": "WGBM", "street_code": None, "street_name": "JDMC",
                       "community_code": None, "community_name": "SQMC", "name": "WGMC"}


@pytest.mark.parametrize("column", ["bgid", "Bgid", "grid_code", "Grid Code", "GRIDCODE"])
def test_matching_ignores_case_spaces_and_underscores(column):
    assert resolve([column])["code"] == column


def test_more_specific_alias_wins_over_a_generic_one():
    assert resolve(["CODE", "BGID"])["code"] == "BGID"


def test_absent_optional_targets_map_to_none():
    mapping = resolve(["网格编码"])
    assert mapping["code"] == "网格编码"
    assert mapping["street_code"] is None and mapping["name"] is None


# -- the 10-byte DBF cut -----------------------------------------------------------------------


@pytest.mark.parametrize("column, target", [("单元网格标", "code"),      # 单元网格标识码
                                            ("所在社区名", "community_name"),  # 所在社区名称
                                            ("所在街道代", "street_code")])   # 所在街道代码
def test_alias_cut_to_ten_gbk_bytes_matches(column, target):
    assert len(column.encode("gbk")) == 10
    assert resolve(["BGID", column])[target] == column


def test_cut_code_and_cut_name_of_the_same_prefix_stay_apart():
    mapping = resolve(["单元网格标", "单元网格名"])  # 单元网格标识码, 单元网格名称
    assert (mapping["code"], mapping["name"]) == ("单元网格标", "单元网格名")


# -- overrides ---------------------------------------------------------------------------------


def test_override_names_a_field_no_alias_knows():
    assert resolve(["BH", "备注"], {"code": "BH"})["code"] == "BH"


def test_override_wins_over_an_alias():
    mapping = resolve(["BGID", "新编码"], {"code": "新编码"})
    assert mapping["code"] == "新编码"


def test_override_source_matches_ignoring_case():
    assert resolve(["OldCode"], {"code": "oldcode"})["code"] == "OldCode"


def test_overridden_column_is_not_also_mapped_by_alias():
    mapping = resolve(["BH", "网格名称"], {"code": "网格名称"})
    assert mapping["code"] == "网格名称"
    assert mapping["name"] is None


def test_override_of_unknown_target_is_refused_listing_targets():
    with pytest.raises(FieldMappingError) as err:
        resolve(["BGID"], {"gridcode": "BGID"})
    assert "'gridcode'" in err.value.message
    assert "没有目标 'gridcode'；目标有 code、street_code" in err.value.message


def test_override_of_unknown_source_is_refused_listing_the_fields():
    with pytest.raises(FieldMappingError) as err:
        resolve(["BGID", "名称"], {"code": "编号"})
    assert "文件中没有字段 '编号'（文件中有 BGID、名称）" in err.value.message


# -- missing required fields -------------------------------------------------------------------


def test_missing_required_field_names_what_the_file_has():
    with pytest.raises(FieldMappingError) as err:
        resolve(["名称", "面积"])
    message = err.value.message
    assert "找不到 code（单元网格标识码）的字段" in message
    assert "文件中有 名称、面积" in message
    assert "请用 --field code=字段名 指定" in message


def test_field_mapping_error_is_bad_input_with_a_stable_code():
    with pytest.raises(FieldMappingError) as err:
        resolve(["面积"])
    assert (err.value.code, err.value.status) == ("bad_field_mapping", 400)


# -- parse_overrides ---------------------------------------------------------------------------


def test_parse_overrides_splits_target_and_source():
    assert parse_overrides(["code=网格编码", " name = 网格名称 "]) == {"code": "网格编码",
                                                                   "name": "网格名称"}


def test_parse_overrides_keeps_an_equals_sign_in_the_source():
    assert parse_overrides(["code=A=B"]) == {"code": "A=B"}


@pytest.mark.parametrize("pair", ["code", "=网格编码", "code=", " = ", ""])
def test_parse_overrides_refuses_what_is_not_target_equals_source(pair):
    with pytest.raises(FieldMappingError) as err:
        parse_overrides([pair])
    assert repr(pair) in err.value.message
    assert "不是“目标=字段”的形式" in err.value.message
