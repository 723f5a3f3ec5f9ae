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


def test_a_date_without_any_year_is_kept_and_marked() -> None:
    text = "The summit, starting December 3, met before the administration takes office on January 20."
    found = find_dates(text, None)
    assert [(d.text, d.iso, d.sort_date, d.precision, d.year_known) for d in found] == [
        ("December 3", "--12-03", "--12-03", "day", False),
        ("January 20", "--01-20", "--01-20", "day", False),
    ]
    assert [(d.iso, d.precision, d.year_known) for d in find_dates("talks resume in September", None)] == [
        ("--09", "month", False)
    ]
    assert [d.iso for d in find_dates("on February 29 at noon", None)] == ["--02-29"]  # exists in leap years
    assert find_dates("on February 30 at noon", None) == []
    assert all(d.year_known for d in find_dates("starting December 3", PUB))


COFFEE = date(2024, 8, 1)
COFFEE_TEXT = ("Prices for delivery in September rose 9% to $2.48 a pound in New York, the biggest one-day "
               "gain since 2021.")


def test_a_delivery_month_looks_ahead_whatever_the_verb_tense() -> None:
    # "rose" is past tense, but a September delivery quoted on 1 August 2024 is September 2024.
    found = find_dates(COFFEE_TEXT, COFFEE, lambda _o: "past")
    assert [(d.text, d.iso) for d in found] == [("September", "2024-09")]


def test_since_marks_a_point_of_comparison_not_an_event() -> None:
    assert "2021" not in [d.iso for d in find_dates(COFFEE_TEXT, COFFEE)]
    assert find_dates("the first time since March 2022", PUB) == []
    assert [d.iso for d in find_dates("a promise broken in 2014", PUB)] == ["2014"]


def test_last_and_next_month_names_count_from_the_publication_month() -> None:
    published = date(2024, 10, 11)
    assert [(d.text, d.iso) for d in find_dates("Measurements taken last September showed", published)] == [
        ("last September", "2024-09")
    ]
    assert [d.iso for d in find_dates("the vote next March", published)] == ["2025-03"]
    assert [d.iso for d in find_dates("the vote last November", published)] == ["2023-11"]
