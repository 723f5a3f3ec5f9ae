"""Actors a question names, however it names them: full name, surname, alias, or a role.

Readers write "NATO's chief" for Mark Rutte, "Moscow's spokesman" for Dmitry Peskov,
"the Kremlin" or "Kyiv" for a government. The positions layer records each actor's
aliases, role and affiliations at ingest; this module turns those records into the
set of strings that count as naming the actor in a candidate answer sentence.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from qa_service.positions.models import ActorRecord
from qa_service.text import PLACE_KINDS, STOP_WORDS, can_name, plain

# Role words a question may use for a person, and the role wordings they stand for.
COUNTRY_KINDS = frozenset({"GPE", "NORP"})  # what names a country: its own name, or its people's
_GENERIC_LEADER = ("chief", "head", "leader", "boss", "top official", "chair")
_LEADER_ROLES = ("secretary general", "secretary-general", "president", "prime minister", "chancellor",
                 "chief", "head", "leader", "chairman", "chairwoman", "chair", "director", "ceo",
                 "chief executive", "premier", "king", "queen", "governor", "mayor", "commissioner")
_TITLES = ("secretary general", "secretary-general", "spokesman", "spokeswoman", "spokesperson",
           "foreign minister", "prime minister", "minister", "president", "chancellor", "ambassador",
           "envoy", "representative", "commander", "director", "chairman", "ceo", "chief executive",
           "secretary of state", "secretary", "governor", "mayor", "commissioner", "premier", "coach",
           "manager", "captain", "spokes")


_norm = plain
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ActorMention:
    text: str  # the question's words for the actor
    start: int
    end: int
    name: str  # canonical actor name
    keys: tuple[str, ...]  # lower-case strings that name this actor in a sentence


class ActorDirectory:
    """Built from the positions layer's actor records; rebuilt when they change.

    A small directory is rebuilt on the question's thread, so an answer sees an article's actors
    as soon as it is indexed. A large one (14k actors at 100k paragraphs: about 1 s to read and
    index) is rebuilt in the background while questions use the one before: during a bulk ingest
    the records change with every article, and every question would otherwise wait for a
    rebuild. Background rebuilds run one at a time and at most one per `_GAP` build times, so
    they take at most a fifth of a core; the directory then lags the records by a few seconds.
    """

    _SYNC_S = 0.05  # builds up to this long happen on the question's thread
    _GAP = 5.0  # a background rebuild starts at least this many build times after the last began

    def __init__(self, records: Callable[[], list[ActorRecord]], version: Callable[[], object]) -> None:
        self._records = records
        self._version = version
        self._seen: object = object()
        self._index: _Index | None = None
        self._lock = threading.Lock()
        self._build_s = 0.0  # how long the last build took
        self._began = float("-inf")  # monotonic time the last build began
        self._building = False  # a background rebuild is running
        self._tickets = itertools.count(1)  # builds in the order they began
        self._kept = 0  # ticket of the build in use: a slower earlier build never replaces a later one

    def _current(self) -> _Index:
        version = self._version()
        with self._lock:
            index = self._index
            if index is not None and version == self._seen:
                return index
            if index is not None and self._build_s > self._SYNC_S:
                now = time.monotonic()
                if not self._building and now - self._began >= self._GAP * self._build_s:
                    self._building = True
                    threading.Thread(target=self._rebuild, args=(version,), daemon=True,
                                     name="actor-directory").start()
                return index  # the one before, meanwhile
        return self._build(version)

    def _build(self, version: object) -> _Index:
        began = time.monotonic()
        with self._lock:
            ticket = next(self._tickets)
            self._began = began  # also when it fails: the next background try waits its turn
        index = _Index(self._records())  # records read after `version`: never older than it says
        with self._lock:
            if ticket > self._kept:
                self._index, self._seen, self._kept = index, version, ticket
                self._build_s = time.monotonic() - began
        return index

    def _rebuild(self, version: object) -> None:
        try:
            self._build(version)
        except Exception:  # the questions keep the directory before; the next change tries again
            log.exception("rebuilding the actor directory failed")
        finally:
            with self._lock:
                self._building = False

    def mentions(self, question: str) -> list[ActorMention]:
        return self._current().mentions(question)

    def places(self, text: str, kinds: frozenset[str] = COUNTRY_KINDS) -> frozenset[str]:
        """The directory the question's own look-up refreshed (no version query per sentence)."""
        index = self._index
        return (index if index is not None else self._current()).places(text, kinds)


