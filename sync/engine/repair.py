"""`atqbo repair journal`: rebuild the journal from what the services themselves hold.

The journal is a cache of what QBO and Autotask already know (DESIGN §5), so a lost, damaged or
restored-from-an-old-backup journal can be rebuilt from them, never by starting over:
- QBO's bills that name a PO by its tag (every bill in the company, read page by page);
- each such PO's External PO Number in Autotask: the bill's number there means the PO is done
  (written_back; bill_created while its error-log entry is open, so that the next scan closes
  it); blank or ERROR means the number is still due (bill_created: the next scan writes it back
  and resolves the PO's error-log entry); another number is a conflict (also bill_created: the
  next scan reports it, it never overwrites);
- the error log: a PO with an open entry and no bill in QBO is failed (a retry starts it anew).
A record the journal already has right is left as it is; a record that knows less than QBO
(no bill, or a bill QBO no longer has while another bill names the PO) is replaced. Nothing is
ever deleted, in the journal or in either service. With `dry_run` nothing is written: the
report says what would be.

Rebuilt failed records start at a fresh attempt number (the clock's seconds), so a retry's
QBO requestid cannot repeat one sent before the journal was lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import anyio

from sync.clients.autotask import AutotaskClient
from sync.clients.qbo import QboClient
from sync.store import ErrorLog, Journal, JournalEntry, JournalState
from sync.store.journal import HISTORY_LIMIT

from . import documents, sources
from .scan import ERROR_MARKER, is_blank
from .tagged_bills import EARLIEST, TaggedBills

S = JournalState


@dataclass(frozen=True)
class Finding:
    """One PO whose record is (or would be) written."""

    po_id: int
    po_number: str
    before: str  # the journal's state before, "(none)" or "(damaged file)"
    after: str
    bill_id: str | None
    doc_number: str | None
    why: str  # what was found, in plain words


@dataclass
class RepairReport:
    dry_run: bool
    document: str = "Bill"  # the QBO entity read: Bill, or PurchaseOrder under transfer_as
    bills_read: int = 0
    tagged_bills: int = 0  # bills naming a PO
    pos_read: int = 0
    open_errors: int = 0
    findings: list[Finding] = field(default_factory=list)
    unchanged: int = 0  # records that already agreed with QBO and Autotask
    duplicates: dict[int, list[str]] = field(default_factory=dict)  # PO -> numbers of its bills (several)
    unknown_pos: list[tuple[str, int]] = field(default_factory=list)  # (bill id, PO id) Autotask lacks
    damaged_files: list[str] = field(default_factory=list)

    @property
    def numbers_due(self) -> int:
        """Records the next scan finishes (a number to write back, or an error entry to close)."""
        return sum(1 for f in self.findings if f.after == S.BILL_CREATED.value)


async def repair_journal(journal: Journal, errors: ErrorLog, at: AutotaskClient, qbo: QboClient, *,
                         dry_run: bool, document: str = documents.BILL) -> RepairReport:
    """Compare the journal with QBO's tagged documents (`document`: the PO's first one under
    transfer_as, a Bill or a PurchaseOrder; a receipt's bill is never taken for it), Autotask's
    PO numbers and the error log; write what the journal lacks (unless `dry_run`). API errors
    are raised as they come."""
    report = RepairReport(dry_run=dry_run, document=document)
    existing, damaged = await anyio.to_thread.run_sync(journal.survey)
    report.damaged_files = [str(p) for p in damaged]
    known = {e.po_id: e for e in existing}

    bills = _CountingBills(qbo, document)
    await bills.cover(EARLIEST)
    report.bills_read, report.tagged_bills = bills.read_count, bills.tagged_count
    open_entries = {e.po_id: e for e in sorted(await anyio.to_thread.run_sync(errors.open_errors), key=lambda e: e.id)}
    report.open_errors = len(open_entries)
    wanted = set(bills.po_ids()) | set(open_entries) | set(known)
    pos = await sources.pos_by_ids(at, wanted) if wanted else {}
    report.pos_read = len(pos)

    now = datetime.now(timezone.utc).isoformat(timespec="microseconds")
    fresh_attempt = int(time.time())
    writes: list[JournalEntry] = []
    for po_id in sorted(wanted):
        entry, po, own = known.get(po_id), pos.get(po_id), bills.all_of(po_id)
        number = str((po or {}).get("purchaseOrderNumber") or (entry.po_number if entry else "") or po_id)
        if own and po is None:
            report.unknown_pos += [(str(b.get("Id")), po_id) for b in own]
            continue
        if own:
            if len(own) > 1:
                report.duplicates[po_id] = [str(b.get("DocNumber") or "") for b in own]
            found = _billed(po_id, entry, po or {}, own, open_entries.get(po_id), number, fresh_attempt, document)
        elif po_id in open_entries and (entry is None or entry.state in (S.SEEN, S.RESOLVED, S.RELEASED)):
            found = _failed(po_id, entry, open_entries[po_id], number, fresh_attempt, document)
        else:
            found = None
        if found is None:
            report.unchanged += 1 if entry is not None else 0
            continue
        target, why = found
        history = (target.history + ((target.state.value, now),))[-HISTORY_LIMIT:]
        target = replace(target, updated_at=now, history=history)
        writes.append(target)
        before = entry.state.value if entry else ("(damaged file)" if journal.file_of(po_id) in damaged else "(none)")
        report.findings.append(Finding(po_id=po_id, po_number=number, before=before, after=target.state.value,
                                       bill_id=target.bill_id, doc_number=target.doc_number, why=why))
    if not dry_run and (writes or damaged):
        await anyio.to_thread.run_sync(lambda: journal.restore(writes, damaged))
    return report


def _billed(po_id: int, entry: JournalEntry | None, po: dict, own: list[dict], log: Any, number: str,
            fresh_attempt: int, document: str) -> tuple[JournalEntry, str] | None:
    """The record of a PO that bills (or purchase orders) name (the one Autotask holds, else the
    oldest), and why; None when the journal already records that document."""
    label = documents.label(document)
    external = str(po.get("externalPONumber") or "").strip()
    chosen = next((b for b in own if str(b.get("DocNumber") or "") == external), own[0])
    doc = str(chosen.get("DocNumber") or "")
    if entry is not None and entry.bill_id == str(chosen["Id"]) and entry.state in (S.BILL_CREATED, S.WRITTEN_BACK):
        return None
    if external == doc and doc and log is not None:
        state, why = S.BILL_CREATED, (f"{label} {doc} names this PO and Autotask holds its number, but error-log "
                                      f"entry {log.id} is open (the next scan closes it)")
    elif external == doc and doc:
        state, why = S.WRITTEN_BACK, f"{label} {doc} names this PO and Autotask holds its number"
    elif is_blank(external) or external.upper() == ERROR_MARKER:
        state, why = S.BILL_CREATED, (f"{label} {doc} names this PO; its number is not in Autotask yet (the next scan "
                                      "writes it back)")
    else:
        state, why = S.BILL_CREATED, (f"{label} {doc} names this PO but Autotask holds {external} (the next scan "
                                      "reports the conflict; nothing is overwritten)")
    base = entry or JournalEntry(po_id=po_id, state=state, attempt=fresh_attempt)
    return replace(base, state=state, po_number=number, bill_id=str(chosen["Id"]), doc_number=doc,
                   vendor_id=str((chosen.get("VendorRef") or {}).get("value") or "") or None, pending=None,
                   document=document), why


def _failed(po_id: int, entry: JournalEntry | None, log: Any, number: str,
            fresh_attempt: int, document: str) -> tuple[JournalEntry, str]:
    """The record of a PO with an open error-log entry and no bill: failed, at a fresh attempt."""
    target = replace(entry or JournalEntry(po_id=po_id, state=S.FAILED), state=S.FAILED, po_number=number,
                     error_id=log.id, pending=None, bill_id=None, doc_number=None, request_id=None,
                     attempt=max(fresh_attempt, entry.attempt if entry else 0))
    return target, (f"open error-log entry {log.id} ({log.cause_code}) and no {documents.label(document)} naming "
                    "this PO in QuickBooks "
                    f"(retry it: atqbo retry {log.id})")


class _CountingBills(TaggedBills):
    """The index, also counting what it read (for the report)."""

    def __init__(self, qbo: QboClient, document: str) -> None:
        super().__init__(qbo, document=document)
        self.read_count = 0

    def _index(self, record: dict, slim: dict) -> None:
        self.read_count += 1  # each of the document's records read (receipt bills are not indexed)
        super()._index(record, slim)

    @property
    def tagged_count(self) -> int:
        return sum(len(self.all_of(po)) for po in self.po_ids())
