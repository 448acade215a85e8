"""conformance.html: the 贯标符合性报告 as a Chinese page a province files, printable on A4 (the
same content as conformance.json, nothing loaded from elsewhere)."""

from __future__ import annotations

from html import escape
from typing import Any

from gis.report import reason_zh

STATUS = {"pass": ("符合", "#1b7f3b"), "warn": ("基本符合", "#a66a00"),
          "fail": ("不符合", "#b3261e")}
CSS = """
@page { size: A4; margin: 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       color: #222; max-width: 190mm; margin: 0 auto; font-size: 10.5pt; line-height: 1.5; }
h1 { text-align: center; font-size: 18pt; margin: 0 0 4px; letter-spacing: 2px; }
.sub { text-align: center; color: #555; margin-bottom: 12px; }
.verdict { font-size: 14pt; text-align: center; margin: 10px 0 16px; }
.badge { display: inline-block; padding: 1px 10px; border-radius: 3px; color: #fff; }
h2 { font-size: 12.5pt; border-bottom: 2px solid #333; padding-bottom: 2px; margin-top: 18px; }
h3 { font-size: 11pt; margin: 12px 0 4px; }
table { width: 100%; border-collapse: collapse; margin: 4px 0 8px; page-break-inside: auto; }
th, td { border: 1px solid #999; padding: 3px 5px; vertical-align: top; text-align: left; }
th { background: #eee; }
tr { page-break-inside: avoid; }
td.num { text-align: right; white-space: nowrap; }
td.status { white-space: nowrap; font-weight: bold; }
.foot { margin-top: 20px; color: #666; font-size: 9pt; }
"""


def _status(code: str) -> str:
    word, color = STATUS[code]
    return f'<span style="color:{color}">{word}</span>'


def page(body: dict[str, Any]) -> str:
    e = escape
    word, color = STATUS[body["verdict"]]
    parts = [
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">",
        f"<title>贯标符合性报告 — {e(body['name'])}（{e(body['district'])}）</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>贯标符合性报告</h1>",
        f"<div class=\"sub\">{e(body['name'])}（行政区划代码 {e(body['district'])}）· "
        f"{e(body['standard'])} · 生成于 {e(body['generated_at'])}</div>",
        f"<div class=\"verdict\">结论：<span class=\"badge\" style=\"background:{color}\">"
        f"{word}</span></div>",
    ]
    if body.get("dry_run"):
        parts.append("<p><b>试运行（--dry-run）：数据未写入，本县尚未上线。</b></p>")
    elif body.get("gate_failed"):
        parts.append("<p><b>单元网格质量检查未通过：本县未上线，请按下列问题修改网格文件后重新提交。"
                     "</b></p>")
    deliveries = body.get("deliveries")
    if deliveries:
        parts.append("<h2>一、交付文件</h2><table><tr><th>文件</th><th>识别为</th>"
                     "<th>行数</th><th>依据</th></tr>")
        for d in deliveries["found"]:
            parts.append(f"<tr><td>{e(d['file'])}</td><td>{e(d['kind_zh'])}</td>"
                         f"<td class=\"num\">{d['rows']}</td><td>{e(d['why'])}</td></tr>")
        for d in deliveries["ignored"]:
            parts.append(f"<tr><td>{e(d['file'])}</td><td>未识别</td><td></td>"
                         f"<td>{e(d['why'])}</td></tr>")
        parts.append("</table>")
    parts.append("<h2>二、检查项</h2><table><tr><th>检查项</th><th>文件</th><th>结论</th>"
                 "<th>说明</th><th>由谁补正</th></tr>")
    for item in body["items"]:
        parts.append(f"<tr><td>{e(item['title_zh'])}<br><small>{e(item['code'])}</small></td>"
                     f"<td>{e(item.get('file') or '')}</td>"
                     f"<td class=\"status\">{_status(item['status'])}</td>"
                     f"<td>{e(item['detail'])}</td>"
                     f"<td>{e(item['fix_by_zh']) if item['status'] != 'pass' else ''}</td></tr>")
    parts.append("</table>")
    if body.get("census"):
        parts.append("<h2>三、部件普查属性</h2>")
    for c in body.get("census", []):
        reasons = "、".join(f"{e(reason_zh(k))} {v}"
                           for k, v in c["rejected_by_reason"].items()) or "无"
        parts.append(f"<h3>{e(c['file'])}</h3><p>共 {c['rows']} 行：新增 {c['imported']}、"
                     f"更新 {c['updated']}、未变 {c['unchanged']}、退回 {c['rejected']}"
                     f"（{reasons}）</p>")
        parts.append("<table><tr><th>属性</th><th>代码</th><th>要求</th><th>对应字段</th>"
                     "<th>填写率</th></tr>")
        for f in c["mandatory_fields"]:
            parts.append(f"<tr><td>{e(f['field'])}</td><td>{e(f['abbr'])}</td>"
                         f"<td>{'必填' if f['mandatory'] else '条件必填'}</td>"
                         f"<td>{e(f['source_field'] or '（缺失）')}</td>"
                         f"<td class=\"num\">{f['filled_share']:.1%}</td></tr>")
        parts.append("</table>")
    parts.append("<div class=\"foot\">符合：满足标准要求；基本符合：可以上线，但有需要补正的问题；"
                 "不符合：须补正。承建单位补正交付的数据后重新提交；区县城管部门补正权责清单；"
                 "市级平台补正处置时限标准和节假日历。退回的行见同目录 rejects.gpkg：其 file、row "
                 "字段是原文件名和原文件中的要素编号（在 QGIS 中打开原文件，按 $id = row 筛选），"
                 "不是 rejects.gpkg 自己的 fid。"
                 "同一批文件重新生成本报告，除生成时间外内容相同。</div></body></html>")
    return "".join(parts)
