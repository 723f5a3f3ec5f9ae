"""Article text is data: sentences that address the model are never used as answers."""

from __future__ import annotations

import re

INJECTION = re.compile(
    r"\b(ignore (all |any )?(the )?(previous|prior|above|earlier) (instructions|prompts?)|disregard (the|all|your|any) "
    r"(previous |prior )?(instructions|rules)|reply only with|respond only with|answer only with|you are now|"
    r"system prompt|new instructions|as an ai)\b",
    re.IGNORECASE,
)


def is_injection(text: str) -> bool:
    return bool(INJECTION.search(text))
