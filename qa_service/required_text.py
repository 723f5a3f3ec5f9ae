"""The text a regular expression cannot match without, found from its parse tree.

`required_text(p)` gives sets of strings such that whenever `p.search(text)` matches, `fold(text)`
contains at least one string of each set. `Screen` finds them all in one pass, and a caller runs
an expression only when its strings are there. The injection screen (safety.py) runs 62
expressions over every sentence of every retrieved paragraph; a news sentence holds the words
of only a few of them.

Sound under IGNORECASE: `fold` lowers text as the regex engine compares it (one character at a
time, "İ" as "i") and merges the characters it treats as one case ("ſ" with "s", "ς" with "σ").
"""

from __future__ import annotations

import re
from re import _casefix, _constants, _parser  # type: ignore[attr-defined]
from typing import Any

# Each character the engine matches case-insensitively with another whose lower case differs:
# all of one group go to the group's lowest code point.
_FOLD: dict[int, int] = {}
for _lower, _extras in _casefix._EXTRA_CASES.items():
    _group = {_lower, *_extras}
    for _cp in _group:
        if _cp != min(_group):
            _FOLD[_cp] = min(_group)

MIN_LENGTH = 3  # shorter required strings are in almost every sentence: no filter


def fold(text: str) -> str:
    # str.lower() turns "İ" into "i" + a combining dot; the engine's per-character lowering gives "i".
    return text.replace("\u0130", "i").lower().translate(_FOLD)


def required_text(pattern: re.Pattern[str]) -> tuple[frozenset[str], ...]:
    """Sets of strings of which a match needs one each (all the sets), the rarest first. Empty when
    nothing is required (the expression always runs)."""
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags)
    except Exception:  # noqa: BLE001 - an unexpected tree: no filter, the expression always runs
        return ()
    return tuple(sorted(set(_sequence(list(tree))), key=_cost))


class Screen:
    """Which of many expressions could match a text, from one pass over it: every string any of
    them requires goes into one Aho-Corasick automaton (pyahocorasick), and an expression could
    match when the text holds a string of each of its sets."""

    def __init__(self, patterns: list[re.Pattern[str]]) -> None:
        import ahocorasick

        self.automaton = ahocorasick.Automaton()
        ids: dict[str, int] = {}
        self.required: dict[re.Pattern[str], tuple[frozenset[int], ...]] = {}
        for p in patterns:
            # Sets of common words only are left out: nearly every sentence holds one, and finding
            # each of their many occurrences costs more than they filter.
            self.required[p] = tuple(frozenset(ids.setdefault(s, len(ids)) for s in need)
                                     for need in required_text(p) if _cost(need) < len(need))
        for s, i in ids.items():
            self.automaton.add_word(s, i)
        self.empty = not ids
        if not self.empty:
            self.automaton.make_automaton()
        # Looked up from the strings found, not from every expression: a sentence holds few of them.
        self.always = frozenset(p for p, need in self.required.items() if not need)
        self.users: dict[int, list[re.Pattern[str]]] = {}
        for p, need in self.required.items():
            for i in frozenset().union(*need):
                self.users.setdefault(i, []).append(p)

    def possible(self, folded: str) -> set[re.Pattern[str]]:
        """The expressions that could match the text `folded` (as `fold` gives it)."""
        if self.empty:
            return set(self.always)
        found = {i for _, i in self.automaton.iter(folded)}
        out = set(self.always)
        for p in {p for i in found for p in self.users[i]}:
            if all(not n.isdisjoint(found) for n in self.required[p]):
                out.add(p)
        return out


# Words in most sentences: a requirement of them filters little (for choosing between the
# alternatives' requirements, never for soundness).
_COMMON = frozenset("the you your for that which who with all any each every this what are have will "
                    "from its just only after before said says told".split())


def _cost(need: frozenset[str]) -> float:
    """How likely a sentence holds one of the strings: common words count fully, others by length."""
    return sum(1.0 if s.strip() in _COMMON else 4.0 ** -len(s.strip()) for s in need)


def _best(candidates: list[frozenset[str]]) -> frozenset[str] | None:
    return min(candidates, key=_cost, default=None)


def _sequence(items: list[tuple[Any, Any]]) -> list[frozenset[str]]:
    """Requirements of a sequence's mandatory parts (each part must match for the whole to)."""
    candidates: list[frozenset[str]] = []
    run = ""

    def flush() -> None:
        nonlocal run
        if run:
            candidates.append(frozenset({fold(run)}))
        run = ""

    for op, av in items:
        if op is _constants.LITERAL:
            run += chr(av)
            continue
        if op is _constants.AT:  # \b, ^, $: zero-width between two literals, which stay adjacent
            continue
        flush()
        if op is _constants.SUBPATTERN:
            candidates += _sequence(list(av[3]))
        elif op is _constants.ATOMIC_GROUP:
            candidates += _sequence(list(av))
        elif op is _constants.BRANCH:
            need = _either([_best(_sequence(list(alt))) for alt in av[1]])
            if need is not None:
                candidates.append(need)
        elif op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT, _constants.POSSESSIVE_REPEAT) and av[0] >= 1:
            candidates += _sequence(list(av[2]))
        # Anything else requires nothing here: character sets and classes, optional repeats,
        # look-arounds (they consume nothing), back-references.
    flush()
    return [c for c in candidates if min(map(len, c)) >= MIN_LENGTH]


def _either(alternatives: list[frozenset[str] | None]) -> frozenset[str] | None:
    """One of the alternatives matches: the union of their requirements, if each has one."""
    if not alternatives or any(a is None for a in alternatives):
        return None
    return frozenset().union(*[a for a in alternatives if a is not None])
