"""One place that turns every error into `{"error": {"code", "message", "detail"?}}`, and on the
Open311 routes into GeoReport's error list (`api.georeport.error`)."""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import georeport
from gis.errors import CitygridError

log = logging.getLogger("citygrid.api")


# Domain messages name the CLI's options (`--crs EPSG:4549`); a client of the HTTP API gives the
# same things as query parameters, and is told so (`?crs=EPSG:4549`).
_OPTION = re.compile(r"--(crs|encoding|dry-run|retire-missing|district)\b"
                     r"(?:[ =]([A-Za-z0-9][^\s;,)；，、。）]*))?")


def http_message(message: str) -> str:
    """A domain message as an HTTP client should read it: parameters, not CLI options."""
    def param(m: re.Match[str]) -> str:
        name = m.group(1).replace("-", "_")
        return f"?{name}={m.group(2)}" if m.group(2) else f"?{name}="

    return _OPTION.sub(param, message)


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        err["detail"] = detail
    return {"error": err}


OPEN311 = "/open311/"


# what the Open311 routes say, Chinese first, for errors that have no domain message
_OPEN311_HTTP = {404: "没有这个 Open311 地址，格式为 .json 或 .xml (no such Open311 resource)",
                 405: "这个 Open311 地址不接受该方法 (method not allowed)"}


# Starlette's errors that carry no message of ours
_HTTP_ZH = {404: "没有这个地址 (not found)", 405: "这个地址不接受该方法 (method not allowed)"}


def _render(request: Request, status: int, code: str, message: str, detail: Any = None,
            headers: dict[str, str] | None = None) -> Response:
    """citygrid's error body, or on the Open311 routes GeoReport's (a list of {code,
    description}, in the format of the path, with GeoReport's statuses), which clients of that
    standard expect."""
    if request.url.path.startswith(OPEN311):
        response = georeport.error(request.url.path, status, message)
        response.headers.update(headers or {})
        return response
    return JSONResponse(error_body(code, message, detail), status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(CitygridError)
    async def domain_error(request: Request, exc: CitygridError) -> Response:
        headers = {}
        if exc.status == 429 and isinstance(exc.detail, dict):
            headers["Retry-After"] = str(exc.detail.get("retry_after", 1))
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        if exc.status == 421 and isinstance(exc.detail, dict):
            # for a router in front: the process to send the request to serves this district
            headers["Citygrid-District"] = str(exc.detail["district"])
        return _render(request, exc.status, exc.code, http_message(exc.message), exc.detail,
                       headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path")]
            problems.append({"parameter": ".".join(loc) or "request", "message": e.get("msg")})
        first = problems[0] if problems else {"parameter": "request", "message": "invalid"}
        message = f"参数 {first['parameter']} 缺失或无效 ({first['parameter']}: {first['message']})"
        if request.url.path.startswith(OPEN311):
            return georeport.error(request.url.path, 400, message)
        return _render(request, 400, "bad_request", message, problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if request.url.path.startswith(OPEN311):
            message = _OPEN311_HTTP.get(exc.status_code, message)
        elif message == HTTPStatus(exc.status_code).phrase:      # Starlette's own words
            message = _HTTP_ZH.get(exc.status_code, message)
        return _render(request, exc.status_code, code, message,
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(OperationalError)
    async def database_error(request: Request, exc: OperationalError) -> Response:
        log.error("database error: %s", exc)
        return _render(request, 503, "database_unavailable",
                       "数据库暂时不可用，请稍后再试 (the database is unavailable)")

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error")
        return _render(request, 500, "internal", "服务器内部错误，已记录 (internal error)")
