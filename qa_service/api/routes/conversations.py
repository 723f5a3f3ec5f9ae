"""Conversations for the web page: list (titles), transcript, the answer record, delete.

The chain stores each turn's text; the page sends back the complete answer it streamed
(citations, closest paragraphs) and it is kept only after every citation checks out
against the index, so a shared link shows the same verified sources.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from qa_service.api.deps import ApiKey, ConversationsDep, ServiceDep
from qa_service.conversations import answer_record
from qa_service.errors import QAError
from qa_service.models import Answer, Article
from qa_service.service import QAService

router = APIRouter(prefix="/api/conversations", tags=["conversations"], dependencies=[ApiKey])

CLOSEST = 3  # the refusal's closest paragraphs the page links to


@router.get("")
async def list_conversations(
    conversations: ConversationsDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    found = await run_in_threadpool(conversations.recent, limit, offset)
    return {"conversations": [vars(c) for c in found]}


@router.get("/{conversation_id}")
async def get_conversation(conversation_id: str, conversations: ConversationsDep) -> dict[str, Any]:
    summary = await run_in_threadpool(conversations.summary, conversation_id)  # 404 when unknown
    turns = await run_in_threadpool(conversations.transcript, conversation_id)
    return {**vars(summary), "turns": turns}


@router.put("/{conversation_id}/answer")
async def keep_answer(
    conversation_id: str, answer: Answer, conversations: ConversationsDep, service: ServiceDep
) -> dict[str, Any]:
    record = await run_in_threadpool(checked_record, service, answer)
    seq = await run_in_threadpool(conversations.attach_answer, conversation_id, record)
    if seq is None:
        raise HTTPException(status_code=409, detail="this conversation holds no unrecorded answer with that text")
    return {"conversation_id": conversation_id, "seq": seq}


@router.delete("/{conversation_id}")
async def delete_conversation(conversation_id: str, conversations: ConversationsDep) -> dict[str, str]:
    await run_in_threadpool(conversations.delete, conversation_id)
    return {"deleted": conversation_id}


def checked_record(service: QAService, answer: Answer) -> dict[str, Any]:
    """What is kept of an answer; 422 when a citation is not verbatim in the indexed paragraph."""
    articles: dict[str, Article | None] = {}

    def paragraph_text(article_id: str, paragraph_id: str) -> tuple[str, str] | None:
        if article_id not in articles:
            try:
                articles[article_id] = service.get_article(article_id)
            except QAError:
                articles[article_id] = None
        article = articles[article_id]
        para = next((p for p in article.paragraphs if p.paragraph_id == paragraph_id), None) if article else None
        return (article.title, para.text) if article and para else None

    for c in answer.citations:
        found = paragraph_text(c.article_id, c.paragraph_id)
        if (found is None or found != (c.title, c.paragraph_text)
                or c.paragraph_text[c.start:c.end] != c.quote):
            raise HTTPException(status_code=422, detail=f"citation [{c.marker}] does not match the index")
    closest = [r for r in answer.retrieved[:CLOSEST]
               if paragraph_text(r.article_id, r.paragraph_id) == (r.title, r.text)]
    return answer_record(answer, closest)
