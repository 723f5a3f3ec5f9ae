"""Conversation history in the service's database, keyed by conversation id, bounded in size.

Besides the turns the answering chain reads back (role, content, the standalone
question), a conversation keeps a title (its first question) and, per answer, the
complete answer record (citations, closest paragraphs) so a page can show it again.
Every replica reads and writes the same rows, so a follow-up may reach any of them.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, case, delete, func, insert, select, update

from qa_service.database import write_transaction
from qa_service.database.tables import conversation_answers as answers
from qa_service.database.tables import conversation_turns as turns
from qa_service.database.tables import conversations
from qa_service.errors import NotFoundError
from qa_service.models import Answer, RetrievedParagraph

TITLE_CHARS = 120


@dataclass(frozen=True)
class ConversationSummary:
    id: str
    title: str
    updated: float  # Unix time of the last turn
    turns: int


def _unknown(cid: str) -> NotFoundError:
    return NotFoundError(f"unknown conversation id {cid!r}")


def _title(text: str | None) -> str:
    return " ".join((text or "").split())[:TITLE_CHARS]


# The stored title, or for a conversation written before titles its oldest kept question.
_TITLE = func.coalesce(
    conversations.c.title,
    select(turns.c.content).where(turns.c.conversation_id == conversations.c.id, turns.c.role == "user")
    .order_by(turns.c.seq).limit(1).correlate(conversations).scalar_subquery(),
    "",
)


class ConversationStore:
    def __init__(self, engine: Engine, max_turns: int = 20, max_conversations: int = 10_000) -> None:
        self.engine = engine
        self.max_turns = max_turns
        self.max_conversations = max_conversations

    def new(self) -> str:
        cid = uuid.uuid4().hex
        with write_transaction(self.engine) as conn:
            conn.execute(insert(conversations).values(id=cid, updated=time.time()))
            self._evict(conn)
        return cid

    def exists(self, cid: str) -> bool:
        with self.engine.connect() as conn:
            return self._exists(conn, cid)

    @staticmethod
    def _exists(conn: Connection, cid: str) -> bool:
        return conn.execute(select(conversations.c.id).where(conversations.c.id == cid)).first() is not None

    def history(self, cid: str) -> list[dict[str, str]]:
        with self.engine.connect() as conn:
            if not self._exists(conn, cid):
                raise _unknown(cid)
            rows = conn.execute(select(turns.c.role, turns.c.content, turns.c.extra)
                                .where(turns.c.conversation_id == cid).order_by(turns.c.seq)).all()
        out = []
        for role, content, extra in rows:
            turn = {"role": role, "content": content}
            if extra:
                turn.update(json.loads(extra))
            out.append(turn)
        return out

    def append(self, cid: str, role: str, content: str, **extra: str) -> None:
        self.append_turns(cid, [(role, content, extra)])

    def append_exchange(self, cid: str, question: str, answer: str, **extra: str) -> None:
        """A question and its answer in one transaction: a crash or a concurrent request on the same
        conversation (another replica) never leaves a question without its answer between them."""
        self.append_turns(cid, [("user", question, extra), ("assistant", answer, {})])

    def append_turns(self, cid: str, new_turns: list[tuple[str, str, dict[str, str]]]) -> None:
        with write_transaction(self.engine) as conn:
            # Touching the row first also locks it (PostgreSQL): two replicas appending to one
            # conversation take turns, so they never pick the same seq.
            if conn.execute(update(conversations).where(conversations.c.id == cid)
                            .values(updated=time.time())).rowcount == 0:
                raise _unknown(cid)  # evicted meanwhile
            seq = conn.execute(select(func.coalesce(func.max(turns.c.seq), 0))
                               .where(turns.c.conversation_id == cid)).scalar_one()
            for role, content, extra in new_turns:
                seq += 1
                conn.execute(insert(turns).values(conversation_id=cid, seq=seq, role=role, content=content,
                                                  extra=json.dumps(extra) if extra else None))
                if role == "user":  # the first question names the conversation
                    conn.execute(update(conversations)
                                 .where(conversations.c.id == cid, conversations.c.title.is_(None))
                                 .values(title=_title(content)))
            # Keep the newest turns only: a long chat must not grow without bound.
            for table in (turns, answers):
                conn.execute(delete(table).where(table.c.conversation_id == cid,
                                                 table.c.seq <= seq - self.max_turns))

    def _evict(self, conn: Connection) -> None:
        n = conn.execute(select(func.count()).select_from(conversations)).scalar_one()
        if n > self.max_conversations:
            old = select(conversations.c.id).order_by(conversations.c.updated).limit(n - self.max_conversations)
            # Turns and answer records go with them (ON DELETE CASCADE).
            conn.execute(delete(conversations).where(conversations.c.id.in_(old.scalar_subquery())))

    # -- for pages that list and show conversations ---------------------------------
    def recent(self, limit: int = 50, offset: int = 0) -> list[ConversationSummary]:
        """Conversations with at least one question, most recently active first."""
        c = conversations
        query = (
            select(c.c.id, _TITLE, c.c.updated, func.count(turns.c.seq))
            .join(turns, turns.c.conversation_id == c.c.id)
            .group_by(c.c.id, c.c.title, c.c.updated)
            .having(func.sum(case((turns.c.role == "user", 1), else_=0)) > 0)
            .order_by(c.c.updated.desc(), c.c.id).limit(limit).offset(offset)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [ConversationSummary(id=r[0], title=_title(r[1]), updated=r[2], turns=r[3]) for r in rows]

    def summary(self, cid: str) -> ConversationSummary:
        count = (select(func.count()).select_from(turns).where(turns.c.conversation_id == conversations.c.id)
                 .correlate(conversations).scalar_subquery())
        with self.engine.connect() as conn:
            row = conn.execute(select(conversations.c.id, _TITLE, conversations.c.updated, count)
                               .where(conversations.c.id == cid)).first()
        if row is None:
            raise _unknown(cid)
        return ConversationSummary(id=row[0], title=_title(row[1]), updated=row[2], turns=row[3])

    def transcript(self, cid: str) -> list[dict[str, Any]]:
        """The turns in order; an assistant turn carries `answer` (the full record) once attached."""
        query = (
            select(turns.c.seq, turns.c.role, turns.c.content, turns.c.extra, answers.c.data)
            .outerjoin(answers, (answers.c.conversation_id == turns.c.conversation_id)
                       & (answers.c.seq == turns.c.seq))
            .where(turns.c.conversation_id == cid).order_by(turns.c.seq)
        )
        with self.engine.connect() as conn:
            if not self._exists(conn, cid):
                raise _unknown(cid)
            rows = conn.execute(query).all()
        out = []
        for seq, role, content, extra, answer in rows:
            turn: dict[str, Any] = {"seq": seq, "role": role, "content": content}
            if extra:
                turn.update(json.loads(extra))
            if answer:
                turn["answer"] = json.loads(answer)
            out.append(turn)
        return out

    def attach_answer(self, cid: str, answer: dict[str, Any]) -> int | None:
        """Keep the full record of an answer beside its turn: the newest assistant turn with
        this text and no record yet. Returns that turn's seq, or None when there is none."""
        text = answer.get("answer")
        with write_transaction(self.engine) as conn:
            # FOR UPDATE (PostgreSQL; SQLite's IMMEDIATE already serializes writers): two replicas
            # attaching to one conversation must not both pick the same turn.
            if conn.execute(select(conversations.c.id).where(conversations.c.id == cid)
                            .with_for_update()).first() is None:
                raise _unknown(cid)
            seq = conn.execute(
                select(turns.c.seq)
                .outerjoin(answers, (answers.c.conversation_id == turns.c.conversation_id)
                           & (answers.c.seq == turns.c.seq))
                .where(turns.c.conversation_id == cid, turns.c.role == "assistant", turns.c.content == text,
                       answers.c.seq.is_(None))
                .order_by(turns.c.seq.desc()).limit(1)
            ).scalar()
            if seq is None:
                return None
            conn.execute(insert(answers).values(conversation_id=cid, seq=seq, data=json.dumps(answer)))
            return int(seq)

    def delete(self, cid: str) -> None:
        with write_transaction(self.engine) as conn:
            # Turns and answer records go with it (ON DELETE CASCADE).
            if conn.execute(delete(conversations).where(conversations.c.id == cid)).rowcount == 0:
                raise _unknown(cid)


def answer_record(answer: Answer, closest: list[RetrievedParagraph] | None = None) -> dict[str, Any]:
    """What a conversation keeps of an answer: the text, its citations, the closest paragraphs."""
    kept = answer.retrieved[:3] if closest is None else closest
    return {
        "answer": answer.answer,
        "abstained": answer.abstained,
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "citations": [c.model_dump(mode="json") for c in answer.citations],
        "retrieved": [r.model_dump(mode="json", include={"paragraph_id", "article_id", "title", "text", "number",
                                                         "source", "published", "heading"}) for r in kept],
    }
