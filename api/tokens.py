"""API tokens: issued to a person, with a role (what the token may call), districts, and for the
case workflow a post (监督员, 受理员, 值班长, 派遣员, 专业部门 with its department; a 监督员 may
name the grids they patrol), expiry and revocation. The secret is shown once; only its hash is kept.
Made, listed and revoked by the local administrator (`citygrid token …`); read by the server
(`api.auth`)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from gis.errors import BadInput, NotFound
from gis.tables import TIMESTAMPTZ, metadata
from grid.codes import DistrictCode

ROLES = ("city_admin", "district_gis", "operator", "api_client", "public_intake")
POSTS = ("监督员", "受理员", "值班长", "派遣员", "专业部门")
# roles whose tokens may hold a post (the people who work cases)
POST_ROLES = ("city_admin", "operator")
PREFIX = "cg_"

api_token = sa.Table(
    "api_token", metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("role", sa.Text, nullable=False),
    sa.Column("districts", ARRAY(sa.Text), nullable=False),   # empty for a city administrator
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),  # sha256, hex
    sa.Column("created_at", TIMESTAMPTZ, nullable=False, server_default=sa.func.now()),
    sa.Column("expires_at", TIMESTAMPTZ),
    sa.Column("revoked_at", TIMESTAMPTZ),
    sa.Column("last_used_at", TIMESTAMPTZ),
    sa.Column("post", sa.Text),                        # the person's post in the case workflow
    sa.Column("department", sa.Text),                  # a 专业部门 token's department
    sa.Column("grids", ARRAY(sa.Text), nullable=False,  # a 监督员's patrol grids
              server_default=sa.text("'{}'::text[]")),
    sa.CheckConstraint("role IN ('city_admin', 'district_gis', 'operator', 'api_client', "
                       "'public_intake')", name="role"),
    sa.CheckConstraint("post IS NULL OR post IN ('监督员', '受理员', '值班长', '派遣员', "
                       "'专业部门')", name="post"),
    sa.CheckConstraint("(post = '专业部门') = (department IS NOT NULL)", name="department"),
)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _districts(value: str | Iterable[str] | None) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    return sorted({DistrictCode.parse(v.strip()).value for v in items if v.strip()})


def create_token(session: Session, *, role: str, districts: str | Iterable[str] | None,
                 name: str | None = None, expires_days: float | None = None,
                 post: str | None = None, department: str | None = None,
                 grids: str | Iterable[str] | None = None) -> tuple[str, dict[str, Any]]:
    """A new token for a person; the secret is returned once and only its hash is kept."""
    if role not in ROLES:
        raise BadInput(f"角色 {role!r} 不是 {'、'.join(ROLES)} 之一 "
                       f"(role: {role!r} is not one of {', '.join(ROLES)})")
    codes = _districts(districts)
    if role == "city_admin" and codes:
        raise BadInput("city_admin 令牌覆盖全部区县，不要给 --district "
                       "(a city_admin token covers every district; give no --district)")
    if role != "city_admin" and not codes:
        raise BadInput(f"{role} 令牌须用 --district 区县代码[,区县代码] 指定区县 "
                       f"(a {role} token needs --district CODE[,CODE])")
    from grid.districts import get_district

    for code in codes:
        get_district(session, code)
    if expires_days is not None and expires_days <= 0:
        raise BadInput(f"有效期 {expires_days} 天不是将来的时间，应大于 0 "
                       f"(expires: {expires_days} days is not in the future)")
    post = (post or "").strip() or None
    department = (department or "").strip() or None
    patrol = _grids(grids, codes)
    if post is not None:
        if post not in POSTS:
            raise BadInput(f"岗位 {post!r} 不是 {'、'.join(POSTS)} 之一 "
                           f"(post: {post!r} is not one of {', '.join(POSTS)})")
        if role not in POST_ROLES:
            raise BadInput(f"{role} 令牌不设岗位；岗位只随 operator（或 city_admin）角色签发 "
                           f"(a {role} token holds no post; posts go with role operator "
                           "or city_admin)")
        if not (name or "").strip():
            raise BadInput("有岗位的令牌签发给具体人员：请用 --name 给出姓名 "
                           "(a token with a post is issued to a person: give --name)")
    if (post == "专业部门") != (department is not None):
        raise BadInput("专业部门令牌须用 --department 给出所属部门，其他令牌不能给 "
                       "(a 专业部门 token names its --department, and only a 专业部门 token does)")
    if patrol and post != "监督员":
        raise BadInput("--grids 是监督员巡查的单元网格，须与 --post 监督员 一起给出 "
                       "(--grids names the grids a 监督员 patrols; give it with --post 监督员)")
    raw = PREFIX + secrets.token_urlsafe(32)
    now = session.execute(sa.select(sa.func.now())).scalar_one()
    row = session.execute(sa.insert(api_token).values(
        name=(name or "").strip() or f"{role} {','.join(codes) or 'city'}", role=role,
        districts=codes, token_hash=hash_token(raw), post=post, department=department,
        grids=patrol,
        expires_at=now + timedelta(days=expires_days) if expires_days else None)
        .returning(api_token)).one()
    return raw, _public(row)


def _grids(value: str | Iterable[str] | None, districts: list[str]) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    codes = sorted({v.strip().upper() for v in items if v.strip()})
    for code in codes:
        if districts and code[:6] not in districts:
            raise BadInput(f"--grids：单元网格 {code} 不在令牌的区县（{'、'.join(districts)}）内 "
                           f"(--grids: grid {code} is not in the token's districts "
                           f"{', '.join(districts)})")
    return codes


def _public(row: Any) -> dict[str, Any]:
    def iso(v: datetime | None) -> str | None:
        return v.isoformat() if v else None

    return {"id": row.id, "name": row.name, "person": row.name, "role": row.role,
            "post": row.post, "department": row.department, "grids": list(row.grids),
            "districts": list(row.districts),
            "created_at": iso(row.created_at), "expires_at": iso(row.expires_at),
            "revoked_at": iso(row.revoked_at), "last_used_at": iso(row.last_used_at)}


def list_tokens(session: Session) -> list[dict[str, Any]]:
    return [_public(r) for r in session.execute(sa.select(api_token).order_by(api_token.c.id))]


def revoke_token(session: Session, token_id: int) -> dict[str, Any]:
    row = session.execute(sa.update(api_token).where(api_token.c.id == token_id).values(
        revoked_at=sa.func.coalesce(api_token.c.revoked_at, sa.func.now()))
        .returning(api_token)).first()
    if row is None:
        raise NotFound(f"令牌 {token_id} 不存在 (no token {token_id})")
    return _public(row)


def patrols(session: Session, district: str) -> list[tuple[str, str]]:
    """(person, grid) of every 监督员 with a live token naming the grids they patrol in a
    district: whom the evaluation charges for a grid's 核实, 核查 and 漏报."""
    rows = session.execute(sa.select(api_token.c.name, api_token.c.grids).where(
        api_token.c.post == "监督员", api_token.c.revoked_at.is_(None),
        sa.or_(api_token.c.expires_at.is_(None), api_token.c.expires_at > sa.func.now())))
    return sorted({(r.name, g) for r in rows for g in r.grids if g.startswith(district)})
