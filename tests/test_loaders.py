"""Loaders: every bundled format parses into paragraphs with provenance; bad files are reported."""

from __future__ import annotations

from pathlib import Path

from conftest import FIXTURES, SAMPLES, SEED

from qa_service.loaders import Failure, build_article, load_paths, parse_bytes


def _articles(paths: list[Path]):
    items = list(load_paths(paths))
    return [i for i in items if not isinstance(i, Failure)], [i for i in items if isinstance(i, Failure)]


def test_seed_layout_metadata_and_headings_are_not_paragraphs():
    (raw,), failures = _articles([SEED])
    assert not failures
    article = build_article(raw, "seed")
    assert article.title.startswith("NATO Pushes for Military Aid")
    assert article.category == "Politics & Economics"
    assert article.author == "Editorial Staff"
    assert str(article.published) == "2024-12-04"  # from the .meta.json sidecar
    texts = [p.text for p in article.paragraphs]
    assert len(texts) == 8
    assert "Military Support Takes Priority" in article.headings
    assert all(h not in texts for h in article.headings)
    assert not any(t.startswith("By ") for t in texts)
    first = article.paragraphs[0]
    assert first.heading == "Military Support Takes Priority"
    assert article.paragraphs[2].heading == "Rutte’s Stance: “More Weapons, Fewer Discussions”"
    for p in article.paragraphs:
        assert article.text[p.start : p.end] == p.text
        assert p.paragraph_id == f"seed:p{p.number}"


def test_every_sample_format_loads():
    articles, failures = _articles([SAMPLES])
    assert not failures
    by_suffix = {Path(a.path).suffix for a in articles}
    assert {".txt", ".md", ".html", ".jsonl"} <= by_suffix
    for raw in articles:
        article = build_article(raw, "x")
        assert article.title and article.paragraphs


def test_html_drops_boilerplate_and_reads_metadata():
    (raw,), _ = _articles([SAMPLES / "lisbon-tourist-tax.html"])
    article = build_article(raw, "lisbon")
    text = article.text
    assert "cookies" not in text.lower() and "All rights reserved" not in text
    assert article.author == "Inês Carvalho"
    assert article.source == "Southern Europe Daily"
    assert str(article.published) == "2024-11-19"
    assert len(article.paragraphs) == 7 and len(article.headings) == 3


def test_markdown_front_matter_and_headings():
    (raw,), _ = _articles([SAMPLES / "dresden-chip-plant.md"])
    article = build_article(raw, "md")
    assert article.source == "TechLedger" and str(article.published) == "2024-10-22"
    assert article.title.startswith("Veltra breaks ground")
    assert len(article.headings) == 3 and not any(p.text.startswith("#") for p in article.paragraphs)


def test_jsonl_feed_keeps_ids_and_fields():
    articles, _ = _articles([SAMPLES / "feed.jsonl"])
    assert {a.feed_id for a in articles} == {"malawi-malaria-vaccine-expansion", "spain-train-drivers-strike-called-off"}
    assert all(a.source and a.published for a in articles)


def test_broken_inputs_are_reported_by_name_and_reason_and_the_rest_loads():
    articles, failures = _articles([FIXTURES / "broken"])
    reasons = {Path(f.where.split(" ")[0]).name + (" " + f.where.split(" ", 1)[1] if " " in f.where else ""): f.reason
               for f in failures}
    assert "empty" in reasons["empty.txt"]
    assert "binary" in reasons["binary.txt"]
    assert "no body" in reasons["nobody.md"]
    assert "not JSON" in reasons["bad-lines.jsonl line 2"]
    assert "no body" in reasons["bad-lines.jsonl line 3"]
    titles = {a.title for a in articles}
    assert len(articles) == 2  # the good JSONL line and the Latin-1 article (repaired)
    latin = next(a for a in articles if a.path.endswith("latin1.txt"))
    assert any("Café" in text or "café" in text for _, text in latin.blocks)
    assert titles


def test_invalid_utf8_byte_is_repaired_not_fatal():
    data = b"Headline\n\nA paragraph with a bad byte: " + b"\xe9" + b" and more text.\n\nSecond one.\n"
    (raw,) = list(parse_bytes(data, Path("x.txt")))
    assert not isinstance(raw, Failure)
    assert "é" in raw.blocks[0][1]


def test_unsupported_type_is_a_failure():
    (item,) = list(parse_bytes(b"%PDF-1.4", Path("paper.pdf")))
    assert isinstance(item, Failure) and "unsupported" in item.reason
