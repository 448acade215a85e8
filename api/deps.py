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
from api.operation import Caller
from gis.errors import BadInput, DatabaseUnavailable, DistrictNotServed
from gis.replicas import format_lsn, read_lsn
from gis.tenancy import confine


async def principal(request: Request) -> Principal | None:
    """The caller's token, if any (a token that is given must be valid).

    Async, like the other checks of who is asking: they run on the event loop, and only a
    token not seen lately costs a trip to the database (in the threadpool). A sync dependency
    would cost every request a thread switch, a good part of a lookup's time."""
    return await _resolve(request, request.headers.get("authorization"))


async def _resolve(request: Request, header: str | None) -> Principal | None:
    auth = request.app.state.auth
    known, who = auth.cached(header)
    if known:
        return who
    return await run_in_threadpool(auth.principal, header)


async def open311_principal(request: Request) -> Principal | None:
    """The caller's token on the Open311 routes: GeoReport clients send it as `api_key`, a query
    parameter or a form field of a POST, and it is resolved exactly as `Authorization: Bearer`
    (which works there too). Both at once must be the same token. A key that is not a valid
    token is 403, as GeoReport has it."""
    key = request.query_params.get("api_key")
    if key is None and request.method == "POST":
        field = (await request.form()).get("api_key")
        if field is not None and not isinstance(field, str):
            raise BadInput("api_key 应为文本，不是文件 (api_key is a form field, not a file)")
        key = field
    header = request.headers.get("authorization")
    if key:
        if header and header.partition(" ")[2].strip() != key.strip():
            raise BadInput("api_key 与 Authorization 头给出的令牌不同，请只给一个 "
                           "(api_key and the Authorization header name different tokens)")
        header = f"Bearer {key.strip()}"
    try:
        return await _resolve(request, header)
    except Unauthorized:
        raise Forbidden("api_key 无效、已过期或已吊销 (the api_key is unknown, expired or "
                        "revoked)") from None


Who = Annotated[Principal | None, Depends(principal)]
Open311Who = Annotated[Principal | None, Depends(open311_principal)]


def caller(who: Principal) -> Caller:
    """How the audit log names a token's holder."""
    return Caller(who.actor, who.role)


# what the actions of `api.auth.CAN` are called in a refusal
_DOING = {"lookup": "做位置查询", "read": "读取数据", "cases.write": "办理案件",
          "import": "导入数据", "open311.create": "创建服务请求"}


def require(action: str) -> Callable[..., Any]:
    async def check(who: Who) -> Principal:
        if who is None:
            raise Unauthorized("需要访问令牌：Authorization: Bearer <令牌> "
                               "(this needs a token: Authorization: Bearer <token>)")
        if not who.may(action):
            raise Forbidden(f"角色 {who.role} 不能{_DOING.get(action, action)} "
                            f"(role {who.role} may not {action.replace('.', ' ')})")
        return who
    return check


async def open311_creator(who: Open311Who) -> Principal:
    """Who may create a GeoReport service request: a token (api_key) whose role allows it."""
    if who is None:
        raise Forbidden("创建服务请求需要 api_key (creating a service request needs an api_key)")
    if not who.may("open311.create"):
        raise Forbidden(f"此 api_key 的角色 {who.role} 不能创建服务请求 "
                        f"(role {who.role} may not create service requests)")
    return who


async def lookup_caller(request: Request, who: Who) -> Principal | None:
    """Lookups need a token unless the deployment opened anonymous ones (everywhere, or in
    named districts: then `anonymous_sees` decides per answer); a token that is given is
    checked either way."""
    settings = request.app.state.context.settings
    if who is None and settings.lookup_requires_token and not settings.open_lookup_districts:
        raise Unauthorized("位置查询需要访问令牌：Authorization: Bearer <令牌> "
                           "(lookups need a token: Authorization: Bearer <token>)")
    if who is not None and not who.may("lookup"):
        raise Forbidden(f"角色 {who.role} 不能{_DOING['lookup']} "
                        f"(role {who.role} may not look up)")
    return who


def anonymous_sees(settings: Any, district: str) -> bool:
    """Whether a caller without a token gets answers in this district."""
    return not settings.lookup_requires_token or district in settings.open_lookup_districts


