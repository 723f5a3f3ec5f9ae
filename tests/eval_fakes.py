"""A small deterministic QAService stand-in for fast evaluation unit tests."""

from __future__ import annotations

import re
from typing import Any

from qa_service.config import Settings
from qa_service.evaluation.runner import SearchesAndAsks
from qa_service.models import Answer, Citation, RetrievedParagraph

PARAGRAPHS = [
    ("a1", "Budget Day", "The chancellor raised the tax on fuel by \u2018two pence\u2019 on Tuesday."),
    ("a1", "Budget Day", "Critics said the rise would hurt rural drivers the most."),
    ("a2", "Cup Final", "United won the cup final 2-1 after extra time."),
    ("a2", "Cup Final", "The winning goal was scored by Smith in the 112th minute."),
    ("a3", "Storm Warning", "Forecasters warned of gales along the west coast this weekend."),
]
WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w for w in WORD.findall(text.lower()) if len(w) > 2}


class FakeService:
    """Keyword-overlap retrieval; answers by quoting the best paragraph, abstains without overlap."""

    def __init__(self, settings: Settings, broken_quote: bool = False) -> None:
        self.settings = settings
        self.broken_quote = broken_quote
        self.asked: list[str] = []

    def _rank(self, query: str) -> list[RetrievedParagraph]:
        q = _words(query)
        scored = []
        for n, (article, title, text) in enumerate(PARAGRAPHS):
            overlap = (
                len(q & _words(text)) if self.settings.retrieval_mode != "dense" else len(q & _words(title))
            )
            scored.append((overlap, -n, article, title, text, n))
        scored.sort(reverse=True)
        return [
            RetrievedParagraph(
                paragraph_id=f"{article}:p{n}", article_id=article, title=title, text=text, score=float(s)
            )
            for s, _, article, title, text, n in scored
        ]

    def search(self, query: str, k: int = 8, filters: Any = None) -> list[RetrievedParagraph]:
        return self._rank(query)[:k]

    def ask(self, question: str, *, conversation_id: str | None = None,
            history: list[dict[str, str]] | None = None, filters: Any = None) -> Answer:
        self.asked.append(question)
        retrieved = self._rank(question)[: self.settings.top_k]
        best = retrieved[0]
        if best.score < 2:
            return Answer(
                question=question,
                answer="I cannot answer that.",
                abstained=True,
                retrieved=retrieved,
                timings={"retrieve": 0.01, "generate": 0.0},
                diagnostics={"support_score": best.score},
            )
        quote = best.text.split(".")[0]
        start = 1 if self.broken_quote else 0
        citation = Citation(
            marker=1,
            article_id=best.article_id,
            paragraph_id=best.paragraph_id,
            title=best.title,
            paragraph_text=best.text,
            quote=quote,
            start=start,
            end=start + len(quote),
        )
        return Answer(
            question=question,
            answer=f"{quote} [1]",
            abstained=False,
            citations=[citation],
            retrieved=retrieved,
            timings={"retrieve": 0.01, "generate": 0.02},
            diagnostics={"support_score": best.score},
        )


def _conforms(fake: FakeService) -> SearchesAndAsks:
    return fake  # mypy (make typecheck) holds the fake to the protocol the evaluation runner uses
