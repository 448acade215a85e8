"""Field mapping: which column of a file holds which target attribute.

A target has aliases (data: each domain ships a TOML table of them); the first alias that
matches a column wins. Matching ignores case, spaces and underscores, and also accepts an alias
cut to the 10 bytes a DBF field name can hold (5 Chinese characters in GBK). `--field
target=source` overrides take precedence and are checked against the file.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from gis.errors import BadInput


class FieldMappingError(BadInput):
    code = "bad_field_mapping"


@dataclass(frozen=True)
class FieldSpec:
    target: str
    label: str
    aliases: tuple[str, ...]
    required: bool = False


def load_specs(package: str, resource: str) -> tuple[FieldSpec, ...]:
    data = tomllib.loads(resources.files(package).joinpath(resource).read_text("utf-8"))
    return tuple(
        FieldSpec(target=name, label=spec.get("label", name), aliases=tuple(spec["aliases"]),
                  required=bool(spec.get("required", False)))
        for name, spec in data.items()
    )


def _norm(name: str) -> str:
    return name.strip().casefold().replace("_", "").replace(" ", "")


def _dbf_cut(alias: str) -> str:
    raw = alias.encode("gb18030")
    if len(raw) <= 10:
        return alias
    return raw[:10].decode("gb18030", errors="ignore")


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`['code=网格编码', …]` → {'code': '网格编码'}."""
    result: dict[str, str] = {}
    for pair in pairs:
        target, sep, source = pair.partition("=")
        if not sep or not target.strip() or not source.strip():
            raise FieldMappingError(f"--field {pair!r} 不是“目标=字段”的形式，例如 "
                                    f"--field code=网格编码 (--field {pair!r} is not "
                                    "target=source)")
        result[target.strip()] = source.strip()
    return result


def resolve_fields(columns: Sequence[str], specs: Sequence[FieldSpec],
                   overrides: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Map each target to a column of `columns` (or None when optional and absent)."""
    overrides = dict(overrides or {})
    targets = {s.target for s in specs}
    unknown = sorted(set(overrides) - targets)
    if unknown:
        raise FieldMappingError(f"--field {unknown[0]}=…：没有目标 {unknown[0]!r}；目标有 "
                                f"{'、'.join(s.target for s in specs)} "
                                f"(--field {unknown[0]}=…: unknown target {unknown[0]!r})")
    by_norm: dict[str, str] = {}
    for column in columns:
        by_norm.setdefault(_norm(column), column)
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for target, source in overrides.items():
        col = source if source in columns else (by_norm.get(_norm(source))
                                                or by_norm.get(_norm(_dbf_cut(source))))
        if col is None:
            raise FieldMappingError(f"--field {target}={source}：文件中没有字段 {source!r}"
                                    f"（文件中有 {'、'.join(columns)}） "
                                    f"(--field {target}={source}: the file has no field "
                                    f"{source!r})")
        mapping[target] = col
        taken.add(col)
    for spec in specs:
        if spec.target in mapping:
            continue
        found = None
        for alias in spec.aliases:
            for candidate in (alias, _dbf_cut(alias)):
                col = by_norm.get(_norm(candidate))
                if col is not None and col not in taken:
                    found = col
                    break
            if found:
                break
        if found is None and spec.required:
            raise FieldMappingError(
                f"找不到 {spec.target}（{spec.label}）的字段：找过 {'、'.join(spec.aliases[:8])}…；"
                f"文件中有 {'、'.join(columns)}；请用 --field {spec.target}=字段名 指定 "
                f"(no field for {spec.target} ({spec.label}): name it with "
                f"--field {spec.target}=FIELD)")
        mapping[spec.target] = found
        if found:
            taken.add(found)
    return mapping
