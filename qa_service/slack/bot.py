"""The Slack bot: a slack_bolt AsyncApp mounted at POST /slack/events on the service's FastAPI app.

Mentions and DMs are answered in the thread of the message, with the thread's earlier
messages as history; `/ask` answers in the channel (or privately). Every listener acks at
once and does the work in a lazy listener, because an answer can outlast Slack's 3 s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request, Response
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from qa_service.config import Settings
from qa_service.database import open_database
from qa_service.errors import DependencyUnavailable, InvalidInputError
from qa_service.models import Answer
from qa_service.protocol import Asks
from qa_service.slack.dedupe import SeenEvents
from qa_service.slack.feedback import FeedbackStore, Rating
from qa_service.slack.format import (
    APOLOGY,
    EMPTY_QUESTION,
    HELPFUL_ACTION,
    NOT_HELPFUL_ACTION,
    UNAVAILABLE,
    answer_message,
    truncate,
)
from qa_service.slack.history import HUMAN_SUBTYPES, is_from_bot, strip_mention, thread_history

log = logging.getLogger(__name__)

THINKING_REACTION = "hourglass_flowing_sand"
EVENTS_PATH = "/slack/events"

ServiceRef = Asks | Callable[[], Asks]


class SlackBot:
    """The listeners' logic; holds the service, the feedback store and the event-id memory."""

    def __init__(
        self,
        settings: Settings,
        service: ServiceRef,
        feedback: FeedbackStore | Callable[[], FeedbackStore],
        seen: SeenEvents | Callable[[], SeenEvents],
    ) -> None:
        self.settings = settings
        self._service = service
        # Callables are opened on first use: the app mounts the bot before the database may be
        # reachable (a replica starts not ready and waits, instead of failing to start).
        self._feedback = feedback
        self._seen = seen

    @property
    def feedback(self) -> FeedbackStore:
        if not isinstance(self._feedback, FeedbackStore):
            self._feedback = self._feedback()
        return self._feedback

    @property
    def seen(self) -> SeenEvents:
        if not isinstance(self._seen, SeenEvents):
            self._seen = self._seen()
        return self._seen

    @property
    def service(self) -> Asks:
        # The API may build the real service in its lifespan, after the bot is mounted
        # (or later still, when Chroma was down at start-up).
        service = self._service() if callable(self._service) else self._service
        if service is None:
            raise DependencyUnavailable("the answering service", "still starting")
        return service

    # -- middleware ------------------------------------------------------------------

    async def drop_duplicates(
        self, body: dict[str, Any], request: Any, next: Callable
    ) -> BoltResponse | None:
        """Slack retries (X-Slack-Retry-Num) and duplicate deliveries share an event_id."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        # In a worker thread: with PostgreSQL it is a network round trip, not for the event loop.
        if event_id and not await asyncio.to_thread(lambda: self.seen.first_time(event_id)):
            retry = (request.headers.get("x-slack-retry-num") or [None])[0]
            log.info("slack: ignoring already seen event %s (retry %s)", event_id, retry)
            return BoltResponse(status=200, body="")
        return await next()

    # -- acks ------------------------------------------------------------------------

    @staticmethod
    async def ack(ack: Callable) -> None:
        await ack()

    @staticmethod
    async def ack_command(ack: Callable, command: dict[str, Any]) -> None:
        if not (command.get("text") or "").strip():
            await ack(text=f"Usage: `{command.get('command', '/ask')} <question>`")
        else:
            await ack()

    # -- mentions and DMs ------------------------------------------------------------

    async def on_mention(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if (
            is_from_bot(event, context.bot_user_id, context.bot_id)
            or event.get("subtype") not in HUMAN_SUBTYPES
        ):
            return
        await self.answer_in_thread(event, context, client)

    async def on_message(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        # Channel messages that mention the bot arrive as app_mention; only DMs are taken here.
        if event.get("channel_type") != "im":
            return
        if (
            is_from_bot(event, context.bot_user_id, context.bot_id)
            or event.get("subtype") not in HUMAN_SUBTYPES
        ):
            return
        await self.answer_in_thread(event, context, client)

    async def answer_in_thread(
        self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        channel, ts = event["channel"], event["ts"]
        thread_ts = event.get("thread_ts") or ts
        question = strip_mention(event.get("text") or "", context.bot_user_id)
        if not question:
            await self._post(client, channel=channel, thread_ts=thread_ts, text=EMPTY_QUESTION)
            return
        await self._react(client.reactions_add, channel, ts)
        try:
            history: list[dict[str, str]] = []
            if event.get("thread_ts"):
                history = await self._thread_history(client, channel, thread_ts, ts, context)
            answer = await self._ask(question, history)
            # In a worker thread, like every database call here: not on the event loop.
            answer_id = await asyncio.to_thread(lambda: self.feedback.record_answer(
                answer, channel=channel, thread_ts=thread_ts, user=event.get("user")))
            text, blocks = answer_message(answer, public_url=self.settings.public_url, answer_id=answer_id)
            await self._post_answer(client, channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        except InvalidInputError as e:  # the core's own message is safe and useful to show
            await self._post(client, channel=channel, thread_ts=thread_ts, text=f"I can't answer that: {e}")
        except DependencyUnavailable as e:
            log.warning("slack: %s", e)
            await self._post(client, channel=channel, thread_ts=thread_ts, text=UNAVAILABLE)
        except Exception:
            log.exception("slack: answering failed (channel %s, ts %s)", channel, ts)
            await self._post(client, channel=channel, thread_ts=thread_ts, text=APOLOGY)
        finally:
            await self._react(client.reactions_remove, channel, ts)

    async def _thread_history(
        self, client: AsyncWebClient, channel: str, thread_ts: str, before_ts: str, context: AsyncBoltContext
    ) -> list[dict[str, str]]:
        resp = await client.conversations_replies(channel=channel, ts=thread_ts, limit=200)
        return thread_history(
            resp.get("messages") or [],
            before_ts=before_ts,
            bot_user_id=context.bot_user_id,
            bot_id=context.bot_id,
            max_turns=self.settings.conversation_max_turns,
        )

    # -- /ask ------------------------------------------------------------------------

    async def on_command(self, command: dict[str, Any], client: AsyncWebClient, respond: Callable) -> None:
        question = (command.get("text") or "").strip()
        if not question:
            return  # the ack already showed the usage
        channel, user = str(command.get("channel_id") or ""), str(command.get("user_id") or "")
        private = self.settings.slack_ephemeral_slash
        try:
            answer = await self._ask(question, [])
            answer_id = await asyncio.to_thread(lambda: self.feedback.record_answer(
                answer, channel=channel, user=user))
            text, blocks = answer_message(
                answer,
                public_url=self.settings.public_url,
                answer_id=answer_id,
                asked_by=None if private else user,
            )
        except InvalidInputError as e:
            await respond(text=f"I can't answer that: {e}", response_type="ephemeral")
            return
        except DependencyUnavailable as e:
            log.warning("slack: %s", e)
            await respond(text=UNAVAILABLE, response_type="ephemeral")
            return
        except Exception:
            log.exception("slack: /ask failed (channel %s)", channel)
            await respond(text=APOLOGY, response_type="ephemeral")
            return
        try:
            if private:
                await client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
            else:
                await client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
                )
        except SlackApiError as e:
            # e.g. not_in_channel: the response_url still reaches the user without membership.
            log.info("slack: /ask falling back to response_url (%s)", e.response.get("error"))
            await respond(text=text, blocks=blocks, response_type="ephemeral" if private else "in_channel")

    # -- feedback buttons ------------------------------------------------------------

    async def on_feedback(self, body: dict[str, Any], action: dict[str, Any], respond: Callable) -> None:
        rating: Rating = "helpful" if action.get("action_id") == HELPFUL_ACTION else "not_helpful"
        user = (body.get("user") or {}).get("id", "unknown")
        stored = await asyncio.to_thread(lambda: self.feedback.record_feedback(
            action.get("value", ""), user, rating))
        if not stored:
            log.warning("slack: feedback for unknown answer %r", action.get("value"))
        if body.get("response_url"):
            text = "Thanks, your feedback was recorded." if stored else "Sorry, I no longer know that answer."
            await respond(text=text, response_type="ephemeral", replace_original=False)

    # -- helpers ---------------------------------------------------------------------

    async def _ask(self, question: str, history: list[dict[str, str]]) -> Answer:
        if len(question) > self.settings.max_message_chars:
            raise InvalidInputError(
                f"the question is longer than {self.settings.max_message_chars} characters"
            )
        # The service is synchronous (model inference): keep the event loop free.
        return await asyncio.to_thread(self.service.ask, question, history=history)

    async def _post_answer(self, client: AsyncWebClient, **kwargs: Any) -> None:
        try:
            await client.chat_postMessage(unfurl_links=False, unfurl_media=False, **kwargs)
        except SlackApiError as e:
            if e.response.get("error") not in {"invalid_blocks", "invalid_blocks_format", "msg_too_long"}:
                raise
            log.warning("slack: blocks rejected (%s); posting the plain answer", e.response.get("error"))
            kwargs.pop("blocks", None)
            kwargs["text"] = truncate(kwargs["text"], 3000)
            await client.chat_postMessage(**kwargs)

    @staticmethod
    async def _post(client: AsyncWebClient, **kwargs: Any) -> None:
        try:
            await client.chat_postMessage(**kwargs)
        except SlackApiError as e:
            log.error("slack: chat.postMessage failed: %s", e.response.get("error"))

    @staticmethod
    async def _react(method: Callable, channel: str, ts: str) -> None:
        """The thinking reaction is a courtesy: its failures never stop an answer."""
        try:
            await method(channel=channel, timestamp=ts, name=THINKING_REACTION)
        except SlackApiError as e:
            log.info("slack: reaction call failed: %s", e.response.get("error"))


def build_slack_app(settings: Settings, service: ServiceRef) -> AsyncApp | None:
    """The Bolt app, or None (logged) when SLACK_BOT_TOKEN / SLACK_SIGNING_SECRET are not both set.

    `service` may be a zero-argument callable returning the service, for apps that build it
    at start-up."""
    if not (settings.slack_bot_token and settings.slack_signing_secret):
        missing = [
            name
            for name, value in (
                ("SLACK_BOT_TOKEN", settings.slack_bot_token),
                ("SLACK_SIGNING_SECRET", settings.slack_signing_secret),
            )
            if not value
        ]
        log.warning("Slack bot disabled: %s not set; the service runs without it", " and ".join(missing))
        return None
    base_url = (
        settings.slack_api_url if settings.slack_api_url.endswith("/") else settings.slack_api_url + "/"
    )
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=base_url)
    app = AsyncApp(client=client, signing_secret=settings.slack_signing_secret, name="qa-slack")
    bot = SlackBot(
        settings,
        service,
        lambda: FeedbackStore(open_database(settings)),
        lambda: SeenEvents(open_database(settings)),
    )
    app.use(bot.drop_duplicates)
    app.event("app_mention")(ack=bot.ack, lazy=[bot.on_mention])
    app.event("message")(ack=bot.ack, lazy=[bot.on_message])
    app.command("/ask")(ack=bot.ack_command, lazy=[bot.on_command])
    app.action(HELPFUL_ACTION)(ack=bot.ack, lazy=[bot.on_feedback])
    app.action(NOT_HELPFUL_ACTION)(ack=bot.ack, lazy=[bot.on_feedback])
    log.info("Slack bot enabled at %s (Web API %s)", EVENTS_PATH, base_url)
    return app


def mount_slack(app: FastAPI, settings: Settings, service: Asks | None = None) -> AsyncApp | None:
    """Add POST /slack/events to `app` when Slack is configured. Without `service`, the bot
    uses `app.state.service` at request time (set by the API's lifespan)."""
    ref: ServiceRef = service if service is not None else (lambda: app.state.service)
    bolt = build_slack_app(settings, ref)
    if bolt is None:
        return None
    handler = AsyncSlackRequestHandler(bolt)

    @app.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    app.state.slack = bolt
    return bolt
