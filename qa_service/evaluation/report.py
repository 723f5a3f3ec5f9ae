"""Write an evaluation run to disk: summary.json, results.jsonl, plots, report.md, report.html."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402

from qa_service.evaluation.runner import RANK_CUTOFF, QuestionResult  # noqa: E402
from qa_service.evaluation.summary import WALL, calibration_bins, retrieval_keys  # noqa: E402

DEFINITIONS: list[tuple[str, str]] = [
    (
        "holds",
        "A paragraph holds an evidence string when, after normalisation (Unicode NFKC; curly quotes and "
        "apostrophes to straight ones; all dashes to '-'; whitespace runs to one space; case-folded), the "
        "evidence is a substring of the paragraph. "
        "Evidence strings that normalise to the same text count once.",
    ),
    (
        "ranked list",
        "Retrieval metrics use the paragraphs the service returned for the question: Answer.retrieved when "
        f"it holds at least max(k, {RANK_CUTOFF}) paragraphs, otherwise service.search(standalone question, "
        f"max(k, {RANK_CUTOFF})). results.jsonl records which (`retrieval_source`) and the list itself.",
    ),
    (
        "evidence recall@k",
        "Share of a question's evidence strings held by at least one of the top k paragraphs; "
        "mean over answerable questions with evidence.",
    ),
    (
        "all-evidence hit@k",
        "1 if every evidence string is held within the top k, else 0; mean over the same questions.",
    ),
    (
        "MRR@10",
        "Reciprocal rank of the first paragraph holding any evidence string (0 if none in the top 10).",
    ),
    (
        "nDCG@10",
        "Binary gain: a paragraph scores 1 when it holds an evidence string that no higher-ranked paragraph "
        "held (duplicates earn nothing), discounted by 1/log2(rank+1). Ideal: one paragraph per evidence "
        "string at ranks 1..min(#evidence, 10).",
    ),
    (
        "citation precision",
        "Share of distinct cited paragraphs holding some evidence string of the question; "
        "mean over answerable questions with at least one citation.",
    ),
    (
        "citation recall",
        "Share of evidence strings held by some cited paragraph; mean over all answerable "
        "questions (an abstention or an answer without citations scores 0).",
    ),
    (
        "quote validity",
        "Share of all citations (all questions pooled) whose quote stands verbatim at its "
        "offsets: paragraph_text[start:end] == quote, no normalisation. Must be 1.0.",
    ),
    (
        "answer match",
        "Over answerable questions. Text normalised as above, [n] markers removed, punctuation turned into "
        "spaces. Yes/no questions (every gold answer is 'yes' or every one 'no'): the answer's first "
        "word must be that polarity. Others: some gold answer occurs in the answer as a whole-word sequence.",
    ),
    (
        "abstention precision / recall / F1",
        "Positive class = the question should be abstained on (answerable is false); predicted positive = "
        "Answer.abstained. Precision = TP/(TP+FP) (null with no abstentions), recall = TP/(TP+FN) (null with "
        "no unanswerable questions), F1 = 2TP/(2TP+FP+FN).",
    ),
    (
        "latency",
        "Per step from Answer.timings plus `ask_wall` (wall clock around ask()); median and p95 "
        "with linear interpolation between closest ranks.",
    ),
    (
        "tokens",
        "prompt_tokens / completion_tokens from Answer.diagnostics (counted with tiktoken by LLM "
        "generators); absent for the extractive generator.",
    ),
]


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def write_results(path: Path, results: Sequence[QuestionResult]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for result in results:
            handle.write(json.dumps(result.model_dump(mode="json"), ensure_ascii=False) + "\n")


def read_results(path: Path) -> list[QuestionResult]:
    with path.open(encoding="utf-8") as handle:
        return [QuestionResult.model_validate_json(line) for line in handle if line.strip()]


def _save(fig: Any, ax: Any, title: str, path: Path) -> None:
    """Every plot ends the same way: titled, laid out, written at one resolution, closed."""
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _plot_recall(summary: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    curves = {"this run": summary["retrieval"]["recall_curve"]}
    for name, block in (summary.get("compare") or {}).items():
        curves[name] = block["recall_curve"]
    for name, curve in curves.items():
        xs = [int(x) for x in curve]
        ys = [curve[x] if curve[x] is not None else float("nan") for x in curve]
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    ax.set_xlabel("k")
    ax.set_ylabel("evidence recall@k")
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, ax, "Evidence recall@k (answerable questions)", path)


def _plot_scores(results: Sequence[QuestionResult], threshold: float | None, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    groups = {
        "answerable": [r.metrics.get("support_score") for r in results if r.answerable],
        "unanswerable": [r.metrics.get("support_score") for r in results if not r.answerable],
    }
    for name, values in groups.items():
        kept = [v for v in values if v is not None]
        if kept:
            ax.hist(kept, bins=20, alpha=0.6, label=f"{name} (n={len(kept)})")
    if threshold is not None:
        ax.axvline(threshold, color="black", linestyle="--", label=f"abstain threshold = {threshold:g}")
    sources = sorted({str(r.metrics.get("support_score_from")) for r in results})
    ax.set_xlabel(f"support score ({', '.join(sources)})")
    ax.set_ylabel("questions")
    ax.legend()
    _save(fig, ax, "Scores: answerable vs unanswerable", path)


def _plot_calibration(results: Sequence[QuestionResult], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 4))
    bins = calibration_bins(results)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    if bins:
        ax.plot([b["mean_score"] for b in bins], [b["answerable"] for b in bins], marker="o", label="this run")
        for b in bins:
            ax.annotate(f"n={b['n']}", (b["mean_score"], b["answerable"]), fontsize=8,
                        textcoords="offset points", xytext=(4, -10))
    ax.set_xlabel("answerability probability (support score)")
    ax.set_ylabel("share of questions answerable")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, ax, "Calibration", path)


def _plot_latency(results: Sequence[QuestionResult], summary: dict[str, Any], path: Path) -> None:
    fig, ax = plt.subplots(figsize=(6, 4))
    values = [r.latency_s for r in results if r.latency_s is not None]
    if values:
        ax.hist(values, bins=30, color="tab:blue", alpha=0.8)
        stats = summary["latency_s"][WALL]
        ax.axvline(stats["median"], color="black", linestyle="--", label=f"median {stats['median']:.3f}s")
        ax.axvline(stats["p95"], color="red", linestyle=":", label=f"p95 {stats['p95']:.3f}s")
        ax.legend()
    ax.set_xlabel("seconds per question (wall clock around ask)")
    ax.set_ylabel("questions")
    _save(fig, ax, "Latency", path)


def _plot_types(summary: dict[str, Any], path: Path) -> None:
    k = summary["k"]
    keys = [f"evidence_recall@{k}", f"mrr@{RANK_CUTOFF}", "answer_match", "abstention_rate"]
    types = list(summary["by_type"])
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(types)), 4))
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        ys = [summary["by_type"][t][key] or 0.0 for t in types]
        ax.bar([x + i * width for x in range(len(types))], ys, width, label=key)
    ax.set_xticks([x + width * (len(keys) - 1) / 2 for x in range(len(types))])
    ax.set_xticklabels([f"{t}\n(n={summary['by_type'][t]['n_questions']})" for t in types], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=len(keys))
    _save(fig, ax, "By question type", path)


PLOTS = {
    "recall_at_k.png": "Evidence recall@k",
    "scores.png": "Score distributions, answerable vs unanswerable",
    "calibration.png": "Calibration: answerability probability vs share answerable",
    "latency.png": "Latency histogram",
    "by_type.png": "Metrics by question type",
}


def _tables(summary: dict[str, Any]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) for both report formats."""
    k = summary["k"]
    r, c, a, ab = summary["retrieval"], summary["citations"], summary["answers"], summary["abstention"]
    tables = [
        (
            "Headline",
            ["metric", "value"],
            [
                *[[key, _fmt(r[key])] for key in retrieval_keys(k)],
                ["citation precision", _fmt(c["citation_precision"])],
                ["citation recall", _fmt(c["citation_recall"])],
                ["quote validity", f"{_fmt(c['quote_validity'])} ({c['n_citations']} citations)"],
                ["answer match", _fmt(a["answer_match"])],
                [
                    "answer match, yes/no",
                    f"{_fmt(a['yes_no']['answer_match'])} (n={a['yes_no']['n_questions']})",
                ],
                [
                    "answer match, other",
                    f"{_fmt(a['other']['answer_match'])} (n={a['other']['n_questions']})",
                ],
                ["abstention precision", _fmt(ab["precision"])],
                ["abstention recall", _fmt(ab["recall"])],
                [
                    "abstention F1",
                    f"{_fmt(ab['f1'])} (TP {ab['tp']}, FP {ab['fp']}, FN {ab['fn']}, TN {ab['tn']})",
                ],
            ],
        ),
        (
            "Latency (seconds)",
            ["step", "median", "p95", "n"],
            [[s, _fmt(v["median"]), _fmt(v["p95"]), str(v["n"])] for s, v in summary["latency_s"].items()],
        ),
        (
            "By question type",
            ["type", "n", *retrieval_keys(k), "answer match", "abstention rate"],
            [
                [
                    t,
                    str(v["n_questions"]),
                    *[_fmt(v[key]) for key in retrieval_keys(k)],
                    _fmt(v["answer_match"]),
                    _fmt(v["abstention_rate"]),
                ]
                for t, v in summary["by_type"].items()
            ],
        ),
    ]
    if summary.get("tokens"):
        tables.append(
            (
                "Tokens",
                ["kind", "total", "mean", "n"],
                [
                    [kind, _fmt(v["total"]), _fmt(v["mean"]), str(v["n"])]
                    for kind, v in summary["tokens"].items()
                ],
            )
        )
    if summary.get("compare"):
        tables.append(
            (
                "Retrieval comparison (same index, same run)",
                ["variant", *retrieval_keys(k), "n", "search p50 (s)"],
                [
                    [
                        name,
                        *[_fmt(v[key]) for key in retrieval_keys(k)],
                        str(v["n_questions"]),
                        _fmt(v.get("search_latency_median_s")),
                    ]
                    for name, v in summary["compare"].items()
                ],
            )
        )
    return tables