def public_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """A lookup answer for a caller without a token: the grid, its street and community and the
    responsible party with its basis; a component's code, class and distance, but not who owns,
    maintains or oversees it."""
    def strip(c: dict[str, Any] | None) -> dict[str, Any] | None:
        if c is None:
            return None
        return {k: v for k, v in c.items() if k not in ("owner", "maintainer", "department")}

    out = dict(answer)
    out["component"] = strip(answer.get("component"))
    alternatives = answer.get("alternatives")
    if alternatives:
        out["alternatives"] = {**alternatives, "components": [
            strip(c) for c in alternatives.get("components", [])]}
    return out


LookupCaller = Annotated[Principal | None, Depends(lookup_caller)]
Reader = Annotated[Principal, Depends(require("read"))]
CaseWriter = Annotated[Principal, Depends(require("cases.write"))]
Importer = Annotated[Principal, Depends(require("import"))]
Open311Creator = Annotated[Principal, Depends(open311_creator)]

_ALL_TTL_S = 30.0


def all_districts(request: Request) -> list[str]:
    """Every district code (for a city administrator), read as the owner, cached briefly."""
    state = request.app.state
    at, codes = getattr(state, "all_districts", (0.0, []))
    if time.monotonic() - at > _ALL_TTL_S:
        with state.context.read_engine().connect() as conn:
            codes = list(conn.execute(sa.text("SELECT code FROM district ORDER BY code"))
                         .scalars())
        state.all_districts = (time.monotonic(), codes)
    return codes


# Requests that change nothing: served by a standby when one has replayed what they must see.
READS = frozenset({"GET", "HEAD", "OPTIONS"})


def scoped_session(request: Request, districts: list[str]) -> Iterator[Session]:
    """A session confined to `districts`: a read's on a standby that has replayed every write
    this process knows of to them (else on the primary), a write's on the primary, which then
    marks the districts, so that the writer's next read sees its write (gis.replicas)."""
    ctx = request.app.state.context
    reads = ctx.reads()
    write = request.method not in READS
    if write and reads is not None and not reads.primary_up:
        # its listeners lost the primary: a write fails now rather than after a connect timeout
        raise DatabaseUnavailable("主库暂时不可用，写入请稍后再试；查询照常 "
                                  "(the primary database is unavailable: writes are refused for "
                                  "now, reads go on)")
    if reads is None or write:
        engine = ctx.app_engine()
    else:
        engine = reads.app_engine(districts, read_after(request))
    with Session(engine) as s:
        @event.listens_for(s, "after_begin")
        def begin(_session: Any, _transaction: Any, connection: Any) -> None:
            confine(connection, districts)

        if write and reads is not None:
            @event.listens_for(s, "after_commit")
            def committed(_session: Any) -> None:
                lsn = reads.wrote(districts)
                if lsn is not None:       # the answer's Citygrid-LSN (api.app: replicas)
                    request.state.commit_lsn = lsn

        yield s


