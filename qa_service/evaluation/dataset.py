"""Load and validate evaluation datasets (JSONL, one question a line; GUIDE.md section 3)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class EvalQuestion(BaseModel):
    """One gold question. Unknown fields (e.g. `question_type`) are kept in `extra`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    id: str
    question: str
    answers: list[str]
    evidence: list[str]
    answerable: bool
    question_type: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("evidence", "answers")
    @classmethod
    def _no_blank_items(cls, value: list[str]) -> list[str]:
        # A blank evidence string would be "held" by every paragraph.
        if any(not item.strip() for item in value):
            raise ValueError("items must not be empty strings")
        return value


class InvalidLine(BaseModel):
    line: int  # 1-based line number in the file
    error: str


class Dataset(BaseModel):
    path: str
    questions: list[EvalQuestion]
    invalid: list[InvalidLine] = Field(default_factory=list)


_KNOWN = set(EvalQuestion.model_fields) - {"extra"}


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "line"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


def parse_line(text: str) -> EvalQuestion:
    """Parse one JSONL line; raises ValueError with a readable reason."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    known = {key: value for key, value in raw.items() if key in _KNOWN}
    extra = {key: value for key, value in raw.items() if key not in _KNOWN}
    try:
        return EvalQuestion(**known, extra=extra)
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from None


def load_dataset(path: Path) -> Dataset:
    """Read every valid question; invalid lines are recorded by line number and skipped.

    Blank lines are ignored. A repeated id makes the later line invalid, so per-question
    results stay addressable by id.
    """
    questions: list[EvalQuestion] = []
    invalid: list[InvalidLine] = []
    seen: set[str] = set()
    with Path(path).open(encoding="utf-8", errors="replace") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                question = parse_line(text)
            except ValueError as exc:
                invalid.append(InvalidLine(line=number, error=str(exc)))
                continue
            if question.id in seen:
                invalid.append(InvalidLine(line=number, error=f"duplicate id {question.id!r}"))
                continue
            seen.add(question.id)
            questions.append(question)
    return Dataset(path=str(path), questions=questions, invalid=invalid)
