"""The chain uses the positions/events layer: per-actor comparisons and dated answers."""

from __future__ import annotations

from qa_service.models import RetrievedParagraph


def _check_citations(answer) -> None:
    for c in answer.citations:
        assert c.paragraph_text[c.start : c.end] == c.quote


def test_comparison_of_actors_gets_one_cited_claim_per_actor(sample_service):
    answer = sample_service.ask("How do NATO, Ukraine and Russia differ on Ukraine's membership?")
    assert not answer.abstained
    _check_citations(answer)
    text = answer.answer
    assert "not on the table" in text and "only acceptable path" in text and "threat" in text
    assert len({c.paragraph_id for c in answer.citations}) >= 2


def test_when_question_answers_with_the_normalised_date(sample_service):
    answer = sample_service.ask("When did the NATO summit start?")
    assert answer.answer.startswith("December 3, 2024:"), answer.answer
    (c,) = answer.citations
    assert "starting December 3" in c.quote and c.paragraph_id.endswith(":p2")


def test_a_when_answer_is_dated_by_the_event_asked_not_by_the_statement(sample_service):
    """"Veltra ... said on Monday that it would decide next year whether to build a second plant":
    Monday dates the statement, next year the decision; neither dates the plant's opening."""
    said = sample_service.ask("When did Veltra say it would decide on a second plant?")
    decide = sample_service.ask("When will Veltra decide on its second plant?")
    opening = sample_service.ask("When will Veltra's second European plant open in Poland?")
    for answer in (said, decide, opening):
        _check_citations(answer)
        assert "would decide next year" in answer.answer, answer.answer
    assert said.answer.startswith("October 21, 2024:"), said.answer
    assert decide.answer.startswith("2025:"), decide.answer
    assert opening.answer.startswith("Veltra, which"), opening.answer  # no date put on the opening


def test_asked_event_prefers_what_the_question_asks() -> None:
    from qa_service.structured import asked_event

    events = [("Veltra said on Monday", "monday"), ("it would decide next year", "next year")]
    assert asked_event("When will Veltra decide?", events) == "next year"
    assert asked_event("When did Veltra announce its decision?", events) == "monday"
    assert asked_event("When will the plant open?", events) is None  # only a statement's date first
    assert asked_event("When will the plant open?", [("the plant opens in 2027", 2027)]) == 2027
    assert asked_event("When will the plant open?", [("prices rose in 2027", 2027)]) == 2027  # the sentence's date
    assert asked_event("When?", []) is None
    # The event sharing most of the question's words, irregular pasts included ("began" for "begin").
    assert asked_event("When did the pilot begin?", [("extended from July", 7), ("the pilot began in 2019", 2019)]) == 2019
    assert asked_event("When did the frost hit?", [("could hit next year", 2025), ("the frost hit on Monday", 1)]) == 1
    # When something was said, never the date of what was said: the sentence may date no statement.
    assert asked_event("When did Eder say they should join?", [("join by the end of 2025", 2025)]) is None


def test_when_something_was_said_undated_is_the_day_it_was_reported(sample_service):
    """"She said ... called on Germany and Slovenia to join by the end of 2025": 2025 is when they
    should join; the statement is dated by its article, as "What did X say, and when?" is."""
    answer = sample_service.ask("When did Vonlanthen say Germany and Slovenia should join the pact?")
    _check_citations(answer)
    assert answer.answer.startswith("Reported October 11, 2024: She said"), answer.answer


def test_position_question_retrieves_the_actors_statement_first(sample_service):
    answer = sample_service.ask("What is Peskov's view?")
    assert not answer.abstained
    assert "Peskov" in answer.retrieved[0].text
    _check_citations(answer)


