"""Links: which QuickBooks record an Autotask record is (issue 16, "matching you can trust").

A link says: Autotask organization 123 is QBO vendor 45 (or customer 46), Autotask product 7 is
QBO item 12. The engine uses a link before any name, so a renamed organization keeps its vendor,
and writes one whenever it creates or matches a record (the first scan after an upgrade seeds
the links from that day's exact name matches). Each link records how it was made and when.

One crash-safe TinyDB file (`links.json` in the data folder, atomically replaced and fsynced,
see storage.py): a `put_many` that returned survives kill -9. Thread-safe; the engine and a
one-shot `atqbo link` may both write it: each write holds an flock on `links.json.lock` and
re-reads a file another process changed, so neither loses the other's links.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any, Literal, get_args

from tinydb import TinyDB

from sync.store.errors import CorruptFileError
from sync.store.storage import AtomicJSONStorage, exclusive, remove_stale_temp_files

LinkKind = Literal["vendor", "customer", "item"]
LINK_KINDS: tuple[str, ...] = get_args(LinkKind)
QBO_ENTITY: dict[str, str] = {"vendor": "Vendor", "customer": "Customer", "item": "Item"}
AUTOTASK_WHAT: dict[str, str] = {"vendor": "organization", "customer": "organization", "item": "product"}


class LinkMethod(str, Enum):
    CREATED = "created"  # atqbo created the QBO record for this Autotask record
    EXACT_NAME = "exact_name"  # the names were the same (QBO's rule for names applied)
    NEAR_APPROVED = "near_name_approved"  # a near name the operator approved
    NEAR_AUTO = "near_name_auto"  # a near name scored at least near_match's link_above N
    BY_HAND = "by_hand"  # atqbo link KIND AUTOTASK_ID QBO_ID

    @property
    def words(self) -> str:
        return {"created": "created", "exact_name": "exact name", "near_name_approved": "near name approved",
                "near_name_auto": "near name, linked automatically", "by_hand": "by hand"}[self.value]


@dataclass(frozen=True)
class Link:
    kind: str  # one of LINK_KINDS
    autotask_id: int
    qbo_id: str
    method: LinkMethod
    made_at: str = ""  # ISO time (UTC)
    autotask_name: str = ""  # as it was when linked (shown only: names change, ids do not)
    qbo_name: str = ""
    score: int | None = None  # near names: the score that was shown, 0-100

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.autotask_id}"

    def to_doc(self) -> dict[str, Any]:
        return {"kind": self.kind, "autotask_id": self.autotask_id, "qbo_id": self.qbo_id,
                "method": self.method.value, "made_at": self.made_at, "autotask_name": self.autotask_name,
                "qbo_name": self.qbo_name, "score": self.score}

    def as_dict(self) -> dict[str, Any]:
        return self.to_doc()

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Link":
        kind = str(doc["kind"])
        if kind not in LINK_KINDS:
            raise ValueError(kind)
        score = doc.get("score")
        return cls(kind=kind, autotask_id=int(doc["autotask_id"]), qbo_id=str(doc["qbo_id"]),
                   method=LinkMethod(doc["method"]), made_at=str(doc.get("made_at") or ""),
                   autotask_name=str(doc.get("autotask_name") or ""), qbo_name=str(doc.get("qbo_name") or ""),
                   score=int(score) if score is not None else None)


class LinkBook:
    """The links of one data folder. Opening creates nothing; the first write creates the file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._db: TinyDB | None = None
        remove_stale_temp_files(self.path)

    def _table(self):
        if self._db is None:
            self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        return self._db.table("links", cache_size=0)

    def _stored(self) -> dict[str, dict[str, Any]]:
        # The table's raw documents keyed by Link.key (stored as TinyDB's doc ids would renumber).
        return {str(d.get("key")): dict(d) for d in self._table().all()}

    def all(self, kind: str | None = None) -> list[Link]:
        with self._lock:
            links = [_load(self.path, d) for d in self._table().all()]
        if kind is not None:
            links = [link for link in links if link.kind == kind]
        return sorted(links, key=lambda link: (LINK_KINDS.index(link.kind), link.autotask_id))

    def by_kind(self, kind: str) -> dict[int, Link]:
        return {link.autotask_id: link for link in self.all(kind)}

    def get(self, kind: str, autotask_id: int) -> Link | None:
        with self._lock:
            doc = self._stored().get(f"{kind}:{int(autotask_id)}")
        return _load(self.path, doc) if doc is not None else None

    def put_many(self, links: list[Link]) -> list[Link]:
        """Store these links (replacing any for the same Autotask record), with one write;
        durable when this returns. Links without a time get now."""
        if not links:
            return []
        now = _now()
        stamped = [link if link.made_at else Link(**{**link.__dict__, "made_at": now}) for link in links]
        docs = {link.key: {**link.to_doc(), "key": link.key} for link in stamped}

        def merge(table: dict) -> None:
            # TinyDB's raw table: {doc_id: doc}. Replace by key, keep ids stable.
            by_key = {str(doc.get("key")): doc_id for doc_id, doc in table.items()}
            next_id = max((int(i) for i in table), default=0) + 1
            for key, doc in docs.items():
                doc_id = by_key.get(key)
                if doc_id is None:
                    doc_id, next_id = next_id, next_id + 1
                table[doc_id] = doc

        with self._lock, exclusive(self.path):
            self._table()._update_table(merge)
        return stamped

    def put(self, link: Link) -> Link:
        return self.put_many([link])[0]

    def remove(self, kind: str, autotask_id: int) -> Link | None:
        """Forget the link of this Autotask record (the next scan matches it by name); the link
        that was removed, or None when there was none."""
        with self._lock, exclusive(self.path):
            table = self._table()
            key = f"{kind}:{int(autotask_id)}"
            found = [d for d in table.all() if str(d.get("key")) == key]
            if not found:
                return None
            table.remove(doc_ids=[d.doc_id for d in found])
            return _load(self.path, found[0])

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _load(path: Path, doc: dict[str, Any]) -> Link:
    try:
        return Link.from_doc(dict(doc))
    except (KeyError, ValueError, TypeError):
        raise CorruptFileError(path, "a link record is malformed") from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
