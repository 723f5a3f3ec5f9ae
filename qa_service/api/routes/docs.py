"""GET /openapi.json and /docs, behind the API key like the API they describe."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from qa_service.api.deps import ApiKey

router = APIRouter(include_in_schema=False, dependencies=[ApiKey])

DOCS_ASSETS = "/static/docs"  # mounted by api/app.py from the package below
DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    # The document is inlined: the page came with the key, but Swagger UI would fetch
    # /openapi.json without it. "Authorize" then sends the key with each tried request.
    # Swagger UI's script and style come from this server (PyPI fastapi-offline), not a CDN: the
    # page works where the browser has no internet, and no third party sees who reads the docs.
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} - API",
                               swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
                               swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
                               swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
                               swagger_ui_parameters={"spec": request.app.openapi()})
