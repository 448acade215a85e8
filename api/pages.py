"""Server-rendered pages (Chinese interface)."""

from __future__ import annotations

from html import escape
from typing import Any

from grid.districts import District

_STYLE = """body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .8em;text-align:left}"""


def index(rows: list[tuple[District, int]]) -> str:
    body = "".join(
        f"<tr><td>{escape(d.code)}</td><td>{escape(d.name)}</td><td>{escape(d.scheme.value)}</td>"
        f"<td>{escape(d.crs or '')}</td><td>{n}</td>"
        f"<td><a href='/districts/{escape(d.code)}'>详情</a> · "
        f"<a href='/districts/{escape(d.code)}/grids'>网格 GeoJSON</a> · "
        f"<a href='/districts/{escape(d.code)}/qa'>拓扑检查</a></td></tr>"
        for d, n in rows)
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>citygrid 数字城管空间底座</title><style>{_STYLE}</style></head><body>"
            f"<h1>citygrid 数字城管空间底座</h1>"
            f"<table><tr><th>区划代码</th><th>名称</th><th>编码体系</th><th>坐标系</th>"
            f"<th>单元网格</th><th></th></tr>{body}</table>"
            f"<p><a href='/map'>地图</a> · <a href='/docs'>API 文档</a> · "
            f"<a href='/collections'>OGC API Features</a></p></body></html>")


def ogc(title: str, doc: dict[str, Any]) -> str:
    """An OGC API resource as HTML (Part 1's HTML class): the same content as its JSON, the
    links as links, lists of objects (collections, features) as tables."""
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{escape(title)}</h1>{_value(doc)}</body></html>")


def _value(v: Any) -> str:
    if isinstance(v, dict):
        if set(v) >= {"href", "rel"}:
            return (f"<a href='{escape(str(v['href']))}'>{escape(str(v.get('title') or v['rel']))}"
                    f"</a> ({escape(str(v['rel']))}, {escape(str(v.get('type', '')))})")
        if v.get("type") == "Feature":
            v = {"id": v.get("id"), **v.get("properties", {}),
                 "geometry": (v.get("geometry") or {}).get("type"), "links": v.get("links")}
        return "<dl>" + "".join(f"<dt>{escape(str(k))}</dt><dd>{_value(x)}</dd>"
                                for k, x in v.items() if x is not None) + "</dl>"
    if isinstance(v, list):
        if v and all(isinstance(x, dict) and x.get("type") == "Feature" for x in v):
            return _table([{"id": x.get("id"), **x.get("properties", {})} for x in v])
        return "<ul>" + "".join(f"<li>{_value(x)}</li>" for x in v) + "</ul>"
    return escape(str(v))


def _table(rows: list[dict[str, Any]]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    head = "".join(f"<th>{escape(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(r.get(k, '')))}</td>" for k in keys)
                   + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"
