"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc` (ReDoc), made by FastAPI
with the npm packages citygrid serves itself (`/vendor/swagger-ui-dist`, `/vendor/redoc`): a
deployment without Internet access has its documentation too, and nothing is fetched from a
CDN or a font service."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response

router = APIRouter(include_in_schema=False)
SWAGGER, REDOC = "/vendor/swagger-ui-dist", "/vendor/redoc"
OAUTH2_REDIRECT = "/docs/oauth2-redirect"
# npm package → a file it must have (api.routes.service.mount_static mounts the folder)
PACKAGES = {"swagger-ui-dist": "swagger-ui-bundle.js", "redoc": "bundles/redoc.standalone.js"}


def _missing(request: Request, package: str) -> Response | None:
    """A page saying how to install the package, when npm has not installed it."""
    vendor = request.app.state.context.settings.vendor_dir
    if (vendor / package / PACKAGES[package]).exists():
        return None
    return HTMLResponse("<!doctype html><meta charset=utf-8><p>API 文档组件未安装：请运行 "
                        f"<code>make setup</code>（npm ci 安装 {package}）。"
                        f"API documentation is not installed (docs_not_installed).</p>",
                        status_code=503)


# ReDoc draws a "by Redocly" logo from cdn.redoc.ly whatever its options; the browser is told
# not to fetch images or data from anywhere but citygrid (the logo hides itself when refused)
SAME_ORIGIN = {"Content-Security-Policy": "img-src 'self' data:; connect-src 'self'"}


def _offline(page: Response) -> Response:
    page.headers.update(SAME_ORIGIN)
    return page


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@router.get("/docs")
def swagger_ui(request: Request) -> Response:
    root = _root(request)
    return _missing(request, "swagger-ui-dist") or _offline(get_swagger_ui_html(
        openapi_url=root + str(request.app.openapi_url),
        title=f"{request.app.title} — API 文档 (Swagger UI)",
        swagger_js_url=f"{root}{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        oauth2_redirect_url=root + OAUTH2_REDIRECT,
        # no badge from the online validator (validator.swagger.io)
        swagger_ui_parameters={"validatorUrl": None}))


@router.get(OAUTH2_REDIRECT)
def swagger_ui_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


@router.get("/redoc")
def redoc(request: Request) -> Response:
    root = _root(request)
    return _missing(request, "redoc") or _offline(get_redoc_html(
        openapi_url=root + str(request.app.openapi_url),
        title=f"{request.app.title} — API 文档 (ReDoc)",
        redoc_js_url=f"{root}{REDOC}/redoc.standalone.js",
        redoc_favicon_url=f"{root}{SWAGGER}/favicon-32x32.png",
        with_google_fonts=False))
