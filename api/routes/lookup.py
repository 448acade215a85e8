"""`GET /lookup` and `POST /lookup`: who is responsible for a point, or for many."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
import orjson
from fastapi import APIRouter, Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from api.auth import Principal, Unauthorized
from api.bulk import parse_points
from api.deps import LookupCaller, anonymous_sees, lookup_caller, principal, public_answer
from api.schemas import BulkOut, ErrorBody, LookupOut
from gis.points import point_to_storage
from lookup.bulk import resolve_many
from lookup.result import OutsideCoverage

router = APIRouter(tags=["lookup"])
Kind = Literal["component", "event"]
KINDS = ("component", "event")

# GET /lookup's query, as documented (the route reads it itself: see `lookup`)
LOOKUP_PARAMETERS: list[dict[str, Any]] = [
    {"name": "lon", "in": "query", "required": True, "schema": {"type": "number"},
     "description": "Longitude, or x in a projected crs"},
    {"name": "lat", "in": "query", "required": True, "schema": {"type": "number"},
     "description": "Latitude, or y in a projected crs"},
    {"name": "crs", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "EPSG:4490 (default), EPSG:4326, any EPSG code, or gcj02 / bd09 (AMap, "
                    "Tencent, Baidu)"},
    {"name": "class", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "Component or event class code of the district's scheme"},
    {"name": "kind", "in": "query", "required": False,
     "schema": {"type": "string", "enum": list(KINDS)},
     "description": "component or event: settles a legacy code that is both (default: "
                    "component)"},
]


def render(data: Any) -> bytes:
    # Rendered here rather than through response_model validation, and by orjson (a tenth of
    # json.dumps's time, the same text for these answers): the lookup is the hot path.
    return orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS)


def json_response(data: Any, status: int = 200) -> Response:
    return Response(render(data), status_code=status, media_type="application/json")


def _invalid(name: str, message: str) -> RequestValidationError:
    """A query parameter's error, reported as FastAPI's own are (400 bad_request)."""
    return RequestValidationError([{"loc": ("query", name), "msg": message,
                                    "type": "value_error"}])


def _number(query: Mapping[str, str], name: str) -> float:
    raw = query.get(name)
    if raw is None:
        raise _invalid(name, "Field required")
    try:
        return float(raw.strip())
    except ValueError:
        raise _invalid(name, "Input should be a valid number, unable to parse string as a "
                       "number") from None


def _asked(q: Mapping[str, str]) -> tuple[float, float, str | None, str | None, str | None]:
    """A GET /lookup's lon, lat, crs, class and kind (raises its 400s)."""
    lon, lat = _number(q, "lon"), _number(q, "lat")
    kind = q.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise _invalid("kind", f"Input should be {' or '.join(map(repr, KINDS))}")
    return lon, lat, q.get("crs") or None, q.get("class") or None, kind


def throttle(request: Request, who: Principal | None, n: int = 1) -> None:
    """The lookup rate limit: per token, or per client address without one."""
    client = request.client.host if request.client else "-"
    key = f"token:{who.token_id}" if who else f"ip:{client}"
    request.app.state.limiter.take(key, n)


@router.get("/lookup", response_model=LookupOut,
            responses={404: {"model": ErrorBody, "description": "outside every grid"}},
            openapi_extra={"parameters": LOOKUP_PARAMETERS})
async def lookup(request: Request) -> Response:
    """Who is responsible for this point: grid, community, street, nearest component of the
    class, responsible party and the rule that decided it."""
    # The hot path, kept lean: the query is read here rather than by FastAPI's parameter
    # machinery (a third of a lookup's time), with the same checks and messages, and it runs on
    # the event loop: the index is in memory and one lookup takes tens of microseconds, less
    # than a trip through the threadpool would cost.
    lon, lat, crs, class_, kind = _asked(request.query_params)
    who = await lookup_caller(request, await principal(request))
    throttle(request, who)
    x, y = point_to_storage(lon, lat, crs)
    lookups = request.app.state.lookups
    resolver = lookups.ready()
    if resolver is None:      # still loading: wait for it off the event loop
        resolver = await run_in_threadpool(lookups.get)
    answer = resolver.resolve(x, y, class_, kind)
    code = answer.district.code
    if who is None:
        if not anonymous_sees(request.app.state.context.settings, code):
            raise Unauthorized("此处的位置查询需要访问令牌：Authorization: Bearer <令牌> "
                               "(lookups here need a token: Authorization: Bearer <token>)")
        return json_response(public_answer(answer.to_dict()))
    if not who.sees(code):
        raise OutsideCoverage(f"点 ({lon}, {lat}) 不在此令牌的区县内 "
                              f"(point ({lon}, {lat}) lies outside the districts of this token)")
    return json_response(answer.to_dict())


