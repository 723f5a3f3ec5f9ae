"""Unit tests of every evaluation metric on hand-made cases."""

from __future__ import annotations

import math

import pytest

from qa_service.evaluation import metrics as m


def test_normalize_folds_quotes_dashes_space_and_case() -> None:
    assert m.normalize("  \u201cIt\u2019s\u201d \u2014 a\n\t TEST\u2013case ") == '"it\'s" - a test-case'


def test_holds_after_normalisation_but_not_partial_words_missing() -> None:
    paragraph = "The minister said \u201cwe\u2019ll act\u201d \u2013 today."
    assert m.holds(paragraph, 'said "we\'ll   act" - TODAY')
    assert not m.holds(paragraph, "we will act")
    assert not m.holds(paragraph, "   ")  # blank evidence never matches


def test_unique_evidence_dedupes_by_normalised_form() -> None:
    assert m.unique_evidence(["A b", "a  B", "c"]) == ["A b", "c"]


def test_held_and_ranks() -> None:
    held = m.held_evidence(["x alpha", "beta", "alpha and beta", "none"], ["alpha", "beta", "gamma"])
    assert held == [[0], [1], [0, 1], []]
    assert m.evidence_ranks(held, 3) == [1, 2, None]


def test_recall_hit_mrr_at_k() -> None:
    ranks = [3, None, 1]
    assert m.recall_at_k(ranks, 1) == pytest.approx(1 / 3)
    assert m.recall_at_k(ranks, 3) == pytest.approx(2 / 3)
    assert m.all_hit_at_k(ranks, 10) == 0.0
    assert m.all_hit_at_k([2, 4], 4) == 1.0
    assert m.all_hit_at_k([2, 4], 3) == 0.0
    assert m.mrr_at_k(ranks, 10) == 1.0
    assert m.mrr_at_k([4, 7], 10) == 0.25
    assert m.mrr_at_k([11], 10) == 0.0


def test_retrieval_metrics_undefined_without_evidence() -> None:
    assert m.recall_at_k([], 10) is None
    assert m.all_hit_at_k([], 10) is None
    assert m.mrr_at_k([], 10) is None
    assert m.ndcg_at_k([[], []], 0, 10) is None


def test_ndcg_binary_novel_gain() -> None:
    # Perfect: one paragraph per evidence string at the top.
    assert m.ndcg_at_k([[0], [1], []], 2, 10) == pytest.approx(1.0)
    # Relevant paragraphs at ranks 2 and 3.
    expected = (1 / math.log2(3) + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    assert m.ndcg_at_k([[], [0], [1]], 2, 10) == pytest.approx(expected)
    # A duplicate of already-covered evidence earns nothing.
    assert m.ndcg_at_k([[0], [0], [1]], 2, 10) == pytest.approx(
        (1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3))
    )
    # Beyond the cutoff counts for nothing.
    assert m.ndcg_at_k([[]] * 10 + [[0]], 1, 10) == 0.0


def test_citation_precision_and_recall() -> None:
    evidence = ["alpha", "beta"]
    assert m.citation_precision(["has alpha", "nothing"], evidence) == 0.5
    assert m.citation_recall(["has alpha", "nothing"], evidence) == 0.5
    assert m.citation_recall(["alpha beta"], evidence) == 1.0
    assert m.citation_precision([], evidence) is None  # nothing cited: undefined
    assert m.citation_recall([], evidence) == 0.0  # evidence not cited at all
    assert m.citation_recall(["x"], []) is None


def test_quote_validity_is_exact() -> None:
    text = "The \u201cquick\u201d fox."
    assert m.quote_is_valid(text, "\u201cquick\u201d", 4, 11)
    assert not m.quote_is_valid(text, '"quick"', 4, 11)  # no normalisation for quotes
    assert not m.quote_is_valid(text, "quick", 0, 5)
    assert not m.quote_is_valid(text, "", -1, -1)
    assert not m.quote_is_valid(text, "x", 20, 21)


def test_answer_match_containment_on_word_boundaries() -> None:
    assert m.answer_match("It was Sam Bankman\u2013Fried [1].", ["Sam Bankman-Fried"])
    assert m.answer_match("GOOGLE, says the report [2]", ["google"])
    assert not m.answer_match("Googles", ["Google"])
    assert not m.answer_match("anything", [])


def test_yes_no_polarity() -> None:
    assert m.is_yes_no(["Yes"]) and m.is_yes_no(["no."])
    assert not m.is_yes_no(["Yes", "No"])
    assert not m.is_yes_no(["Consistent"])
    assert m.polarity("Yes, both reports agree [1].") == "yes"
    assert m.polarity("[1] No: they differ.") == "no"
    assert m.polarity("Nobody knows") is None
    assert m.answer_match("Yes, both [1]", ["yes"])
    assert not m.answer_match("No, but yes in part", ["Yes"])
    assert not m.answer_match("The reports say yes", ["Yes"])  # polarity is the first word only


def test_abstention_scores_and_zero_division() -> None:
    # (answerable, abstained)
    scores = m.abstention_scores([(False, True), (False, False), (True, True), (True, False), (True, False)])
    assert (scores["tp"], scores["fn"], scores["fp"], scores["tn"]) == (1, 1, 1, 2)
    assert scores["precision"] == 0.5 and scores["recall"] == 0.5 and scores["f1"] == 0.5
    never = m.abstention_scores([(False, False), (True, False)])
    assert never["precision"] is None and never["recall"] == 0.0 and never["f1"] == 0.0
    no_positives = m.abstention_scores([(True, False)])
    assert no_positives["precision"] is None and no_positives["recall"] is None and no_positives["f1"] is None
    assert m.abstention_scores([])["f1"] is None


def test_mean_and_percentile() -> None:
    assert m.mean([1.0, None, 0.0]) == 0.5
    assert m.mean([None]) is None
    assert m.percentile([], 50) is None
    assert m.percentile([3.0], 95) == 3.0
    assert m.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert m.percentile(list(map(float, range(1, 101))), 95) == pytest.approx(95.05)
    assert m.safe_div(1, 0) is None