def test_plain_retrieval_path_still_works_without_the_layer(sample_service):
    from qa_service.service import build_service

    plain = build_service(sample_service.settings.model_copy(update={"use_positions": False}),
                          embedder=sample_service.embedder, chroma_client=sample_service.store.client,
                          positions=sample_service.positions)
    answer = plain.ask("When did the NATO summit start?")
    assert not answer.answer.startswith("December 3, 2024:")
    assert "December 3" in answer.answer


def test_a_topic_named_like_an_actor_is_not_a_comparison(sample_service):
    answer = sample_service.ask("What did Peskov say about NATO?")
    assert not answer.abstained
    assert answer.answer.startswith("Kremlin spokesman Dmitry Peskov dismissed")
    assert "Rutte" not in answer.answer


def test_a_comparison_compares_only_the_parties_it_names(sample_service):
    """"... differ on Ukraine joining NATO": Ukraine and NATO are the topic, not two more parties."""
    answer = sample_service.ask("How do Rutte and Peskov differ on Ukraine joining NATO?")
    _check_citations(answer)
    labels = [line.split(":")[0] for line in answer.answer.split("]. ")]
    assert labels == ["Mark Rutte", "Dmitry Peskov"], answer.answer


def test_one_statement_is_given_once_under_its_speakers_name(sample_service):
    """NATO's statement here is Rutte's: it is not repeated under both names ("Rutte's?" at the
    end of the question names him too)."""
    answer = sample_service.ask("How does Peskov's view on NATO differ from Rutte's?")
    _check_citations(answer)
    quotes = [c.quote for c in answer.citations]
    assert len(quotes) == len(set(quotes)) == 2, answer.answer
    assert "Mark Rutte: Rutte clarified" in answer.answer and "NATO: Rutte" not in answer.answer


def test_compared_part_stops_at_the_topic() -> None:
    from qa_service.structured import compared_part

    assert compared_part("How do Rutte and Peskov differ on Ukraine joining NATO?") == "How do Rutte and Peskov differ "
    assert compared_part("Compare what Lang and Reinhardt said about subsidies") == "Compare what Lang and Reinhardt said "
    assert compared_part("What did Peskov say about NATO?") == "What did Peskov say about NATO?"  # no comparison
    assert compared_part("Do NATO allies agree that Ukraine's future lies in the alliance?") == "Do NATO allies agree "


def test_agreeing_that_something_is_so_is_one_partys_view_not_a_comparison(sample_service):
    """NATO agrees that Ukraine's future lies in the alliance: Ukraine is what is agreed on, not a party."""
    answer = sample_service.ask("Do NATO allies agree that Ukraine's future lies in the alliance?")
    _check_citations(answer)
    assert not answer.abstained
    assert "Rutte clarified that while NATO members agree" in answer.answer
    assert "Ukraine: " not in answer.answer and "NATO: " not in answer.answer, answer.answer


def test_a_when_answer_states_the_asked_event_not_a_sentence_that_only_shares_its_words(sample_service):
    """"...analysts warned the losses could also hit next year's crop because frost damages..." names
    Brazil, coffee, frost and "hit", but dates next year's crop; "The frost hit on Monday night" is
    the asked event."""
    answer = sample_service.ask("When did Brazil's coffee frost hit?")
    _check_citations(answer)
    assert answer.answer.startswith("July 29, 2024: The frost hit on Monday night"), answer.answer
    began = sample_service.ask("When did the Malawi pilot begin?")
    assert began.answer.startswith("April 2019:"), began.answer
    # An event of another article shares "come into force" but names nothing the question names.
    levy = sample_service.ask("When does Lisbon's higher tourist levy come into force?")
    assert "Lisbon" in levy.answer and "Chips Act" not in levy.answer, levy.answer


