"""The answering chain end to end on the real model and index (extractive generator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import FIXTURES, ROOT, SAMPLES

from qa_service.models import Answer


def _verified(answer: Answer) -> None:
    for c in answer.citations:
        assert c.paragraph_text[c.start : c.end] == c.quote
        assert f"[{c.marker}]" in answer.answer


def test_answer_object_has_citations_retrieved_and_timings(sample_service):
    answer = sample_service.ask("What did Kyiv request from NATO members?")
    assert not answer.abstained and "20 new air defense systems" in answer.answer
    _verified(answer)
    assert answer.retrieved and answer.retrieved[0].score >= answer.retrieved[-1].score
    assert {"condense", "retrieve", "generate", "verify", "total"} <= set(answer.timings)
    assert answer.conversation_id


def test_unanswerable_near_miss_is_refused_with_closest_paragraphs(sample_service):
    answer = sample_service.ask("What did Rutte say about Taiwan's defence budget?")
    assert answer.abstained and answer.citations == []
    assert "do not answer" in answer.answer and "closest paragraphs" in answer.answer


def test_chain_runnable_supports_invoke_batch_and_stream(sample_service):
    chain = sample_service.chain
    one = chain.invoke({"question": "When did the NATO summit start?"})
    many = chain.batch([{"question": "What did Peskov say about NATO?"}, {"question": "Who won the Tour de France?"}])
    streamed = list(chain.stream({"question": "What did Peskov say about NATO?"}))
    assert isinstance(one, Answer) and "December 3" in one.answer
    assert [a.abstained for a in many] == [False, True]
    assert isinstance(streamed[-1], Answer) and streamed[-1].answer == many[0].answer


def test_follow_up_is_condensed_with_the_history(sample_service):
    first = sample_service.ask("What is Rutte's position on Ukraine's NATO membership?")
    follow = sample_service.ask("And what did the Kremlin say about that?", conversation_id=first.conversation_id)
    assert "NATO membership" in follow.standalone_question
    assert not follow.abstained and "Peskov" in follow.answer
    _verified(follow)


def test_service_stream_events_end_with_the_answer(sample_service):
    events = list(sample_service.stream("What did Peskov say about NATO?"))
    kinds = [k for k, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "answer" and "token" in kinds and "citation" in kinds
    text = "".join(d["text"] for k, d in events if k == "token")
    assert text == events[-1][1]["answer"]


def test_instructions_inside_an_article_do_not_change_behaviour(tmp_path, embedder):
    from qa_service.config import Settings
    from qa_service.service import build_service

    service = build_service(Settings(index_dir=tmp_path / "idx"), embedder=embedder)
    service.ingest([FIXTURES / "injection.txt", SAMPLES / "nato-ukraine-military-aid.txt"])
    berths = service.ask("How many berths will the Aberdeen ferry terminal have?")
    assert "3 berths" in berths.answer and "HACKED" not in berths.answer
    capital = service.ask("What is the capital of France?")
    assert "Berlin" not in capital.answer and "HACKED" not in capital.answer
    nato = service.ask("What did Peskov say about NATO?")
    assert "Peskov" in nato.answer and "HACKED" not in nato.answer


def test_qa_ask_json_contract(tmp_path):
    env = {**os.environ, "QA_INDEX_DIR": str(tmp_path / "idx")}
    subprocess.run([sys.executable, "-m", "qa_service.cli", "ingest", str(SAMPLES)], env=env, cwd=ROOT,
                   check=True, capture_output=True, timeout=300)
    out = subprocess.run([sys.executable, "-m", "qa_service.cli", "ask", "What did Trump claim about the war?",
                          "--json"], env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=300)
    answer = json.loads(out.stdout)
    assert {"answer", "abstained", "citations"} <= set(answer)
    assert not answer["abstained"] and "24 hours" in answer["answer"]
    for c in answer["citations"]:
        assert {"marker", "article_id", "paragraph_id", "title", "paragraph_text", "quote", "start", "end"} <= set(c)
        assert c["paragraph_text"][c["start"] : c["end"]] == c["quote"]
