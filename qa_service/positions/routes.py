"""GET /api/positions, /api/timeline and their facets. Thin: the work happens in PositionsIndex.

The few display helpers here (the verb as written, merging one sentence's duplicates,
counting facets) are pure functions over the stored records; they shape what the web
page shows and carry no HTTP.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from qa_service.positions.index import PositionsIndex
from qa_service.positions.models import Event, Position
from qa_service.positions.store import is_yearless


def get_positions_index(request: Request) -> PositionsIndex:
    """app.state.positions if the app set one, else the service's, else a read-only one on the service database."""
    state = request.app.state
    index = getattr(state, "positions", None)
    if index is None:
        index = getattr(getattr(state, "service", None), "positions", None)
    if index is None:
        index = PositionsIndex(state.settings, nlp=None)
        state.positions = index
    return index


PositionsDep = Annotated[PositionsIndex, Depends(get_positions_index)]
Names = Annotated[list[str], Query(max_length=200)]
Limit = Annotated[int | None, Query(ge=1, le=10_000, description="at most this many rows (default: all)")]
Offset = Annotated[int, Query(ge=0, le=2**63 - 1, description="rows to skip, in the listing's order")]
NO_TOPIC = "other"  # the column of stances no topic rule matched

router = APIRouter(prefix="/api", tags=["positions"])

# ---------------------------------------------------------------- display helpers

_IRREGULAR_PAST = {"say": "said", "tell": "told", "hold": "held", "think": "thought", "write": "wrote",
                   "speak": "spoke", "admit": "admitted", "signal": "signalled", "regret": "regretted",
                   "commit": "committed", "refer": "referred", "prefer": "preferred"}


def past_tense(lemma: str) -> str:
    """Past tense of a stance-verb lemma ("dismiss" -> "dismissed", "call for" -> "called for")."""
    if lemma == "according to":
        return "said"  # "..., according to Rutte": the article reports what Rutte said
    head, _, rest = lemma.partition(" ")
    if head in _IRREGULAR_PAST:
        past = _IRREGULAR_PAST[head]
    elif head.endswith("e"):
        past = head + "d"
    elif len(head) > 1 and head.endswith("y") and head[-2] not in "aeiou":
        past = head[:-1] + "ied"
    else:
        past = head + "ed"
    return f"{past} {rest}" if rest else past


def _forms(head: str) -> re.Pattern[str]:
    stem = head[:-1] if head.endswith(("e", "y")) and len(head) > 3 else head
    extra = {_IRREGULAR_PAST[head]} if head in _IRREGULAR_PAST else set()
    alternatives = "|".join(re.escape(x) for x in sorted(extra | {stem}, key=len, reverse=True))
    return re.compile(rf"\b(?:{alternatives})[a-z]*\b", re.IGNORECASE)


def verb_as_written(p: Position) -> str:
    """The verb as the sentence words it, in the past tense: "dismissed", not "dismiss".

    A form found outside the stance is kept when it already is a past tense ("warned",
    "said"); "says" or "warning" becomes the past tense of the lemma.
    """
    head, _, rest = p.verb.partition(" ")
    if p.verb == "according to":
        return past_tense(p.verb)
    best: tuple[int, str] | None = None
    for m in _forms(head).finditer(p.quote):
        at = p.start + m.start()
        if p.stance_start <= at < p.stance_end:
            continue  # the same word inside the stance is not the attributing verb
        distance = min(abs(at - p.stance_start), abs(at - p.stance_end))
        if best is None or distance < best[0]:
            best = (distance, m.group(0).lower())
    written = best[1] if best else ""
    if written.endswith("ed") or written == _IRREGULAR_PAST.get(head):
        return f"{written} {rest}" if rest else written
    return past_tense(p.verb)


def position_row(p: Position) -> dict[str, Any]:
    return {**p.model_dump(), "verb_text": verb_as_written(p)}


def merged_rows(positions: list[Position]) -> list[dict[str, Any]]:
    """One row per actor, sentence and topic: "stressed ... and said ..." of one sentence is one stance.

    The row is the first position's, plus `verbs` (each as written, in order) and `stances`
    (each distinct stance); `verb_text` joins the verbs.
    """
    groups: dict[tuple[str, str, int, str | None], list[Position]] = {}
    for p in positions:
        groups.setdefault((p.actor, p.paragraph_id, p.start, p.topic), []).append(p)
    rows = []
    for members in groups.values():
        members.sort(key=lambda p: p.stance_start)
        verbs = list(dict.fromkeys(verb_as_written(p) for p in members))
        stances = list(dict.fromkeys(p.stance for p in members))
        row = position_row(members[0])
        row.update(verbs=verbs, stances=stances, verb_text=" and ".join(verbs),
                   direct=any(p.direct for p in members))
        rows.append(row)
    return rows


def event_row(e: Event) -> dict[str, Any]:
    return {**e.model_dump(), "year_known": not is_yearless(e.date)}


def counted(names: list[str]) -> list[dict[str, Any]]:
    """[{name, count}] most frequent first, then by name."""
    return ranked(Counter(names))


def ranked(counts: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"name": n, "count": c} for n, c in sorted(counts.items(), key=lambda x: (-x[1], x[0]))]


# ---------------------------------------------------------------- routes


@router.get("/positions")
def list_positions(
    index: PositionsDep,
    actor: Names = [],  # noqa: B006 (FastAPI copies Query defaults)
    topic: Names = [],  # noqa: B006
    merge: bool = False,
    limit: Limit = None,
    offset: Offset = 0,
) -> dict[str, list[dict[str, Any]]]:
    """Repeat `actor`/`topic` to ask for several; `merge=true` folds one sentence's duplicates.

    `limit`/`offset` page through the positions (oldest article first) before merging.
    """
    found = index.store.positions(actor=actor or None, topic=topic or None, limit=limit, offset=offset)
    return {"positions": merged_rows(found) if merge else [position_row(p) for p in found]}


@router.get("/positions/facets")
def position_facets(index: PositionsDep) -> dict[str, list[dict[str, Any]]]:
    """The actors and topics there are stances of, with how many (merged) stances each."""
    per_actor, per_topic, roles = index.store.stance_counts()
    topics_of: dict[str, Counter[str]] = {}
    topics: Counter[str] = Counter()
    for (actor, topic), n in per_topic.items():
        topics[topic or NO_TOPIC] += n
        if topic:
            topics_of.setdefault(actor, Counter())[topic] += n
    actors = ranked(per_actor)
    for a in actors:
        a["role"] = roles.get(a["name"])
        # The actor's topics, most stances first: what a suggested question could ask about.
        a["topics"] = [t["name"] for t in ranked(topics_of.get(a["name"], {}))]
    return {"actors": actors, "topics": ranked(topics)}


@router.get("/timeline")
def list_timeline(
    index: PositionsDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    topic: Annotated[str | None, Query(max_length=200)] = None,
    yearless: bool = True,
    limit: Limit = None,
    offset: Offset = 0,
) -> dict[str, list[dict[str, Any]]]:
    """Oldest first; events whose year no one states (`year_known: false`) come last."""
    found = index.store.timeline(actor=actor or None, topic=topic or None, include_yearless=yearless,
                                 limit=limit, offset=offset)
    return {"events": [event_row(e) for e in found]}


@router.get("/timeline/facets")
def timeline_facets(index: PositionsDep) -> dict[str, list[dict[str, Any]]]:
    events = index.store.timeline(include_yearless=True)
    return {"actors": counted([a for e in events for a in e.actors]),
            "topics": counted([e.topic for e in events if e.topic])}
