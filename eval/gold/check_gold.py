#!/usr/bin/env python3
"""Check the gold question sets against the bundled sample corpus.

Usage:
    python eval/gold/check_gold.py [GOLD.jsonl ...] [--articles DIR]

With no gold files it checks every ``*.jsonl`` next to this script, against
``data/articles`` of the repository. Stdlib only, on purpose: it must run
before the package is installed.

Checks:
- every line is a JSON object with well-formed fields (id, question, answers,
  evidence, answerable, question_type);
- ids are unique across all checked files, and no question text repeats;
- unanswerable questions carry answers ["Insufficient information."] and no evidence;
- every evidence string of an answerable question occurs verbatim in ONE
  paragraph of the corpus, after collapsing whitespace and turning curly
  quotes into straight ones (the same normalisation the evaluator uses).
Warnings (not errors): no answer string occurs in the paragraphs holding the
evidence (normal for relative dates resolved to absolute ones, and for
comparisons).

Exit status 0 when there are no errors, 1 otherwise.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import sys
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

QUESTION_TYPES = {"position", "event_when", "event_what", "quantity", "comparison", "unanswerable"}
ABSTAIN_ANSWER = "Insufficient information."
REQUIRED = {"id": str, "question": str, "answers": list, "evidence": list, "answerable": bool, "question_type": str}

_QUOTES = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"',
    "\u00a0": " ",
})


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFC", text).translate(_QUOTES)
    return re.sub(r"\s+", " ", text).strip()


class _ArticleParagraphs(HTMLParser):
    """Collects the text of <h1>, <h2> and <p> elements inside <article>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.depth = 0  # nesting inside <article>
        self.current: list[str] | None = None
        self.blocks: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "article":
            self.depth += 1
        elif self.depth and tag in {"p", "h1", "h2", "h3"}:
            self.current = []

    def handle_endtag(self, tag):
        if tag == "article":
            self.depth -= 1
        elif self.current is not None and tag in {"p", "h1", "h2", "h3"}:
            self.blocks.append("".join(self.current))
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current.append(data)


