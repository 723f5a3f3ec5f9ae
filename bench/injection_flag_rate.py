"""How often the injection classifier flags ordinary news: every sentence of a corpus.

    .venv/bin/python bench/injection_flag_rate.py ../shared/corpus/bbc data/articles

Prints articles, paragraphs and sentences scanned, the sentences flagged (each listed with
its cues), the near misses (score THRESHOLD - 1, to see how close news comes) and the time.
The classifier's families and threshold are documented in qa_service/safety.py.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

from qa_service.loaders import Failure, build_article, load_paths
from qa_service.safety import THRESHOLD, _pieces, classify, flagged_spans


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--near", type=int, default=15, help="near misses to list")
    args = parser.parse_args()
    articles = paragraphs = sentences = 0
    flagged: list[tuple[str, str, list[str]]] = []
    near: list[tuple[str, str, list[str]]] = []
    near_cues: Counter[str] = Counter()
    spans_flagged = 0
    classify_s = 0.0
    for n, item in enumerate(load_paths(args.paths)):
        if isinstance(item, Failure):
            print(f"skipped {item.where}: {item.reason}")
            continue
        article = build_article(item, f"a{n}")
        articles += 1
        texts = [article.title] + [h for h in article.headings] + [p.text for p in article.paragraphs]
        for text in texts:
            paragraphs += 1
            t = time.perf_counter()
            spans_flagged += len(flagged_spans(text))
            for s, e in _pieces(text):
                sentences += 1
                verdict = classify(text[s:e])
                if verdict.flagged:
                    flagged.append((item.path or item.origin or "?", text[s:e], verdict.cues))
                elif verdict.score == THRESHOLD - 1:
                    near.append((item.path or item.origin or "?", text[s:e], verdict.cues))
                    near_cues.update(verdict.cues)
            classify_s += time.perf_counter() - t
    print(f"articles {articles}, paragraphs/titles/headings {paragraphs}, sentences {sentences}")
    print(f"flagged sentences {len(flagged)} ({len(flagged) / max(sentences, 1):.5%}); "
          f"flagged spans (with block carry-over) {spans_flagged}")
    for where, sentence, cues in flagged:
        print(f"  FLAG {where}: {sentence[:160]!r} {cues}")
    print(f"near misses (score {THRESHOLD - 1}): {len(near)}; cues among them: {dict(near_cues.most_common())}")
    for where, sentence, cues in near[: args.near]:
        print(f"  near {where}: {sentence[:160]!r} {cues}")
    print(f"classifier time {classify_s:.2f} s ({1e6 * classify_s / max(sentences, 1):.1f} us per sentence, "
          "sentences classified twice: once per sentence, once in flagged_spans)")


if __name__ == "__main__":
    main()
