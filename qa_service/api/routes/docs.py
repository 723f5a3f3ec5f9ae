"""GET /openapi.json and /docs, behind the API key like the API they describe."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse

from qa_service.api.deps import ApiKey

router = APIRouter(include_in_schema=False, dependencies=[ApiKey])


@router.get("/openapi.json")
async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    # The document is inlined: the page came with the key, but Swagger UI would fetch
    # /openapi.json without it. "Authorize" then sends the key with each tried request.
    return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{request.app.title} - API",
                               swagger_ui_parameters={"spec": request.app.openapi()})
