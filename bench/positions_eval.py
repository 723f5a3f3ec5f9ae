"""Precision and recall of positions/events extraction against eval/gold/positions-gold.jsonl.

Matching. A predicted position matches a gold one when both are in the same paragraph of
the same article, the actor matches (the predicted actor, any of its aliases or the words
the sentence uses for it, against the gold actor or one of its aliases: equal, or one
contains the other as whole words, case- and apostrophe-insensitive) and the stance
character spans overlap. A predicted event matches when paragraph, normalised date and
precision are equal. Each gold entry is matched at most once.

    python bench/positions_eval.py [--articles data/articles] [--gold eval/gold/positions-gold.jsonl] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from qa_service.loaders import RawArticle, build_article, load_paths
from qa_service.loaders.common import safe_id, slugify
from qa_service.models import Article
from qa_service.positions.extract import extract_article, load_nlp
from qa_service.positions.lexicon import normalise

ROOT = Path(__file__).resolve().parent.parent


def load_articles(path: Path) -> list[Article]:
    """Same ids as ingestion: the feed id if there is one, else the slug of the title."""
    out = []
    for raw in load_paths([path]):
        if isinstance(raw, RawArticle):
            out.append(build_article(raw, safe_id(raw.feed_id) if raw.feed_id else slugify(raw.title)))
    return out


def _key(text: str) -> str:
    return f" {normalise(text).lower()} "


def actor_match(pred_names: list[str], gold_names: list[str]) -> bool:
    for p in pred_names:
        for g in gold_names:
            kp, kg = _key(p), _key(g)
            if kp.strip() and kg.strip() and (kp in kg or kg in kp):
                return True
    return False


def _prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    f1 = round(2 * p * r / (p + r), 3) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": f1,
            "true_positives": tp, "predicted": n_pred, "gold": n_gold}


def evaluate(articles: list[Article], gold: list[dict], nlp) -> dict:
    ids = {g["article_id"] for g in gold}
    articles = [a for a in articles if a.article_id in ids]  # score only labelled articles
    t0 = time.perf_counter()
    extracted = {a.article_id: extract_article(a, nlp) for a in articles}
    seconds = time.perf_counter() - t0
    g_pos = [g for g in gold if g["kind"] == "position" and g["article_id"] in extracted]
    g_ev = [g for g in gold if g["kind"] == "event" and g["article_id"] in extracted]
    used: set[int] = set()
    tp = n_pred = 0
    misses: list[str] = []
    for aid, entries in extracted.items():
        for p in entries.positions:
            n_pred += 1
            num = int(p.paragraph_id.rsplit(":p", 1)[1])
            names = [p.actor, p.actor_text, *p.aliases]
            for i, g in enumerate(g_pos):
                if i in used or g["article_id"] != aid or g["paragraph"] != num:
                    continue
                overlap = p.stance_start < g["stance_end"] and g["stance_start"] < p.stance_end
                if overlap and actor_match(names, [g["actor"], *g["aliases"]]):
                    used.add(i)
                    tp += 1
                    break
            else:
                misses.append(f"false positive {p.paragraph_id}: {p.actor} {p.verb}: {p.stance[:60]}")
    misses += [f"missed {g['article_id']}:p{g['paragraph']}: {g['actor']} {g['verb']}: {g['stance'][:60]}"
               for i, g in enumerate(g_pos) if i not in used]
    positions = _prf(tp, n_pred, len(g_pos))

    used_ev: set[int] = set()
    tp_e = n_e = 0
    for aid, entries in extracted.items():
        for e in entries.events:
            n_e += 1
            num = int(e.paragraph_id.rsplit(":p", 1)[1])
            for i, g in enumerate(g_ev):
                if i not in used_ev and (g["article_id"], g["paragraph"], g["date"], g["precision"]) == (
                    aid, num, e.date, e.precision
                ):
                    used_ev.add(i)
                    tp_e += 1
                    break
            else:
                misses.append(f"false event {e.paragraph_id}: {e.date} ({e.date_text})")
    misses += [f"missed event {g['article_id']}:p{g['paragraph']}: {g['date']} ({g['date_text']})"
               for i, g in enumerate(g_ev) if i not in used_ev]
    return {"articles": len(articles), "extract_seconds": round(seconds, 2), "positions": positions,
            "events": _prf(tp_e, n_e, len(g_ev)), "errors": misses}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=Path, default=ROOT / "data" / "articles")
    ap.add_argument("--gold", type=Path, default=ROOT / "eval" / "gold" / "positions-gold.jsonl")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    gold = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = evaluate(load_articles(args.articles), gold, load_nlp())
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for line in report["errors"]:
        print("  " + line)
    print(f"articles: {report['articles']}  extraction: {report['extract_seconds']} s")
    for kind in ("positions", "events"):
        r = report[kind]
        print(f"{kind:9s} precision {r['precision']:.3f}  recall {r['recall']:.3f}  f1 {r['f1']:.3f}  "
              f"({r['true_positives']} of {r['predicted']} predicted, {r['gold']} gold)")


if __name__ == "__main__":
    main()
