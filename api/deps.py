"""Dependencies shared by the routers: who is asking, what they may do, and a database session
that PostgreSQL's row-level security confines to the districts of the caller's token.

The confinement is set at the start of every transaction of the session (a route may commit and
go on), on a connection that logs in as the application role, which cannot bypass it. A route
that forgets to filter by district still cannot return another county's rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event
from sqlalchemy.orm import Session

from api.auth import Forbidden, Principal, Unauthorized
from gis.security import DISTRICTS_SETTING


async def principal(request: Request) -> Principal | None:
    """The caller's token, if any (a token that is given must be valid).

    Async, like the other checks of who is asking: they run on the event loop, and only a
    token not seen lately costs a trip to the database (in the threadpool). A sync dependency
    would cost every request a thread switch, a good part of a lookup's time."""
    auth = request.app.state.auth
    header = request.headers.get("authorization")
    known, who = auth.cached(header)
    if known:
        return who
    return await run_in_threadpool(auth.principal, header)


Who = Annotated[Principal | None, Depends(principal)]


def require(action: str) -> Callable[..., Any]:
    async def check(who: Who) -> Principal:
        if who is None:
            raise Unauthorized("this needs a token: Authorization: Bearer <token>")
        if not who.may(action):
            raise Forbidden(f"role {who.role} may not {action.replace('.', ' ')}")
        return who
    return check


async def lookup_caller(request: Request, who: Who) -> Principal | None:
    """Lookups may be open (a hotline on an intranet) or need a token (a setting); a token
    that is given is checked either way."""
    if who is None and request.app.state.context.settings.lookup_requires_token:
        raise Unauthorized("lookups need a token: Authorization: Bearer <token>")
    if who is not None and not who.may("lookup"):
        raise Forbidden(f"role {who.role} may not look up")
    return who


Caller = Annotated[Principal | None, Depends(lookup_caller)]
Reader = Annotated[Principal, Depends(require("read"))]
CaseWriter = Annotated[Principal, Depends(require("cases.write"))]
Importer = Annotated[Principal, Depends(require("import"))]
Open311Creator = Annotated[Principal, Depends(require("open311.create"))]

_ALL_TTL_S = 30.0


def all_districts(request: Request) -> list[str]:
    """Every district code (for a city administrator), read as the owner, cached briefly."""
    state = request.app.state
    at, codes = getattr(state, "all_districts", (0.0, []))
    if time.monotonic() - at > _ALL_TTL_S:
        with state.context.engine().connect() as conn:
            codes = list(conn.execute(sa.text("SELECT code FROM district ORDER BY code"))
                         .scalars())
        state.all_districts = (time.monotonic(), codes)
    return codes


def scoped_session(request: Request, districts: list[str]) -> Iterator[Session]:
    engine = request.app.state.context.app_engine()
    codes = ",".join(districts)
    with Session(engine) as s:
        @event.listens_for(s, "after_begin")
        def confine(_session: Any, _transaction: Any, connection: Any) -> None:
            connection.execute(sa.text("SELECT set_config(:name, :codes, true)"),
                               {"name": DISTRICTS_SETTING, "codes": codes})

        yield s


def session(request: Request, who: Who) -> Iterator[Session]:
    """A session that sees the districts of the caller's token (none without one)."""
    if who is None:
        districts: list[str] = []
    elif who.everywhere:
        districts = all_districts(request)
    else:
        districts = list(who.districts)
    yield from scoped_session(request, districts)


def public_session(request: Request) -> Iterator[Session]:
    """For data that is public by design (Open311 request status): every district."""
    yield from scoped_session(request, all_districts(request))


Db = Annotated[Session, Depends(session)]
PublicDb = Annotated[Session, Depends(public_session)]
