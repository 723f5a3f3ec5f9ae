"""Answer generation with a chat model over numbered sources.

The model sees the retrieved paragraphs as sources [1..n] (in rank order, whole
paragraphs only, as many as fit `token_budget`), each quoted as data between
<source id="n"> delimiters, and returns raw text with [n] markers and quoted spans. Checking those citations is the caller's job: a small
model will mis-cite, and the verifier repairs or removes what does not hold.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from pydantic import BaseModel, Field

from qa_service.errors import GeneratorError
from qa_service.models import RetrievedParagraph
from qa_service.prompts import PromptTemplate
from qa_service.safety import data_text, has_data
from qa_service.tokens import count_tokens

INSUFFICIENT = "INSUFFICIENT"


class PackedPrompt(BaseModel):
    """The messages sent to the model and which sources they hold."""

    messages: list[BaseMessage]
    # sources[i] is what marker [i + 1] refers to: always a prefix of the ranked input.
    sources: list[RetrievedParagraph]
    dropped: int  # ranked paragraphs left out because the budget was reached
    prompt_tokens: int  # cl100k_base tokens of the rendered prompt text


class Usage(BaseModel):
    """Token figures for one call, estimated with tiktoken (reported_* when the server sends them)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    sources_used: int = 0
    sources_dropped: int = 0
    seconds: float = 0.0
    reported_prompt_tokens: int | None = None
    reported_completion_tokens: int | None = None
    extra: dict[str, Any] = Field(default_factory=dict)


def format_source(number: int, paragraph: RetrievedParagraph) -> str:
    """One numbered source block, quoted as data between <source id="n"> and </source>: a header
    line of provenance, then the paragraph text without its instruction-like sentences (the
    system message says that what stands between the delimiters is data, never instructions)."""
    heading = paragraph.heading if paragraph.heading and has_data(paragraph.heading) else None
    details = [
        f"source: {paragraph.source}" if paragraph.source else None,
        f"date: {paragraph.published}" if paragraph.published else None,
        f"section: {heading}" if heading else None,
    ]
    meta = data_text("; ".join(d for d in details if d))
    title = data_text(paragraph.title) or "(untitled)"
    header = f"[{number}] {title}" + (f" ({meta})" if meta else "")
    return f'<source id="{number}">\n{header}\n{data_text(paragraph.text).strip()}\n</source>'


def format_sources(sources: Sequence[RetrievedParagraph]) -> str:
    return "\n\n".join(format_source(i, p) for i, p in enumerate(sources, start=1))


def pack_prompt(
    prompt: PromptTemplate, question: str, sources: Sequence[RetrievedParagraph], token_budget: int
) -> PackedPrompt:
    """Fill the prompt with whole paragraphs in rank order while it fits `token_budget`.

    Stops at the first paragraph that does not fit (never cuts one, never reorders,
    so marker [n] always means the n-th ranked paragraph).
    """

    def cost(chosen: Sequence[RetrievedParagraph]) -> int:
        # Count the rendered text exactly rather than summing parts: BPE merges across joins.
        return count_tokens(prompt.render(question=question, sources=format_sources(chosen)))

    chosen: list[RetrievedParagraph] = []
    tokens = cost(chosen)
    for paragraph in sources:
        trial = cost([*chosen, paragraph])
        if trial > token_budget:
            break
        chosen.append(paragraph)
        tokens = trial
    return PackedPrompt(
        messages=prompt.format(question=question, sources=format_sources(chosen)),
        sources=chosen,
        dropped=len(sources) - len(chosen),
        prompt_tokens=tokens,
    )


def is_insufficient(text: str) -> bool:
    """True when the model abstained (it may add punctuation or quotes around the word)."""
    return text.strip().strip("\"'.*` ").upper().startswith(INSUFFICIENT)


def _reported(usage_metadata: dict[str, Any] | None) -> tuple[int | None, int | None]:
    if not usage_metadata:
        return None, None
    return usage_metadata.get("input_tokens"), usage_metadata.get("output_tokens")


