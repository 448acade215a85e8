"""`GET /supervision` (检查督办): every county with its liveness, last import and conformance
verdict — a page for a browser, JSON for a program (`Accept: application/json` or `?f=json`).
A city administrator's token sees every county, any other only its own districts."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.deps import Db
from api.reports.html import SHELL
from api.routes.reports import Viewer
from onboarding.supervision import overview, page

router = APIRouter(tags=["supervision"])


@router.get("/supervision", response_class=HTMLResponse,
            responses={200: {"content": {"application/json": {}}}})
def supervision(request: Request, who: Viewer, db: Db,
                f: Literal["html", "json"] | None = None) -> Response:
    """Every county the token may see: live or not, last import, grids and components, the
    verdict of its latest 贯标 conformance report and the items that fail."""
    wants_json = f == "json" or (f is None and "application/json" in
                                 request.headers.get("accept", ""))
    if who is None:
        if wants_json:
            return JSONResponse({"error": {"code": "unauthorized", "message":
                                           "需要访问令牌 (this needs a token)"}}, 401)
        return HTMLResponse(SHELL)
    index = request.app.state.lookups.index
    rows = overview(db, None if who.everywhere else who.districts,
                    loaded=index.districts if index else ())
    if wants_json:
        return JSONResponse({"districts": rows})
    return HTMLResponse(page(rows))
