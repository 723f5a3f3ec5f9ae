"""Word lists the rules rely on: stance verbs, topics, and where institutions belong."""

from __future__ import annotations

import re

from qa_service.text import STANCE_VERBS, name_key

__all__ = ["STANCE_VERBS", "normalise"]

# Verbs that are stance verbs only with a clause after them ("added that ..."), not "adds uncertainty".
CCOMP_ONLY = frozenset({"add", "note", "signal", "agree", "tell", "describe", "express", "suggest", "support",
                        "back", "question", "request", "predict", "believe"})
# Verbs that need their particle or preposition to mean a stance: "call for", "call on".
PHRASAL = {"call": {"for", "on"}}

# Heads of subject phrases that name a body even when no entity is tagged ("the nurses' union").
ORG_NOUNS = frozenset("""union association federation ministry council government agency company party
    committee
    institute alliance group coalition commission authority court regulator operator bank board""".split())

PRONOUNS_PERSON = {"he", "she", "him", "her"}

# Checked in order; the first that matches a stance names its topic.
TOPICS: list[tuple[str, re.Pattern[str]]] = [
    (label, re.compile(rx, re.IGNORECASE))
    for label, rx in [
        ("NATO membership", r"\bmembership\b|\bjoin(?:ing)? (?:NATO|the Alliance)|\baccession\b|"
                            r"within the Alliance|NATO aspirations|NATO's reach|NATO’s reach"),
        ("territory", r"\bterritor"),
        ("peace talks", r"\bpeace\b|negotiat|\btalks\b|cease-?fire|\btruce\b|end the war"),
        ("military aid", r"military aid|weapons|\barms\b|air defen[cs]e|"
                         r"military (?:support|strength|capacity)|"
                         r"contributions|\baid\b|\bsupport\b|defen[cs]e capabilit|what it needs"),
        ("security", r"\bsecurity\b|\bthreat"),
        ("escalation", r"escalat"),
        ("sanctions", r"\bsanction"),
        ("economy", r"econom|inflation|interest rate|\bgrowth\b|\bGDP\b|\bjobs?\b|unemployment|budget|\btax"),
        ("trade", r"\btariff|\btrade\b|exports?|imports?"),
        ("elections", r"election|\bvot(?:e|ers|ing)\b|campaign"),
        ("climate", r"climate|emission|carbon"),
        ("energy", r"\benergy\b|\boil\b|\bgas\b"),
        ("health", r"\bhealth|\bNHS\b|hospital|vaccin"),
        ("technology", r"technolog|\bsoftware\b|\bAI\b|internet"),
    ]
]


def topic_of(text: str) -> str | None:
    for label, rx in TOPICS:
        if rx.search(text):
            return label
    return None


# Institutions, capitals and demonyms -> the country or body they stand for.
BELONGS_TO: dict[str, str] = {
    "kremlin": "Russia", "moscow": "Russia", "russian": "Russia", "russians": "Russia",
    "kyiv": "Ukraine", "kiev": "Ukraine", "ukrainian": "Ukraine", "ukrainians": "Ukraine",
    "white house": "United States", "washington": "United States", "american": "United States",
    "u.s.": "United States", "us": "United States", "united states": "United States",
    "pentagon": "United States", "state department": "United States",
    "beijing": "China", "chinese": "China", "pyongyang": "North Korea", "north korean": "North Korea",
    "british": "United Kingdom", "uk": "United Kingdom", "downing street": "United Kingdom",
    "german": "Germany", "berlin": "Germany", "french": "France", "paris": "France", "elysee": "France",
    "dutch": "Netherlands", "israeli": "Israel", "iranian": "Iran", "turkish": "Turkey", "polish": "Poland",
    "alliance": "NATO", "nato": "NATO", "eu": "EU", "european union": "EU", "brussels": "EU",
    "european commission": "EU", "un": "UN", "united nations": "UN",
}

# "the organization's new Secretary General": which earlier named body "the organization" is.
GENERIC_ORG_NOUNS = {"organization", "organisation", "alliance", "bloc", "group", "company", "party",
                     "union", "agency", "government", "ministry", "firm", "body"}


def belongs_to(name: str) -> str | None:
    return BELONGS_TO.get(normalise(name).lower())


normalise = name_key  # the key form of a name lives in qa_service.text
