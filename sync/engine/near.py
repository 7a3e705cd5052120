"""Near names: "Dell Technologies, Inc." is probably the vendor QBO holds as "Dell Technologies".

`normalise` folds what does not make two organizations different: case, spacing, punctuation,
"&" against "and", and a trailing legal suffix (Inc, LLC, Ltd, Corp, Co, GmbH, ...). A
`NameIndex` holds the active QBO names of one entity: by normalised name (a dict: equal once
normalised is found without scoring) and by word (an inverted index), so a look-up scores only
the names that share a word with the one looked up, with rapidfuzz, never all 10,000.

A candidate is never used silently: the `near_match` setting says whether the PO waits for the
operator ("did you mean 'Acme Corp.' (94 %)?"), a new record is created as before, or the link
is made automatically above a score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz

CUTOFF = 85  # a name scoring below this is not offered as "did you mean"
MAX_CANDIDATES = 3
# Words so common that sharing only them says nothing (looked up through, not by).
_COMMON_WORDS = 300

# Legal forms, compared after punctuation is gone ("l.l.c." -> "l l c" is joined below).
_SUFFIXES = frozenset({
    "inc", "incorporated", "llc", "llp", "lp", "ltd", "limited", "corp", "corporation", "co", "company",
    "gmbh", "ag", "kg", "sa", "sas", "sarl", "srl", "spa", "bv", "nv", "ab", "as", "oy", "plc", "pty",
    "pte", "pvt", "kk", "sl", "sro", "oü", "ug",
})
_SPLIT_SUFFIX = {"l l c": "llc", "l l p": "llp", "l p": "lp", "s a": "sa", "b v": "bv", "n v": "nv",
                 "g m b h": "gmbh", "p l c": "plc", "s r l": "srl", "s p a": "spa"}
_NOT_WORD = re.compile(r"[^\w]+", re.UNICODE)


def normalise(name: str) -> str:
    """The comparable form of a name: casefolded, accents kept, "&" as "and", punctuation and
    extra spaces gone, trailing legal suffixes dropped ("The Acme Co., Inc." -> "the acme").
    A name that is only a suffix keeps it (so "Co" is not empty)."""
    text = unicodedata.normalize("NFKC", name).casefold().replace("&", " and ").replace("+", " and ")
    text = text.replace("'", "").replace("\u2019", "")  # "Dell's" and "Dells" are one name
    text = " ".join(_NOT_WORD.sub(" ", text).replace("_", " ").split())
    for split, joined in _SPLIT_SUFFIX.items():
        if text.endswith(" " + split):
            text = text[: -len(split)] + joined
    words = text.split(" ")
    while len(words) > 1 and words[-1] in _SUFFIXES:
        words.pop()
    if len(words) > 1 and words[-1] == "and":  # "Smith & Co" -> "smith and" -> "smith"
        words.pop()
    return " ".join(words)


def score(a: str, b: str) -> int:
    """How alike two names are, 0-100, compared normalised (100: equal once normalised)."""
    na, nb = normalise(a), normalise(b)
    if na == nb:
        return 100
    return int(round(fuzz.token_sort_ratio(na, nb)))


@dataclass(frozen=True)
class Candidate:
    record: dict
    name: str  # as QBO holds it
    score: int  # 0-100

    @property
    def qbo_id(self) -> str:
        return str(self.record.get("Id") or "")

    def words(self) -> str:
        return f"'{self.name}' ({self.score} %)"


@dataclass
class NameIndex:
    """The active records of one entity, for near-name look-ups (built once per run)."""

    field_name: str
    by_normal: dict[str, list[dict]] = field(default_factory=dict)
    by_word: dict[str, set[str]] = field(default_factory=dict)  # word -> normalised names
    _common: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, records: Iterable[dict], field_name: str) -> "NameIndex":
        index = cls(field_name)
        for record in records:
            index.add(record)
        index._settle()
        return index

    def add(self, record: dict) -> None:
        name = str(record.get(self.field_name) or "")
        key = normalise(name)
        if not key:
            return
        bucket = self.by_normal.setdefault(key, [])
        if not any(str(r.get("Id")) == str(record.get("Id")) for r in bucket):
            bucket.append(record)
        for word in set(key.split(" ")):
            self.by_word.setdefault(word, set()).add(key)

    def _settle(self) -> None:
        # The words shared by very many names ("services", "the") are skipped when another word
        # of the name looked up is rarer: they would make every look-up score thousands.
        sizes = sorted(((len(keys), word) for word, keys in self.by_word.items()), reverse=True)
        self._common = {word for size, word in sizes[:_COMMON_WORDS] if size > 50}

    def candidates(self, name: str, *, cutoff: int = CUTOFF, limit: int = MAX_CANDIDATES,
                   exclude_ids: frozenset[str] = frozenset()) -> list[Candidate]:
        """The best near names for `name`, best first (at most `limit`, each ≥ `cutoff`)."""
        key = normalise(name)
        if not key:
            return []
        words = set(key.split(" "))
        rare = [w for w in words if w not in self._common] or list(words)
        pool: set[str] = set()
        for word in rare:
            pool |= self.by_word.get(word, set())
        found: list[Candidate] = []
        for other in pool:
            points = 100 if other == key else int(round(fuzz.token_sort_ratio(key, other, score_cutoff=cutoff)))
            if points < cutoff:
                continue
            for record in self.by_normal.get(other, []):
                if str(record.get("Id")) in exclude_ids:
                    continue
                found.append(Candidate(record, str(record.get(self.field_name) or ""), points))
        found.sort(key=lambda c: (-c.score, c.name.casefold(), c.qbo_id))
        return found[:limit]
