"""The answering chain in LCEL: condense -> retrieve -> generate -> verify -> Answer.

Each step is a runnable built from a swappable part (chosen by Settings in
service.py), so the chain supports invoke, batch and stream, and timings per step
land in the Answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from langchain_core.runnables import Runnable, RunnableLambda, RunnablePassthrough

from qa_service.citations import Draft, verify
from qa_service.models import Answer, RetrievedParagraph
from qa_service.safety import INJECTION


class Generator(Protocol):
    name: str

    def draft(self, question: str, sources: list[RetrievedParagraph]) -> Draft: ...


class LLMDraftGenerator:
    """Adapts the LLM generator (raw text with [n] markers) to the Draft interface."""

    def __init__(self, llm: Any, name: str) -> None:
        self.llm = llm
        self.name = name

    def draft(self, question: str, sources: list[RetrievedParagraph]) -> Draft:
        from qa_service.generators.llm_generator import is_insufficient

        text = self.llm.generate(question, sources)
        if is_insufficient(text):
            return Draft(abstain_reason="model_insufficient")
        return Draft(raw_text=text)

    def stream_text(self, question: str, sources: list[RetrievedParagraph]) -> Iterator[str]:
        yield from self.llm.stream(question, sources)


@dataclass
class ChainParts:
    condense: Callable[[str, list[dict[str, str]]], str]
    retrieve: Callable[[str, dict[str, Any]], list[RetrievedParagraph]]
    generator: Generator
    support: Callable[[str, list[RetrievedParagraph]], float]  # question-term coverage, 0..1
    abstain_threshold: float
    # The positions layer may vouch for a question (several actors with attributed statements).
    covered: Callable[[str], bool] | None = None


def _timed(name: str, fn: Callable[[dict[str, Any]], Any]) -> Runnable:
    def run(state: dict[str, Any]) -> Any:
        started = time.perf_counter()
        result = fn(state)
        state["timings"][name] = round(time.perf_counter() - started, 4)
        if isinstance(result, Answer):  # the last step: its own time goes into the answer too
            result.timings[name] = state["timings"][name]
        return result

    return RunnableLambda(run, name=name)


def _start(inputs: dict[str, Any]) -> dict[str, Any]:
    return {"history": [], "filters": {}, **inputs, "timings": {}}


def build_chain(parts: ChainParts) -> Runnable:
    """Input: {"question", "history"?, "filters"?}; output: Answer."""
    return (
        RunnableLambda(_start, name="start")
        | RunnablePassthrough.assign(standalone=_timed("condense", lambda s: parts.condense(s["question"], s["history"])))
        | RunnablePassthrough.assign(retrieved=_timed("retrieve", lambda s: parts.retrieve(s["standalone"], s["filters"])))
        | RunnablePassthrough.assign(draft=_timed("generate", lambda s: gate_and_draft(parts, s)))
        | _timed("verify", lambda s: finish(parts, s))
    )


def gate(parts: ChainParts, state: dict[str, Any]) -> Draft | None:
    """No source support, no generation: the model never gets to answer from general knowledge.

    Returns an abstaining Draft, or None when generation may go ahead.
    """
    sources = state["retrieved"]
    support = parts.support(state["standalone"], sources)
    if state["standalone"] != state["question"]:
        # A condensed follow-up carries the earlier topic; the user's own words decide support.
        support = max(support, parts.support(state["question"], sources))
    state["support"] = support
    vouched = parts.covered is not None and parts.covered(state["standalone"])
    if not sources or (support < parts.abstain_threshold and not vouched):
        return Draft(abstain_reason="low_support", support=support)
    return None


def gate_and_draft(parts: ChainParts, state: dict[str, Any]) -> Draft:
    blocked = gate(parts, state)
    if blocked is not None:
        return blocked
    draft = parts.generator.draft(state["standalone"], state["retrieved"])
    draft.support = state["support"]
    return draft


def finish(parts: ChainParts, state: dict[str, Any], draft: Draft | None = None) -> Answer:
    draft = draft or state["draft"]
    retrieved: list[RetrievedParagraph] = state["retrieved"]
    diagnostics: dict[str, Any] = {"support": round(float(state.get("support") or draft.support or 0.0), 4)}
    verified = verify(_drop_injected(draft, retrieved), retrieved) if not draft.abstain_reason else None
    if verified is not None:
        diagnostics.update(verified.diagnostics)
    if verified is None or not verified.citations:
        reason = draft.abstain_reason or "no_verified_citation"
        diagnostics["abstain_reason"] = reason
        return Answer(
            question=state["question"], standalone_question=state["standalone"],
            answer=abstention_text(retrieved), abstained=True, citations=[], retrieved=retrieved,
            timings=dict(state["timings"]), diagnostics=diagnostics, generator=parts.generator.name,
        )
    return Answer(
        question=state["question"], standalone_question=state["standalone"], answer=verified.answer,
        abstained=False, citations=verified.citations, retrieved=retrieved, timings=dict(state["timings"]),
        diagnostics=diagnostics, generator=parts.generator.name,
    )


def _drop_injected(draft: Draft, retrieved: list[RetrievedParagraph]) -> Draft:
    if draft.claims:
        draft.claims = [c for c in draft.claims if not INJECTION.search(c.quote or c.text)]
    elif draft.raw_text and INJECTION.search(draft.raw_text):
        # A model that echoes injected text gets no credit for those sentences.
        draft.raw_text = " ".join(
            s for s in re.split(r"(?<=[.!?])\s+", draft.raw_text) if not INJECTION.search(s)
        )
    return draft


def abstention_text(retrieved: list[RetrievedParagraph]) -> str:
    text = "The articles I have do not answer this question."
    if retrieved:
        closest = "; ".join(f"\u201c{r.title}\u201d (paragraph {r.number})" for r in retrieved[:3])
        text += f" The closest paragraphs I found: {closest}."
    return text

