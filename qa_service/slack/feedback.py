"""Answers the bot posted and the helpful / not-helpful votes on them, in SQLite.

Each posted answer is stored first (question, answer, citations) and its id travels
in the buttons' `value`, so a vote needs no more than that id. `export_jsonl` turns
voted answers into lines of the evaluation-set format (see GUIDE section 3).
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal

from qa_service.models import Answer

Rating = Literal["helpful", "not_helpful"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    abstained INTEGER NOT NULL,
    citations TEXT NOT NULL,
    channel TEXT,
    thread_ts TEXT,
    user TEXT
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    user TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('helpful', 'not_helpful')),
    created REAL NOT NULL,
    PRIMARY KEY (answer_id, user)
);
"""

_MARKER = re.compile(r"\s*\[\d+\]")


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()  # one connection shared by the event loop and worker threads
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock, self._db:
            self._db.executescript(_SCHEMA)

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
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer_id,
                    time.time(),
                    answer.question,
                    answer.answer,
                    int(answer.abstained),
                    json.dumps(citations, ensure_ascii=False),
                    channel,
                    thread_ts,
                    user,
                ),
            )
        return answer_id

    def record_feedback(self, answer_id: str, user: str, rating: Rating) -> bool:
        """Store (or change) one user's vote. False if the answer id is unknown."""
        with self._lock, self._db:
            if self._db.execute("SELECT 1 FROM answers WHERE answer_id = ?", (answer_id,)).fetchone() is None:
                return False
            self._db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?) "
                "ON CONFLICT(answer_id, user) "
                "DO UPDATE SET rating = excluded.rating, created = excluded.created",
                (answer_id, user, rating, time.time()),
            )
        return True

    def feedback_rows(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT f.answer_id, f.user, f.rating, f.created, "
                "a.question, a.answer, a.abstained, a.citations "
                "FROM feedback f JOIN answers a USING (answer_id) ORDER BY f.created"
            ).fetchall()
        return [dict(r) | {"citations": json.loads(r["citations"])} for r in rows]

    def evaluation_lines(self, *, only_helpful: bool = False) -> Iterator[dict[str, Any]]:
        """One evaluation-set record per voted answer (majority vote; ties count as not helpful).

        Helpful answers give `answers` (the text without [n] markers) and `evidence` (the
        verified quotes). Not-helpful ones keep the question with empty `answers`: they are
        candidates for a human to fill in, marked by `feedback`.
        """
        with self._lock:
            rows = self._db.execute(
                "SELECT a.answer_id, a.question, a.answer, a.abstained, a.citations, "
                "SUM(f.rating = 'helpful') AS up, SUM(f.rating = 'not_helpful') AS down "
                "FROM answers a JOIN feedback f USING (answer_id) "
                "GROUP BY a.answer_id ORDER BY MIN(f.created)"
            ).fetchall()
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
                "votes": {"helpful": r["up"], "not_helpful": r["down"]},
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
        with self._lock:
            self._db.close()


def feedback_path(index_dir: Path) -> Path:
    return index_dir / "feedback.sqlite3"


def main(argv: list[str] | None = None) -> int:
    """python -m qa_service.slack.feedback [--only-helpful] [OUT.jsonl]"""
    import argparse
    import sys

    from qa_service.config import Settings

    parser = argparse.ArgumentParser(description="Export Slack feedback as evaluation-set JSONL.")
    parser.add_argument("out", nargs="?", help="output file (default: stdout)")
    parser.add_argument("--only-helpful", action="store_true")
    args = parser.parse_args(argv)
    store = FeedbackStore(feedback_path(Settings().index_dir))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            n = store.export_jsonl(fh, only_helpful=args.only_helpful)
    else:
        n = store.export_jsonl(sys.stdout, only_helpful=args.only_helpful)
    print(f"{n} records", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
