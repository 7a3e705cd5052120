"""Near names: "Dell Technologies, Inc." is probably the vendor QBO holds as "Dell Technologies".

`normalise` folds what does not make two organizations different: case, spacing, punctuation,
"&" against "and", and a trailing legal suffix (Inc, LLC, Ltd, Corp, Co, GmbH, ...). A
`NameIndex` holds the active QBO names of one entity: by normalised name (a dict: equal once
normalised is found without scoring) and by word (an inverted index), so a look-up scores only
the names that share a word with the one looked up, with rapidfuzz, never all 10,000.

Names whose numbers differ ("Supplier 012", "Supplier 013"; "Latitude 5440", "Latitude 5450")
are never candidates: a number names a different thing, however alike the rest looks.
A candidate is never used silently: the `near_match` setting says whether the PO waits for the
operator ("did you mean 'Acme Corp.' (94 %)?"), a new record is created as before, or the link
is made automatically above a score.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

CUTOFF = 85  # a name scoring below this is not offered as "did you mean"
MAX_CANDIDATES = 3
POOL = 1000  # at most this many names are scored per look-up

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
    while True:  # one trailing suffix at a time, until none is left ("Acme Co., Inc.")
        before = text
        for split, joined in _SPLIT_SUFFIX.items():
            if text.endswith(" " + split):
                text = text[: -len(split)] + joined
        words = text.split(" ")
        # "Smith & Co" -> "smith and co" -> "smith and" -> "smith"
        if len(words) > 1 and (words[-1] in _SUFFIXES or words[-1] == "and"):
            words.pop()
        text = " ".join(words)
        if text == before:
            return text


def _numbers(key: str) -> tuple[str, ...]:
    """The words of a normalised name that hold a digit: they tell entities apart."""
    return tuple(sorted(w for w in key.split(" ") if any(c.isdigit() for c in w)))


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
    # normalised name -> (its words sorted, its numbers): made once, not per look-up
    _forms: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

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
        self._forms.setdefault(key, (_sorted(key), _numbers(key)))
        bucket = self.by_normal.setdefault(key, [])
        if not any(str(r.get("Id")) == str(record.get("Id")) for r in bucket):
            bucket.append(record)
        for word in set(key.split(" ")):
            self.by_word.setdefault(word, set()).add(key)

    def _settle(self) -> None:
        pass  # kept for callers that build an index by hand; look-ups need no settling

    def candidates(self, name: str, *, cutoff: int = CUTOFF, limit: int = MAX_CANDIDATES,
                   exclude_ids: frozenset[str] = frozenset()) -> list[Candidate]:
        """The best near names for `name`, best first (at most `limit`, each ≥ `cutoff`).

        Only names sharing a word with `name` are scored, rarest words first, about POOL of
        them (a word most names have, "services", adds nothing a rarer one did not), and they
        are scored in rapidfuzz's C loop on their word-sorted form (token_sort_ratio)."""
        key = normalise(name)
        if not key:
            return []
        words = sorted(set(key.split(" ")), key=lambda w: len(self.by_word.get(w, ())))
        pool: set[str] = set()
        for word in words:
            found = self.by_word.get(word)
            if not found:
                continue  # a misspelt word: the others find the name
            if pool and len(pool) + len(found) > POOL:
                break
            pool |= found
        if key in self.by_normal:
            pool.add(key)
        numbers = _numbers(key)
        forms = self._forms
        choices = [other for other in pool if forms[other][1] == numbers]  # "Supplier 012" is not "013"
        scored = process.extract(_sorted(key), [forms[c][0] for c in choices], scorer=fuzz.ratio,
                                 score_cutoff=cutoff, limit=None)
        out: list[Candidate] = []
        for _, points, at in scored:
            other = choices[at]
            for record in self.by_normal.get(other, []):
                if str(record.get("Id")) in exclude_ids:
                    continue
                out.append(Candidate(record, str(record.get(self.field_name) or ""),
                                     100 if other == key else int(round(points))))
        out.sort(key=lambda c: (-c.score, c.name.casefold(), c.qbo_id))
        return out[:limit]


def _sorted(key: str) -> str:
    return " ".join(sorted(key.split(" ")))
