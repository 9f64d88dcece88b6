"""The web console at ``/`` and the API docs at ``/docs`` (Swagger UI) and ``/redoc``, all served from local files.

The console is static: HTML, CSS and JavaScript modules in ``quarry/api/console`` with no build step, calling the
same REST API as every other client with the key the user signs in with — so it sees exactly what that key sees.
The documentation pages load Swagger UI and ReDoc from the ``fastapi-offline`` package's copies, not a CDN.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

__all__ = ["install_console"]

CONSOLE = Path(__file__).parent / "console"
DOC_ASSETS = Path(fastapi_offline.__file__).parent / "static"
# the console runs only its own scripts; styles may be set from script (bar widths, highlight offsets)
POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
REDOC_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"  # ReDoc's side-menu logo: the one remote fetch it makes
# Swagger UI and ReDoc start from an inline script, and ReDoc searches in a blob worker; the policy also stops
# ReDoc's footer logo from being fetched from its CDN
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def install_console(app: FastAPI) -> None:
    """Serve the console at ``/`` (assets under ``/console``) and offline API docs at ``/docs`` and ``/redoc``."""
    app.mount("/console", StaticFiles(directory=CONSOLE), name="console")
    app.mount("/docs-assets", StaticFiles(directory=DOC_ASSETS), name="docs-assets")
    index = CONSOLE / "index.html"

    @app.get("/", include_in_schema=False)
    def console() -> FileResponse:
        return FileResponse(index, media_type="text/html", headers={"Content-Security-Policy": POLICY,
                                                                    "Cache-Control": "no-cache"})  # fmt: skip

    @app.get("/docs", include_in_schema=False)
    def swagger() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Quarry API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/console/favicon.svg",
        )
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page

    @app.get("/docs-redoc.js", include_in_schema=False)
    def redoc_script() -> Response:
        return Response(_redoc_script(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="Quarry API",
            redoc_js_url="/docs-redoc.js",
            redoc_favicon_url="/console/favicon.svg",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_POLICY
        return page


@cache
def _redoc_script() -> bytes:
    """ReDoc with its logo served from here instead of its CDN."""
    text = (DOC_ASSETS / "redoc.standalone.js").read_text(encoding="utf-8")
    return text.replace(REDOC_LOGO, "/console/favicon.svg").encode()