class CommitPosition:
    """ASGI middleware, with standbys only: the answer to a write carries `Citygrid-LSN`, the
    primary's WAL position after its commit; a client whose next read may go through another
    process sends it back as `Citygrid-Read-After`, and is answered by a server that has
    replayed that far."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                lsn = scope.get("state", {}).get("commit_lsn")
                if lsn is not None:
                    message["headers"] = [*message.get("headers", []),
                                          (b"citygrid-lsn", format_lsn(lsn).encode())]
            await send(message)

        await self.app(scope, receive, sending)


def read_after(request: Request) -> int:
    """The WAL position a client's read must see (`Citygrid-Read-After`, as a write's
    `Citygrid-LSN` gave it): for a client whose next read may reach another process."""
    given = request.headers.get("citygrid-read-after")
    if not given:
        return 0
    try:
        return read_lsn(given)
    except ValueError:
        raise BadInput(f"Citygrid-Read-After {given!r} 应为写入应答的 Citygrid-LSN，如 0/3000148 "
                       f"(Citygrid-Read-After {given!r}: expected a Citygrid-LSN such as "
                       "0/3000148)") from None


def served(request: Request, districts: list[str]) -> list[str]:
    """A caller's scope, when this process serves one of its districts (CITYGRID_DISTRICTS);
    a scope wholly elsewhere is another process's: 421 naming its first district. A scope
    partly elsewhere is read whole: the rows are in the database (only lookups need a
    district's index), and a router could not split the request (a city administrator's tiles
    and lists show every county)."""
    only = request.app.state.served
    if only is None or not districts or any(d in only for d in districts):
        return districts
    raise DistrictNotServed(districts[0])


# The parameters that name a district, or a thing whose code starts with its district's: a case
# number (341802-20261201-0001), a grid code, a 标识码, a district's own code.
_NAMING = ("district", "number", "request_id", "service_request_id", "feature_id", "code")


def named_districts(request: Request) -> set[str]:
    """The district codes a request names in its path or query."""
    values = [str(v) for k, v in request.path_params.items() if k in _NAMING]
    values += [v for k in _NAMING for v in request.query_params.getlist(k)]
    found: set[str] = set()
    for value in values:
        for part in value.split(","):
            head = part.strip()[:6]
            if len(head) == 6 and head.isascii() and head.isdigit():
                found.add(head)
    return found


async def district_served(request: Request) -> None:
    """Every route's first check in a process that serves some districts only: a request naming
    another district answers 421 district_not_served naming it (a router sends it on)."""
    only = request.app.state.served
    if only is None:
        return
    for code in sorted(named_districts(request)):
        if code not in only:
            raise DistrictNotServed(code)


def session(request: Request, who: Who) -> Iterator[Session]:
    """A session that sees the districts of the caller's token (none without one)."""
    if who is None:
        districts: list[str] = []
    elif who.everywhere:
        districts = all_districts(request)
    else:
        districts = list(who.districts)
    yield from scoped_session(request, served(request, districts))


def public_session(request: Request) -> Iterator[Session]:
    """For data that is public by design and holds nothing of a district (Open311's service
    list: the class catalog): every district."""
    yield from scoped_session(request, served(request, all_districts(request)))


def listed_districts(request: Request) -> list[str]:
    """Districts that opted in to listing their cases to callers without a token
    (`citygrid district add CODE --public-listing`), read as the owner, cached briefly."""
    state = request.app.state
    at, codes = getattr(state, "listed_districts", (0.0, []))
    if time.monotonic() - at > _ALL_TTL_S:
        with state.context.read_engine().connect() as conn:
            codes = list(conn.execute(sa.text(
                "SELECT code FROM district WHERE public_listing ORDER BY code")).scalars())
        state.listed_districts = (time.monotonic(), codes)
    return codes


def open311_session(request: Request, who: Open311Who) -> Iterator[Session]:
    """Open311 reads: a token's districts, or without one only the districts that opted in to
    public listing. A `public_intake` key creates requests only (it is handed to a public app):
    it reads what a caller without a token reads, no more — the descriptions, places and
    contacts of a county's other requests are not the app's to list."""
    if who is not None and who.role != "public_intake":
        yield from session(request, who)
        return
    listed = listed_districts(request)
    if not listed:
        raise Forbidden("服务请求只对持 api_key 的调用方列出 (service requests are listed to "
                        "tokens only: api_key or Authorization: Bearer <token>)")
    yield from scoped_session(request, served(request, listed))


def open311_write_session(request: Request, who: Open311Who) -> Iterator[Session]:
    """Open311's POST: the token's own districts, an intake key's included (it reports there;
    the route's creator check has refused a caller without a token)."""
    yield from session(request, who)


def open311_catalog_session(request: Request, who: Open311Who) -> Iterator[Session]:
    """Open311's service list: public by design (the class catalog), so without a token every
    district; with one, the token's districts, like every other Open311 route."""
    if who is None:
        yield from public_session(request)
    else:
        yield from session(request, who)


Db = Annotated[Session, Depends(session)]
Open311Db = Annotated[Session, Depends(open311_session)]
Open311WriteDb = Annotated[Session, Depends(open311_write_session)]
Open311CatalogDb = Annotated[Session, Depends(open311_catalog_session)]
