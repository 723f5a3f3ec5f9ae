"""Records of the positions/events layer. Every entry points at a paragraph and a verbatim span."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Precision = Literal["day", "month", "year"]


class Position(BaseModel):
    """An attributed stance: `actor` `verb` `stance`, as the article words it.

    `quote` is the sentence holding the attribution and `start`/`end` its offsets in the
    paragraph text; `stance_start`/`stance_end` locate the stance itself (a sub-span).
    """

    actor: str  # canonical name within the article (merged across articles by this name)
    actor_text: str  # how this sentence names the actor ("He", "Rutte", ...)
    aliases: list[str] = Field(default_factory=list)
    role: str | None = None
    affiliations: list[str] = Field(default_factory=list)  # e.g. "NATO", "Russia"
    verb: str  # lemma, e.g. "dismiss", "call for", "according to"
    stance: str
    stance_start: int
    stance_end: int
    quote: str
    start: int
    end: int
    topic: str | None = None
    direct: bool = False  # the stance carries the actor's own quoted words
    paragraph_id: str
    paragraph_text: str = ""  # so paragraph_text[start:end] == quote can be checked anywhere
    article_id: str
    title: str = ""
    published: str | None = None  # ISO date of the article


class Event(BaseModel):
    """Something that happened (or is scheduled) at a normalised date."""

    date: str  # ISO, truncated to precision: "2024-12-03", "2024-12", "1994"
    sort_date: str  # full ISO date (first day of the period) for ordering
    precision: Precision
    date_text: str  # the expression as written ("December 3", "2014")
    date_start: int
    date_end: int
    description: str  # verbatim clause saying what happened
    actors: list[str] = Field(default_factory=list)
    place: str | None = None
    quote: str  # the sentence; start/end are its offsets in the paragraph text
    start: int
    end: int
    topic: str | None = None
    paragraph_id: str
    paragraph_text: str = ""
    article_id: str
    title: str = ""
    published: str | None = None


class ActorRecord(BaseModel):
    """One actor as an article presents it."""

    name: str
    kind: str  # PERSON | ORG | GPE | NORP | OTHER
    aliases: list[str] = Field(default_factory=list)
    role: str | None = None
    affiliations: list[str] = Field(default_factory=list)


class ArticleEntries(BaseModel):
    article_id: str
    actors: list[ActorRecord] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
