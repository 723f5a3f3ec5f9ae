"""Follow-up questions made standalone by the rule (the extractive default has no LLM to do it)."""

from __future__ import annotations

import pytest

from qa_service.condense import condense_rule, is_followup


def history(*questions: str) -> list[dict[str, str]]:
    turns: list[dict[str, str]] = []
    for q in questions:
        turns += [{"role": "user", "content": q}, {"role": "assistant", "content": "..."}]
    return turns


@pytest.mark.parametrize(("follow_up", "before", "standalone"), [
    # Only the time of what was asked before: the same question, dated (answerability.focus.split_when).
    ("When was that?", "What did Rutte say about peace talks?", "What did Rutte say about peace talks, and when?"),
    ("And when did he say it?", "What did Antony Blinken stress at his final NATO meeting?",
     "What did Antony Blinken stress at his final NATO meeting, and when?"),
    # The same question of someone else.
    ("What about Kallas?", "What did Antony Blinken stress at his final NATO meeting?",
     "What did Kallas stress at his final NATO meeting?"),
    ("What about Zelensky?", "What is Rutte's position on Ukraine's NATO membership?",
     "What is Zelensky's position on Ukraine's NATO membership?"),
    ("And the Kremlin?", "What did Rutte say about peace talks?", "What did the Kremlin say about peace talks?"),
    # A pronoun for the person asked about, a trailing "it"/"that" for the topic.
    ("What else did he say?", "What did Peskov say about NATO?", "What else did Peskov say?"),
    ("And what did the Kremlin say about that?", "What is Rutte's position on Ukraine's NATO membership?",
     "What did the Kremlin say about Ukraine's NATO membership?"),
    ("Who will pay for it?", "How did the Tories react to Patricia Hewitt's maternity pay proposal?",
     "Who will pay for Patricia Hewitt's maternity pay proposal?"),
    # Found by review: the whole name phrase is replaced, a new name is not overwritten, a time
    # asked already is not asked twice, "it happen" in the future is no statement to date.
    ("What about Kallas?", "What did NATO chief Mark Rutte say about peace talks?",
     "What did Kallas say about peace talks?"),
    ("What did he say then?", "When did Ursula von der Leyen visit Kyiv?", "What did Ursula von der Leyen say then?"),
    ("What about Kallas?", "In Brussels, what did Rutte say?", "In Brussels, what did Kallas say?"),
    ("What about Özdemir?", "What did Łukaszenka say about the border?", "What did Özdemir say about the border?"),
    ("And Macron, what did he say?", "What did Blinken say about Ukraine?", "Macron, what did he say (regarding Ukraine)?"),
    ("When was that?", "When did Russia invade Ukraine?", "When did Russia invade Ukraine?"),
    ("When will it happen?", "What did Rutte say about the summit?", "When will it happen (regarding the summit)?"),
    ("What about him?", "What did Blinken say to Wang Yi?", "What did Blinken say to Wang Yi?"),
])
def test_follow_ups_keep_what_the_reader_asked_before(follow_up: str, before: str, standalone: str) -> None:
    """Each of these came out garbled before ("When was peace talks?", "Kallas (regarding he say Ukraine))?")."""
    assert condense_rule(follow_up, history(before)) == standalone


def test_a_chain_of_follow_ups_builds_on_the_standalone_forms() -> None:
    turns = history("What did Rutte say about peace talks?")
    second = condense_rule("When was that?", turns)
    turns += [{"role": "user", "content": "When was that?", "standalone": second}, {"role": "assistant", "content": "."}]
    assert condense_rule("What about Peskov?", turns) == "What did Peskov say about peace talks, and when?"
    assert condense_rule("When was it?", turns) == second  # asked twice, dated once


def test_long_follow_ups_take_bounded_time() -> None:
    """A regex over user text has a bound: 20k characters of "?" once took seconds in the topic rule
    (no timing here: a quadratic rule would make this test crawl, not fail)."""
    assert condense_rule("What about " + "?" * 20_000 + "x", history("about " + "?" * 20_000 + "x"))


@pytest.mark.parametrize(("question", "main", "also_when"), [
    ("What did Rutte say about peace talks, and when?", "What did Rutte say about peace talks?", True),
    ("What did Ana Ruiz say about water, and when did she say it?", "What did Ana Ruiz say about water?", True),
    ("Where and when did the summit take place?", "Where and when did the summit take place?", False),
    ("What did Rutte say about the war and when it would end?",
     "What did Rutte say about the war and when it would end?", False),
])
def test_only_a_trailing_and_when_is_split_off(question: str, main: str, also_when: bool) -> None:
    from qa_service.answerability.focus import split_when

    assert split_when(question) == (main, also_when)


def test_questions_that_stand_alone_are_left_as_they_are() -> None:
    assert not is_followup("How many troops did Germany pledge in its new package?")
    assert condense_rule("How many troops did Germany pledge?", history("What did Rutte say?")) == (
        "How many troops did Germany pledge?")


def test_when_was_that_is_answered_with_the_statement_and_its_date(sample_service) -> None:
    first = sample_service.ask("What did Rutte say about peace talks?")
    follow = sample_service.ask("When was that?", conversation_id=first.conversation_id)
    assert follow.standalone_question == "What did Rutte say about peace talks, and when?"
    assert not follow.abstained and follow.answer.startswith("Reported December 4, 2024: Rutte dismissed")
    assert all(c.paragraph_text[c.start:c.end] == c.quote for c in follow.citations)
