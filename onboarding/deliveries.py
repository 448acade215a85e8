"""What a contractor delivered for a county, found in a folder by content, not by file name.

A vector file is a census (管理部件普查) when its 标识码 column holds 16- or 17-digit codes, a grid
file when its code column holds 14- or 15-character grid codes on polygons, street or community
boundaries when 9- or 12-character codes do, and zones when polygons name a 责任单位; a CSV is the
权责清单 when it maps class codes to departments. Everything else is listed as not recognised,
with why. A folder that holds nothing usable, two candidates for one slot, or data of another
district is refused, naming the files (`NotOnboardable`, exit 2).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import shapely

from census.importer import COMPONENT_FIELDS
from gis import columns
from gis.csvfile import read_csv
from gis.errors import BadInput, CitygridError
from gis.fields import FieldMappingError, FieldSpec, resolve_fields
from gis.vector import VectorLayer, read_vector
from grid.hierarchy import BOUNDARY_FIELDS
from grid.reading import GRID_FIELDS
from lookup.rules import RULE_FIELDS

VECTOR = {".shp", ".gpkg", ".geojson", ".json", ".zip"}
SIDECARS = {".shx", ".dbf", ".prj", ".cpg", ".sbn", ".sbx", ".qix", ".xml", ".qmd", ".fix",
            ".lock"}
KIND_ZH = {"grids": "单元网格", "streets": "街道（乡镇）边界", "communities": "社区（村）边界",
           "census": "部件普查", "rules": "权责清单", "zones": "责任区域"}
SINGLE = ("grids", "streets", "communities", "rules", "zones")
POLYGONS = {3, 6}
MOSTLY = 0.8                     # the share of codes that must have the kind's length
OUT_DIR = "citygrid-onboarding"


class NotOnboardable(BadInput):
    code = "not_onboardable"


@dataclass(frozen=True)
class Delivery:
    path: Path
    kind: str                    # grids, streets, communities, census, rules, zones
    rows: int
    why: str                     # 中文: what showed it is this kind

    @property
    def name(self) -> str:
        return self.path.name

    def to_dict(self) -> dict[str, object]:
        return {"file": self.name, "kind": self.kind, "kind_zh": KIND_ZH[self.kind],
                "rows": self.rows, "why": self.why}


@dataclass
class Deliveries:
    folder: Path
    found: list[Delivery] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)   # (file, 中文 reason)

    def one(self, kind: str) -> Delivery | None:
        return next((d for d in self.found if d.kind == kind), None)

    def all(self, kind: str) -> list[Delivery]:
        return [d for d in self.found if d.kind == kind]

    def to_dict(self) -> dict[str, object]:
        return {"folder": str(self.folder), "found": [d.to_dict() for d in self.found],
                "ignored": [{"file": f, "why": w} for f, w in self.ignored]}


def find(folder: Path, district: str, *, crs: str | None = None,
         encoding: str | None = None) -> Deliveries:
    """The deliveries in `folder` (not in its subfolders, nor in the onboarding output)."""
    if not folder.is_dir():
        raise NotOnboardable(f"{folder} 不是文件夹 ({folder} is not a folder)")
    out = Deliveries(folder)
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        suffix = path.suffix.lower()
        if path.is_dir() or path.name.startswith(".") or suffix in SIDECARS:
            continue
        if suffix in VECTOR:
            kind, rows, why = _vector(path, district, crs, encoding)
        elif suffix == ".csv":
            kind, rows, why = _csv(path, encoding)
        else:
            kind, rows, why = None, 0, "不是矢量文件（.shp .gpkg .geojson .zip）或 CSV"
        if kind is None:
            out.ignored.append((path.name, why))
        else:
            out.found.append(Delivery(path, kind, rows, why))
    _check(out, district)
    return out


def _check(out: Deliveries, district: str) -> None:
    files = "、".join(f for f, _ in out.ignored) or "（空）"
    if out.one("grids") is None:
        raise NotOnboardable(
            f"{out.folder} 中没有可识别的单元网格文件（含 14 或 15 位网格编码的面图层）；"
            f"未识别的文件：{files} (no grid file found in {out.folder})")
    for kind in SINGLE:
        several = out.all(kind)
        if len(several) > 1:
            names = "、".join(d.name for d in several)
            raise NotOnboardable(
                f"{out.folder} 中有 {len(several)} 个{KIND_ZH[kind]}文件：{names}；只能有一个，"
                f"请移走多余的 (more than one {kind} file: {names})")


def _vector(path: Path, district: str, crs: str | None,
            encoding: str | None) -> tuple[str | None, int, str]:
    try:
        layer = read_vector(path, crs=crs, encoding=encoding)
    except CitygridError as exc:
        raise NotOnboardable(f"{path.name} 读不出来：{exc}") from exc
    if len(layer) == 0:
        return None, 0, "没有要素"
    types = set(shapely.get_type_id(layer.geometry[~shapely.is_missing(layer.geometry)]))
    polygonal = bool(types) and types <= POLYGONS
    # most specific first: a census names a 16/17-digit 标识码, a grid file 14/15 characters
    for kind, specs, lengths, needs_polygons in (
            ("census", COMPONENT_FIELDS, (16, 17), False),
            ("grids", GRID_FIELDS, (14, 15), True),
            ("streets", BOUNDARY_FIELDS, (9,), True),
            ("communities", BOUNDARY_FIELDS, (12,), True)):
        if needs_polygons and not polygonal:
            continue
        column, share = _code_column(layer, specs, lengths)
        if column is None or share < MOSTLY:
            continue
        _same_district(path, layer, column, district, kind)
        return kind, len(layer), f"{column} 列为 {'/'.join(map(str, lengths))} 位编码"
    if polygonal and _maps(layer.columns, RULE_FIELDS, ("zone_code", "unit")):
        return "zones", len(layer), "面图层，含区域编码与责任单位"
    return None, len(layer), "没有可识别的编码列（标识码、网格编码、区划代码或责任单位）"


def _csv(path: Path, encoding: str | None) -> tuple[str | None, int, str]:
    try:
        rows, _ = read_csv(path, encoding=encoding)
    except CitygridError as exc:
        return None, 0, f"读不出来：{exc}"
    if _maps(list(rows[0]), RULE_FIELDS, ("class_code", "department")):
        return "rules", len(rows), "含类别代码与责任部门列"
    return None, len(rows), "不是权责清单（没有类别代码与责任部门列）"


def _maps(names: Sequence[str], specs: dict[str, FieldSpec], targets: Sequence[str]) -> bool:
    wanted = [specs[t] for t in targets]
    try:
        mapping = resolve_fields(names, wanted)
    except FieldMappingError:
        return False
    return all(mapping.get(t) for t in targets)


def _code_column(layer: VectorLayer, specs: Sequence[FieldSpec],
                 lengths: tuple[int, ...]) -> tuple[str | None, float]:
    """The column the specs map `code` to, and the share of its values of those lengths."""
    try:
        column = resolve_fields(layer.columns, specs).get("code")
    except FieldMappingError:
        return None, 0.0
    if column is None:
        return None, 0.0
    values = [v for v in _codes(layer, column) if v]
    if not values:
        return column, 0.0
    return column, sum(len(v) in lengths for v in values) / len(values)


def _codes(layer: VectorLayer, column: str) -> list[str | None]:
    return columns.text(layer.table.column(column)).to_pylist()


def _same_district(path: Path, layer: VectorLayer, column: str, district: str,
                   kind: str) -> None:
    prefixes = Counter(v[:6] for v in _codes(layer, column) if v)
    top, n = prefixes.most_common(1)[0]
    if top != district and n / max(1, sum(prefixes.values())) >= MOSTLY:
        raise NotOnboardable(
            f"{path.name} 是 {top} 的{KIND_ZH[kind]}（{n} 个编码以 {top} 开头），"
            f"不是 {district} 的 ({path.name} holds {kind} of district {top}, not {district})")
