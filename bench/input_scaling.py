"""How parse and chunk time grow with input size: linear means each doubling doubles the time.

Cases (each at sizes n, 2n, 4n, ...; the time bounds in tests/test_chunking.py and
tests/test_loaders.py come from these figures, with a wide margin):

- chunking one long paragraph into token windows (Chunker.windows, the real tokenizer);
- the markdown loader on adversarial input (emphasis markers, unclosed links, brackets);
- decoding a file with a stray non-UTF-8 byte every 200 bytes.

    python bench/input_scaling.py                  # all cases
    python bench/input_scaling.py --case chunking --max-mb 4
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from qa_service.chunking import Chunker
from qa_service.config import Settings
from qa_service.embeddings import SentenceTransformerEmbeddings
from qa_service.loaders.common import decode_bytes
from qa_service.loaders.markdown import parse_markdown


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def sizes(start: int, limit: int) -> list[int]:
    out = [start]
    while out[-1] * 2 <= limit:
        out.append(out[-1] * 2)
    return out


def chunking(max_bytes: int) -> list[dict[str, float]]:
    settings = Settings()
    embedder = SentenceTransformerEmbeddings.from_settings(settings)
    chunker = Chunker(embedder.tokenizer, settings.chunk_max_tokens, settings.chunk_overlap_tokens,
                      embedder.max_seq_length, with_header=False)
    rows = []
    for n in sizes(250_000, max_bytes):
        text = " ".join(f"word{i} alpha beta gamma" for i in range(n // 27 + 1))[:n]
        rows.append({"chars": len(text), "seconds": round(timed(partial(chunker.windows, text, 198)), 2)})
    return rows


MARKDOWN = {
    "italic markers": "*a ",
    "bold markers": "**a ",
    "unclosed links": "[a](",
    "emphasis pairs": "*_",
}


def markdown(max_bytes: int) -> dict[str, list[dict[str, float]]]:
    out = {}
    for name, unit in MARKDOWN.items():
        rows = []
        for n in sizes(60_000, max_bytes):
            text = "# T\n\n" + unit * (n // len(unit))
            rows.append({"chars": len(text),
                         "seconds": round(timed(partial(parse_markdown, text, Path("t.md"))), 2)})
        out[name] = rows
    return out


def decoding(max_bytes: int) -> list[dict[str, float]]:
    rows = []
    line = b"Caf\xe9 " + b"x" * 190 + b"\n\n"
    for n in sizes(1_000_000, max_bytes):
        data = b"Headline\n\n" + line * (n // len(line))
        rows.append({"bytes": len(data), "seconds": round(timed(partial(decode_bytes, data, "x.txt")), 3)})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--case", choices=["chunking", "markdown", "decoding"], action="append")
    parser.add_argument("--max-mb", type=float, default=4.0, help="largest chunking/decoding input")
    parser.add_argument("--max-markdown-kb", type=float, default=960.0, help="largest markdown input")
    args = parser.parse_args()
    if not (0 < args.max_mb <= 64 and 0 < args.max_markdown_kb <= 16_000):
        parser.error("--max-mb up to 64, --max-markdown-kb up to 16000 (a bounded benchmark)")
    cases = args.case or ["chunking", "markdown", "decoding"]
    out: dict[str, object] = {}
    if "chunking" in cases:
        out["chunking"] = chunking(int(args.max_mb * 1_000_000))
    if "markdown" in cases:
        out["markdown"] = markdown(int(args.max_markdown_kb * 1000))
    if "decoding" in cases:
        out["decoding"] = decoding(int(args.max_mb * 1_000_000))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