def _header_lines(summary: dict[str, Any]) -> list[str]:
    run = summary.get("run", {})
    lines = [f"{key}: {value}" for key, value in run.items()]
    lines.append(
        f"questions: {summary['n_questions']} ({summary['n_answerable']} answerable, "
        f"{summary['n_unanswerable']} unanswerable, {summary['n_errors']} errors)"
    )
    if summary.get("invalid_lines"):
        lines.append("invalid dataset lines: " + ", ".join(str(x["line"]) for x in summary["invalid_lines"]))
    return lines


def render_markdown(summary: dict[str, Any]) -> str:
    out = ["# Evaluation report", ""]
    out += [f"- {line}" for line in _header_lines(summary)] + [""]
    for title, header, rows in _tables(summary):
        out += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(row) + " |" for row in rows]
        out.append("")
    out += ["## Plots", ""]
    out += [f"![{label}]({name})" for name, label in PLOTS.items()]
    out += ["", "## Metric definitions", ""]
    out += [f"- **{name}**: {text}" for name, text in DEFINITIONS]
    return "\n".join(out) + "\n"


def render_html(summary: dict[str, Any]) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Evaluation report</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
        "text-align:left}th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee}</style>",
        "</head><body><h1>Evaluation report</h1><ul>",
        *[f"<li>{esc(line)}</li>" for line in _header_lines(summary)],
        "</ul>",
    ]
    for title, header, rows in _tables(summary):
        parts.append(f"<h2>{esc(title)}</h2><table><tr>")
        parts += [f"<th>{esc(h)}</th>" for h in header]
        parts.append("</tr>")
        for row in rows:
            parts.append("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>")
        parts.append("</table>")
    parts.append("<h2>Plots</h2>")
    parts += [
        f"<figure><img src='{name}' alt='{esc(label)}'><figcaption>{esc(label)}</figcaption></figure>"
        for name, label in PLOTS.items()
    ]
    parts.append("<h2>Metric definitions</h2><dl>")
    parts += [f"<dt><b>{esc(name)}</b></dt><dd>{esc(text)}</dd>" for name, text in DEFINITIONS]
    parts.append("</dl></body></html>")
    return "\n".join(parts) + "\n"


def write_report(
    out_dir: Path,
    summary: dict[str, Any],
    results: Sequence[QuestionResult],
    threshold: float | None,
    compare_results: Mapping[str, Sequence[QuestionResult]] | None = None,
) -> list[Path]:
    """Write every output file into out_dir; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = [out_dir / "summary.json", out_dir / "results.jsonl"]
    written[0].write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    write_results(written[1], results)
    for name, variant in (compare_results or {}).items():
        (out_dir / "compare").mkdir(exist_ok=True)
        path = out_dir / "compare" / f"{name}.jsonl"
        write_results(path, variant)
        written.append(path)
    _plot_recall(summary, out_dir / "recall_at_k.png")
    _plot_scores(results, threshold, out_dir / "scores.png")
    _plot_calibration(results, out_dir / "calibration.png")
    _plot_latency(results, summary, out_dir / "latency.png")
    _plot_types(summary, out_dir / "by_type.png")
    written += [out_dir / name for name in PLOTS]
    (out_dir / "report.md").write_text(render_markdown(summary), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(summary), encoding="utf-8")
    written += [out_dir / "report.md", out_dir / "report.html"]
    return written