class LLMGenerator:
    """Answers from numbered sources with a chat model.

    `last_usage` is per thread, so one generator can serve concurrent requests.
    """

    def __init__(self, chat_model: BaseChatModel, prompt: PromptTemplate, token_budget: int = 1800) -> None:
        self.chat_model = chat_model
        self.prompt = prompt
        self.token_budget = token_budget
        self._local = threading.local()

    @property
    def last_usage(self) -> Usage | None:
        return getattr(self._local, "usage", None)

    def pack(self, question: str, sources: Sequence[RetrievedParagraph]) -> PackedPrompt:
        return pack_prompt(self.prompt, question, sources, self.token_budget)

    def generate(self, question: str, sources: list[RetrievedParagraph]) -> str:
        packed = self.pack(question, sources)
        if not packed.sources:  # nothing to answer from: do not ask the model to guess
            self._record(packed, INSUFFICIENT, 0.0, None)
            return INSUFFICIENT
        started = time.perf_counter()
        try:
            message = self.chat_model.invoke(packed.messages)
        except Exception as exc:  # any client/transport failure becomes one project error
            raise GeneratorError(f"chat model call failed: {exc}") from exc
        text = str(message.text)
        text = text.strip()
        self._record(packed, text, time.perf_counter() - started, getattr(message, "usage_metadata", None))
        return text

    def stream(self, question: str, sources: list[RetrievedParagraph]) -> Iterator[str]:
        """Yield answer text chunks as the model produces them; usage is set when exhausted."""
        packed = self.pack(question, sources)
        if not packed.sources:
            self._record(packed, INSUFFICIENT, 0.0, None)
            yield INSUFFICIENT
            return
        started = time.perf_counter()
        parts: list[str] = []
        usage_metadata: dict[str, Any] | None = None
        try:
            for chunk in self.chat_model.stream(packed.messages):
                if chunk.usage_metadata:
                    usage_metadata = dict(chunk.usage_metadata)
                piece = str(chunk.text)
                if piece:
                    parts.append(piece)
                    yield piece
        except GeneratorExit:
            raise
        except Exception as exc:
            raise GeneratorError(f"chat model stream failed: {exc}") from exc
        self._record(packed, "".join(parts), time.perf_counter() - started, usage_metadata)

    def _record(
        self, packed: PackedPrompt, text: str, seconds: float, usage_metadata: dict[str, Any] | None
    ) -> None:
        reported_in, reported_out = _reported(usage_metadata)
        self._local.usage = Usage(
            prompt_tokens=packed.prompt_tokens,
            completion_tokens=count_tokens(text),
            sources_used=len(packed.sources),
            sources_dropped=packed.dropped,
            seconds=round(seconds, 4),
            reported_prompt_tokens=reported_in,
            reported_completion_tokens=reported_out,
        )


# --- condensing follow-up questions -------------------------------------------------

_PREFIX = re.compile(r"^\s*(standalone question|question|rewritten question)\s*:\s*", re.IGNORECASE)


def format_history(history: Sequence[dict[str, str]], max_messages: int = 6, max_chars: int = 600) -> str:
    """The last turns as 'User: ...' / 'Assistant: ...' lines, each cut to `max_chars`."""
    lines = []
    for turn in list(history)[-max_messages:]:
        role = "User" if turn.get("role") == "user" else "Assistant"
        content = " ".join(str(turn.get("content", "")).split())
        if len(content) > max_chars:
            content = content[:max_chars].rsplit(" ", 1)[0] + " ..."
        lines.append(f"{role}: {content}")
    return "\n".join(lines)


def clean_condensed(raw: str, question: str) -> str:
    """The first line of the model's reply without labels or quotes; the original
    question when the reply is empty, an abstention, or clearly not a question."""
    line = next((ln for ln in raw.strip().splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip().strip("\"'`").strip()
    if not line or is_insufficient(line):
        return question
    if len(line) > max(300, 3 * len(question)):  # a ramble, not a rewrite
        return question
    if question.rstrip().endswith("?") and not line.endswith("?"):  # answered instead of rewriting
        return question
    return line


def condense(
    chat_model: BaseChatModel, prompt: PromptTemplate, history: Sequence[dict[str, str]], question: str
) -> str:
    """Rewrite a follow-up into a standalone question; without history, return it unchanged."""
    if not history:
        return question
    messages = prompt.format(history=format_history(history), question=question)
    try:
        message = chat_model.invoke(messages)
    except Exception as exc:
        raise GeneratorError(f"chat model call failed while condensing: {exc}") from exc
    return clean_condensed(str(message.text), question)
