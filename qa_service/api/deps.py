"""FastAPI dependencies as Annotated aliases; routes declare what they need, nothing more."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from qa_service.api.errors import retry_headers
from qa_service.api.metrics import Metrics
from qa_service.api.security import check_api_key, check_write_allowed
from qa_service.config import Settings
from qa_service.protocol import QAServiceProtocol


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_service(request: Request) -> QAServiceProtocol:
    service = getattr(request.app.state, "service", None)
    if service is None:
        # Still starting, or waiting for Chroma (app.state.unavailable says so): retry later.
        why = getattr(request.app.state, "unavailable", None) or "the service is still starting"
        raise HTTPException(status_code=503, detail=why, headers=retry_headers(503))
    return service


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[QAServiceProtocol, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


# The two ways to present QA_API_KEY, declared as OpenAPI security schemes (so /docs has an
# Authorize button). auto_error=False: the check below decides, with one message for both.
bearer_scheme = HTTPBearer(auto_error=False, scheme_name="BearerKey",
                           description="`Authorization: Bearer <QA_API_KEY>`")
header_scheme = APIKeyHeader(name="X-API-Key", auto_error=False, scheme_name="ApiKeyHeader",
                             description="`X-API-Key: <QA_API_KEY>`")
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]
KeyHeader = Annotated[str | None, Depends(header_scheme)]


def require_api_key(request: Request, settings: SettingsDep, _bearer: Bearer, _header: KeyHeader) -> None:
    check_api_key(settings, request)


def require_write_access(request: Request, settings: SettingsDep, _bearer: Bearer, _header: KeyHeader) -> None:
    check_api_key(settings, request)
    check_write_allowed(settings)


ApiKey = Depends(require_api_key)
WriteAccess = Depends(require_write_access)


def needs_api_key(route: Any) -> bool:
    """Whether a route (or FastAPI's RouteContext of one) declares the key check, itself or by its router."""
    return any(getattr(d, "dependency", None) in (require_api_key, require_write_access)
               for d in getattr(route, "dependencies", ()))
