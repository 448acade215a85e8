"""`citygrid db up | url | down`: citygrid's own PostgreSQL cluster, or DATABASE_URL."""

from __future__ import annotations

import click

from api.cli.base import BadUsage, cli, context, echo_err
from gis.db import redact


@cli.group()
def db() -> None:
    """The database: citygrid's own PostgreSQL cluster, or DATABASE_URL."""


@db.command("up")
def db_up() -> None:
    """Start the database (when it is citygrid's own), create PostGIS, migrate."""
    url, postgis = context().bring_up()
    echo_err(f"数据库已就绪：{redact(url)}（PostGIS {postgis}，结构为最新版本） "
             f"(database ready, schema at head)")


@db.command("url")
def db_url() -> None:
    """Print the libpq URL of the database."""
    from gis.db import resolve_url

    click.echo(resolve_url(context().settings, start=False))


@db.command("down")
def db_down() -> None:
    """Stop citygrid's own cluster (a DATABASE_URL server is left alone)."""
    ctx = context()
    if not ctx.local:
        echo_err("已设置 DATABASE_URL：那台数据库服务器不由 citygrid 管理，不能停止 "
                 "(DATABASE_URL is set: that server is not citygrid's to stop)")
        return
    from gis.cluster import LocalCluster

    stopped = LocalCluster(ctx.settings.home, ctx.settings.pg_port).down()
    echo_err("数据库已停止 (database stopped)" if stopped
             else "数据库本来就没有运行 (database was not running)")




@db.command("standby")
@click.argument("home", type=click.Path(file_okay=False))
def db_standby(home: str) -> None:
    """Make HOME a streaming standby of citygrid's own cluster (pg_basebackup -R), start it and
    print its URL: give it to the servers as CITYGRID_READ_DATABASE_URL."""
    from pathlib import Path

    from gis.cluster import LocalCluster

    ctx = context()
    if not ctx.local:
        raise BadUsage("已设置 DATABASE_URL：请在那台服务器上用 pg_basebackup -R 建备库 "
                               "(DATABASE_URL is set: make that server's standby with "
                               "pg_basebackup -R)")
    primary = LocalCluster(ctx.settings.home, ctx.settings.pg_port)
    primary.up()
    standby = LocalCluster(Path(home), primary.port + 1)
    url = standby.make_standby(primary)
    echo_err(f"备库已运行 (standby running)：{url}")
    click.echo(url)
