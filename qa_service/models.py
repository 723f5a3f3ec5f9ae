"""Typed records shared by ingestion, retrieval, answering and the front ends."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class Paragraph(BaseModel):
    paragraph_id: str  # f"{article_id}:p{number}", stable while the article text is
    number: int  # 1-based position among the article's body paragraphs
    heading: str | None = None
    text: str
    start: int  # character offsets of `text` in Article.text
    end: int


class Article(BaseModel):
    article_id: str
    title: str
    source: str | None = None
    author: str | None = None
    published: date | None = None
    url: str | None = None
    category: str | None = None
    headings: list[str] = Field(default_factory=list)
    paragraphs: list[Paragraph] = Field(default_factory=list)
    text: str = ""  # body paragraphs joined by "\n\n"; offsets point into it
    path: str | None = None  # file it came from
    content_hash: str = ""


class Chunk(BaseModel):
    """One indexed window. Several chunks may point at one long paragraph."""

    chunk_id: str  # f"{paragraph_id}:w{window}"
    article_id: str
    paragraph_id: str
    window: int
    text: str  # the exact paragraph slice (what may be cited)
    index_text: str  # what is embedded and BM25-indexed (may carry a header)
    start: int  # offsets of `text` inside the paragraph
    end: int


class RetrievedParagraph(BaseModel):
    paragraph_id: str
    article_id: str
    title: str
    text: str
    score: float
    heading: str | None = None
    source: str | None = None
    published: str | None = None  # ISO date
    number: int | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    dense_score: float | None = None  # cosine of the query with the best window


class Citation(BaseModel):
    marker: int
    article_id: str
    paragraph_id: str
    title: str
    paragraph_text: str
    quote: str
    start: int
    end: int
    source: str | None = None
    published: str | None = None
    heading: str | None = None


class Answer(BaseModel):
    question: str
    standalone_question: str | None = None
    answer: str
    abstained: bool
    citations: list[Citation] = Field(default_factory=list)
    retrieved: list[RetrievedParagraph] = Field(default_factory=list)
    timings: dict[str, float] = Field(default_factory=dict)  # seconds per step
    diagnostics: dict[str, int | float | str] = Field(default_factory=dict)
    conversation_id: str | None = None
    generator: str | None = None
