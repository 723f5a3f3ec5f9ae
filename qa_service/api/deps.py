"""FastAPI dependencies as Annotated aliases; routes declare what they need, nothing more."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from qa_service.api.metrics import Metrics
from qa_service.api.security import check_api_key, check_write_allowed
from qa_service.config import Settings
from qa_service.conversations import ConversationStore
from qa_service.service import QAService


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_service(request: Request) -> QAService:
    service = getattr(request.app.state, "service", None)
    if service is None:
        raise HTTPException(status_code=503, detail="the service is still starting")
    return service


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
ServiceDep = Annotated[QAService, Depends(get_service)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]


def get_conversations(service: ServiceDep) -> ConversationStore:
    """The service's own conversation store: the page lists what the chain wrote."""
    return service.conversations


ConversationsDep = Annotated[ConversationStore, Depends(get_conversations)]


def require_api_key(request: Request, settings: SettingsDep) -> None:
    check_api_key(settings, request)


def require_write_access(request: Request, settings: SettingsDep) -> None:
    check_api_key(settings, request)
    check_write_allowed(settings)


ApiKey = Depends(require_api_key)
WriteAccess = Depends(require_write_access)
