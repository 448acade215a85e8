"""Code value objects: district, street, community and grid codes of both generations."""

from __future__ import annotations

import pytest

from gis.errors import BadInput
from grid.codes import BadCode, DistrictCode, GridCode, Scheme, WrongDistrict

LEGACY, GB = Scheme.LEGACY, Scheme.GB47678


# -- legacy grid codes -------------------------------------------------------------------------


def test_legacy_14_digit_code_splits_into_district_street_community_sequence():
    code = GridCode.parse("34180200100101", scheme=LEGACY)
    assert str(code.district) == "341802"
    assert str(code.street) == "341802001"
    assert str(code.community) == "341802001001"
    assert code.sequence == "01"


def test_legacy_code_knows_its_parents_through_the_hierarchy():
    code = GridCode.parse("34180200300207", scheme=LEGACY)
    assert code.community.street == code.street
    assert code.street.district == code.district
    assert (code.street.local, code.community.local) == ("003", "002")


def test_legacy_15_digit_code_has_a_3_digit_sequence():
    code = GridCode.parse("341802001001012", scheme=LEGACY, digits=15)
    assert str(code.community) == "341802001001"
    assert code.sequence == "012"


def test_legacy_code_with_surrounding_spaces_is_trimmed():
    assert GridCode.parse(" 34180200100101 ", scheme=LEGACY).value == "34180200100101"


def test_legacy_code_read_as_an_integer_parses():
    assert GridCode.parse(34180200100101, scheme=LEGACY).value == "34180200100101"


@pytest.mark.parametrize("text", ["3418020010010", "341802001001011"])
def test_legacy_code_of_wrong_length_is_refused_naming_it(text):
    with pytest.raises(BadCode) as err:
        GridCode.parse(text, scheme=LEGACY)
    assert f"网格编码 {text!r} 有 {len(text)} 位，应为 14 位" in err.value.message


def test_legacy_15_digit_district_refuses_a_14_digit_code():
    with pytest.raises(BadCode, match="有 14 位，应为 15 位"):
        GridCode.parse("34180200100101", scheme=LEGACY, digits=15)


@pytest.mark.parametrize("text, bad", [("3418020010010A", "A"), ("34180200100-01", "-"),
                                       ("３4180200100101", "３")])
def test_legacy_code_with_a_non_digit_is_refused_naming_it(text, bad):
    with pytest.raises(BadCode) as err:
        GridCode.parse(text, scheme=LEGACY)
    assert f"网格编码 {text!r} 含非数字字符 {bad!r}" in err.value.message


@pytest.mark.parametrize("text", [None, "", "   ", float("nan")])
def test_empty_grid_code_is_refused(text):
    with pytest.raises(BadCode, match="网格编码为空"):
        GridCode.parse(text, scheme=LEGACY)


def test_legacy_scheme_refuses_16_digit_grid_codes_as_a_setting():
    with pytest.raises(BadCode, match="是 14 或 15 位，不是 16 位"):
        GridCode.parse("3418020010010101", scheme=LEGACY, digits=16)


# -- GB/T 47678 grid codes ---------------------------------------------------------------------


def test_gb47678_code_allows_capital_letters_after_the_district_prefix():
    code = GridCode.parse("341802A01B02C03", scheme=GB)
    assert str(code.district) == "341802"
    assert str(code.street) == "341802A01"
    assert str(code.community) == "341802A01B02"
    assert code.sequence == "C03"


def test_gb47678_code_of_digits_only_parses():
    assert GridCode.parse("341802001001001", scheme=GB).sequence == "001"


def test_gb47678_code_refuses_lowercase_letters_naming_the_letter():
    with pytest.raises(BadCode) as err:
        GridCode.parse("341802a01b02c03", scheme=GB)
    assert "网格编码 '341802a01b02c03' 含 'a'" in err.value.message


def test_gb47678_code_refuses_letters_in_the_district_prefix():
    with pytest.raises(BadCode, match="不是以 6 位区划代码开头"):
        GridCode.parse("34180A001001001", scheme=GB)


def test_gb47678_code_of_14_characters_is_refused():
    with pytest.raises(BadCode, match="有 14 位，应为 15 位"):
        GridCode.parse("34180200100101", scheme=GB)


