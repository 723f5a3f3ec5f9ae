"""Paragraph-aligned, token-bounded chunks.

Windows are counted with the embedder's own tokenizer, because that is what
truncates (MiniLM drops word pieces past 256): tiktoken counts would not match
what the model really sees. A long paragraph becomes overlapping windows that
all point back to it with offsets; the header (title | source | date | heading)
is prepended to the indexed text only, never to the cited text.

Instruction-like sentences (qa_service/safety.py) are left out of the indexed text, and a
window with nothing else is not indexed: planted instructions cannot be retrieved, so they
neither displace real paragraphs nor reach a generator through the index.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from typing import Any

from qa_service.loaders.common import check_time
from qa_service.models import Article, Chunk, Paragraph
from qa_service.safety import flagged_spans, is_injection


def header_for(article: Article, paragraph: Paragraph) -> str:
    parts = [article.title, article.source or "", article.published.isoformat() if article.published else ""]
    if paragraph.heading and not is_injection(paragraph.heading):
        parts.append(paragraph.heading)
    return " | ".join(p for p in parts if p)


class Chunker:
    def __init__(self, tokenizer: Any, max_tokens: int, overlap: int, model_window: int, with_header: bool):
        self.tokenizer = tokenizer
        self.max_tokens = max_tokens
        self.overlap = min(overlap, max_tokens // 2)
        self.model_window = model_window - 2  # [CLS] and [SEP]
        self.with_header = with_header

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])

    def chunk_article(self, article: Article) -> list[Chunk]:
        chunks: list[Chunk] = []
        for paragraph in article.paragraphs:
            check_time()  # under the ingester's per-article time limit, if any
            header = header_for(article, paragraph) if self.with_header else ""
            # The header shares the model window; keep at least half of it for the paragraph.
            header_tokens = min(self.count(header) + 1, self.model_window // 2) if header else 0
            budget = max(32, min(self.max_tokens, self.model_window - header_tokens))
            flagged = flagged_spans(paragraph.text)
            for window, (start, end) in enumerate(self.windows(paragraph.text, budget)):
                text = paragraph.text[start:end]
                indexed = _without(text, start, flagged) if flagged else text
                if not any(ch.isalnum() for ch in indexed):
                    continue  # nothing but planted instructions: not indexed at all
                chunks.append(
                    Chunk(
                        chunk_id=f"{paragraph.paragraph_id}:w{window}",
                        article_id=article.article_id,
                        paragraph_id=paragraph.paragraph_id,
                        window=window,
                        text=text,
                        index_text=f"{header}\n{indexed}" if header else indexed,
                        start=start,
                        end=end,
                    )
                )
        return chunks

    def windows(self, text: str, budget: int) -> list[tuple[int, int]]:
        """Overlapping token windows as character spans; linear in the paragraph's length.

        Edges snap to word starts, found by bisection in the sorted word-start list (a scan
        of that list per window made a 5 MB paragraph take minutes).
        """
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
        offsets: list[tuple[int, int]] = enc["offset_mapping"]
        n = len(offsets)
        if n <= budget:
            return [(0, len(text))]
        word_starts = [i for i, (s, _) in enumerate(offsets) if i == 0 or s == 0 or text[s - 1].isspace()]
        spans: list[tuple[int, int]] = []
        first = 0
        step = budget - self.overlap
        # Every pass moves `first` forward by at least one token: at most n windows.
        for _ in range(n):
            last = min(first + budget, n)
            if last < n:
                # The last word start in (first, last], else a hard cut inside a very long word.
                k = bisect_right(word_starts, last) - 1
                if k >= 0 and word_starts[k] > first:
                    last = word_starts[k]
            spans.append((offsets[first][0], offsets[last - 1][1]))
            if last >= n:
                break
            nxt = first + step
            k = bisect_left(word_starts, nxt)  # the first word start at or after nxt
            if k < len(word_starts):
                nxt = word_starts[k]
            nxt = min(nxt, last)  # a very long "word" must not open a gap between windows
            first = nxt if nxt > first else last
        return spans


def _without(text: str, offset: int, spans: tuple[tuple[int, int], ...]) -> str:
    """`text` (which starts at `offset` in its paragraph) without the parts inside `spans`."""
    kept, pos = [], offset
    for s, e in spans:
        if e <= pos or s >= offset + len(text):
            continue
        kept.append(text[pos - offset : max(s, pos) - offset])
        pos = max(pos, e)
    kept.append(text[pos - offset :] if pos < offset + len(text) else "")
    return " ".join(" ".join(kept).split())
