"""Server-rendered pages (Chinese interface)."""

from __future__ import annotations

from html import escape

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
