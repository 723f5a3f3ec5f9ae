"""Date normalisation against the publication date (no spaCy needed)."""

from datetime import date

from qa_service.positions.dates import find_dates, infer_year

PUB = date(2024, 12, 4)


def _one(text: str, tense=None):
    found = find_dates(text, PUB, (lambda _o: tense) if tense else None)
    return [(d.text, d.iso, d.precision) for d in found]


def test_month_day_before_publication_is_this_year() -> None:
    assert _one("The two-day summit, starting December 3, brought together ministers") == [
        ("December 3", "2024-12-03", "day")
    ]


def test_month_day_after_publication_in_future_tense_is_next_year() -> None:
    assert _one("before the administration takes office on January 20", "future") == [
        ("January 20", "2025-01-20", "day")
    ]
    # Past tense forbids a date after publication: January 20 then means January 2024.
    assert infer_year(1, 20, PUB, "past") == 2024


def test_two_years_in_one_phrase_give_two_dated_entries() -> None:
    assert _one("a promise Moscow violated in 2014 and again in 2022") == [
        ("2014", "2014", "year"),
        ("2022", "2022", "year"),
    ]


def test_year_as_modifier_has_year_precision_when_tagged_a_date() -> None:
    text = "the failure of the 1994 Budapest Memorandum"
    start = text.index("1994")
    found = find_dates(text, PUB, None, [(start, start + 4)])
    assert [(d.iso, d.precision, d.sort_date) for d in found] == [("1994", "year", "1994-01-01")]
    # Without the NER tag or a cue word, a bare number is not a year.
    assert find_dates("sent 2000 troops", PUB) == []


def test_explicit_year_month_and_relative_expressions() -> None:
    assert _one("signed on 5 March 2019") == [("5 March 2019", "2019-03-05", "day")]
    assert _one("prices rose in March 2023") == [("March 2023", "2023-03", "month")]
    assert _one("the minister resigned yesterday") == [("yesterday", "2024-12-03", "day")]
    assert _one("results were worse last year") == [("last year", "2023", "year")]