@router.post("/lookup", response_model=BulkOut,
             responses={413: {"model": ErrorBody, "description": "too many points"}})
def lookup_many(
    request: Request, who: LookupCaller,
    body: Annotated[Any, Body(description="A JSON list of {lon, lat, crs?, class?} or "
                              "[lon, lat], or a GeoJSON FeatureCollection of points",
                              examples=[[{"lon": 118.7585, "lat": 30.942, "class": "0101"},
                                         [118.76, 30.94]]])],
    crs: Annotated[str | None, Query(description="CRS of points that name none")] = None,
    class_: Annotated[str | None, Query(alias="class", description="Class of points "
                                        "that name none")] = None,
    kind: Annotated[Kind | None, Query(description="Kind of points that name none")] = None,
) -> Response:
    """Many lookups in one call (up to 100,000 points), answered in the order given; a point
    outside every grid gets an error object in its place."""
    settings = request.app.state.context.settings
    lon, lat, classes, kinds = parse_points(body, default_crs=crs, default_class=class_,
                                            default_kind=kind, limit=settings.max_bulk_points)
    throttle(request, who, max(1, len(lon) // 1000))
    answer = resolve_many(request.app.state.lookups.get(), lon, lat, classes, kinds)
    if who is None:
        seen = [c for c in {str(c) for c in answer.district if c is not None}
                if anonymous_sees(settings, c)]
        answer.grid[~np.isin(answer.district.astype(str), seen)] = -1
    elif not who.everywhere:
        outside = ~np.isin(answer.district.astype(str), list(who.districts))
        answer.grid[outside] = -1      # another county's point is outside this token's reach
    results = [answer.item(i) for i in range(len(answer))]
    if who is None:
        results = [r if "error" in r else public_answer(r) for r in results]
    located = int((answer.grid >= 0).sum())
    return json_response({"count": len(results), "located": located, "results": results})


# What a GET /lookup may ask (LOOKUP_PARAMETERS); a query naming anything else goes to the route
_ASKED = frozenset(p["name"] for p in LOOKUP_PARAMETERS)


class LookupFastPath:
    """ASGI middleware in front of the routes: a `GET /lookup` that will be answered 200 — a
    token seen lately (`Authenticator.cached`) whose role may look up and whose districts hold
    the point, the index loaded, the query well formed — is answered here, the same bytes as
    the route's, without FastAPI's routing, dependency and exception machinery (in process,
    that machinery took as long as the lookup itself). Everything else — any error, a caller
    without a token or with one not cached, a rate limit reached, a parameter the route does
    not know — goes on to the route (`lookup` above), which answers it as it always has: the
    route is the contract, this only shortens the way to its most common answer. The rate
    limit is taken last, once the answer is known to be 200, so a request handed on is counted
    once, by the route."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path, root = scope["path"], scope.get("root_path", "")
            if path == "/lookup" or (root and path == root + "/lookup"):
                body = self.answer(scope)
                if body is not None:
                    await send({"type": "http.response.start", "status": 200,
                                "headers": [(b"content-length", str(len(body)).encode()),
                                            (b"content-type", b"application/json")]})
                    await send({"type": "http.response.body", "body": body})
                    return
        await self.app(scope, receive, send)

    @staticmethod
    def answer(scope: Any) -> bytes | None:
        """The body of the 200 answer to this GET /lookup, or None: the route decides."""
        state = scope["app"].state
        query = _query(scope["query_string"])
        if not query.keys() <= _ASKED:
            return None
        header = next((v for k, v in scope["headers"] if k == b"authorization"), None)
        if not header:
            return None
        # Anything unexpected here is the route's to answer (with its error): never ours.
        try:
            known, who = state.auth.cached(header.decode("latin-1"))
            if not known or who is None or not who.may("lookup"):
                return None
            resolver = state.lookups.ready()
            if resolver is None:
                return None
            lon, lat, crs, class_, kind = _asked(query)
            x, y = point_to_storage(lon, lat, crs)
            answer = resolver.resolve(x, y, class_, kind)
            if not who.sees(answer.district.code):
                return None
            state.limiter.take(f"token:{who.token_id}")
        except Exception:        # RateLimited too: the route refuses it, counted once
            return None
        return render(answer.to_dict())


def _query(raw: bytes) -> dict[str, str]:
    """A query string's parameters, the last of a repeated one, as Starlette's QueryParams reads
    them (latin-1, then percent-decoding as UTF-8)."""
    text = raw.decode("latin-1")
    if "%" in text or "+" in text:
        from urllib.parse import parse_qsl

        return dict(parse_qsl(text, keep_blank_values=True))
    query = {}
    for part in text.split("&"):
        if part:
            name, _, value = part.partition("=")
            query[name] = value
    return query
