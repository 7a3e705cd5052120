"""The bills atqbo made, found in QBO by their PO tag: the record that outlives the journal.

The journal is a cache of what QBO and Autotask already know (DESIGN §5). Before a bill is
created for a PO the journal does not record as billed, QBO is asked whether a bill naming that
PO exists. PrivateNote cannot be filtered on in QBO's query language, so the bills of a date
window are read once per run (one paged query, `MetaData.CreateTime >= since`, ordered by
creation so that pages stay stable) and indexed by the PO tag in their PrivateNote
(`resolve.po_marker`). A PO's bill is created after the PO itself, so the window of a scan
(the oldest eligible PO's creation day) covers every bill of every PO the scan can pick up; a
PO older than the window widens it downwards with one more query for the missing days only.

The margin absorbs clock differences between Autotask and QBO and the company's time zone
(QBO stamps CreateTime in it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sync.clients.qbo import QboClient
from sync.clients.qbo_query import Select
from sync.settings import Settings

from . import causes, documents
from .causes import Cause
from .resolve import is_receipt_bill, tagged_po_ids
from .scan import parse_autotask_datetime

# QBO's answer to a requestid used before with another body: the earlier request went through.
DUPLICATE_REQUEST_ID = "600"
MARGIN = timedelta(days=2)
KEPT = ("Id", "DocNumber", "VendorRef", "PrivateNote", "TxnDate", "TotalAmt")
MADE_KEPT = ("Id", "DocNumber", "TotalAmt")  # (and VendorRef's value)
# A PO whose creation time cannot be read: every bill since then could be its own.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)


@dataclass
class TaggedBills:
    """QBO's bills by the PO id they name, for bills created since `covered_from`."""

    qbo: QboClient
    # The lower bound the first read uses (a scan sets its window's start, so that one query
    # serves every PO of the scan, whatever order they come in).
    floor: datetime | None = None
    covered_from: datetime | None = None
    # The QBO entity whose tagged records are read ("Bill", or "PurchaseOrder" when transfer_as
    # makes purchase orders): the PO's first document.
    document: str = "Bill"
    # The other documents read over the same window: a PO the journal forgot may have been sent
    # as one of them before transfer_as changed, and must not get a second document beside it.
    also: tuple[str, ...] = ()
    _by_po: dict[int, dict[str, dict]] = field(default_factory=dict)
    _elsewhere: dict[int, dict[str, tuple[str, dict]]] = field(default_factory=dict)

    @classmethod
    def for_settings(cls, qbo: QboClient, settings: Settings) -> "TaggedBills":
        """The index a run under `settings` uses: its document, and the others looked at."""
        return cls(qbo, document=documents.first_document(settings), also=documents.other_documents(settings))

    async def bill_of(self, po_id: int, created: datetime | None) -> dict | None:
        """The bill naming `po_id` (the oldest, if several do), or None. `created` is when the PO
        was created (its bill cannot be older)."""
        await self.cover(created or EARLIEST)
        return self.first(po_id)

    def first(self, po_id: int) -> dict | None:
        bills = self._by_po.get(po_id)
        if not bills:
            return None
        return min(bills.values(), key=_id_order)

    def elsewhere(self, po_id: int) -> tuple[str, dict] | None:
        """The oldest record of another document (`also`) naming `po_id`, as (entity, record)."""
        found = self._elsewhere.get(po_id)
        if not found:
            return None
        return min(found.values(), key=lambda pair: _id_order(pair[1]))

    def sent_as_other(self, po_id: int, po_number: str) -> Cause | None:
        """The cause for a PO this index holds no record of but another document names (sent
        before transfer_as changed), or None: such a PO gets no second document."""
        other = self.elsewhere(po_id)
        if other is None:
            return None
        entity, record = other
        return causes.make("sent_as_other_document", found=documents.label(entity),
                           doc_number=record.get("DocNumber") or f"(id {record.get('Id')})", po_number=po_number,
                           document=documents.label(self.document), setting=documents.setting_for(entity))

    def all_of(self, po_id: int) -> list[dict]:
        return sorted((self._by_po.get(po_id) or {}).values(), key=_id_order)

    def po_ids(self) -> list[int]:
        return sorted(po for po, bills in self._by_po.items() if bills)

    async def cover(self, since: datetime) -> None:
        """Make sure every bill created at or after `since` (minus the margin) is known."""
        wanted = _aware(since) - MARGIN
        if self.floor is not None and self.covered_from is None:
            wanted = min(wanted, _aware(self.floor) - MARGIN)
        if self.covered_from is not None and self.covered_from <= wanted:
            return
        for entity in (self.document, *self.also):
            await self._read(entity, wanted, self.covered_from)
        self.covered_from = wanted

    async def reload(self, since: datetime | None) -> None:
        """Read the window again, widened to `since` (QBO said a request was made before: its
        bill may have been created after this run read the window)."""
        if self.covered_from is None:
            await self.cover(since or EARLIEST)
            return
        before = self.covered_from
        wanted = min(before, _aware(since or EARLIEST) - MARGIN)
        self._by_po.clear()
        self.covered_from = None
        await self._read(self.document, wanted, None)
        # The other documents were read with the window already: only the days it widens by.
        for entity in self.also if wanted < before else ():
            await self._read(entity, wanted, before)
        self.covered_from = wanted

    def add(self, bill: dict) -> None:
        """A bill this run made. The journal records it too (this is for a PO met again by the
        same run, the journal notwithstanding), so only what adopting it needs is kept: a scan
        of 10,000 POs keeps every bill it makes (issue 17: memory)."""
        made = {k: bill[k] for k in MADE_KEPT if k in bill}
        ref = bill.get("VendorRef")
        if isinstance(ref, dict) and ref.get("value") is not None:
            made["VendorRef"] = {"value": ref["value"]}
        self._index(bill, made)

    def _index(self, record: dict, slim: dict) -> None:
        for po_id in tagged_po_ids(record):
            self._by_po.setdefault(po_id, {})[str(record.get("Id"))] = slim

    async def _read(self, entity: str, since: datetime, until: datetime | None) -> None:
        """One paged read of `entity`'s records created in [since, until), in creation order."""
        select = Select(entity).where("MetaData.CreateTime", ">=", _stamp(since))
        if until is not None:
            select = select.where("MetaData.CreateTime", "<", _stamp(until))
        async for record in self.qbo.query_iter(select.order("MetaData.CreateTime")):
            if is_receipt_bill(record):
                continue  # a bill for goods received names its PO too, but is not its document
            if entity == self.document:
                self._index(record, _slim(record))
            else:
                slim = _slim(record)
                for po_id in tagged_po_ids(record):
                    self._elsewhere.setdefault(po_id, {})[str(record.get("Id"))] = (entity, slim)


def _slim(record: dict) -> dict:
    return {k: record[k] for k in KEPT if k in record}


def po_created(po: dict) -> datetime | None:
    """When Autotask created the PO (its bill cannot be older); None when unreadable."""
    return parse_autotask_datetime(po.get("createDateTime"))


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=timezone.utc)


def _stamp(dt: datetime) -> str:
    # ISO 8601 with an explicit offset, as Intuit's own examples filter MetaData times.
    return dt.astimezone(timezone.utc).replace(microsecond=0).isoformat()


def _id_order(bill: dict) -> tuple[int, str]:
    # QBO's Ids grow with creation: the lowest is the oldest.
    raw_id = str(bill.get("Id") or "")
    return (int(raw_id) if raw_id.isascii() and raw_id.isdigit() and len(raw_id) < 19 else 2**63), raw_id