def test_gb47678_district_converted_from_legacy_keeps_14_digit_grids_digits_only():
    assert GridCode.parse("34180200100101", scheme=GB, digits=14).sequence == "01"
    with pytest.raises(BadCode, match="含非数字字符 'A'"):
        GridCode.parse("3418020010010A", scheme=GB, digits=14)


def test_grid_code_length_outside_14_or_15_is_refused():
    with pytest.raises(BadCode, match="是 14 或 15 位，不是 16 位"):
        GridCode.parse("3418020010010101", scheme=GB, digits=16)


# -- the district prefix -----------------------------------------------------------------------


def test_code_of_another_district_is_refused_as_wrong_district():
    with pytest.raises(WrongDistrict) as err:
        GridCode.parse("34188100100101", scheme=LEGACY, district="341802")
    assert err.value.reason == "wrong_district"
    assert "网格编码 '34188100100101' 属于区县 341881，不是 341802" in err.value.message


def test_wrong_district_is_a_bad_code_with_its_own_reason():
    with pytest.raises(BadCode) as err:
        GridCode.parse("341881001001001", scheme=GB, district=DistrictCode("341802"))
    assert isinstance(err.value, WrongDistrict)
    assert err.value.reason != BadCode.reason


def test_code_of_the_declared_district_is_accepted():
    code = GridCode.parse("34180200100101", scheme=LEGACY, district=DistrictCode("341802"))
    assert code.district == DistrictCode("341802")


def test_malformed_code_is_bad_code_not_wrong_district():
    with pytest.raises(BadCode) as err:
        GridCode.parse("3418810010010", scheme=LEGACY, district="341802")
    assert err.value.reason == "bad_code"


# -- district codes ----------------------------------------------------------------------------


def test_district_code_parses_and_knows_province_and_city():
    code = DistrictCode.parse("341802")
    assert (code.value, code.province, code.city) == ("341802", "34", "3418")


@pytest.mark.parametrize("text", ["34180", "3418021", "34180A", "abcdef", ""])
def test_district_code_that_is_not_6_digits_is_refused_naming_it(text):
    with pytest.raises(BadCode) as err:
        DistrictCode.parse(text)
    assert f"区划代码 {text!r} 不是 6 位数字" in err.value.message


def test_district_code_of_full_width_digits_is_refused():
    with pytest.raises(BadCode):
        DistrictCode.parse("３４１８０２")


@pytest.mark.parametrize("text", ["340000", "341800", "110000", "441300", "460300", "620100"])
def test_province_or_city_code_is_not_a_district(text):
    # 460300 三沙 has had districts (西沙区 460301, 南沙区 460302) since 2020
    with pytest.raises(BadCode) as err:
        DistrictCode.parse(text)
    assert f"区划代码 {text!r} 是省或地级市的代码" in err.value.message


@pytest.mark.parametrize("text", ["441900", "442000", "460400", "620200"])
def test_a_city_without_counties_is_a_district(text):
    # 东莞, 中山, 儋州, 嘉峪关: towns and streets sit directly under the city
    code = DistrictCode.parse(f" {text} ")
    assert (code.value, code.city) == (text, text[:4])
    grid = GridCode.parse(f"{text}003001001", scheme=GB, district=code)
    assert grid.district == code and grid.street.value == f"{text}003"


# -- schemes -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, scheme", [("legacy", LEGACY), ("LEGACY", LEGACY),
                                          (" gb47678 ", GB), ("GB/T 47678", GB),
                                          ("GB/T47678", GB)])
def test_scheme_parses_what_users_type(text, scheme):
    assert Scheme.parse(text) is scheme


def test_unknown_scheme_is_refused_naming_it():
    with pytest.raises(BadInput, match="未知的编码标准 'CJ/T 999'"):
        Scheme.parse("CJ/T 999")


def test_scheme_grid_digits():
    assert (LEGACY.default_grid_digits, LEGACY.allowed_grid_digits) == (14, (14, 15))
    assert (GB.default_grid_digits, GB.allowed_grid_digits) == (15, (14, 15))


def test_scheme_class_digits():
    assert (LEGACY.class_digits, GB.class_digits) == (4, 5)
