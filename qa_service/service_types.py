"""Small value types shared by the service facade and the core modules."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from qa_service.errors import InvalidInputError


@dataclass
class SearchFilters:
    source: str | None = None
    article_id: str | None = None
    date_from: str | None = None  # ISO date, inclusive
    date_to: str | None = None  # ISO date, inclusive

    def __post_init__(self) -> None:
        # The one check of a date range, whichever front end built it.
        for name in ("date_from", "date_to"):
            value = getattr(self, name)
            if value:
                try:
                    date.fromisoformat(value)
                except ValueError:
                    label = "start" if name == "date_from" else "end"
                    raise InvalidInputError(f"the {label} date is not an ISO date (YYYY-MM-DD): {value!r}") from None
        if self.date_from and self.date_to and self.date_from > self.date_to:
            # (the API calls them from/to in queries, date_from/date_to in bodies: the message names neither)
            raise InvalidInputError(f"the start date ({self.date_from}) is after the end date ({self.date_to})")


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)  # article ids
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (path or path:line, reason)
    paragraphs: int = 0
    chunks: int = 0
    seconds: float = 0.0

    def outcomes(self) -> list[dict[str, str]]:
        """One entry per article: what happened to it, and why when it was refused (the upload
        API's `articles` and `qa ingest --json`'s, one shape for both)."""
        out = [{"article_id": aid, "status": status}
               for status, ids in (("added", self.added), ("updated", self.updated), ("unchanged", self.unchanged))
               for aid in ids]
        out += [{"where": where, "status": "conflict", "reason": why} for where, why in getattr(self, "conflicts", [])]
        out += [{"where": where, "status": "failed", "reason": why} for where, why in self.failed]
        return out