class _Index:
    def __init__(self, records: list[ActorRecord]) -> None:
        self.records = records
        self.by_name = {r.name.lower(): r for r in records}
        # An affiliation group: a body or country with the names that stand for it.
        self.group: dict[str, set[str]] = {}
        # And the other way: each name to the records whose group holds it (`_members`), built
        # once here; a scan of every group per affiliation per question cost ~0.3 s at 100k chunks.
        self.members: dict[str, set[str]] = {}
        for r in records:
            g = {r.name.lower(), *(a.lower() for a in r.affiliations)}
            self.group[r.name.lower()] = g
        for name, g in self.group.items():
            for member in g:
                self.members.setdefault(member, set()).add(name)
        # Each record's names, normalised once: a question then costs one find per name.
        self.patterns = [(r, [(n, f" {_norm(n).strip()} ") for n in self.names(r)]) for r in records]
        # (record, name) positions by the name's first word: a question looks up its own words
        # instead of trying every name (~10k finds, 10 ms per question at 100k chunks).
        self.by_first_word: dict[str, list[tuple[int, int]]] = {}
        for ri, (_, names) in enumerate(self.patterns):
            for ni, (_, pattern) in enumerate(names):
                if pattern.strip():
                    self.by_first_word.setdefault(pattern.split()[0], []).append((ri, ni))
        # Per question, work grows with the names it holds, not with the corpus (14k actors at
        # 100k chunks): records by lower-case name, persons by affiliation and by the titles
        # their role fits.
        self.rows: dict[str, list[int]] = {}
        self.by_affiliation: dict[str, list[int]] = {}
        self.by_title: dict[str, list[int]] = {t: [] for t in (*_GENERIC_LEADER, *_TITLES)}
        for ri, r in enumerate(records):
            self.rows.setdefault(r.name.lower(), []).append(ri)
            if r.kind != "PERSON":
                continue
            for a in dict.fromkeys(a.lower() for a in r.affiliations):
                self.by_affiliation.setdefault(a, []).append(ri)
            if r.role:
                role = r.role.lower()
                leads = any(x in role for x in _LEADER_ROLES)
                for title, held in self.by_title.items():
                    if title in role or (leads and title in _GENERIC_LEADER):
                        held.append(ri)
        self._keys: dict[str, tuple[str, ...]] = {}
        self._places: dict[str, frozenset[tuple[str, str]]] = {}  # sentence -> (place, kind), this generation

    def places(self, text: str, kinds: frozenset[str] = COUNTRY_KINDS) -> frozenset[str]:
        """The countries, cities and peoples (spaCy's GPE, NORP; `kinds` of them) a sentence names,
        written capitalised: "a former Dutch Prime Minister" names a country by its people. Kept per
        sentence (the same paragraphs come back for many questions), at most 8,192 of them."""
        text = text[:2000]  # bounded work per sentence, whatever the paragraph
        known = self._places.get(text)
        if known is None:
            known = self._places_in(text)
        return frozenset(name for name, kind in known if kind in kinds)

    def _places_in(self, text: str) -> frozenset[tuple[str, str]]:
        hay_dotted = _norm(text)
        hay = re.sub(r"\.(?= )", " ", hay_dotted)  # "Europe." ends a sentence; "u.s." stays in hay_dotted
        found: set[tuple[str, str]] = set()
        for word in set(hay.split()) | set(hay_dotted.split()):
            for ri, ni in self.by_first_word.get(word, ()):
                r, names = self.patterns[ri]
                name, pattern = names[ni]
                if (r.kind in COUNTRY_KINDS and (pattern in hay or pattern in hay_dotted)
                        and _capitalised_in(name, text)):
                    found.add((r.name, r.kind))
        if len(self._places) >= 8192:
            self._places.clear()
        self._places[text] = out = frozenset(found)
        return out

    def names(self, r: ActorRecord) -> list[str]:
        out = [r.name, *r.aliases]
        if r.kind == "PERSON" and " " in r.name:
            out.append(r.name.split()[-1])
        # Never a name of stop words only (the surname "the" of a badly cut "Alan Milburn - the"),
        # unless written as an acronym ("WHO").
        kept = (plain(n).strip() for n in out if n.isupper() or not all(w in STOP_WORDS for w in plain(n).split()))
        return [n for n in dict.fromkeys(kept) if len(n) > 2]

    def keys_for(self, r: ActorRecord) -> tuple[str, ...]:
        if r.name not in self._keys:
            self._keys[r.name] = self._compute_keys(r)
        return self._keys[r.name]

    def _compute_keys(self, r: ActorRecord) -> tuple[str, ...]:
        keys = self.names(r)
        own = r.name.lower()
        if r.kind in ("GPE", "NORP"):
            # A country or capital is named by its government, people and officials ("Moscow"
            # by the Kremlin and its spokesman): everything affiliated with the same country.
            group = self.group.get(own, {own})
            sharing = {ri for m in group for name in self.members.get(m, ()) for ri in self.rows[name]}
            keys += [n for ri in sorted(sharing) if self.records[ri] is not r for n in self.names(self.records[ri])]
        elif r.kind != "PERSON":
            # A body is named by its own people ("the Kremlin" by its spokesman), not by its country.
            keys += [n for ri in self.by_affiliation.get(own, ()) for n in self.names(self.records[ri])]
        return tuple(dict.fromkeys(keys))

    def mentions(self, question: str) -> list[ActorMention]:
        hay = _norm(question)
        # record -> (its first name, in `names` order, that the question holds; where)
        first_name: dict[int, tuple[int, int]] = {}
        for word in set(hay.split()):
            for ri, ni in self.by_first_word.get(word, ()):
                if ni >= first_name.get(ri, (ni + 1, 0))[0]:
                    continue
                name, pattern = self.patterns[ri][1][ni]
                pos = hay.find(pattern)
                if pos >= 0 and can_name(name, question, place=self.patterns[ri][0].kind in PLACE_KINDS):
                    first_name[ri] = (ni, pos)
        found: list[ActorMention] = []
        for ri in sorted(first_name):
            r, names = self.patterns[ri]
            ni, pos = first_name[ri]
            name = names[ni][0]
            found.append(ActorMention(text=name, start=pos, end=pos + len(name) + 1, name=r.name,
                                      keys=self.keys_for(r)))
        found += self._by_role(hay)
        # Longest mention wins where two overlap ("Kremlin" inside "Kremlin spokesman").
        found.sort(key=lambda m: (m.start, -(m.end - m.start)))
        out: list[ActorMention] = []
        for m in found:
            if any(o.start <= m.start < o.end or m.start <= o.start < m.end for o in out):
                if any(o.name == m.name for o in out):
                    continue
                longer = [o for o in out if (o.end - o.start) < (m.end - m.start)
                          and (o.start <= m.start < o.end or m.start <= o.start < m.end)]
                if not longer:
                    out = [self._with_short_form(o, m, question) for o in out]
                    continue
                out = [o for o in out if o not in longer]
            out.append(m)
        return _spans_in(question, out)

    def _with_short_form(self, long_: ActorMention, short: ActorMention, question: str) -> ActorMention:
        """An organisation named in full ("chipmaker Veltra Semiconductors") is also named by the
        short form the corpus knows as its own organisation ("Veltra, which is headquartered ...")
        when that short form begins the name after any descriptor the question writes in lower
        case. Only the short form's own names join, not its people; a body inside another's name
        is not one ("Ukraine" in "Ukraine's Foreign Ministry" is a country)."""
        if not (long_.start <= short.start < long_.end):
            return long_
        long_record, short_record = self.by_name.get(long_.name.lower()), self.by_name.get(short.name.lower())
        if long_record is None or short_record is None or {long_record.kind, short_record.kind} != {"ORG"}:
            return long_
        words, short_words = long_.name.lower().split(), short.name.lower().split()
        low = question.lower()
        at = low.find(long_.text.split()[0]) if long_.text.split() else -1
        for i in range(len(words) - len(short_words) + 1):
            if words[i : i + len(short_words)] == short_words:
                # The words before the short form must be the question's lower-case descriptor.
                lead = question[at : at + len(" ".join(words[:i]))] if at >= 0 else ""
                if i == 0 or (lead and lead == lead.lower()):
                    return replace(long_, keys=tuple(dict.fromkeys((*long_.keys, *self.names(short_record)))))
                break
        return long_

    def _by_role(self, hay: str) -> list[ActorMention]:
        """ "<body>'s <title>" / "<body> <title>" / "the <title> of <body>" -> the person holding it."""
        out: list[ActorMention] = []
        titles = [t for t in (*_GENERIC_LEADER, *_TITLES) if f" {t} " in hay or f" {t}s " in hay]
        if not titles:
            return out
        for ri in sorted({ri for t in titles for ri in self.by_title[t]}):
            r = self.records[ri]
            role = (r.role or "").lower()
            bodies = {a.lower() for a in r.affiliations} | {b for a in r.affiliations
                                                          for b in self._members(a.lower())}
            for title in titles:
                fits = title in role or (title in _GENERIC_LEADER and any(x in role for x in _LEADER_ROLES))
                if not fits:
                    continue
                tpos = hay.find(f" {title}")
                window = hay[max(0, tpos - 40): tpos + len(title) + 40]
                body = next((b for b in bodies if f" {b} " in window), None)
                if body is None and not any(f" {b} " in hay for b in bodies):
                    continue
                bpos = hay.find(f" {body} ") if body else tpos
                start, end = min(bpos, tpos), max(tpos + len(title) + 1, bpos + len(body or "") + 1)
                out.append(ActorMention(text=hay[start:end].strip(), start=start, end=end, name=r.name,
                                        keys=self.keys_for(r)))
                break
        return out

    def _members(self, body: str) -> set[str]:
        """Names standing for a body: its capital, its government ("Moscow" for Russia)."""
        return self.members.get(body, set())


def _capitalised_in(name: str, text: str) -> bool:
    """The (lower-case) name stands in the text with a capital: "Dutch", not "dutch courage"."""
    words = r"\s+".join(re.escape(w) for w in name.split())
    return any(m.group(0)[:1].isupper() for m in re.finditer(rf"(?<!\w){words}(?!\w)", text, re.IGNORECASE))


def _spans_in(question: str, mentions: list[ActorMention]) -> list[ActorMention]:
    """Map spans found in the normalised question back onto the question's own words."""
    out = []
    low = question.lower().replace("’", "'")
    for m in mentions:
        first = m.text.split()[0] if m.text.split() else m.text
        pos = low.find(first)
        if pos < 0:
            out.append(m)
            continue
        last = m.text.split()[-1]
        end = low.find(last, pos)
        end = end + len(last) if end >= 0 else pos + len(m.text)
        if low[end:end + 2] == "'s":
            end += 2
        out.append(ActorMention(text=question[pos:end], start=pos, end=end, name=m.name, keys=m.keys))
    return out
