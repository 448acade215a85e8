"""The one line a census import says about a rejected row, naming the bad value: Chinese for the
person reading it, then English."""

from __future__ import annotations

from typing import Any

from census.codes import code_length
from grid.districts import District


def message(reason: str, i: int, values: dict[str, Any], detail: str | None,
            first: int | None, district: District, fid: int) -> str:
    """One line that names the bad value of row `i` (feature id `fid`; a duplicate's `first`),
    in Chinese and then English."""
    code = values["code"][i].as_py()
    scheme = district.scheme
    if reason == "null_geometry":
        zh, en = "没有几何图形", "has no geometry"
    elif reason == "lost_digits":
        zh = (f"{detail} 的位数已丢失：它以浮点数或科学计数法交付，只保留 15 至 17 位有效数字；"
              "编码请以文本（或整数）字段交付")
        en = f"{detail} has lost digits (a floating-point number or scientific notation)"
        detail = None
    elif reason == "bad_code":
        n = code_length(scheme)
        zh = f"标识码 {code!r} 不是 {n} 位（{scheme.value}）" if code else "标识码为空"
        en = f"标识码 {code!r} is not {n} digits" if code else "标识码 is empty"
    elif reason == "wrong_district":
        zh = f"标识码 {code} 属于区县 {code[:6]}，不是 {district.code}"
        en = f"标识码 {code} belongs to district {code[:6]}"
    elif reason == "unknown_class":
        cls = values["class"][i].as_py()
        zh = f"标识码 {code} 的小类 {cls} 不在 {scheme.value} 部件分类代码表中"
        en = f"class {cls} is not in the {scheme.value} component catalog"
    elif reason == "class_mismatch":
        given, cls = values["class_code"][i].as_py(), values["class"][i].as_py()
        zh = f"小类字段为 {given}，而标识码 {code} 的小类是 {cls}"
        en = f"the class field says {given} but 标识码 {code} has class {cls}"
    elif reason == "invalid_geometry":
        zh, en = f"{code} 的几何图形无效", f"{code}: invalid geometry"
    elif reason == "unknown_status":
        status = values["status"][i].as_py()
        zh = f"部件状态 {status!r} 不在状态代码表中"
        en = f"status {status!r} is not in the status code table"
    elif reason == "bad_date":
        zh, en = f"{code} 的日期无法识别", f"{code}: a date is not understood"
    elif reason == "duplicate":
        zh = f"标识码 {code} 与要素 {first} 重复" if first is not None else f"标识码 {code} 重复"
        en = f"标识码 {code} repeats feature {first}"
    elif reason == "outside":
        zh = f"{code} 不在区县 {district.code} 的任何单元网格内（X/Y 颠倒或坐标系不对？）"
        en = f"{code} lies in no grid of district {district.code}"
    else:
        zh = en = reason
    return f"要素 {fid}：{zh}" + (f"（{detail}）" if detail else "") + f" (feature {fid}: {en})"
