"""Block Kit for answers: the text with its [n] markers, verified sources, feedback buttons.

Slack rejects a message that breaks its limits, so everything here trims to fit
instead of failing: a long answer is cut, surplus sources are dropped, and the
feedback buttons always stay.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from qa_service.models import Answer, Citation, RetrievedParagraph

MAX_TEXT_CHARS = 40_000  # top-level `text` of a message
MAX_SECTION_CHARS = 3_000  # mrkdwn text of one section block
MAX_CONTEXT_CHARS = 2_000  # one context element
MAX_BLOCKS = 50
MAX_ANSWER_SECTIONS = 4  # a long answer is split over at most this many sections
SNIPPET_CHARS = 300  # paragraph excerpt shown for an abstention
CLOSEST_SHOWN = 3

FEEDBACK_BLOCK_ID = "qa_feedback"
HELPFUL_ACTION = "qa_feedback_helpful"
NOT_HELPFUL_ACTION = "qa_feedback_not_helpful"

APOLOGY = "Sorry, something went wrong while I was answering. Please try again in a moment."
UNAVAILABLE = "The article index is unavailable right now (it may be restarting). Please ask again in a minute."
EMPTY_QUESTION = (
    "Ask me a question about the news articles, e.g. _What did NATO decide about aid to Ukraine?_"
)

Block = dict[str, Any]


def escape(text: str) -> str:
    """Slack mrkdwn treats &, < and > as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def article_link(public_url: str, article_id: str, paragraph_id: str | None = None) -> str:
    url = f"{public_url.rstrip('/')}/articles/{quote(article_id, safe='')}"
    return f"{url}#{quote(paragraph_id, safe=':-_.')}" if paragraph_id else url


def _link(url: str, label: str) -> str:
    # `|` and `>` end the label or the link; escape() covers `>`.
    return f"<{url}|{escape(label).replace('|', '¦')}>"


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_CHARS)}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_CONTEXT_CHARS)}]}


def _blockquote(text: str) -> str:
    return "\n".join("> " + line for line in escape(text).splitlines() or [""])


def _byline(source: str | None, published: str | None) -> str:
    return " · ".join(part for part in (source, published) if part)


def _split_sections(text: str) -> list[Block]:
    """Split long mrkdwn over several sections at paragraph or line breaks."""
    blocks: list[Block] = []
    rest = text
    while rest and len(blocks) < MAX_ANSWER_SECTIONS:
        if len(rest) <= MAX_SECTION_CHARS or len(blocks) == MAX_ANSWER_SECTIONS - 1:
            blocks.append(_section(rest))
            break
        cut = max(rest.rfind("\n", 0, MAX_SECTION_CHARS), rest.rfind(" ", 0, MAX_SECTION_CHARS))
        cut = cut if cut > MAX_SECTION_CHARS // 2 else MAX_SECTION_CHARS
        blocks.append(_section(rest[:cut]))
        rest = rest[cut:].lstrip()
    return blocks


def citation_block(citation: Citation, public_url: str) -> Block:
    title = _link(article_link(public_url, citation.article_id, citation.paragraph_id), citation.title)
    head = f"*[{citation.marker}]* {title}"
    byline = _byline(citation.source, citation.published)
    if byline:
        head += f"  ·  {escape(byline)}"
    room = MAX_SECTION_CHARS - len(head) - 1
    return _section(f"{head}\n{truncate(_blockquote(citation.quote), room)}")


def closest_block(paragraph: RetrievedParagraph, public_url: str) -> Block:
    head = _link(article_link(public_url, paragraph.article_id, paragraph.paragraph_id), paragraph.title)
    byline = _byline(paragraph.source, paragraph.published)
    if byline:
        head += f"  ·  {escape(byline)}"
    return _section(f"{head}\n{_blockquote(truncate(paragraph.text, SNIPPET_CHARS))}")


def feedback_block(answer_id: str) -> Block:
    def button(label: str, action_id: str, style: str | None = None) -> Block:
        b: Block = {
            "type": "button",
            "text": {"type": "plain_text", "text": label, "emoji": True},
            "action_id": action_id,
            "value": answer_id,
        }
        if style:
            b["style"] = style
        return b

    return {
        "type": "actions",
        "block_id": FEEDBACK_BLOCK_ID,
        "elements": [button(":+1: Helpful", HELPFUL_ACTION), button(":-1: Not helpful", NOT_HELPFUL_ACTION)],
    }


def answer_message(
    answer: Answer,
    *,
    public_url: str,
    answer_id: str | None = None,
    asked_by: str | None = None,
) -> tuple[str, list[Block]]:
    """(fallback text, blocks) for one answer. The fallback text is the plain answer: it is
    what notifications show and what the bot reads back as its own turn in a thread."""
    head: list[Block] = []
    if asked_by:  # slash commands: others in the channel cannot see the command itself
        head.append(_context(f"<@{asked_by}> asked: {escape(answer.question)}"))

    tail: list[Block] = [feedback_block(answer_id)] if answer_id else []
    body: list[Block] = []
    if answer.abstained:
        body += _split_sections(":grey_question: " + escape(answer.answer))
        closest = answer.retrieved[:CLOSEST_SHOWN]
        if closest:
            body.append(_context("Closest paragraphs I found (they do not answer the question):"))
            body += [closest_block(p, public_url) for p in closest]
    else:
        body += _split_sections(escape(answer.answer))
        if answer.citations:
            body.append(_context("*Sources* (quotes verified in the cited paragraph)"))
            body += [citation_block(c, public_url) for c in sorted(answer.citations, key=lambda c: c.marker)]

    room = MAX_BLOCKS - len(head) - len(tail)
    if len(body) > room:  # drop the last sources, say so in the freed slot
        dropped = len(body) - (room - 1)
        body = body[: room - 1] + [_context(f"…and {dropped} more not shown.")]
    return truncate(answer.answer, MAX_TEXT_CHARS), head + body + tail
