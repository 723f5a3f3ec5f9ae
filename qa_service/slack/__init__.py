"""Slack front end: a slack_bolt app mounted on the service's FastAPI app at POST /slack/events."""

from __future__ import annotations

from typing import Any

__all__ = ["build_slack_app", "mount_slack"]


def __getattr__(name: str) -> Any:
    # Lazy, so `python -m qa_service.slack.feedback` does not import Bolt and FastAPI first.
    if name in __all__:
        from qa_service.slack import bot

        return getattr(bot, name)
    raise AttributeError(name)
