"""A city's 考核办法 as data: the weights, score formulas and grade bands by which it ranks its
areas, departments and posts each month (`cases/data/evaluation.toml` is the sample city's, built
from two real ones). Never constants in code: `citygrid evaluation import FILE` loads a city's
(or, with `--district`, one district's).

Each item of a kind of row scores `weight × value`: `value` a formula over the row's indicators
(numbers, + - * / and parentheses; a value whose base is 0 scores full marks, nothing should have
happened), or an indicator `of` scored by `bands` (out of 100). A row's score is the sum, its
grade the first band the score reaches.
"""

from __future__ import annotations

import ast
import operator
import os
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from cases.evaluation import DERIVED, FACTS, INDICATORS, KIND
from gis.errors import BadInput, InputFileError
from gis.tables import TIMESTAMPTZ, metadata

CITY = ""
SHIPPED = "shipped with citygrid"

evaluation_scheme = sa.Table(
    "evaluation_scheme", metadata,
    # '' the city's; a district code: that district's own
    sa.Column("scope", sa.String(6), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),      # the TOML as the city wrote it
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("loaded_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
)

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}


class BadScheme(BadInput):
    code = "bad_evaluation_scheme"


@dataclass(frozen=True)
class Item:
    item: str
    weight: float
    value: str | None = None
    of: str | None = None
    bands: tuple[tuple[float, float], ...] = ()

    def points(self, row: dict[str, Any]) -> float:
        """This item's points for a row (full marks when its base is 0)."""
        if self.of is not None:
            count = row.get(self.of) or 0
            score = next((s for floor, s in self.bands if count >= floor), 0.0)
            return self.weight * score / 100
        assert self.value is not None
        got = evaluate(self.value, row)
        if got is None:
            return self.weight
        return self.weight * min(1.0, max(0.0, got))


@dataclass(frozen=True)
class Scheme:
    name: str
    grades: tuple[tuple[str, float], ...]      # best first
    lowest: str
    kinds: dict[str, tuple[Item, ...]]         # area, department, post.<post>

    def score(self, row: dict[str, Any], kind: str) -> tuple[float, str] | None:
        items = self.kinds.get(kind)
        if not items:
            return None
        total = round(sum(i.points(row) for i in items), 2)
        grade = next((g for g, floor in self.grades if total >= floor), self.lowest)
        return total, grade


def _names() -> set[str]:
    names = {n for facts in FACTS.values() for n in facts} | set(DERIVED)
    return names | {i.key for table in INDICATORS.values() for i in table}


def evaluate(formula: str, row: dict[str, Any]) -> float | None:
    """The value of a formula for a row; None when it divides by zero (nothing to count)."""
    def walk(node: ast.AST) -> float | None:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name):
            v = row.get(node.id)
            return None if v is None else float(v)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            a, b = walk(node.left), walk(node.right)
            if a is None or b is None:
                return None
            if isinstance(node.op, ast.Div) and b == 0:
                return None
            return float(_OPS[type(node.op)](a, b))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            v = walk(node.operand)
            return None if v is None else -v
        raise BadScheme(f"公式 {formula!r} 只能用指标、数字和 + - * / () (a formula uses "
                        "indicators, numbers and + - * / only)")
    return walk(ast.parse(formula, mode="eval"))


