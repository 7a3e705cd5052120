"""Turn engine events into each PO's story (sync.store.history), for `atqbo why`.

Subscribed by the Engine itself, so every front end (service, console, command line) records
the same story. The engine does one unit of work at a time and prepares a group's POs one
after another, so a VendorCreated / ItemCreated / NameAdjusted belongs to the PO most recently
started; anything not created was matched by name in QBO (there is no other way to match yet).
A PO's steps are buffered while it is prepared and appended together when it ends (PoSynced,
PoFailed): one small write per PO to a file kept open, not one file open per event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sync import events as ev
from sync.store.errors import StoreError
from sync.store.history import History, HistoryEntry

log = logging.getLogger("atqbo.history")

SOURCE_WORDS = {"scan": "a scan", "sync_one": "a single-PO sync", "retry": "a retry"}
NUMBER_WORDS = {"quickbooks": "the next number of QuickBooks' own bill sequence",
                "autotask": "the Autotask PO number", "kept": "kept from the earlier attempt"}


class HistoryRecorder:
    def __init__(self, history: History, origin: Callable[[], str]) -> None:
        self.history = history
        self.origin = origin
        self._scan_id = ""
        self._trigger = ""
        self._current: int | None = None  # the PO being prepared
        self._pending: list[HistoryEntry] = []
        self._stop_cause = ""

    def _add(self, po_id: int, kind: str, text: str, **details: Any) -> None:
        self._pending.append(HistoryEntry(po_id=int(po_id), kind=kind, text=text, scan_id=self._scan_id,
                                          origin=self.origin(), details=details))

    def flush(self) -> None:
        if not self._pending:
            return
        entries, self._pending = self._pending, []
        try:
            self.history.append_many(entries)
        except StoreError as exc:  # the story is narrative: a full disk must not stop a sync
            log.warning("the PO history could not be written: %s", exc)

    def __call__(self, event: ev.Event) -> None:
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is not None:
            handler(event)

    # ------------------------------------------------------------ scans

    def _on_ScanStarted(self, e: ev.ScanStarted) -> None:
        self._scan_id, self._trigger = e.scan_id, e.trigger

    def _on_ScanFinished(self, e: ev.ScanFinished) -> None:
        self.flush()
        try:
            self.history.record_scan({
                "scan_id": e.scan_id, "finished_at": e.at.isoformat(), "duration_s": round(e.duration_s, 3),
                "scanned": e.scanned, "synced": e.synced, "failed": e.failed, "skipped": e.skipped,
                "held": e.held, "api_calls": dict(e.api_calls), "stopped": e.stopped, "paused": e.paused,
                "stop_cause": self._stop_cause, "origin": self.origin()})
        except StoreError as exc:
            log.warning("the scan record could not be written: %s", exc)
        self._stop_cause = ""
        self._scan_id, self._trigger, self._current = "", "", None

    def _on_ScanStopped(self, e: ev.ScanStopped) -> None:
        self._stop_cause = f"{e.cause_code}: {e.cause}"

    def _on_RecoveryFinished(self, e: ev.RecoveryFinished) -> None:
        for po_id in e.po_ids:
            self._add(po_id, "recovered", "left mid-way by an earlier run; finished before the scan")

    # ------------------------------------------------------------ one PO

    def _on_PoStarted(self, e: ev.PoStarted) -> None:
        self._current = e.po_id
        how = SOURCE_WORDS.get(e.source, e.source)
        if e.source == "scan" and self._scan_id:
            how += f" ({self._trigger or 'schedule'} scan {self._scan_id})"
        self._add(e.po_id, "seen", f"PO {e.po_number} picked up by {how}, started by {self.origin()}",
                  po_number=e.po_number, source=e.source, trigger=self._trigger)

    def _on_VendorCreated(self, e: ev.VendorCreated) -> None:
        if self._current is not None:
            self._add(self._current, "vendor_created",
                      f"vendor {e.name!r} not found in QuickBooks by name: created (Vendor {e.vendor_id})",
                      name=e.name, vendor_id=e.vendor_id, currency=e.currency)

    def _on_CustomerCreated(self, e: ev.CustomerCreated) -> None:
        if self._current is not None:
            self._add(self._current, "customer_created",
                      f"customer {e.name!r} not found in QuickBooks by name: created (Customer {e.customer_id})",
                      name=e.name, customer_id=e.customer_id)

    def _on_ItemCreated(self, e: ev.ItemCreated) -> None:
        if self._current is not None:
            self._add(self._current, "item_created",
                      f"item {e.name!r} not found in QuickBooks by name: created (Item {e.item_id}, "
                      f"expense account {e.expense_account})",
                      name=e.name, item_id=e.item_id, expense_account=e.expense_account)

    def _on_NameAdjusted(self, e: ev.NameAdjusted) -> None:
        if self._current is not None:
            self._add(self._current, "name_adjusted",
                      f"{e.kind} name {e.original!r} cannot be held by QuickBooks: used {e.adjusted!r}",
                      kind=e.kind, original=e.original, adjusted=e.adjusted)

    def _on_PoSynced(self, e: ev.PoSynced) -> None:
        request_id = getattr(e, "request_id", "")
        number_from = getattr(e, "number_from", "")
        created = {h.kind for h in self._pending if h.po_id == e.po_id}
        vendor_how = "created" if "vendor_created" in created else "matched by name"
        document = getattr(e, "document", "bill")  # or "purchase order" (transfer_as)
        entity = "Bill" if document == "bill" else "PurchaseOrder"
        if e.resumed:
            text = (f"{document} {e.doc_number} (QuickBooks {entity} {e.bill_id}) already existed from an earlier "
                    "attempt: found and kept, not created again")
        else:
            text = (f"{document} {e.doc_number} created in QuickBooks: {entity} {e.bill_id}, {e.lines} lines, "
                    f"{e.amount} {e.currency}".rstrip() + f"; vendor {e.vendor!r} {vendor_how}")
        if number_from:
            text += f"; number from {NUMBER_WORDS.get(number_from, number_from)}"
        if request_id:
            text += f"; requestid {request_id}"
        self._add(e.po_id, "bill_created", text, bill_id=e.bill_id, doc_number=e.doc_number, vendor=e.vendor,
                  customer=getattr(e, "customer", ""), vendor_match=vendor_how, amount=str(e.amount), currency=e.currency, lines=e.lines,
                  number_from=number_from, request_id=request_id, resumed=e.resumed)
        self._add(e.po_id, "written_back",
                  f"Autotask PO externalPONumber set to {e.doc_number} (PATCH accepted)",
                  doc_number=e.doc_number)
        self._end(e.po_id)

    def _on_PoHeld(self, e: ev.PoHeld) -> None:
        again = f" (held again: the approved plan changed: {'; '.join(e.difference)})" if e.difference else ""
        self._add(e.po_id, "held", f"held for approval: {e.reason}{again}; nothing written, no to-do",
                  reason=e.reason, difference=list(e.difference))

    def _on_ReceiptBilled(self, e: ev.ReceiptBilled) -> None:
        # transfer_as = purchase_order_then_bill: received goods billed against the purchase order.
        closed = "; everything received is billed, QuickBooks closed the purchase order" if e.closed else ""
        self._add(e.po_id, "receipt_billed",
                  f"bill {e.doc_number} (QuickBooks Bill {e.bill_id}) for {e.receipts} receipt(s), linked to "
                  f"purchase order {e.purchase_order}: {e.amount} {e.currency}".rstrip() + closed,
                  bill_id=e.bill_id, doc_number=e.doc_number, purchase_order=e.purchase_order,
                  amount=str(e.amount), currency=e.currency, receipts=e.receipts, closed=e.closed)
        self.flush()

    def _on_PoFailed(self, e: ev.PoFailed) -> None:
        text = f"failed: {e.cause}"
        if e.fix:
            text += f" What to fix: {e.fix}"
        if e.log_id:
            text += f" (error log {e.log_id}; externalPONumber set to ERROR)"
        self._add(e.po_id, "failed", text, cause_code=e.cause_code, cause=e.cause, fix=e.fix,
                  log_id=e.log_id, todo_id=e.todo_id)
        self._end(e.po_id)

    def _on_TodoCreated(self, e: ev.TodoCreated) -> None:
        self._add(e.po_id, "todo_created", f"Autotask to-do {e.todo_id} created for resource {e.resource_id}",
                  todo_id=e.todo_id, resource_id=e.resource_id)
        self.flush()

    def _on_NotificationFailed(self, e: ev.NotificationFailed) -> None:
        self._add(e.po_id, "notice_failed", f"the failure notice to {e.recipient} was not sent: {e.reason}",
                  recipient=e.recipient, reason=e.reason)
        self.flush()

    def _on_RetryStarted(self, e: ev.RetryStarted) -> None:
        self._add(e.po_id, "retry_started", f"retry of error log {e.log_id} started by {self.origin()}",
                  log_id=e.log_id)

    def _on_RetryFinished(self, e: ev.RetryFinished) -> None:
        outcome = f"succeeded (bill {e.doc_number})" if e.ok else f"failed again ({e.cause_code})"
        self._add(e.po_id, "retry_finished", f"retry of error log {e.log_id} {outcome}",
                  log_id=e.log_id, ok=e.ok, doc_number=e.doc_number, cause_code=e.cause_code)
        self.flush()

    def _end(self, po_id: int) -> None:
        if self._current == po_id:
            self._current = None
        self.flush()
