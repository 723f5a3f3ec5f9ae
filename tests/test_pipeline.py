"""The answering pipeline end to end on the real model and index (extractive generator)."""

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
    assert {"condense", "retrieve", "judge", "generate", "verify", "total"} <= set(answer.timings)
    assert answer.conversation_id


def test_unanswerable_question_is_refused_with_closest_paragraphs(sample_service):
    answer = sample_service.ask("Which team won the Champions League final in 2024?")
    assert answer.abstained and answer.citations == []
    assert "do not answer" in answer.answer and "closest paragraphs" in answer.answer


def test_pipeline_is_one_runnable_whose_events_ask_and_stream_share(sample_service):
    from qa_service.pipeline import Final, Meta, PipelineState, Retrieved, Token

    events = list(sample_service.pipeline.runnable.stream(PipelineState(question="When did the NATO summit start?")))
    assert isinstance(events[0], Meta) and isinstance(events[1], Retrieved) and isinstance(events[-1], Final)
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert streamed == events[-1].answer.answer and "December 3" in streamed
    many = [sample_service.ask(q, history=[]) for q in ("What did Peskov say about NATO?", "Who won the Tour de France?")]
    assert [a.abstained for a in many] == [False, True]


def test_follow_up_is_condensed_with_the_history(sample_service):
    first = sample_service.ask("What is Rutte's position on Ukraine's NATO membership?")
    follow = sample_service.ask("And what did the Kremlin say about that?", conversation_id=first.conversation_id)
    assert "NATO membership" in follow.standalone_question
    assert not follow.abstained and "Peskov" in follow.answer
    _verified(follow)


def test_service_stream_events_end_with_the_answer(sample_service):
    from qa_service.pipeline import CitationEvent, Final, Meta, Token

    events = list(sample_service.stream("What did Peskov say about NATO?"))
    assert isinstance(events[0], Meta) and isinstance(events[-1], Final)
    assert any(isinstance(e, Token) for e in events) and any(isinstance(e, CitationEvent) for e in events)
    text = "".join(e.text for e in events if isinstance(e, Token))
    assert text == events[-1].answer.answer


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