def parse(text: str, source: str) -> Scheme:
    """A scheme from TOML text, every formula and indicator checked (BadScheme says where)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadScheme(f"{source}：不是有效的 TOML（{exc}） (not valid TOML)") from None
    known = _names()
    grades = data.get("grades") or {}
    bands = sorted(((str(g), float(v)) for g, v in grades.items() if g != "lowest"),
                   key=lambda gv: -gv[1])
    if not bands:
        raise BadScheme(f"{source}：缺少 [grades] 等级划分 (no grade bands)")
    kinds: dict[str, tuple[Item, ...]] = {}
    raw_kinds = {k: v for k, v in data.items() if k in ("area", "department")}
    for post, items in (data.get("post") or {}).items():
        raw_kinds[f"post.{post}"] = items
    unknown = set(data) - {"name", "grades", "area", "department", "post"}
    if unknown:
        raise BadScheme(f"{source}：不认识的部分 {sorted(unknown)} (unknown sections; kinds are "
                        "area, department and post.<岗位>)")
    for kind, items in raw_kinds.items():
        parsed = []
        for n, it in enumerate(items, start=1):
            where = f"{source}: {kind} 第 {n} 项（{it.get('item', '?')}）"
            try:
                weight = float(it["weight"])
            except (KeyError, TypeError, ValueError):
                raise BadScheme(f"{where} 缺少 weight (no weight)") from None
            if "value" in it:
                formula = str(it["value"])
                try:
                    tree = ast.parse(formula, mode="eval")
                except SyntaxError:
                    raise BadScheme(f"{where}：公式 {formula!r} 写错了 (not a formula)") from None
                names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
                if names - known:
                    raise BadScheme(f"{where}：没有指标 {sorted(names - known)} "
                                    f"(unknown indicators)")
                evaluate(formula, dict.fromkeys(names, 1))
                parsed.append(Item(str(it.get("item", formula)), weight, value=formula))
            elif "of" in it and "bands" in it:
                if it["of"] not in known:
                    raise BadScheme(f"{where}：没有指标 {it['of']!r} (unknown indicator)")
                pairs = tuple(sorted(((float(a), float(b)) for a, b in it["bands"]),
                                     key=lambda p: -p[0]))
                parsed.append(Item(str(it.get("item", it["of"])), weight, of=str(it["of"]),
                                   bands=pairs))
            else:
                raise BadScheme(f"{where}：需要 value（公式）或 of 与 bands (needs value, or of "
                                "and bands)")
        kinds[kind] = tuple(parsed)
    return Scheme(str(data.get("name") or source), tuple(bands),
                  str(grades.get("lowest", "E")), kinds)


def shipped() -> str:
    return resources.files("cases").joinpath("data", "evaluation.toml").read_text("utf-8")


def import_scheme(session: Session, path: str | os.PathLike[str],
                  district: str | None = None) -> Scheme:
    """Load a city's (or a district's) 考核办法 from a TOML file, replacing the one before."""
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise InputFileError(f"{path}：文件不存在 ({path}: no such file)") from None
    except UnicodeDecodeError:
        raise InputFileError(f"{p.name} 不是 UTF-8 文本 (is not UTF-8 text)") from None
    scheme = parse(text, p.name)
    stmt = insert(evaluation_scheme).values(scope=district or CITY, name=scheme.name,
                                            body=text, source=p.name)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[evaluation_scheme.c.scope],
        set_={"name": stmt.excluded.name, "body": stmt.excluded.body,
              "source": stmt.excluded.source, "loaded_at": sa.func.now()}))
    return scheme


def scheme_for(session: Session, district: str) -> Scheme:
    """The district's own 考核办法, else the city's, else the sample city's."""
    rows = {r.scope: r for r in session.execute(sa.select(evaluation_scheme).where(
        evaluation_scheme.c.scope.in_([district, CITY])))}
    row = rows.get(district) or rows.get(CITY)
    if row is None:
        return parse(shipped(), "evaluation.toml")
    return parse(row.body, row.source)


def score_rows(rows: list[dict[str, Any]], by: str, scheme: Scheme) -> list[dict[str, Any]]:
    """The rows with their `score` and `grade` (rows of a kind the scheme does not score have
    none)."""
    kind = KIND[by]
    out = []
    for row in rows:
        got = scheme.score(row, f"post.{row.get('post')}" if kind == "post" else kind)
        out.append({**row, **({"score": got[0], "grade": got[1]} if got else {})})
    return out