def paragraphs_of(path: Path) -> list[str]:
    """Text blocks of one corpus file (paragraphs, headings, titles)."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        blocks: list[str] = []
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            blocks.append(str(record.get("title") or ""))
            blocks.extend(re.split(r"\n\s*\n", str(record.get("body") or "")))
        return blocks
    if suffix in {".html", ".htm"}:
        parser = _ArticleParagraphs()
        parser.feed(raw)
        return [html.unescape(b) for b in parser.blocks]
    if suffix == ".md":
        raw = re.sub(r"\A---\n.*?\n---\n", "", raw, flags=re.S)
    # .txt (seed and BBC layouts) and .md: one paragraph per line
    return [line for line in raw.splitlines() if line.strip()]


def load_corpus(articles_dir: Path) -> dict[str, list[str]]:
    corpus: dict[str, list[str]] = {}
    for path in sorted(articles_dir.rglob("*")):
        if not path.is_file() or path.name.endswith(".meta.json"):
            continue
        if path.suffix.lower() not in {".txt", ".md", ".html", ".htm", ".jsonl"}:
            continue
        corpus[str(path.relative_to(articles_dir))] = [normalise(p) for p in paragraphs_of(path) if p.strip()]
    return corpus


def check_file(path: Path, corpus: dict[str, list[str]], seen_ids: dict, seen_questions: dict,
               errors: list[str], warnings: list[str]) -> dict:
    stats = {"total": 0, "answerable": 0, "unanswerable": 0, "types": {}, "files": {}}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        where = f"{path.name}:{lineno}"
        if not line.strip():
            errors.append(f"{where}: blank line")
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{where}: not JSON ({exc})")
            continue
        if not isinstance(item, dict):
            errors.append(f"{where}: not a JSON object")
            continue
        bad = False
        for key, typ in REQUIRED.items():
            if not isinstance(item.get(key), typ):
                errors.append(f"{where}: field {key!r} missing or not {typ.__name__}")
                bad = True
        if bad:
            continue
        qid = item["id"]
        where = f"{path.name}:{lineno} [{qid}]"
        stats["total"] += 1
        stats["types"][item["question_type"]] = stats["types"].get(item["question_type"], 0) + 1
        if not qid.strip():
            errors.append(f"{where}: empty id")
        if qid in seen_ids:
            errors.append(f"{where}: duplicate id (also {seen_ids[qid]})")
        seen_ids[qid] = where
        qnorm = normalise(item["question"]).lower()
        if not qnorm.endswith("?"):
            errors.append(f"{where}: question does not end with '?'")
        if qnorm in seen_questions:
            errors.append(f"{where}: duplicate question (also {seen_questions[qnorm]})")
        seen_questions[qnorm] = where
        if item["question_type"] not in QUESTION_TYPES:
            errors.append(f"{where}: question_type {item['question_type']!r} not in {sorted(QUESTION_TYPES)}")
        answers, evidence = item["answers"], item["evidence"]
        if not answers or not all(isinstance(a, str) and a.strip() for a in answers):
            errors.append(f"{where}: answers must be a non-empty list of non-empty strings")
            continue
        if not all(isinstance(e, str) and e.strip() for e in evidence):
            errors.append(f"{where}: evidence must hold non-empty strings")
            continue
        if not item["answerable"]:
            stats["unanswerable"] += 1
            if answers != [ABSTAIN_ANSWER]:
                errors.append(f"{where}: unanswerable question must have answers [{ABSTAIN_ANSWER!r}]")
            if evidence:
                errors.append(f"{where}: unanswerable question must have no evidence")
            if item["question_type"] != "unanswerable":
                errors.append(f"{where}: unanswerable question must have question_type 'unanswerable'")
            continue
        stats["answerable"] += 1
        if item["question_type"] == "unanswerable":
            errors.append(f"{where}: answerable question has question_type 'unanswerable'")
        if ABSTAIN_ANSWER in answers:
            errors.append(f"{where}: answerable question lists the abstention answer")
        if not evidence:
            errors.append(f"{where}: answerable question without evidence")
        gold_paragraphs: list[str] = []
        for ev in evidence:
            needle = normalise(ev)
            hits = [(name, p) for name, paras in corpus.items() for p in paras if needle in p]
            if not hits:
                errors.append(f"{where}: evidence not found in any paragraph: {ev[:90]!r}")
                continue
            for name, p in hits:
                stats["files"][name] = stats["files"].get(name, 0) + 1
                gold_paragraphs.append(p)
        if gold_paragraphs:
            text = " ".join(gold_paragraphs).lower()
            if not any(normalise(a).lower() in text for a in answers):
                warnings.append(f"{where}: no answer string occurs in the gold paragraph(s): {answers}")
    return stats


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    repo = here.parent.parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("gold", nargs="*", type=Path, help="gold JSONL files (default: eval/gold/*.jsonl)")
    ap.add_argument("--articles", type=Path, default=repo / "data" / "articles")
    args = ap.parse_args(argv)
    files = args.gold or sorted(here.glob("*.jsonl"))
    corpus = load_corpus(args.articles)
    print(f"corpus: {len(corpus)} files, {sum(len(p) for p in corpus.values())} text blocks in {args.articles}")
    errors: list[str] = []
    warnings: list[str] = []
    seen_ids: dict = {}
    seen_questions: dict = {}
    for path in files:
        stats = check_file(path, corpus, seen_ids, seen_questions, errors, warnings)
        share = stats["unanswerable"] / stats["total"] if stats["total"] else 0.0
        print(f"{path.name}: {stats['total']} questions, {stats['answerable']} answerable, "
              f"{stats['unanswerable']} unanswerable ({share:.0%})")
        print("  types: " + ", ".join(f"{k}={v}" for k, v in sorted(stats["types"].items())))
        print("  evidence hits per file: " + ", ".join(f"{k}={v}" for k, v in sorted(stats["files"].items())))
    for w in warnings:
        print(f"WARNING {w}")
    for e in errors:
        print(f"ERROR {e}")
    print(f"{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
