"""Pure parts of the Slack bot: Block Kit limits, thread history, event dedupe, feedback export."""

from __future__ import annotations

import io
import json
import time

from qa_service.database import open_database
from qa_service.database.engine import make_engine
from qa_service.database.migrate import upgrade
from qa_service.models import Answer, Citation, RetrievedParagraph
from qa_service.slack.dedupe import SeenEvents
from qa_service.slack.feedback import FeedbackStore
from qa_service.slack.format import (
    MAX_BLOCKS,
    MAX_SECTION_CHARS,
    MAX_TEXT_CHARS,
    answer_message,
    article_link,
)
from qa_service.slack.history import strip_mention, thread_history


def citation(n: int, quote: str = "a quote", para: str | None = None) -> Citation:
    para = para or f"Before {quote} after."
    start = para.index(quote)
    return Citation(
        marker=n,
        article_id="art-1",
        paragraph_id=f"art-1:p{n}",
        title=f"Title {n} <b>|x",
        paragraph_text=para,
        quote=quote,
        start=start,
        end=start + len(quote),
    )


def all_sections(blocks: list[dict]) -> list[str]:
    return [b["text"]["text"] for b in blocks if b["type"] == "section"]


def test_limits_are_respected_by_trimming() -> None:
    huge = "word " * 20_000  # 100k chars
    answer = Answer(
        question="q",
        answer=huge + "[1]",
        abstained=False,
        citations=[citation(i, quote="x" * 5000, para="y" + "x" * 5000) for i in range(1, 80)],
    )
    text, blocks = answer_message(answer, public_url="https://h", answer_id="abc")
    assert len(text) <= MAX_TEXT_CHARS
    assert len(blocks) <= MAX_BLOCKS
    assert all(len(s) <= MAX_SECTION_CHARS for s in all_sections(blocks))
    assert blocks[-1]["type"] == "actions"  # feedback buttons survive trimming
    assert "more not shown" in json.dumps(blocks)


def test_citation_block_links_and_escapes() -> None:
    answer = Answer(
        question="q",
        answer="A & B [1]",
        abstained=False,
        citations=[citation(1, quote="x < y", para="so x < y holds")],
    )
    _, blocks = answer_message(answer, public_url="https://h/", answer_id=None)
    text = json.dumps(blocks, ensure_ascii=False)
    assert "A &amp; B [1]" in text and "x &lt; y" in text
    assert "<https://h/articles/art-1#art-1:p1|Title 1 &lt;b&gt;¦x>" in text
    assert not any(b["type"] == "actions" for b in blocks)


def test_abstention_shows_three_closest() -> None:
    retrieved = [
        RetrievedParagraph(paragraph_id=f"a:p{i}", article_id="a", title=f"T{i}", text="t" * 900, score=1.0)
        for i in range(5)
    ]
    answer = Answer(question="q", answer="Not in the articles.", abstained=True, retrieved=retrieved)
    _, blocks = answer_message(answer, public_url="https://h", answer_id="id")
    links = [s for s in all_sections(blocks) if "https://h/articles/a#" in s]
    assert len(links) == 3 and all(len(s) < 500 for s in links)


def test_article_link_quotes_ids() -> None:
    assert article_link("https://h", "a b/c", "a b/c:p2") == "https://h/articles/a%20b%2Fc#a%20b%2Fc:p2"


def test_thread_history_roles_and_order() -> None:
    msgs = [
        {"ts": "3.0", "user": "UBOT", "text": "answer one [1]"},
        {"ts": "1.0", "user": "U1", "text": "<@UBOT> first?"},
        {"ts": "4.0", "user": "U2", "text": "other bot", "bot_id": "BX"},
        {"ts": "4.5", "user": "U1", "text": "edited", "subtype": "message_changed"},
        {"ts": "5.0", "user": "U1", "text": "<@UBOT|qa> follow up"},
        {"ts": "6.0", "user": "U1", "text": "later"},
    ]
    assert thread_history(msgs, before_ts="5.0", bot_user_id="UBOT", bot_id="BBOT") == [
        {"role": "user", "content": "first?"},
        {"role": "assistant", "content": "answer one [1]"},
    ]
    assert strip_mention("<@UBOT|qa>  hi <@UOTHER>", "UBOT") == "hi <@UOTHER>"


def test_seen_events_once_within_ttl(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'e.sqlite3'}"
    seen = SeenEvents(open_database(url), ttl_s=0.2, prune_every=1)
    assert seen.first_time("E1") and not seen.first_time("E1")
    other_process = make_engine(url)  # another worker's own engine on the same file
    upgrade(other_process)
    other = SeenEvents(other_process)  # shares the memory
    assert not other.first_time("E1")
    time.sleep(0.25)
    assert seen.first_time("E1")  # expired: a new delivery is answered again


def test_feedback_export_jsonl(tmp_path) -> None:
    store = FeedbackStore(open_database(f"sqlite:///{tmp_path / 'f.sqlite3'}"))
    good = store.record_answer(
        Answer(question="Q1?", answer="It was X [1].", abstained=False, citations=[citation(1, "It was X")])
    )
    bad = store.record_answer(Answer(question="Q2?", answer="No idea.", abstained=True))
    store.record_answer(Answer(question="unvoted", answer="-", abstained=True))
    assert store.record_feedback(good, "U1", "not_helpful")
    assert store.record_feedback(good, "U1", "helpful")  # a user may change the vote
    assert store.record_feedback(bad, "U2", "not_helpful")
    assert not store.record_feedback("nope", "U2", "helpful")

    out = io.StringIO()
    assert store.export_jsonl(out) == 2
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["question"] == "Q1?" and lines[0]["answers"] == ["It was X."]
    assert lines[0]["evidence"] == ["It was X"] and lines[0]["answerable"] is True
    assert lines[1]["feedback"] == "not_helpful" and lines[1]["answers"] == []
    for line in lines:
        assert {"id", "question", "answers", "evidence", "answerable"} <= line.keys()
    only = io.StringIO()
    assert store.export_jsonl(only, only_helpful=True) == 1
