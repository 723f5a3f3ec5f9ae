"""Answers the bot posted and the helpful / not-helpful votes on them, in the service's database.

Each posted answer is stored first (question, answer, citations) and its id travels
in the buttons' `value`, so a vote needs no more than that id (and may reach any
replica). `export_jsonl` turns voted answers into lines of the evaluation-set format
(see GUIDE section 3).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import IO, Any, Literal

from sqlalchemy import Engine, case, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from qa_service.database import write_transaction
from qa_service.database.tables import feedback_answers as answers
from qa_service.database.tables import feedback_ratings as ratings
from qa_service.models import Answer

Rating = Literal["helpful", "not_helpful"]

_MARKER = re.compile(r"\s*\[\d+\]")


class FeedbackStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def record_answer(
        self,
        answer: Answer,
        *,
        channel: str | None = None,
        thread_ts: str | None = None,
        user: str | None = None,
    ) -> str:
        answer_id = uuid.uuid4().hex
        citations = [c.model_dump(exclude={"paragraph_text"}) for c in answer.citations]
        with write_transaction(self.engine) as conn:
            conn.execute(insert(answers).values(
                answer_id=answer_id, created=time.time(), question=answer.question, answer=answer.answer,
                abstained=answer.abstained, citations=json.dumps(citations, ensure_ascii=False),
                channel=channel, thread_ts=thread_ts, user=user,
            ))
        return answer_id

    def record_feedback(self, answer_id: str, user: str, rating: Rating) -> bool:
        """Store (or change) one user's vote. False if the answer id is unknown."""
        dialect_insert = postgresql.insert if self.engine.dialect.name == "postgresql" else sqlite.insert
        vote = dialect_insert(ratings).values(answer_id=answer_id, user=user, rating=rating, created=time.time())
        vote = vote.on_conflict_do_update(index_elements=[ratings.c.answer_id, ratings.c.user],
                                          set_={"rating": vote.excluded.rating, "created": vote.excluded.created})
        with write_transaction(self.engine) as conn:
            if conn.execute(select(answers.c.answer_id).where(answers.c.answer_id == answer_id)).first() is None:
                return False
            conn.execute(vote)
        return True

    def feedback_rows(self) -> list[dict[str, Any]]:
        query = (
            select(ratings.c.answer_id, ratings.c.user, ratings.c.rating, ratings.c.created,
                   answers.c.question, answers.c.answer, answers.c.abstained, answers.c.citations)
            .join(answers, answers.c.answer_id == ratings.c.answer_id)
            .order_by(ratings.c.created)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [dict(r) | {"abstained": int(r["abstained"]), "citations": json.loads(r["citations"])}
                for r in rows]

    def evaluation_lines(self, *, only_helpful: bool = False) -> Iterator[dict[str, Any]]:
        """One evaluation-set record per voted answer (majority vote; ties count as not helpful).

        Helpful answers give `answers` (the text without [n] markers) and `evidence` (the
        verified quotes). Not-helpful ones keep the question with empty `answers`: they are
        candidates for a human to fill in, marked by `feedback`.
        """
        query = (
            select(answers.c.answer_id, answers.c.question, answers.c.answer, answers.c.abstained,
                   answers.c.citations,
                   func.sum(case((ratings.c.rating == "helpful", 1), else_=0)).label("up"),
                   func.sum(case((ratings.c.rating == "not_helpful", 1), else_=0)).label("down"))
            .join(ratings, ratings.c.answer_id == answers.c.answer_id)
            .group_by(answers.c.answer_id, answers.c.question, answers.c.answer, answers.c.abstained,
                      answers.c.citations)
            .order_by(func.min(ratings.c.created), answers.c.answer_id)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        for r in rows:
            helpful = r["up"] > r["down"]
            if only_helpful and not helpful:
                continue
            citations = json.loads(r["citations"])
            abstained = bool(r["abstained"])
            yield {
                "id": f"slack-{r['answer_id']}",
                "question": r["question"],
                "answers": [_MARKER.sub("", r["answer"]).strip()] if helpful and not abstained else [],
                "evidence": [c["quote"] for c in citations] if helpful else [],
                "answerable": not abstained,  # what the bot concluded; `feedback` says if people agreed
                "feedback": "helpful" if helpful else "not_helpful",
                "votes": {"helpful": int(r["up"]), "not_helpful": int(r["down"])},
                "source": "slack",
            }

    def export_jsonl(self, out: IO[str], *, only_helpful: bool = False) -> int:
        """Write evaluation-set JSONL lines to `out`; returns how many."""
        n = 0
        for record in self.evaluation_lines(only_helpful=only_helpful):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            n += 1
        return n

    def close(self) -> None:
        """Nothing to release: the engine's pool is shared by every store of the process."""


def main(argv: list[str] | None = None) -> int:
    """python -m qa_service.slack.feedback [--only-helpful] [OUT.jsonl]"""
    import argparse
    import sys

    from qa_service.config import Settings
    from qa_service.database import open_database

    parser = argparse.ArgumentParser(description="Export Slack feedback as evaluation-set JSONL.")
    parser.add_argument("out", nargs="?", help="output file (default: stdout)")
    parser.add_argument("--only-helpful", action="store_true")
    args = parser.parse_args(argv)
    store = FeedbackStore(open_database(Settings()))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            n = store.export_jsonl(fh, only_helpful=args.only_helpful)
    else:
        n = store.export_jsonl(sys.stdout, only_helpful=args.only_helpful)
    print(f"{n} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
