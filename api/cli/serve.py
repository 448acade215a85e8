"""`citygrid serve` and `citygrid demo`."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli.base import cli, context, echo_err
from gis.db import redact


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the HTTP API and the map."""
    from api.server import run

    ctx = context()
    ctx.engine()  # fail here, with one line, when the database is not there
    run(ctx.settings, host=host, port=port)


@cli.command()
@click.option("--host", default=None, help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default 8000).")
@click.option("--no-serve", is_flag=True, help="Load the sample city and stop.")
@click.option("--samples", type=click.Path(exists=True, file_okay=False), default=None,
              help="Folder of the sample city (default data/samples).")
def demo(host: str | None, port: int | None, no_serve: bool, samples: str | None) -> None:
    """Database up, migrate, load the sample city (两县 of 宣城市), serve the map."""
    from api.demo import load_samples
    from api.server import run

    ctx = context()
    url, _ = ctx.bring_up()
    echo_err(f"数据库已就绪 (database ready)：{redact(url)}")
    load_samples(ctx.engine(), Path(samples) if samples else None, echo=echo_err)
    from cases.limits import calendar_status
    from gis.db import session_scope

    with session_scope(ctx.engine()) as s:
        warning = calendar_status(s)["warning"]
    if warning:
        echo_err(f"警告 (warning): {warning}")
    from api.demo import COUNTIES, demo_tokens

    tokens = demo_tokens(ctx.engine(), ctx.settings.home)
    h, p = host or ctx.settings.host, port or ctx.settings.port
    echo_err(f"map (city administrator token included): http://{h}:{p}/map#token={tokens[0][1]}")
    echo_err(f"one token per post of {COUNTIES[0][0]} {COUNTIES[0][1]}, to try each seat:")
    for label, raw in tokens[1:]:
        echo_err(f"  {label:6} http://{h}:{p}/map#token={raw}")
    if not no_serve:
        run(ctx.settings, host=host, port=port)


