"""`citygrid onboard DIR` (a county from a contractor's folder to live lookups) and `citygrid
conformance --district CODE` (the 贯标 report of a county already live)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from api.cli.base import EXIT_QA, acting, cli, echo_err, session


@cli.command("onboard")
@click.argument("folder", type=click.Path())
@click.option("--district", "district_code", required=True, metavar="CODE",
              help="行政区划代码（GB/T 2260），如 341825 (district code).")
@click.option("--name", required=True, help="区县名称，如 旌德县 (the county's name).")
@click.option("--scheme", type=click.Choice(["legacy", "gb47678"]),
              help="编码标准：legacy（CJ/T 213/214）或 gb47678（GB/T 47678-2026） (code scheme).")
@click.option("--crs", help="文件未声明坐标系时所用的坐标系（投影坐标系同时作为区县的），"
                            "如 EPSG:4549 (CRS for files without one).")
@click.option("--encoding", help="没有 .cpg 的 shapefile 的字符编码，如 GBK (text encoding).")
@click.option("--out", type=click.Path(), help="报告写到哪里（默认 交付文件夹/citygrid-onboarding；"
                                               "建议放在交付文件夹之外） (where the reports go).")
@click.option("--map-url", default="http://127.0.0.1:8000", show_default=True,
              help="地图服务的地址，用于最后打印的链接 (the map's address).")
@click.option("--dry-run", is_flag=True,
              help="只检查、写报告，不改数据库 (check and report; change nothing).")
def onboard_cmd(folder: str, district_code: str, name: str, scheme: str | None,
                crs: str | None, encoding: str | None, out: str | None, map_url: str,
                dry_run: bool) -> None:
    """县区上线：识别交付文件、导入、检查、出具贯标符合性报告 (onboard a county)."""
    from onboarding.conformance import STATUS_ZH
    from onboarding.run import OnboardOptions, onboard

    opts = OnboardOptions(district=district_code, name=name, scheme=scheme, crs=crs,
                          encoding=encoding, out=Path(out) if out else None, dry_run=dry_run,
                          map_base=map_url)
    echo_err(f"{folder}：")
    with acting("onboard", district=district_code, subject=folder, dry_run=dry_run) as (s, op):
        outcome = onboard(s, Path(folder), opts, echo=echo_err)
        assert outcome.report is not None
        op.detail = {"verdict": outcome.report.verdict, "gate_failed": outcome.gate_failed,
                     "imports": [r.to_dict() | {"rejects": len(r.rejects)}
                                 for r in outcome.reports]}
        if outcome.gate_failed:
            op.refuse()
    report = outcome.report
    failing = [i for i in report.items if i.status != "pass"]
    echo_err(f"贯标符合性：{STATUS_ZH[report.verdict]} ({report.verdict})"
             + (f"；{len(failing)} 项需补正：" if failing else ""))
    for item in failing:
        where = f"［{item.file}］" if item.file else ""
        who = item.to_dict()["fix_by_zh"]
        echo_err(f"  {STATUS_ZH[item.status]} {item.title_zh}{where}：{item.detail}（{who}补正）")
    for path in outcome.files:
        echo_err(f"  写出 {path}")
    d = outcome.district
    if outcome.gate_failed:
        echo_err(f"{d.name}（{d.code}）未上线：单元网格质量检查未通过，数据未写入 "
                 f"(not live: grid QA failed; nothing written)")
        sys.exit(EXIT_QA)
    if dry_run:
        echo_err(f"{d.name}（{d.code}）试运行完成，数据未写入；按报告补正后，去掉 --dry-run "
                 "即可上线 "
                 f"(dry run: nothing written)")
        return
    click.echo(f"{d.name}（{d.code}）已上线 (live)：{outcome.map_url}")
    echo_err(f"地图需要令牌：citygrid token create --role district_gis --district {d.code} "
             f"--name 姓名，再打开 {outcome.map_url}#token=令牌 "
             f"(the map needs a token: create one, then open the address with #token=…)")


@cli.command("conformance")
@click.option("--district", "district_code", required=True, metavar="CODE")
@click.option("--out", type=click.Path(), help="Write conformance.json and conformance.html "
                                               "here.")
@click.option("--json", "as_json", is_flag=True, help="Print conformance.json to stdout.")
def conformance_cmd(district_code: str, out: str | None, as_json: bool) -> None:
    """The 贯标 conformance report of a county already live (and keep it for /supervision)."""
    from grid.districts import get_district
    from grid.inspect import qa_stored
    from onboarding import conformance, html
    from onboarding.conformance import STATUS_ZH
    from onboarding.probes import probe

    with session() as s:
        district = get_district(s, district_code)
        report = conformance.build(s, district, qa_stored(s, district.code),
                                   probes=probe(s, district))
        conformance.save(s, report)
        body = report.to_dict()
    if as_json:
        click.echo(json.dumps(body, ensure_ascii=False, indent=2))
    if out:
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "conformance.json").write_text(
            json.dumps(body, ensure_ascii=False, indent=2), "utf-8")
        (folder / "conformance.html").write_text(html.page(body), "utf-8")
    if not as_json:
        click.echo(f"{district.name}（{district.code}）贯标符合性：{STATUS_ZH[report.verdict]}")
        for item in report.items:
            where = f"［{item.file}］" if item.file else ""
            who = "" if item.status == "pass" else f"（{item.to_dict()['fix_by_zh']}补正）"
            click.echo(f"  {STATUS_ZH[item.status]:<4} {item.title_zh}{where}：{item.detail}{who}")
