"""Questions worded the way readers ask, end to end on the real model and index.

eval/gold/paraphrase-test.jsonl is the project's own paraphrase set (written before the
answerability model was fitted, never fitted on); ../shared/eval/seed-paraphrase is the
development set the model was fitted on (with others), held to the issue's targets.
Bounds sit one question below the measured values (README, "Answerability figures"), so
a real regression fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT

from qa_service.config import Settings
from qa_service.evaluation.metrics import answer_match
from qa_service.service import build_service

pytestmark = pytest.mark.slow
SEED_DEV = ROOT.parent / "shared" / "eval" / "seed-paraphrase" / "questions-dev.jsonl"
SEED_ARTICLE = ROOT / "data" / "articles" / "nato-ukraine-military-aid.txt"


def load(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def outcomes(service, questions: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """(answerable ids answered correctly, answerable ids missed, unanswerable ids answered)."""
    right, missed, wrongly_answered = [], [], []
    for q in questions:
        answer = service.ask(q["question"], history=[])
        for c in answer.citations:  # every citation verbatim, whatever the question
            assert c.paragraph_text[c.start:c.end] == c.quote
        if q["answerable"]:
            ok = not answer.abstained and answer_match(answer.answer, q["answers"])
            (right if ok else missed).append(q["id"])
        elif not answer.abstained:
            wrongly_answered.append(q["id"])
    return right, missed, wrongly_answered


def test_own_paraphrase_set_on_the_sample_corpus(sample_service) -> None:
    questions = load(ROOT / "eval" / "gold" / "paraphrase-test.jsonl")
    right, missed, wrongly_answered = outcomes(sample_service, questions)
    n_answerable = sum(q["answerable"] for q in questions)
    n_unanswerable = len(questions) - n_answerable
    # Measured 2026-11-28: 13 of 16 answered correctly, 3 of 6 refused (README, "Answerability figures").
    assert len(right) >= 12, f"missed: {missed}"
    assert n_unanswerable - len(wrongly_answered) >= 2, f"answered: {wrongly_answered}"
    assert n_answerable == 16 and n_unanswerable == 6


@pytest.fixture(scope="module")
def seed_service(tmp_path_factory, embedder):
    service = build_service(Settings(index_dir=tmp_path_factory.mktemp("seed-only")), embedder=embedder)
    assert not service.ingest([SEED_ARTICLE]).failed
    return service


@pytest.mark.skipif(not SEED_DEV.exists(), reason="../shared/eval/seed-paraphrase is not on this machine")
def test_seed_paraphrase_dev_meets_the_issue_targets(seed_service) -> None:
    questions = load(SEED_DEV)
    right, missed, wrongly_answered = outcomes(seed_service, questions)
    n_answerable = sum(q["answerable"] for q in questions)
    # Measured 2026-11-30 (stop 27): 26 of 28 answered correctly (the issue asks 0.90, 26), 8 of 8 refused
    # (it asks 7).
    assert len(right) >= 26, f"missed: {missed}"
    assert len(wrongly_answered) <= 1, f"answered: {wrongly_answered}"
    assert n_answerable == 28


@pytest.mark.parametrize(("question", "expected"), [
    ("What did Rutte say about peace talks, and when?", "Rutte dismissed the value of abstract peace talks"),
    ("What did the Kremlin say about Ukraine joining NATO and when?", "Peskov dismissed Ukraine’s NATO aspirations"),
    ("How did Peskov react to Ukraine's NATO aspirations, and when did he say it?", "Peskov dismissed"),
])
def test_what_did_x_say_and_when_is_answered_with_the_statement_and_its_date(sample_service, question,
                                                                            expected) -> None:
    """The service's headline question. The statement answers it; "and when" asks for its date,
    which is the reporting article's, not a date the statement mentions."""
    answer = sample_service.ask(question, history=[])
    assert not answer.abstained and expected in answer.answer, answer.answer
    assert answer.answer.startswith("Reported December 4, 2024: ")
    cited = answer.citations[0]
    assert cited.published == "2024-12-04" and cited.paragraph_text[cited.start:cited.end] == cited.quote


def test_and_when_does_not_make_an_unanswerable_question_answerable(sample_service) -> None:
    answer = sample_service.ask("What did Kaja Kallas say about new EU sanctions on Russian oil, and when?", history=[])
    assert answer.abstained, answer.answer


@pytest.mark.parametrize(("question", "name"), [
    ("Who said the pact would be reviewed every three years?", "Claudia Vonlanthen"),
    ("Who said officials would visit the affected farms?", "Renata Albuquerque"),
    ("Who said 70% of the water would be recycled?", "Ana Ruiz"),
])
def test_who_said_is_answered_with_the_name_not_a_pronoun(sample_service, question, name) -> None:
    """The statement opens "She said ..."; the name is in the sentence before. Both are quoted, as
    one verbatim span, so the answer names her (it used to be refused, or answered "She said ...")."""
    answer = sample_service.ask(question, history=[])
    assert not answer.abstained, answer.answer
    assert name in answer.answer and name in answer.citations[0].quote, answer.answer
    cited = answer.citations[0]
    assert cited.paragraph_text[cited.start:cited.end] == cited.quote


@pytest.mark.parametrize(("question", "day"), [
    ("When did the ministers sign the water pact?", "October 10, 2024: "),  # "on Thursday", published Oct 11
    ("When did the frost hit Brazil?", "July 29, 2024: "),  # "on Monday night"
])
def test_when_answers_resolve_a_weekday_to_its_date(sample_service, question, day) -> None:
    """The sentence says "on Thursday"; the answer opens with the day that means, which the
    citation check accepts because the quote states it (counted from the article's date)."""
    answer = sample_service.ask(question, history=[])
    assert answer.answer.startswith(day), answer.answer
    cited = answer.citations[0]
    assert cited.paragraph_text[cited.start:cited.end] == cited.quote


@pytest.mark.parametrize(("question", "answer_start"), [
    ("When was the Budapest Memorandum adopted?", "1994: "),  # "the 1994 Budapest Memorandum"
    ("When was the Budapest Memorandum violated?", "2014: "),  # "a promise Moscow violated in 2014"
    ("When was the Budapest Memorandum cancelled?", None),  # its year dates its making, nothing else
])
def test_a_year_before_a_name_answers_when_it_was_made(sample_service, question, answer_start) -> None:
    answer = sample_service.ask(question, history=[])
    if answer_start is None:
        assert answer.abstained, answer.answer
    else:
        assert answer.answer.startswith(answer_start), answer.answer


@pytest.mark.parametrize(("question", "expected"), [
    ("Why won't Alpenkraft accept binding obligations to release water?", "undermine electricity supply"),
    ("Why does Peter Kumwenda think the July start is unrealistic?", "vaccine fridges in rural clinics"),
])
def test_why_is_answered_with_the_reason_someone_gave(sample_service, question, expected) -> None:
    """"rejected ..., saying ..." gives the reason as the actor's words; and a reason clause too short to
    stand as a claim ("because of power cuts") gives way to its whole sentence instead of a refusal."""
    answer = sample_service.ask(question, history=[])
    assert not answer.abstained, answer.answer
    assert expected in answer.answer and expected in answer.citations[0].quote
