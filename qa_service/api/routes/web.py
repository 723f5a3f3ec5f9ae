"""The web page: static HTML shells; all data comes from the JSON API (which checks the key)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "web" / "templates"

router = APIRouter(include_in_schema=False)

# Article text is untrusted: the pages build the DOM with textContent, and this policy
# stops any script that is not ours even if a mistake slipped through.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def page(name: str) -> FileResponse:
    return FileResponse(TEMPLATES / name, media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)


@router.get("/")
async def chat_page() -> FileResponse:
    return page("index.html")


@router.get("/articles/{article_id}")
async def article_page(article_id: str) -> FileResponse:
    return page("article.html")


@router.get("/positions")
async def positions_page() -> FileResponse:
    return page("positions.html")


@router.get("/timeline")
async def timeline_page() -> FileResponse:
    return page("timeline.html")
