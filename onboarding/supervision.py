"""检查督办: every county of the platform as a city or a province checks it — live or not, when
its data was last imported, how many grids and components it has, and the verdict of its latest
贯标 conformance report with the items that fail."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from census.tables import census_import, component
from grid.districts import list_districts
from grid.tables import grid, grid_import
from lookup.tables import rules_import
from onboarding.conformance import STATUS_ZH
from onboarding.tables import conformance_result


def overview(session: Session, codes: Iterable[str] | None = None,
             loaded: Iterable[str] = ()) -> list[dict[str, Any]]:
    """A row per district (only `codes` when given); `loaded` are those the lookup index
    answers for."""
    wanted = None if codes is None else set(codes)
    answering = set(loaded)
    out = []
    for d in list_districts(session):
        if wanted is not None and d.code not in wanted:
            continue
        grids = session.execute(sa.select(sa.func.count()).select_from(grid).where(
            grid.c.district_code == d.code, grid.c.valid_to.is_(None))).scalar_one()
        components = session.execute(sa.select(sa.func.count()).select_from(component).where(
            component.c.district_code == d.code, component.c.retired_at.is_(None))).scalar_one()
        last = max((at for t in (grid_import, census_import, rules_import)
                    if (at := session.execute(sa.select(sa.func.max(t.c.at)).where(
                        t.c.district_code == d.code)).scalar()) is not None), default=None)
        latest = session.execute(
            sa.select(conformance_result.c.body).where(conformance_result.c.district_code
                                                       == d.code)
            .order_by(conformance_result.c.generated_at.desc()).limit(1)).scalar()
        failing = [{"code": i["code"], "title_zh": i["title_zh"], "file": i.get("file"),
                    "detail": i["detail"]}
                   for i in (latest or {}).get("items", []) if i["status"] == "fail"]
        out.append({
            "district": d.code, "name": d.name, "scheme": d.scheme.value,
            "live": grids > 0, "answering": d.code in answering, "grids": grids,
            "components": components, "last_import": last.isoformat() if last else None,
            "verdict": latest["verdict"] if latest else None,
            "verdict_zh": STATUS_ZH[latest["verdict"]] if latest else "未检查",
            "checked_at": latest["generated_at"] if latest else None,
            "failing": failing})
    return out


def page(rows: list[dict[str, Any]]) -> str:
    e = escape
    body = []
    for r in rows:
        failing = "<br>".join(
            f"{e(f['title_zh'])}{'［' + e(f['file']) + '］' if f['file'] else ''}："
            f"{e(f['detail'])}" for f in r["failing"]) or "—"
        body.append(
            f"<tr><td>{e(r['name'])}</td><td>{e(r['district'])}</td><td>{e(r['scheme'])}</td>"
            f"<td>{'已上线' if r['live'] else '未上线'}</td><td class=n>{r['grids']}</td>"
            f"<td class=n>{r['components']}</td><td>{e((r['last_import'] or '—')[:16])}</td>"
            f"<td>{e(r['verdict_zh'])}<br><small>{e((r['checked_at'] or '')[:16])}</small></td>"
            f"<td>{failing}</td></tr>")
    return ("<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>检查督办</title>"
            "<style>body{font-family:sans-serif;margin:16px}table{border-collapse:collapse;"
            "width:100%}th,td{border:1px solid #999;padding:4px 6px;vertical-align:top;"
            "text-align:left}th{background:#eee}.n{text-align:right}</style></head><body>"
            f"<h1>检查督办：各区县上线与贯标情况</h1><p>共 {len(rows)} 个区县。</p>"
            "<table><tr><th>区县</th><th>代码</th><th>编码标准</th><th>状态</th><th>网格</th>"
            "<th>部件</th><th>最近导入</th><th>贯标结论</th><th>不符合项</th></tr>"
            + "".join(body) + "</table></body></html>")
