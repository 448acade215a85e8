"""The monthly evaluation as a Chinese HTML page a 考核办 prints (A4) and files: rankings, the
indicators, score and grade of each department and post, a chart per section (chart.js from npm,
served by citygrid), and every count a link to the cases behind it.

A browser has no bearer token of its own: without one, the page is a shell that takes the token
the map keeps in this browser and loads the page with it."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from api.reports.evaluation import Report, Section
from cases.evaluation import Indicator
from cases.flow import STATES

STYLE = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #222;
       margin: 1.5em; font-size: 12px; }
h1 { font-size: 20px; margin: 0 0 .2em; } h2 { font-size: 15px; margin: 1.6em 0 .4em; }
.meta { color: #555; margin: 0 0 1em; }
table { border-collapse: collapse; width: 100%; margin-bottom: .6em; }
th, td { border: 1px solid #bbb; padding: .2em .4em; text-align: right; white-space: nowrap; }
th { background: #eef2f7; text-align: center; font-weight: normal; }
td.name { text-align: left; } td.grade { text-align: center; font-weight: bold; }
a { color: #1a5fb4; text-decoration: none; } a:hover { text-decoration: underline; }
.chart { height: 150px; margin: .3em 0 1em; page-break-inside: avoid; }
section { page-break-inside: avoid; } .none { color: #888; }
@media print { a { color: inherit; } .noprint { display: none; } }
"""


def _fmt(value: Any, rate: bool) -> str:
    if value is None:
        return "—"
    if rate:
        return f"{value * 100:.1f}%"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cell(report: Report, section: Section, row: dict[str, Any], ind: Indicator) -> str:
    value = row.get(ind.key)
    text = escape(_fmt(value, ind.of is not None))
    counted = value if ind.of is None else row.get(ind.of[0])
    if counted:                      # a number with cases behind it
        href = escape(section.link(report.period, row, ind.key))
        return f"<td><a href=\"{href}\">{text}</a></td>"
    return f"<td>{text}</td>"


def _section(report: Report, section: Section, n: int) -> str:
    if not section.rows:
        return (f"<section><h2>{escape(section.title)}</h2><p class=none>本期无数据</p>"
                f"</section>")
    head = "".join(f"<th>{escape(i.name)}</th>" for i in section.indicators)
    body = []
    for r in section.rows:
        cells = "".join(_cell(report, section, r, i) for i in section.indicators)
        score = "—" if r.get("score") is None else f"{r['score']:.2f}"
        body.append(f"<tr><td>{r['rank']}</td><td class=name>{escape(str(r['name']))}</td>"
                    f"{cells}<td>{score}</td><td class=grade>{escape(r.get('grade', '—'))}</td>"
                    f"</tr>")
    chart = {"labels": [str(r["name"]) for r in section.rows],
             "scores": [r.get("score") for r in section.rows]}
    return (f"<section><h2>{escape(section.title)}</h2>"
            f"<div class=chart><canvas id=chart{n} data-chart='{escape(json.dumps(chart))}'>"
            f"</canvas></div><table><thead><tr><th>排名</th><th>对象</th>{head}<th>得分</th>"
            f"<th>等级</th></tr></thead><tbody>{''.join(body)}</tbody></table></section>")


CHARTS = """
<script src="/vendor/chart.js/chart.umd.min.js"></script>
<script>
for (const canvas of document.querySelectorAll("canvas[data-chart]")) {
  const data = JSON.parse(canvas.dataset.chart);
  new Chart(canvas, { type: "bar",
    data: { labels: data.labels, datasets: [{ label: "得分", data: data.scores,
            backgroundColor: "#4a7dbd", maxBarThickness: 48 }] },
    options: { animation: false, maintainAspectRatio: false,
               scales: { y: { min: 0, max: 100 } }, plugins: { legend: { display: false } } } });
}
window.citygridReportReady = true;
</script>"""


def page(report: Report) -> str:
    """The whole report as one printable page."""
    sections = "".join(_section(report, s, i) for i, s in enumerate(report.sections))
    p = report.period
    return (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8>"
            f"<title>{escape(report.name)}数字城管绩效评价 {escape(report.month)}</title>"
            f"<style>{STYLE}</style></head><body>"
            f"<h1>{escape(report.name)}数字化城市管理绩效评价月报（{escape(report.month)}）</h1>"
            f"<p class=meta>区划代码 {escape(report.district)} · 统计期 {p.start} 至 {p.end} · "
            f"统计时点 {p.t:%Y-%m-%d %H:%M} · 考核办法：{escape(report.scheme)}。"
            f"超期按统计时点判定，迟办计入当时承办的部门或岗位；数字可点开查看对应案件。</p>"
            f"{sections}{CHARTS}</body></html>")


def cases_page(title: str, rows: list[dict[str, Any]]) -> str:
    """The cases behind one number."""
    body = "".join(
        f"<tr><td class=name><a href=\"/map#case={escape(r['number'])}\">"
        f"{escape(r['number'])}</a></td><td class=name>{escape(r['class_name'])}</td>"
        f"<td>{escape(STATES.get(r['state'], r['state']))}</td>"
        f"<td class=name>{escape(r['department'] or '')}</td>"
        f"<td>{r['reported_at']:%Y-%m-%d %H:%M}</td></tr>" for r in rows)
    return (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>"
            f"{escape(title)}</title><style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
            f"<p class=meta>共 {len(rows)} 件</p><table><thead><tr><th>案件编号</th><th>类别</th>"
            f"<th>状态</th><th>责任部门</th><th>上报时间</th></tr></thead><tbody>{body}</tbody>"
            f"</table></body></html>")


SHELL = """<!doctype html><html lang=zh-CN><head><meta charset=utf-8><title>citygrid</title>
</head><body><p id=msg>正在加载…</p>
<form id=login hidden><p>请输入访问令牌（与地图相同，保存在本浏览器）：</p>
<input name=token size=48 placeholder="cg_…" required> <button>查看</button></form>
<script>
const KEY = "citygrid.token";
async function load(token) {
  const resp = await fetch(location.href, { headers: { Authorization: "Bearer " + token } });
  if (resp.status === 401) {
    localStorage.removeItem(KEY); ask("令牌无效或已过期，请重新输入。"); return;
  }
  const html = await resp.text();
  document.open(); document.write(html); document.close();
}
function ask(why) {
  document.getElementById("msg").textContent = why;
  const form = document.getElementById("login"); form.hidden = false;
  form.onsubmit = (e) => { e.preventDefault(); const t = form.token.value.trim();
    localStorage.setItem(KEY, t); load(t); };
}
const token = localStorage.getItem(KEY);
if (token) load(token); else ask("查看报表需要访问令牌。");
</script></body></html>"""