def test_parties_of_a_comparison() -> None:
    from qa_service.answerability.comparison import parties, party_question

    q = "Compare the positions of Alpenkraft and Terre del Po on the water pact."
    assert parties(q) == ["Alpenkraft", "Terre del Po"]
    assert party_question(q, "Terre del Po") == "What did Terre del Po say on the water pact?"
    assert parties("How do Albuquerque and Mendes differ on the frost damage?") == ["Albuquerque", "Mendes"]
    assert parties("How do Ursula von der Leyen and Rutte differ?") == ["Ursula von der Leyen", "Rutte"]
    assert parties("How did Austria's climate minister and the Alpine Rivers Alliance view the pact differently?") \
        == ["Austria's climate minister", "Alpine Rivers Alliance"]
    assert parties("Do both TechCrunch and The Verge report that prices rose?") == []  # a yes/no question
    assert parties("What is Rutte's position on peace talks versus military aid for Ukraine?") == []  # two topics
    assert parties("How did the minister and the union view the deal differently?") == []  # no names
    assert parties("What did Peskov say about NATO?") == []  # no comparison
    six = "How do " + " and ".join(f"Party{i}" for i in range(6)) + " differ?"
    assert parties(six) == []  # more parties than a comparison has
    assert parties("How do " + "A and " * 200 + "B differ?") == []  # read up to 500 characters only


def test_merged_hits_take_each_party_in_turn_once() -> None:
    from qa_service.answerability.comparison import merged

    def hit(pid: str) -> RetrievedParagraph:
        return RetrievedParagraph(paragraph_id=pid, article_id="a", title="t", text=pid, score=1.0)

    lists = [[hit("a1"), hit("a2"), hit("x")], [hit("b1"), hit("x"), hit("b3")], [hit("q1")]]
    assert [h.paragraph_id for h in merged(lists, k=6)] == ["a1", "b1", "q1", "a2", "x", "b3"]


def test_a_comparison_of_parties_the_layer_does_not_know_is_answered_party_by_party(sample_service):
    """The positions layer has no statement of Terre del Po's: each party's question is searched and
    judged, and the answer gives each party's own sentence under its name."""
    q = "Compare the positions of Alpenkraft and Terre del Po on the water pact."
    assert not sample_service.pipeline.parts.generator.layer.covers(q)
    answer = sample_service.ask(q)
    _check_citations(answer)
    assert answer.answer.startswith("Alpenkraft: Alpenkraft, the Austrian utility"), answer.answer
    assert "Terre del Po: The Po Valley farmers’ association Terre del Po demanded" in answer.answer
    # A near miss stays refused: neither party said anything about cruise ship fees.
    assert sample_service.ask("How do Kallas and Zelensky differ on cruise ship fees?").abstained


def test_an_undated_day_keeps_its_sentence_over_a_year_sharing_one_word(tmp_path, embedder) -> None:
    """An article with no date of its own: "starting December 3" gives the layer no year, so it dates
    no event. Its sentence, the best answer, was replaced by the one dated event sharing a word with
    the question ("security assurances", or "under" of "get under way") and answered "1994: ...".
    Found by a helper's reader questions."""
    import shutil

    from qa_service.config import Settings
    from qa_service.service import build_service
    from tests.conftest import SAMPLES

    articles = tmp_path / "articles"
    articles.mkdir()
    shutil.copy(SAMPLES / "nato-ukraine-military-aid.txt", articles)  # without its .meta.json
    service = build_service(Settings(index_dir=tmp_path / "index"), embedder=embedder)
    assert not service.ingest([articles]).failed
    for question in ("On what date did the two-day summit on security begin?",
                     "On what date did the two-day summit get under way?"):
        answer = service.ask(question)
        assert "starting December 3" in answer.answer and "1994" not in answer.answer, answer.answer
        _check_citations(answer)


def test_a_preposition_is_not_an_asked_word() -> None:
    from qa_service.structured import asked_words

    assert asked_words("On what date did the two-day summit get under way?") == {"date", "two-d", "summi"}


