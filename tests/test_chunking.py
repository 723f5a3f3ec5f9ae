"""Chunks are paragraph-aligned and bounded by the embedder's own word pieces."""

from __future__ import annotations

from qa_service.chunking import Chunker
from qa_service.models import Article, Paragraph


def _article(text: str) -> Article:
    return Article(article_id="a", title="A title", source="Wire", paragraphs=[
        Paragraph(paragraph_id="a:p1", number=1, heading="Head", text=text, start=0, end=len(text))], text=text)


def test_short_paragraph_is_one_chunk_with_header_only_in_index_text(embedder):
    chunker = Chunker(embedder.tokenizer, 200, 40, embedder.max_seq_length, with_header=True)
    (chunk,) = chunker.chunk_article(_article("Rutte dismissed abstract peace talks."))
    assert chunk.text == "Rutte dismissed abstract peace talks."
    assert chunk.index_text.startswith("A title | Wire | Head\n")
    assert (chunk.start, chunk.end) == (0, len(chunk.text))


def test_long_paragraph_becomes_overlapping_windows_within_the_model_window(embedder):
    words = [f"word{i} alpha beta" for i in range(400)]
    text = " ".join(words)
    chunker = Chunker(embedder.tokenizer, 200, 40, embedder.max_seq_length, with_header=True)
    chunks = chunker.chunk_article(_article(text))
    assert len(chunks) > 2
    assert {c.paragraph_id for c in chunks} == {"a:p1"}
    for c in chunks:
        assert text[c.start : c.end] == c.text
        n = len(embedder.tokenizer(c.index_text, add_special_tokens=True)["input_ids"])
        assert n <= embedder.max_seq_length  # nothing silently truncated by the model
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert b.start < a.end  # windows overlap
    assert chunks[0].start == 0 and chunks[-1].end == len(text)
