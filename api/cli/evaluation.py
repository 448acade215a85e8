"""`citygrid stats`: the evaluation indicators (CJ/T 292) of a district over a period."""

from __future__ import annotations

import json
from typing import Any

import click

from api.cli.base import cli, session


@cli.command("stats")
@click.option("--district", "district_code", required=True)
@click.option("--from", "start", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--to", "end", required=True, type=click.DateTime(["%Y-%m-%d"]))
@click.option("--by", type=click.Choice(["district", "department", "grid", "street"]),
              default="district", show_default=True)
def stats_cmd(district_code: str, start: Any, end: Any, by: str) -> None:
    """Evaluation indicators (CJ/T 292 subset) as JSON."""
    from cases.stats import stats

    with session() as s:
        data = stats(s, district_code, start.date(), end.date(), by)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