def test_a_sentence_stating_no_date_gives_way_to_the_asked_events_sentence() -> None:
    """The judge's best sentence for "When did the frost hit the coffee crops?" states no date: the
    sentence of the dated event the layer ranks for the question answers, however many words the
    first shares with the question (a review of the undated-day rule found it kept the first)."""
    from types import SimpleNamespace

    from qa_service.answerability.judge import Judgement, Scored, Unit
    from qa_service.citations import Claim, Draft
    from qa_service.positions.models import Event
    from qa_service.structured import StructuredGenerator

    undated = RetrievedParagraph(paragraph_id="c:p1", article_id="c", title="Coffee", score=1.0,
                                 text="The frost hit coffee crops across Minas Gerais, traders said.")
    dated_text = "The frost hit on Monday night."
    dated_para = RetrievedParagraph(paragraph_id="c:p2", article_id="c", title="Coffee", score=0.9, text=dated_text)
    event = Event(date="2024-07-29", sort_date="2024-07-29", precision="day", date_text="Monday",
                  date_start=17, date_end=23, description="The frost hit on Monday night", quote=dated_text,
                  start=0, end=len(dated_text), paragraph_id="c:p2", article_id="c")
    layer = SimpleNamespace(focus=lambda question: [("frost", "c:p2", event)],
                            events_in=lambda pid: [event] if pid == "c:p2" else [])
    ranked = [Scored(unit=Unit(source=i, start=0, end=len(p.text), text=p.text, context=""), features={}, logit=0.0)
              for i, p in ((1, undated), (2, dated_para))]
    judgement = Judgement(probability=0.9, answerable=True, focus=None, ranked=ranked, features={})  # type: ignore[arg-type]
    first = Draft(claims=[Claim(text=undated.text, source=1, quote=undated.text)])
    generator = StructuredGenerator(base=None, layer=layer)  # type: ignore[arg-type]
    draft = generator._dated("When did the frost hit the coffee crops?", first, [undated, dated_para], judgement)
    assert draft.claims[0].quote == dated_text and draft.claims[0].text.startswith("July 29, 2024: ")


def test_boost_puts_the_layers_paragraphs_first_reading_the_missing_in_one_call() -> None:
    """Focus paragraphs among the hits are taken from them (the first of duplicates), the rest are
    read in one call, one the snapshot lacks is left out, and nothing is read when all are hits."""
    from types import SimpleNamespace

    from qa_service.structured import StructuredLayer

    def para(pid: str, text: str = "x") -> RetrievedParagraph:
        return RetrievedParagraph(paragraph_id=pid, article_id=pid.split(":")[0], title="t", text=text, score=1.0)

    calls: list[list[tuple[str, str]]] = []
    stored = {"b:p2": para("b:p2"), "c:p1": para("c:p1")}

    def paragraphs(wanted: list[tuple[str, str]]) -> dict[str, RetrievedParagraph]:
        calls.append(wanted)
        return {pid: stored[pid] for _, pid in wanted if pid in stored}

    layer = StructuredLayer(positions=None, paragraphs=paragraphs)
    entry = {pid: SimpleNamespace(article_id=pid.split(":")[0]) for pid in ("a:p1", "b:p2", "c:p1", "gone:p1")}
    layer.focus = lambda q: [("X", pid, entry[pid]) for pid in ("b:p2", "a:p1", "gone:p1", "c:p1", "a:p1")]  # type: ignore[method-assign]
    hits = [para("a:p1", "first"), para("a:p1", "second"), para("d:p4")]
    out = layer.boost("q", hits, k=3)
    assert [p.paragraph_id for p in out] == ["b:p2", "a:p1", "c:p1"]  # k=3: "d:p4" goes
    assert out[1].text == "first"
    assert calls == [[("b", "b:p2"), ("gone", "gone:p1"), ("c", "c:p1")]]
    calls.clear()
    layer.focus = lambda q: [("X", "a:p1", entry["a:p1"])]  # type: ignore[method-assign]
    assert [p.paragraph_id for p in layer.boost("q", hits, k=3)] == ["a:p1", "d:p4"]
    assert calls == []
