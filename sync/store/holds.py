"""Held and approved purchase orders (issue 15: `apply_mode`), kept beside the journal.

A scan under `apply_mode = hold_new_records` or `manual` does not start a PO that needs
approval: it records it here as held (the reason, the fingerprint of the plan that was shown and
that plan's basis) and moves on; the PO's journal record is not touched, so a held PO is never
"left mid-way" and exactly-once is the journal's business as before. An approval stores the
fingerprint of the plan the operator saw; the next scan goes ahead only when the plan it makes
has that fingerprint, and holds the PO again, with the difference, when it does not.

One crash-safe TinyDB file (`holds-v1.json`, atomically replaced, fsynced) in the journal's
folder: held and approved survive restarts. Thread-safe; one writer process (the engine's).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document

from sync.store.errors import CorruptFileError
from sync.store.storage import AtomicJSONStorage


class HoldStatus(str, Enum):
    HELD = "held"  # waits for approval
    APPROVED = "approved"  # the operator approved the plan with `fingerprint`


@dataclass(frozen=True)
class Hold:
    po_id: int
    status: HoldStatus
    po_number: str = ""
    reason: str = ""  # "would create vendor 'X'", in plain words
    fingerprint: str = ""  # of the plan shown when held, or the one approved
    basis: dict[str, Any] = field(default_factory=dict)  # what the fingerprint was made of
    difference: tuple[str, ...] = ()  # held again: how the plan changed since it was approved
    updated_at: str = ""

    def to_doc(self) -> dict[str, Any]:
        return {"po_id": self.po_id, "status": self.status.value, "po_number": self.po_number,
                "reason": self.reason, "fingerprint": self.fingerprint, "basis": self.basis,
                "difference": list(self.difference), "updated_at": self.updated_at}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "Hold":
        return cls(po_id=int(doc["po_id"]), status=HoldStatus(doc["status"]), po_number=str(doc.get("po_number") or ""),
                   reason=str(doc.get("reason") or ""), fingerprint=str(doc.get("fingerprint") or ""),
                   basis=dict(doc.get("basis") or {}), difference=tuple(str(d) for d in doc.get("difference") or ()),
                   updated_at=str(doc.get("updated_at") or ""))


class HoldBook:
    """The held and approved POs of one data folder."""

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / "holds-v1.json"
        self._lock = threading.RLock()
        self._db: TinyDB | None = None

    def _table(self):
        if self._db is None:
            self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        return self._db.table("holds", cache_size=0)

    def get(self, po_id: int) -> Hold | None:
        with self._lock:
            doc = self._table().get(doc_id=int(po_id))
            return _load(self.path, doc) if doc is not None else None

    def all(self) -> list[Hold]:
        with self._lock:
            holds = [_load(self.path, doc) for doc in self._table().all()]
        return sorted(holds, key=lambda h: h.po_id)

    def held(self) -> list[Hold]:
        return [h for h in self.all() if h.status is HoldStatus.HELD]

    def put_many(self, holds: list[Hold]) -> None:
        """Store these records (one write for all); durable when this returns."""
        if not holds:
            return
        now = _now()
        docs = {h.po_id: {**h.to_doc(), "updated_at": now} for h in holds}
        with self._lock:
            self._table()._update_table(lambda stored: stored.update(docs))

    def clear_many(self, po_ids: list[int]) -> None:
        """Forget these POs' records (a PO that went ahead or no longer waits)."""
        with self._lock:
            table = self._table()
            present = [i for i in {int(p) for p in po_ids} if table.contains(doc_id=i)]
            if present:
                table.remove(doc_ids=present)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _load(path: Path, doc: Document | dict) -> Hold:
    try:
        return Hold.from_doc(dict(doc))
    except (KeyError, ValueError, TypeError):
        raise CorruptFileError(path, "a hold record is malformed") from None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")
