"""The Slack bot's fake service: answers by quoting PARAGRAPH, typed against the one
service method the bot may call (qa_service.protocol.Asks; checked by `make typecheck`)."""

from __future__ import annotations

import threading
import time
from typing import Any

from qa_service.models import Answer, Citation, RetrievedParagraph
from qa_service.protocol import Asks
from qa_service.service_types import SearchFilters

PARAGRAPH = (
    "Rutte dismissed the value of abstract peace talks, focusing instead on tangible military aid "
    "to empower Ukraine on the battlefield. He welcomed increased contributions."
)


class FakeService:
    """Answers by quoting PARAGRAPH; records every ask(). `fail` makes ask() raise."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.fail: Exception | None = None
        self.abstain = False
        self.delay = 0.0
        self._lock = threading.Lock()

    def ask(self, question: str, *, conversation_id: str | None = None,
            history: list[dict[str, str]] | None = None, filters: SearchFilters | None = None) -> Answer:
        with self._lock:
            self.asked.append({"question": question, "history": history})
        time.sleep(self.delay)
        if self.fail:
            raise self.fail
        retrieved = [
            RetrievedParagraph(
                paragraph_id="nato:p3",
                article_id="nato",
                title="NATO Pushes for Aid",
                text=PARAGRAPH,
                score=0.9,
                source="Editorial",
                published="2024-12-03",
            )
        ]
        if self.abstain:
            return Answer(
                question=question, answer="The articles do not say.", abstained=True, retrieved=retrieved
            )
        quote = "Rutte dismissed the value of abstract peace talks"
        start = PARAGRAPH.index(quote)
        cit = Citation(
            marker=1,
            article_id="nato",
            paragraph_id="nato:p3",
            title="NATO Pushes for Aid",
            paragraph_text=PARAGRAPH,
            quote=quote,
            start=start,
            end=start + len(quote),
            source="Editorial",
            published="2024-12-03",
        )
        return Answer(
            question=question,
            answer=f"Answer to: {question} [1]",
            abstained=False,
            citations=[cit],
            retrieved=retrieved,
        )


def _conforms(fake: FakeService) -> Asks:
    return fake
