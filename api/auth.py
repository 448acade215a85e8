"""Who is asking: API tokens (`Authorization: Bearer …`), their roles and districts, and what
each role may do. The CLI needs none: it works as a local administrator.

A token is issued to one person (`name`) holding, for the case workflow, one post (监督员, 受理员,
值班长, 派遣员, 专业部门 with its department). The server takes who acts — post, person,
department — from the token, never from a request. A token without a post may read and report,
but takes no step of the workflow.

Roles:
    city_admin     everything, every district
    district_gis   imports, QA, rules of its districts; reads
    operator       cases of its districts; reads and lookups
    api_client     lookups; reads
    public_intake  Open311 requests: create only
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from gis.errors import BadInput, CitygridError, NotFound
from gis.security import api_token
from grid.codes import DistrictCode

ROLES = ("city_admin", "district_gis", "operator", "api_client", "public_intake")
POSTS = ("监督员", "受理员", "值班长", "派遣员", "专业部门")
# roles whose tokens may hold a post (the people who work cases)
POST_ROLES = ("city_admin", "operator")
PREFIX = "cg_"

# action → roles allowed to do it
CAN = {
    "lookup": {"city_admin", "district_gis", "operator", "api_client"},
    "read": {"city_admin", "district_gis", "operator", "api_client"},
    "cases.write": {"city_admin", "operator"},
    "import": {"city_admin", "district_gis"},
    "open311.create": {"city_admin", "operator", "public_intake"},
}


class Unauthorized(CitygridError):
    code = "unauthorized"
    status = 401


class Forbidden(CitygridError):
    code = "forbidden"
    status = 403


class RateLimited(CitygridError):
    code = "rate_limited"
    status = 429


@dataclass(frozen=True)
class Principal:
    token_id: int | None
    name: str                      # the person the token was issued to
    role: str
    districts: tuple[str, ...]     # empty for a city administrator: every district
    post: str | None = None        # a workflow post (POSTS); None: no workflow steps
    department: str | None = None  # a 专业部门 token's department
    grids: tuple[str, ...] = ()    # a 监督员's patrol grids

    @property
    def everywhere(self) -> bool:
        return self.role == "city_admin"

    @property
    def actor(self) -> str:
        """How the audit log names the caller: the token and its person."""
        return f"token:{self.token_id} {self.name}" if self.token_id else self.name

    def may(self, action: str) -> bool:
        return self.role in CAN[action]

    def sees(self, district: str) -> bool:
        return self.everywhere or district in self.districts


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
        raise BadInput(f"role: {role!r} is not one of {', '.join(ROLES)}")
    codes = _districts(districts)
    if role == "city_admin" and codes:
        raise BadInput("a city_admin token covers every district; give no --district")
    if role != "city_admin" and not codes:
        raise BadInput(f"a {role} token needs --district CODE[,CODE]")
    from grid.districts import get_district

    for code in codes:
        get_district(session, code)
    if expires_days is not None and expires_days <= 0:
        raise BadInput(f"expires: {expires_days} days is not in the future")
    post = (post or "").strip() or None
    department = (department or "").strip() or None
    patrol = _grids(grids, codes)
    if post is not None:
        if post not in POSTS:
            raise BadInput(f"post: {post!r} is not one of {', '.join(POSTS)}")
        if role not in POST_ROLES:
            raise BadInput(f"a {role} token holds no post; posts go with role operator "
                           "(or city_admin)")
        if not (name or "").strip():
            raise BadInput("a token with a post is issued to a person: give --name")
    if (post == "专业部门") != (department is not None):
        raise BadInput("a 专业部门 token names its --department, and only a 专业部门 token does")
    if patrol and post != "监督员":
        raise BadInput("--grids names the grids a 监督员 patrols; give it with --post 监督员")
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
            raise BadInput(f"--grids: grid {code} is not in the token's districts "
                           f"({', '.join(districts)})")
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
        raise NotFound(f"no token {token_id}")
    return _public(row)


class Authenticator:
    """Resolves bearer tokens to principals, with a short cache: the lookup is a hot path."""

    TTL_S = 10.0

    def __init__(self, engine: Callable[[], Engine]) -> None:
        self.engine = engine
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def principal(self, header: str | None) -> Principal | None:
        """The principal of an Authorization header (None without one); may query the
        database."""
        known, found = self.cached(header)
        if known or header is None:
            return found
        digest = self._digest(header)
        loaded = self._load(digest)
        with self._lock:
            self._cache[digest] = (time.monotonic(), loaded)
        return self._checked(loaded)

    def cached(self, header: str | None) -> tuple[bool, Principal | None]:
        """(True, principal) when that is known without the database: no header, or a token
        seen in the last TTL_S seconds; (False, None) otherwise. Never blocks, so the event
        loop can call it."""
        if not header:
            return True, None
        digest = self._digest(header)
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and time.monotonic() - hit[0] < self.TTL_S:
            return True, self._checked(hit[1])
        return False, None

    @staticmethod
    def _digest(header: str) -> str:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("Authorization: expected 'Bearer <token>'")
        return hash_token(raw.strip())

    @staticmethod
    def _checked(found: Principal | None) -> Principal:
        if found is None:
            raise Unauthorized("the token is unknown, expired or revoked")
        return found

    def _load(self, digest: str) -> Principal | None:
        with self.engine().begin() as conn:
            row = conn.execute(sa.update(api_token).where(
                api_token.c.token_hash == digest, api_token.c.revoked_at.is_(None),
                sa.or_(api_token.c.expires_at.is_(None), api_token.c.expires_at > sa.func.now()))
                .values(last_used_at=sa.func.now()).returning(
                api_token.c.id, api_token.c.name, api_token.c.role, api_token.c.districts,
                api_token.c.post, api_token.c.department, api_token.c.grids)
            ).first()
        if row is None:
            return None
        return Principal(row.id, row.name, row.role, tuple(row.districts), row.post,
                         row.department, tuple(row.grids))


class RateLimiter:
    """A token bucket per token (or per client address for anonymous lookups)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, float(per_minute))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, n: int = 1) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.rate)
            if tokens < n:
                wait = (n - tokens) / self.rate
                self._buckets[key] = (tokens, now)
                raise RateLimited(f"too many lookups; retry in {wait:.0f} s",
                                  detail={"retry_after": max(1, int(wait + 0.999))})
            self._buckets[key] = (tokens - n, now)
