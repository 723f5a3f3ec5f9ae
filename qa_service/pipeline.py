"""The one answering pipeline: condense -> retrieve -> judge -> generate -> verify.

It is a LangChain generator runnable over a typed state that yields typed events.
`QAService.ask` keeps the Final event, `QAService.stream` forwards every event, and
each front end maps each event type to its own protocol.

No client ever sees unverified text: generated text is cut into sentences, and a
sentence is released (as Token events) only after its citations are verified,
repaired or dropped. The Final answer's text is exactly the released tokens joined.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from langchain_core.runnables import RunnableGenerator
from pydantic import BaseModel

from qa_service.answerability.judge import Judgement
from qa_service.citations import Claim, Draft, Verifier, parse_raw, sentences
from qa_service.models import Answer, Citation, RetrievedParagraph
from qa_service.safety import has_data, is_injection
from qa_service.text import sentence_spans

# -- events -----------------------------------------------------------------------


class Meta(BaseModel):
    kind: Literal["meta"] = "meta"
    conversation_id: str | None
    standalone_question: str


class Retrieved(BaseModel):
    kind: Literal["retrieved"] = "retrieved"
    paragraphs: list[RetrievedParagraph]


class Token(BaseModel):
    kind: Literal["token"] = "token"
    text: str  # verified answer text; all tokens joined equal the final answer


class CitationEvent(BaseModel):
    kind: Literal["citation"] = "citation"
    citation: Citation


class Final(BaseModel):
    kind: Literal["answer"] = "answer"
    answer: Answer


class Error(BaseModel):
    kind: Literal["error"] = "error"
    detail: str
    status: int


StreamEvent = Meta | Retrieved | Token | CitationEvent | Final | Error


# -- parts ---------------------------------------------------------------------------


class Generator(Protocol):
    name: str

    def draft(self, question: str, sources: list[RetrievedParagraph], judgement: Judgement | None = None,
              ) -> Draft: ...


class TextStreamer(Protocol):
    """An LLM generator: raw text with [n] markers, streamed."""

    name: str

    def stream_text(self, question: str, sources: list[RetrievedParagraph]) -> Iterator[str]: ...


@dataclass
class PipelineParts:
    condense: Callable[[str, list[dict[str, str]]], str]
    retrieve: Callable[[str, dict[str, Any]], list[RetrievedParagraph]]
    generator: Generator | TextStreamer
    # Does some retrieved sentence answer the question? (a calibrated probability; see answerability/)
    judge: Callable[[str, list[RetrievedParagraph]], Judgement]
    # Below this probability no generator runs. The extractive answerer needs the judge's own
    # threshold; an LLM generator is blocked only for questions plainly off the corpus.
    abstain_threshold: float
    # The positions layer may vouch for a question (several actors with attributed statements).
    covered: Callable[[str], bool] | None = None
    insufficient: Callable[[str], bool] = lambda text: False  # the model's own "cannot answer"


@dataclass
class PipelineState:
    question: str
    history: list[dict[str, str]] = field(default_factory=list)
    filters: dict[str, Any] = field(default_factory=dict)
    conversation_id: str | None = None
    standalone: str = ""
    retrieved: list[RetrievedParagraph] = field(default_factory=list)
    judgement: Judgement | None = None
    abstain_reason: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)


class Pipeline:
    def __init__(self, parts: PipelineParts) -> None:
        self.parts = parts
        self.runnable = RunnableGenerator(self._transform, name="answer_pipeline")

    def events(self, state: PipelineState) -> Iterator[StreamEvent]:
        return self.runnable.stream(state)

    def _transform(self, states: Iterator[PipelineState]) -> Iterator[StreamEvent]:
        for state in states:
            yield from self.run(state)

    def run(self, state: PipelineState) -> Iterator[StreamEvent]:
        parts = self.parts
        with _timed(state, "condense"):
            state.standalone = parts.condense(state.question, state.history) if state.history else state.question
        yield Meta(conversation_id=state.conversation_id, standalone_question=state.standalone)
        with _timed(state, "retrieve"):
            # A paragraph of nothing but planted instructions is no evidence (indexes built before
            # ingest left such text out, and the positions layer's boost, can still bring one).
            state.retrieved = [p for p in parts.retrieve(state.standalone, state.filters) if has_data(p.text)]
        yield Retrieved(paragraphs=state.retrieved)
        with _timed(state, "judge"):
            self._gate(state)
        verifier = Verifier(state.retrieved)
        released: list[str] = []
        generate_started = time.perf_counter()
        verify_s = 0.0
        for group in self._sentences(state):
            t = time.perf_counter()
            rendered = verifier.add_sentence(group)
            verify_s += time.perf_counter() - t
            if rendered is not None:
                text = rendered if not released else " " + rendered
                released.append(text)
                yield from _words(text)
        state.timings["generate"] = round(time.perf_counter() - generate_started - verify_s, 4)
        state.timings["verify"] = round(verify_s, 4)
        answer = self._answer(state, verifier)
        if answer.abstained:
            yield from _words(answer.answer)
        for citation in answer.citations:
            yield CitationEvent(citation=citation)
        answer.timings["total"] = round(time.perf_counter() - state.started, 4)
        yield Final(answer=answer)

    def _gate(self, state: PipelineState) -> None:
        """No evidence, no generation: a model never answers from general knowledge."""
        parts = self.parts
        judgement = parts.judge(state.standalone, state.retrieved)
        if state.standalone != state.question:
            # A condensed follow-up carries the earlier topic; the user's own words may answer better.
            own = parts.judge(state.question, state.retrieved)
            if own.probability > judgement.probability:
                judgement = own
        state.judgement = judgement
        vouched = parts.covered is not None and parts.covered(state.standalone)
        if not state.retrieved or (judgement.probability < parts.abstain_threshold and not vouched):
            state.abstain_reason = "low_support"

    def _sentences(self, state: PipelineState) -> Iterator[list[Claim]]:
        """Claims grouped by sentence, as the generator produces them."""
        if state.abstain_reason:
            return
        generator = self.parts.generator
        if hasattr(generator, "stream_text"):
            yield from self._streamed(state, generator.stream_text(state.standalone, state.retrieved))
            return
        draft = generator.draft(state.standalone, state.retrieved, state.judgement)  # type: ignore[union-attr]
        if draft.abstain_reason:
            state.abstain_reason = draft.abstain_reason
            return
        for group in sentences(draft.claims if draft.raw_text is None
                               else parse_raw(draft.raw_text, len(state.retrieved))):
            yield [c for c in group if not is_injection(c.quote or c.text)]

    def _streamed(self, state: PipelineState, pieces: Iterator[str]) -> Iterator[list[Claim]]:
        buffer = ""
        full: list[str] = []
        for piece in pieces:
            full.append(piece)
            buffer = _markers_before_period(buffer + piece)
            cut = _complete_prefix(buffer)
            if cut:
                yield from self._claims(buffer[:cut], state)
                buffer = buffer[cut:]
        if buffer.strip():
            yield from self._claims(buffer, state)
        if self.parts.insufficient("".join(full)):
            state.abstain_reason = "model_insufficient"

    @staticmethod
    def _claims(text: str, state: PipelineState) -> Iterator[list[Claim]]:
        for group in sentences(parse_raw(text, len(state.retrieved))):
            # A model that echoes planted instructions gets no credit for those sentences.
            kept = [c for c in group if not is_injection(c.text)]
            if kept:
                yield kept

    def _answer(self, state: PipelineState, verifier: Verifier) -> Answer:
        result = verifier.result()
        judgement = state.judgement
        diagnostics: dict[str, Any] = {"support": round(judgement.probability, 4) if judgement else 0.0}
        if judgement is not None:
            diagnostics["answer_type"] = judgement.focus.answer_type
            diagnostics.update({f"feature_{k}": round(v, 4) for k, v in judgement.features.items()})
        diagnostics.update(result.diagnostics)
        abstained = not result.citations
        if abstained:
            diagnostics["abstain_reason"] = state.abstain_reason or "no_verified_citation"
        return Answer(
            question=state.question, standalone_question=state.standalone, retrieved=state.retrieved,
            answer=abstention_text(state.retrieved) if abstained else result.answer, abstained=abstained,
            citations=result.citations, diagnostics=diagnostics, timings=dict(state.timings),
            generator=self.parts.generator.name, conversation_id=state.conversation_id,
        )


class _timed:
    def __init__(self, state: PipelineState, name: str) -> None:
        self.state, self.name = state, name

    def __enter__(self) -> None:
        self.t = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        self.state.timings[self.name] = round(time.perf_counter() - self.t, 4)


_TRAILING_MARKERS = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*[,;]\s*\d+)*\])+)")


def _markers_before_period(text: str) -> str:
    """ "A claim. [1]" -> "A claim [1]." (small models put markers after the period)."""
    return _TRAILING_MARKERS.sub(r"\2\1", text)


def _complete_prefix(buffer: str) -> int:
    """Length of the buffer's leading complete sentences (a sentence is complete once the next begins)."""
    last_newline = buffer.rfind("\n")
    spans = sentence_spans(buffer)
    cut = spans[-1][0] if len(spans) >= 2 else 0
    if last_newline > 0 and buffer[last_newline + 1:].strip():
        cut = max(cut, last_newline + 1)
    return cut


def _words(text: str) -> Iterator[Token]:
    """Verified text, released a word at a time for a lively page; joined it is the same text."""
    for piece in re.findall(r"\s*\S+", text):
        yield Token(text=piece)


def abstention_text(retrieved: list[RetrievedParagraph]) -> str:
    text = "The articles I have do not answer this question."
    if retrieved:
        closest = "; ".join(f"\u201c{r.title}\u201d (paragraph {r.number})" for r in retrieved[:3])
        text += f" The closest paragraphs I found: {closest}."
    return text
