"""The receipts ledger (transfer_as = purchase_order_then_bill): per Autotask PO, which of its
Autotask receiving records are billed in QBO, by which bills, and the bill in flight.

Like the journal it is a cache of what QBO already knows: the QBO purchase order lists its bills
(`LinkedTxn`), and each receipt bill names the receiving records it covers in its PrivateNote, so
a lost ledger is rebuilt from QBO. A `pending` bill is written here (durably) before it is sent,
with the requestid it is sent under; a crash or a lost reply leaves it, and the next run looks it
up in QBO before anything is sent again.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import CorruptFileError
from .storage import AtomicJSONStorage

TABLE = "receipts"


@dataclass(frozen=True)
class PendingBill:
    request_id: str
    receipts: tuple[int, ...]  # the Autotask receiving ids this bill covers
    doc_number: str


@dataclass(frozen=True)
class ReceiptRecord:
    po_id: int
    billed: tuple[int, ...] = ()  # Autotask receiving ids billed
    bills: tuple[str, ...] = ()  # QBO bill ids made for this PO's receipts
    pending: PendingBill | None = None
    closed: bool = False  # every item received and billed (or the QBO purchase order closed)
    freight_billed: bool = False

    def with_bill(self, bill_id: str, receipts: tuple[int, ...], *, freight: bool) -> "ReceiptRecord":
        return replace(self, billed=tuple(sorted({*self.billed, *receipts})),
                       bills=tuple(dict.fromkeys((*self.bills, bill_id))), pending=None,
                       freight_billed=self.freight_billed or freight)

    def to_doc(self) -> dict[str, Any]:
        pending = None if self.pending is None else {
            "request_id": self.pending.request_id, "receipts": list(self.pending.receipts),
            "doc_number": self.pending.doc_number}
        return {"po_id": self.po_id, "billed": list(self.billed), "bills": list(self.bills), "pending": pending,
                "closed": self.closed, "freight_billed": self.freight_billed}

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "ReceiptRecord":
        p = doc.get("pending")
        pending = None if not p else PendingBill(str(p["request_id"]), tuple(int(r) for r in p["receipts"]),
                                                 str(p["doc_number"]))
        return cls(po_id=int(doc["po_id"]), billed=tuple(int(r) for r in doc.get("billed") or ()),
                   bills=tuple(str(b) for b in doc.get("bills") or ()), pending=pending,
                   closed=bool(doc.get("closed")), freight_billed=bool(doc.get("freight_billed")))


@dataclass
class ReceiptLedger:
    path: Path
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _storage: AtomicJSONStorage | None = None

    def _store(self) -> AtomicJSONStorage:
        if self._storage is None:
            self._storage = AtomicJSONStorage(self.path)
        return self._storage

    def _table(self) -> dict[str, dict]:
        data = self._store().read() or {}
        return dict(data.get(TABLE) or {})

    def get(self, po_id: int) -> ReceiptRecord | None:
        with self._lock:
            doc = self._table().get(str(int(po_id)))
        return self._parse(doc)

    def all(self) -> list[ReceiptRecord]:
        with self._lock:
            docs = list(self._table().values())
        return [r for r in (self._parse(d) for d in docs) if r is not None]

    def put_many(self, records: list[ReceiptRecord]) -> None:
        """Durable (fsynced) when it returns."""
        if not records:
            return
        with self._lock:
            table = self._table()
            for record in records:
                table[str(record.po_id)] = record.to_doc()
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._store().write({TABLE: table})

    def _parse(self, doc: dict | None) -> ReceiptRecord | None:
        if doc is None:
            return None
        try:
            return ReceiptRecord.from_doc(doc)
        except (KeyError, TypeError, ValueError):
            raise CorruptFileError(self.path, "a receipts record is malformed") from None

    def close(self) -> None:
        if self._storage is not None:
            self._storage.close()
