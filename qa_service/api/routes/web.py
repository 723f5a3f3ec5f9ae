"""The web pages: Jinja shells over one base template; all data comes from the JSON API (which checks the key).

The shells hold no data, only settings a page needs before its first request (the
question length limit, whether uploads are allowed), so they are served without a key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from qa_service.api.deps import SettingsDep
from qa_service.config import Settings

TEMPLATES = Path(__file__).resolve().parent.parent.parent / "web" / "templates"

router = APIRouter(include_in_schema=False)

# Autoescaping on: nothing from a request reaches a template anyway, but a later change
# that passed one would still be escaped.
templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)

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

# (path, label) of the header's navigation, in order.
NAV = [("/", "Chat"), ("/library", "Library"), ("/positions", "Positions"), ("/timeline", "Timeline")]


def writes_mode(settings: Settings) -> str:
    """'key': uploads need the API key; 'open': anyone may upload; 'closed': uploads are off."""
    if settings.api_key:
        return "key"
    return "open" if settings.allow_open_writes else "closed"


def page(name: str, settings: Settings, section: str, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(
        nav=NAV, section=section, max_chars=settings.max_message_chars, writes=writes_mode(settings),
        **context,
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/")
async def chat_page(settings: SettingsDep) -> HTMLResponse:
    return page("index.html", settings, "/")


@router.get("/c/{conversation_id}")
async def conversation_page(conversation_id: str, settings: SettingsDep) -> HTMLResponse:
    """A shareable conversation: the chat page, which loads this conversation."""
    return page("index.html", settings, "/")


@router.get("/articles")
async def articles_index() -> RedirectResponse:
    return RedirectResponse("/library", status_code=307)


@router.get("/articles/{article_id}")
async def article_page(article_id: str, settings: SettingsDep) -> HTMLResponse:
    return page("article.html", settings, "/library")


@router.get("/library")
async def library_page(settings: SettingsDep) -> HTMLResponse:
    return page("library.html", settings, "/library")


@router.get("/positions")
async def positions_page(settings: SettingsDep) -> HTMLResponse:
    return page("positions.html", settings, "/positions")


@router.get("/positions/actor/{name}")
async def actor_page(name: str, settings: SettingsDep) -> HTMLResponse:
    return page("actor.html", settings, "/positions")


@router.get("/timeline")
async def timeline_page(settings: SettingsDep) -> HTMLResponse:
    return page("timeline.html", settings, "/timeline")
