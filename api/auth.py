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

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from api.tokens import api_token, hash_token
from gis.errors import CitygridError

log = logging.getLogger("citygrid.auth")

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


class Authenticator:
    """Resolves bearer tokens to principals, with a short cache: the lookup is a hot path."""

    TTL_S = 10.0
    # A token in use is checked again in the background once its entry is this old, so that its
    # entry is renewed before it expires and no lookup waits for the database: while an import
    # loads the server, that check can take a few hundred milliseconds, and every request that
    # came with the token in that time waited for it.
    REFRESH_S = TTL_S / 2

    def __init__(self, engine: Callable[[], Engine],
                 standby: Callable[[], Engine] | None = None) -> None:
        self.engine = engine
        # where tokens are read while the primary is down (CITYGRID_READ_DATABASE_URL): a
        # token is checked, not marked used
        self.standby = standby
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()
        self._refreshing: set[str] = set()

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
        seen in the last TTL_S seconds (checked again in the background once REFRESH_S old);
        (False, None) otherwise. Never blocks, so the event loop can call it."""
        if not header:
            return True, None
        digest = self._digest(header)
        with self._lock:
            hit = self._cache.get(digest)
        age = time.monotonic() - hit[0] if hit is not None else self.TTL_S
        if hit is None or age >= self.TTL_S:
            return False, None
        if age >= self.REFRESH_S:
            self._refresh_soon(digest)
        return True, self._checked(hit[1])

    def _refresh_soon(self, digest: str) -> None:
        """Check the token again in a thread of its own (one at a time per token)."""
        with self._lock:
            if digest in self._refreshing:
                return
            self._refreshing.add(digest)
        threading.Thread(target=self._refresh, args=(digest,), daemon=True,
                         name="citygrid-token-refresh").start()

    def _refresh(self, digest: str) -> None:
        try:
            loaded = self._load(digest)
        except Exception:
            # The database is away: the entry expires as it would have, and the next request
            # checks the token itself (and reports what is wrong).
            log.warning("a token's background check failed", exc_info=True)
        else:
            with self._lock:
                self._cache[digest] = (time.monotonic(), loaded)
        finally:
            with self._lock:
                self._refreshing.discard(digest)

    @staticmethod
    def _digest(header: str) -> str:
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise Unauthorized("Authorization 头应为 'Bearer <令牌>' "
                               "(Authorization: expected 'Bearer <token>')")
        return hash_token(raw.strip())

    @staticmethod
    def _checked(found: Principal | None) -> Principal:
        if found is None:
            raise Unauthorized("令牌无效、已过期或已吊销 "
                               "(the token is unknown, expired or revoked)")
        return found

    def _load(self, digest: str) -> Principal | None:
        valid = (api_token.c.token_hash == digest, api_token.c.revoked_at.is_(None),
                 sa.or_(api_token.c.expires_at.is_(None), api_token.c.expires_at > sa.func.now()))
        columns = (api_token.c.id, api_token.c.name, api_token.c.role, api_token.c.districts,
                   api_token.c.post, api_token.c.department, api_token.c.grids)
        try:
            with self.engine().begin() as conn:
                row = conn.execute(sa.update(api_token).where(*valid)
                                   .values(last_used_at=sa.func.now()).returning(*columns)
                                   ).first()
        except sa.exc.OperationalError:
            standby = self.standby() if self.standby is not None else None
            if standby is None or standby is self.engine():
                raise
            with standby.connect() as conn:
                row = conn.execute(sa.select(*columns).where(*valid)).first()
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
                raise RateLimited(f"查询过于频繁，请 {wait:.0f} 秒后再试 "
                                  f"(too many lookups; retry in {wait:.0f} s)",
                                  detail={"retry_after": max(1, int(wait + 0.999))})
            self._buckets[key] = (tokens - n, now)
