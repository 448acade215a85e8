"""`citygrid token create | list | revoke`: tokens issued to people with posts."""

from __future__ import annotations

import json

import click

from api.cli.base import acting, cli, echo_err, session


@cli.group()
def token() -> None:
    """API tokens: roles city_admin, district_gis, operator, api_client, public_intake."""


@token.command("create")
@click.option("--role", required=True,
              type=click.Choice(["city_admin", "district_gis", "operator", "api_client",
                                 "public_intake"]))
@click.option("--district", "districts", help="CODE[,CODE]: the districts it covers (all "
                                                "districts for city_admin).")
@click.option("--name", help="The person it is issued to, e.g. 张三 (required with --post).")
@click.option("--post", type=click.Choice(["监督员", "受理员", "值班长", "派遣员", "专业部门"]),
              help="The person's post in the case workflow (roles operator and city_admin).")
@click.option("--department", help="A 专业部门 token's department, e.g. 宣州区城市管理局.")
@click.option("--grids", help="CODE[,CODE]: the grids a 监督员 patrols.")
@click.option("--expires", type=float, metavar="DAYS", help="Days until it expires.")
def token_create(role: str, districts: str | None, name: str | None, post: str | None,
                 department: str | None, grids: str | None, expires: float | None) -> None:
    """Create a token for a person; prints the secret once (only its hash is kept)."""
    from api.tokens import create_token

    with acting("token.create") as (s, op):
        raw, info = create_token(s, role=role, districts=districts, name=name,
                                 expires_days=expires, post=post, department=department,
                                 grids=grids)
        op.subject, op.detail = str(info["id"]), info
    click.echo(raw)
    covers = ",".join(info["districts"]) or "全部区县"
    expiry = f"，有效期至 {info['expires_at']}" if info["expires_at"] else ""
    seat = f"，{info['post']}" + (f"（{info['department']}）" if info["department"] else "") \
        if info["post"] else ""
    echo_err(f"已签发令牌 {info['id']}（{info['name']}，{info['role']}{seat}，{covers}）{expiry}；"
             f"令牌只显示这一次，已打印在上方 (token {info['id']} created)")


@token.command("list")
def token_list() -> None:
    """Tokens as JSON (never their secrets)."""
    from api.tokens import list_tokens

    with session() as s:
        click.echo(json.dumps(list_tokens(s), ensure_ascii=False, indent=2))


@token.command("revoke")
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1))
def token_revoke(token_id: int) -> None:
    """Revoke a token (it stops working within seconds)."""
    from api.tokens import revoke_token

    with acting("token.revoke", subject=str(token_id)) as (s, op):
        op.detail = revoke_token(s, token_id)
    echo_err(f"token {token_id} revoked")


