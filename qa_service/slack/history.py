"""Turn a Slack thread into the chat history the QA service takes."""

from __future__ import annotations

import re
from typing import Any

# Subtypes that are still a person talking; everything else (edits, joins, bot posts) is skipped.
HUMAN_SUBTYPES = {None, "file_share", "thread_broadcast", "me_message"}


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Remove mentions of the bot (`<@U123>` or `<@U123|name>`) and tidy whitespace."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def is_from_bot(message: dict[str, Any], bot_user_id: str | None, bot_id: str | None) -> bool:
    """Any bot, this one included: answering bots is how loops start."""
    return bool(
        message.get("bot_id")
        or message.get("subtype") == "bot_message"
        or (bot_user_id and message.get("user") == bot_user_id)
        or (bot_id and message.get("bot_id") == bot_id)
    )


def is_own(message: dict[str, Any], bot_user_id: str | None, bot_id: str | None) -> bool:
    return bool(
        (bot_user_id and message.get("user") == bot_user_id) or (bot_id and message.get("bot_id") == bot_id)
    )


def thread_history(
    messages: list[dict[str, Any]],
    *,
    before_ts: str,
    bot_user_id: str | None,
    bot_id: str | None,
    max_turns: int = 20,
) -> list[dict[str, str]]:
    """Messages of a thread strictly before `before_ts`, oldest first, as
    [{"role": "user"|"assistant", "content": ...}]. User turns are the people's messages with
    the bot mention stripped; assistant turns are this bot's replies (their plain `text`,
    i.e. the answer with its [n] markers). Other bots are left out."""
    turns: list[dict[str, str]] = []
    for m in sorted(messages, key=lambda m: float(m.get("ts", 0))):
        if float(m.get("ts", 0)) >= float(before_ts):
            continue
        if is_own(m, bot_user_id, bot_id):
            content, role = (m.get("text") or "").strip(), "assistant"
        elif is_from_bot(m, bot_user_id, bot_id) or m.get("subtype") not in HUMAN_SUBTYPES:
            continue
        else:
            content, role = strip_mention(m.get("text") or "", bot_user_id), "user"
        if content:
            turns.append({"role": role, "content": content})
    return turns[-2 * max_turns :]
