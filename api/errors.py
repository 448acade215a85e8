"""One place that turns every error into `{"error": {"code", "message", "detail"?}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gis.errors import CitygridError

log = logging.getLogger("citygrid.api")


def error_body(code: str, message: str, detail: Any = None) -> dict[str, Any]:
    err: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        err["detail"] = detail
    return {"error": err}


def install(app: FastAPI) -> None:
    @app.exception_handler(CitygridError)
    async def domain_error(_: Request, exc: CitygridError) -> JSONResponse:
        headers = {}
        if exc.status == 429 and isinstance(exc.detail, dict):
            headers["Retry-After"] = str(exc.detail.get("retry_after", 1))
        if exc.status == 401:
            headers["WWW-Authenticate"] = "Bearer"
        return JSONResponse(error_body(exc.code, exc.message, exc.detail), status_code=exc.status,
                            headers=headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("query", "body", "path")]
            problems.append({"parameter": ".".join(loc) or "request", "message": e.get("msg")})
        first = problems[0] if problems else {"parameter": "request", "message": "invalid"}
        return JSONResponse(
            error_body("bad_request", f"{first['parameter']}: {first['message']}", problems),
            status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)

    @app.exception_handler(OperationalError)
    async def database_error(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error: %s", exc)
        return JSONResponse(error_body("database_unavailable", "the database is unavailable"),
                            status_code=503)

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error")
        return JSONResponse(error_body("internal", "internal error"), status_code=500)
