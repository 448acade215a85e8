"""The import report every importer returns: each input row ends as imported, updated, unchanged
or rejected with a stable reason, and `imported + updated + unchanged + rejected == read`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# The stable reject reasons, as a person reads them.
REASONS_ZH = {
    "null_geometry": "无几何图形", "invalid_geometry": "几何图形无效", "bad_code": "编码格式不对",
    "wrong_district": "不属于本区县", "lost_digits": "编码位数丢失（数值字段或科学计数法）",
    "duplicate": "编码重复", "unknown_class": "小类不在分类代码表中",
    "class_mismatch": "小类字段与标识码不一致", "unknown_status": "部件状态不在代码表中",
    "bad_date": "日期无法识别", "outside": "不在本区县任何单元网格内",
    "national_class": "与国标小类代码冲突", "missing_unit": "缺少责任单位",
    "missing_department": "缺少责任部门", "bad_kind": "类型不是部件或事件",
    "bad_radius": "搜索半径不是正数", "bad_row": "行格式不对", "refused": "整个文件未导入",
    "overlap": "与其他网格重叠", "gap": "网格间有缝隙", "nesting": "跨越社区或街道边界",
    "area": "面积异常", "lost_leading_zero": "类别代码丢失了前导零",
    "mixed_row": "一行既有类别又有属地单位", "unknown_street": "街道（乡镇）不存在",
    "street_mismatch": "街道代码与名称不符", "ambiguous_street": "街道名称对应多个街道",
    "missing_office": "缺少属地责任单位",
}


# What an import report is of, as a person reads it (ImportReport.kind).
KINDS_ZH = {
    "grids": "单元网格", "components": "部件", "street boundaries": "街道（乡镇）边界",
    "community boundaries": "社区（村）边界", "responsibility list": "权责清单",
    "responsibility zones": "责任区域", "catalog": "分类代码表", "handling manual": "处置时限标准",
    "calendar": "节假日历",
}


def reason_zh(reason: str) -> str:
    return REASONS_ZH.get(reason, reason)


@dataclass(frozen=True)
class Reject:
    # the row as QGIS shows it: a vector file's feature id (a shapefile's and a GeoJSON's from
    # 0, a GeoPackage's own); a CSV's data row, 1 for the first row under the header
    row: int
    code: str | None    # the object's code (grid code, 标识码) as read, if any
    reason: str         # stable word: bad_code, duplicate, outside, null_geometry, …
    message: str
    clashes_with: int | None = None     # a duplicate: the earlier row that stays

    def to_dict(self) -> dict[str, Any]:
        out = {"row": self.row, "code": self.code, "reason": self.reason,
               "reason_zh": reason_zh(self.reason), "message": self.message}
        if self.clashes_with is not None:
            out["clashes_with"] = self.clashes_with
        return out


@dataclass
class ImportReport:
    kind: str                      # "grids", "components", "streets", "communities", …
    district: str
    source: str
    crs: str = ""
    encoding: str = ""
    read: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejects: list[Reject] = field(default_factory=list)
    dry_run: bool = False
    status: str = "ok"             # "ok" or "refused" (nothing written)
    mapping: dict[str, str | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected(self) -> int:
        return len(self.rejects)

    def reject(self, row: int, code: str | None, reason: str, message: str,
               clashes_with: int | None = None) -> None:
        self.rejects.append(Reject(row, code, reason, message, clashes_with))

    def balanced(self) -> bool:
        return self.imported + self.updated + self.unchanged + self.rejected == self.read

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "district": self.district, "source": self.source,
            "status": self.status, "dry_run": self.dry_run,
            "read": self.read, "imported": self.imported, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "rejects": [r.to_dict() for r in sorted(self.rejects, key=lambda r: r.row)],
            "reasons": dict(Counter(r.reason for r in self.rejects).most_common()),
            "crs": self.crs, "encoding": self.encoding, "mapping": self.mapping,
            **self.extra,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def summary(self) -> str:
        """One line: Chinese, then English."""
        verb = "would import" if self.dry_run else "imported"
        verb_zh = "试导入" if self.dry_run else "导入"
        if self.status == "refused":
            verb, verb_zh = "refused", "未导入"
        counts = (f"read {self.read}, imported {self.imported}, updated {self.updated}, "
                  f"unchanged {self.unchanged}, rejected {self.rejected}")
        counts_zh = (f"读取 {self.read}，新增 {self.imported}，更新 {self.updated}，"
                     f"未变 {self.unchanged}，拒绝 {self.rejected}")
        reasons = Counter(r.reason for r in self.rejects).most_common()
        why = (" (" + ", ".join(f"{k} {v}" for k, v in reasons) + ")") if reasons else ""
        why_zh = ("（" + "，".join(f"{reason_zh(k)} {v}" for k, v in reasons) + "）"
                  if reasons else "")
        where = f"区县 {self.district} " if self.district != "*" else ""
        dry = "；试运行，未写入" if self.dry_run else ""
        return (f"{where}{KINDS_ZH.get(self.kind, self.kind)}{verb_zh}（{self.source}）："
                f"{counts_zh}{why_zh}{dry} ({self.kind} {verb} for {self.district} from "
                f"{self.source}: {counts}{why})")
