"""Code value objects: districts, streets, communities and unit grids.

Nobody slices code strings anywhere else. A `GridCode` is parsed against a district's scheme and
grid-code length and knows its street, community and district:

    legacy (CJ/T 213, GB/T 30428.1)  14 digits: district 6 + street 3 + community 3 + sequence 2
                                      15 digits: sequence 3 (Beijing DB11 and others)
    gb47678 (GB/T 47678)              15 characters [0-9A-Z]: district 6 + 3 + 3 + sequence 3
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from gis.errors import BadInput


class BadCode(BadInput):
    code = "bad_code"
    reason = "bad_code"  # the import reject reason


class WrongDistrict(BadCode):
    reason = "wrong_district"


class Scheme(StrEnum):
    LEGACY = "legacy"
    GB47678 = "gb47678"

    @classmethod
    def parse(cls, value: str) -> Scheme:
        try:
            return cls(value.strip().lower().replace("/", "").replace(" ", "").replace("gbt", "gb"))
        except ValueError:
            raise BadInput(f"未知的编码标准 {value!r}，应为 legacy 或 gb47678 "
                           f"(unknown code scheme {value!r}: expected legacy or gb47678)") from None

    @property
    def default_grid_digits(self) -> int:
        return 14 if self is Scheme.LEGACY else 15

    @property
    def allowed_grid_digits(self) -> tuple[int, ...]:
        # A district converted from legacy keeps its 14-digit grids until it re-imports them.
        return (14, 15)

    @property
    def class_digits(self) -> int:
        return 4 if self is Scheme.LEGACY else 5

    def class_with_zeros(self, code: str) -> str | None:
        """A class code as it was before a spreadsheet made a number of it and dropped its
        leading zeros ('101' → '0101', '1001' → '01001'); None unless `code` is digits short of
        the scheme's length."""
        n = self.class_digits
        if code.isascii() and code.isdigit() and len(code) < n:
            return code.zfill(n)
        return None


_DISTRICT = re.compile(r"^[0-9]{6}$")

# Prefecture-level cities without county-level divisions (不设区的地级市): their streets and towns
# sit directly under the city, so the city's own GB/T 2260 code is the district their grids and
# 标识码 start with. 三沙 (460300) is not one: since 2020 it has 西沙区 460301 and 南沙区 460302.
CITIES_WITHOUT_COUNTIES = {
    "441900": "东莞市",
    "442000": "中山市",
    "460400": "儋州市",
    "620200": "嘉峪关市",
}


@dataclass(frozen=True, order=True)
class DistrictCode:
    """A 6-digit GB/T 2260 county-level code (区/县/县级市), or the code of a prefecture-level
    city that has no county-level divisions (`CITIES_WITHOUT_COUNTIES`)."""

    value: str

    @classmethod
    def parse(cls, text: str) -> DistrictCode:
        value = str(text).strip()
        if not _DISTRICT.match(value):
            raise BadCode(f"区划代码 {text!r} 不是 6 位数字（GB/T 2260，如 341802） "
                          f"(district code {text!r} is not 6 digits)")
        if value[4:] == "00" and value not in CITIES_WITHOUT_COUNTIES:
            raise BadCode(f"区划代码 {value!r} 是省或地级市的代码；区县是县级单位，如 341802 "
                          f"(district code {value!r} is a province or city code)")
        return cls(value)

    @property
    def province(self) -> str:
        return self.value[:2]

    @property
    def city(self) -> str:
        return self.value[:4]

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class StreetCode:
    """9 characters: district 6 + street 3 (街道/乡镇, GB/T 10114)."""

    value: str

    @property
    def district(self) -> DistrictCode:
        return DistrictCode(self.value[:6])

    @property
    def local(self) -> str:
        return self.value[6:9]

    @property
    def numbered_kind(self) -> str | None:
        """街道, 镇 or 乡 as GB/T 10114-2003 numbers them (001–099 街道, 100–199 镇, 200–399 乡;
        400–599 are 政企合一 units such as farms: None). Only a hint: a contractor who numbers a
        county's streets and towns 001, 002 … in sequence follows no such rule."""
        local = self.local
        if len(local) != 3 or not (local.isascii() and local.isdigit()):
            return None
        n = int(local)
        if 1 <= n <= 99:
            return "街道"
        if 100 <= n <= 199:
            return "镇"
        if 200 <= n <= 399:
            return "乡"
        return None

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class CommunityCode:
    """12 characters: street 9 + community 3 (社区/村)."""

    value: str

    @property
    def street(self) -> StreetCode:
        return StreetCode(self.value[:9])

    @property
    def district(self) -> DistrictCode:
        return DistrictCode(self.value[:6])

    @property
    def local(self) -> str:
        return self.value[9:12]

    def __str__(self) -> str:
        return self.value


_EMPTY = "网格编码为空 (grid code is empty)"


@dataclass(frozen=True, order=True)
class GridCode:
    """A unit-grid code (单元网格标识码)."""

    value: str

    @classmethod
    def parse(cls, text: object, *, scheme: Scheme, digits: int | None = None,
              district: str | DistrictCode | None = None) -> GridCode:
        """Parse and validate; raise BadCode naming what is wrong."""
        if text is None or (isinstance(text, float) and text != text):
            raise BadCode(_EMPTY)
        value = str(text).strip()
        digits = digits or scheme.default_grid_digits
        if digits not in scheme.allowed_grid_digits:
            allowed = scheme.allowed_grid_digits
            raise BadCode(f"{scheme.value} 的网格编码是 {' 或 '.join(map(str, allowed))} 位，"
                          f"不是 {digits} 位 ({scheme.value} grid codes have "
                          f"{' or '.join(map(str, allowed))} characters, not {digits})")
        if not value:
            raise BadCode(_EMPTY)
        if len(value) != digits:
            raise BadCode(f"网格编码 {value!r} 有 {len(value)} 位，应为 {digits} 位 "
                          f"(grid code {value!r} has {len(value)} characters, expected {digits})")
        if scheme is Scheme.LEGACY or digits == 14:
            if not value.isdigit() or not value.isascii():
                bad = next(c for c in value if not (c.isascii() and c.isdigit()))
                raise BadCode(f"网格编码 {value!r} 含非数字字符 {bad!r}；legacy 编码只能是数字 "
                              f"(grid code {value!r} has a non-digit {bad!r})")
        else:
            bad_chars = [c for c in value if not (c.isascii() and (c.isdigit() or c.isupper()))]
            if bad_chars:
                raise BadCode(f"网格编码 {value!r} 含 {bad_chars[0]!r}；GB/T 47678 编码只能是数字和"
                              f"大写字母 [0-9A-Z] (grid code {value!r} has {bad_chars[0]!r})")
            if not value[:6].isdigit():
                raise BadCode(f"网格编码 {value!r} 不是以 6 位区划代码开头 (grid code {value!r} "
                              "does not start with a 6-digit district code)")
        if district is not None and value[:6] != str(district):
            raise WrongDistrict(f"网格编码 {value!r} 属于区县 {value[:6]}，不是 {district} "
                                f"(grid code {value!r} belongs to district {value[:6]}, "
                                f"not {district})")
        return cls(value)

    @property
    def district(self) -> DistrictCode:
        return DistrictCode(self.value[:6])

    @property
    def street(self) -> StreetCode:
        return StreetCode(self.value[:9])

    @property
    def community(self) -> CommunityCode:
        return CommunityCode(self.value[:12])

    @property
    def sequence(self) -> str:
        return self.value[12:]

    def __str__(self) -> str:
        return self.value
