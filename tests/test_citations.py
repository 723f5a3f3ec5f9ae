"""Citation parsing and verification: quotes verbatim at offsets, repair, removal."""

from __future__ import annotations

from qa_service.citations import Claim, Draft, parse_raw, verify
from qa_service.models import RetrievedParagraph
from qa_service.text import locate, sentence_spans


def _p(i: int, text: str) -> RetrievedParagraph:
    return RetrievedParagraph(paragraph_id=f"a:p{i}", article_id="a", title="T", text=text, score=1.0 / i)


SOURCES = [
    _p(1, "Rutte dismissed the value of abstract peace talks. He welcomed German aid."),
    _p(2, "Kyiv has urgently requested 20 new air defense systems from NATO members."),
    _p(3, "Kremlin spokesman Dmitry Peskov dismissed Ukraine’s NATO aspirations as a “direct threat”."),
]


def test_locate_normalises_quotes_whitespace_and_maps_offsets_back():
    text = SOURCES[2].text
    start, end = locate('Ukraine\'s NATO   aspirations as a "direct threat"', text)
    assert text[start:end] == "Ukraine’s NATO aspirations as a “direct threat"


def test_sentence_spans_keep_abbreviations():
    text = "The U.S. and Sweden gave aid. Mr. Rutte agreed."
    assert [text[s:e] for s, e in sentence_spans(text)] == ["The U.S. and Sweden gave aid.", "Mr. Rutte agreed."]


def test_valid_citation_is_kept_with_exact_offsets():
    draft = Draft(raw_text='Kyiv asked for "20 new air defense systems" [2].')
    v = verify(draft, SOURCES)
    (c,) = v.citations
    assert c.paragraph_id == "a:p2" and c.paragraph_text[c.start : c.end] == c.quote == "20 new air defense systems"
    assert v.answer.endswith("[1].") and v.diagnostics["citations_verified"] == 1


def test_wrong_marker_is_repointed_and_counted():
    draft = Draft(raw_text='Peskov called the aspirations a "direct threat" [1].')
    v = verify(draft, SOURCES)
    (c,) = v.citations
    assert c.paragraph_id == "a:p3" and v.diagnostics["citations_repaired"] == 1


def test_unsupported_claims_and_out_of_range_markers_are_removed():
    draft = Draft(raw_text="The capital of France is Berlin [7]. Rutte dismissed abstract peace talks [1].")
    v = verify(draft, SOURCES)
    assert "Berlin" not in v.answer and len(v.citations) == 1
    assert v.diagnostics["citations_removed"] == 1 and v.diagnostics["claims_removed"] == 1


def test_structured_claims_and_marker_renumbering():
    draft = Draft(claims=[Claim(text="Kyiv has urgently requested 20 new air defense systems from NATO members.",
                                source=2, quote="Kyiv has urgently requested 20 new air defense systems"),
                          Claim(text="Rutte dismissed the value of abstract peace talks.", source=1)])
    v = verify(draft, SOURCES)
    assert [c.marker for c in v.citations] == [1, 2]
    assert "[1]" in v.answer and "[2]" in v.answer
    for c in v.citations:
        assert c.paragraph_text[c.start : c.end] == c.quote


def test_no_verified_citation_means_nothing_kept():
    v = verify(Draft(raw_text="I think it is probably fine [1]."), SOURCES)
    assert v.citations == [] and v.answer == ""


def test_parse_raw_handles_grouped_markers():
    claims = parse_raw("Both dismissed talks [1, 3].", 3)
    assert [c.source for c in claims] == [1, 3]


def test_bare_names_and_headings_are_not_claims():
    """A tiny model's "Kremlin spokesman Dmitry Peskov [3]" stands in the text but says nothing."""
    v = verify(Draft(raw_text="Ukraine's NATO Aspirations\n2 [1]. Kremlin spokesman Dmitry Peskov [3]."), SOURCES)
    assert v.citations == [] and v.diagnostics["claims_removed"] == 3


def test_a_reported_date_stays_only_if_it_is_the_cited_articles_day():
    """A "Reported <day>:" opening (a dated answer) is checked against the paragraph finally
    cited: when the citation is re-pointed to another article, its day goes with the old one."""
    quote = "Kremlin spokesman Dmitry Peskov dismissed the aspirations"
    old = RetrievedParagraph(paragraph_id="a:p1", article_id="a", title="A", text="Rutte spoke on Tuesday.",
                             score=1.0, published="2024-12-04")
    new = RetrievedParagraph(paragraph_id="b:p1", article_id="b", title="B", text=f"{quote} as a threat.",
                             score=0.5, published="2025-01-20")
    kept = verify(Draft(claims=[Claim(text=f"Reported January 20, 2025: {quote}.", source=2, quote=quote)]),
                  [old, new])
    assert kept.answer.startswith("Reported January 20, 2025: ") and kept.citations[0].paragraph_id == "b:p1"
    moved = verify(Draft(claims=[Claim(text=f"Reported December 4, 2024: {quote}.", source=1, quote=quote)]),
                   [old, new])
    assert moved.citations[0].paragraph_id == "b:p1" and "December 4" not in moved.answer, moved.answer
    assert moved.answer.startswith(quote)


def test_a_date_prefix_stays_only_if_the_quote_states_that_date():
    """"When ...?" answers open with the day the quote's own "on Thursday" means, counted from the
    article's publication day; a date the quote does not state is trimmed off."""
    quote = "Ministers signed a water-sharing pact in Geneva on Thursday"
    para = RetrievedParagraph(paragraph_id="a:p1", article_id="a", title="A", text=f"{quote}, officials said.",
                              score=1.0, published="2024-10-11")
    kept = verify(Draft(claims=[Claim(text=f"October 10, 2024: {quote}.", source=1, quote=quote)]), [para])
    assert kept.answer.startswith("October 10, 2024: "), kept.answer
    wrong = verify(Draft(claims=[Claim(text=f"October 3, 2024: {quote}.", source=1, quote=quote)]), [para])
    assert wrong.answer.startswith(quote), wrong.answer
    undated = para.model_copy(update={"published": None})
    assert verify(Draft(claims=[Claim(text=f"October 10, 2024: {quote}.", source=1, quote=quote)]),
                  [undated]).answer.startswith(quote)


def test_a_date_opening_is_checked_against_the_article_finally_cited():
    """Re-pointed to an article of March, "on Thursday" no longer means October 10."""
    quote = "Ministers signed a water-sharing pact in Geneva on Thursday"
    named = RetrievedParagraph(paragraph_id="a:p1", article_id="a", title="A", text="Nothing here.", score=1.0,
                               published="2024-10-11")
    holder = RetrievedParagraph(paragraph_id="b:p1", article_id="b", title="B", text=f"{quote}.", score=0.5,
                                published="2024-03-15")
    moved = verify(Draft(claims=[Claim(text=f"October 10, 2024: {quote}.", source=1, quote=quote)]), [named, holder])
    assert moved.citations[0].paragraph_id == "b:p1"
    assert moved.answer.startswith(quote), moved.answer


def test_a_future_weekday_is_the_one_after_publication():
    from qa_service.citations import quoted_dates

    assert "October 17, 2024" in quoted_dates("The ministers will meet again on Thursday", "2024-10-11")
    assert "October 10, 2024" in quoted_dates("The ministers met on Thursday", "2024-10-11")
    assert "October 10, 2024" not in quoted_dates("The ministers will meet again on Thursday", "2024-10-11")
