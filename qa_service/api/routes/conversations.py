"""Conversations for the web page: list (titles), transcript, the answer record, delete.

The chain stores each turn's text; the page sends back the complete answer it streamed
(citations, closest paragraphs) and it is kept only after every citation checks out
against the index, so a shared link shows the same verified sources.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool

from qa_service.api.deps import ApiKey, ServiceDep
from qa_service.models import Answer

router = APIRouter(prefix="/api/conversations", tags=["conversations"], dependencies=[ApiKey])

@router.get("")
async def list_conversations(
    service: ServiceDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
) -> dict[str, Any]:
    found = await run_in_threadpool(service.recent_conversations, limit, offset)
    return {"conversations": [vars(c) for c in found]}


@router.get("/{conversation_id}")
async def get_conversation(conversation_id: str, service: ServiceDep) -> dict[str, Any]:
    return await run_in_threadpool(service.conversation, conversation_id)  # 404 when unknown


@router.put("/{conversation_id}/answer", responses={409: {"description": "no unrecorded answer with that text"}})
async def keep_answer(conversation_id: str, answer: Answer, service: ServiceDep) -> dict[str, Any]:
    """422 when a citation is not verbatim in the indexed paragraph; 409 when no such answer was given."""
    seq = await run_in_threadpool(service.keep_answer, conversation_id, answer)
    return {"conversation_id": conversation_id, "seq": seq}


@router.delete("/{conversation_id}")
async def delete_conversation(conversation_id: str, service: ServiceDep) -> dict[str, str]:
    await run_in_threadpool(service.delete_conversation, conversation_id)
    return {"deleted": conversation_id}
