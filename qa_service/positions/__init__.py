"""Structured layer: attributed positions and dated events, each tied to a paragraph span."""

from qa_service.positions.extract import EXTRACTOR_VERSION, extract_article, load_nlp
from qa_service.positions.index import PositionsIndex
from qa_service.positions.models import ActorRecord, ArticleEntries, Event, Position
from qa_service.positions.store import PositionsStore

__all__ = [
    "EXTRACTOR_VERSION", "ActorRecord", "ArticleEntries", "Event", "Position", "PositionsIndex",
    "PositionsStore", "extract_article", "load_nlp",
]
