"""A PO on request: sync one by its id, and retry an error-log entry (or every open one).

The one copy below every front end (the console's keys, the CLI's `sync-one` and `retry`, the
control socket). The Engine's `sync_one`, `retry` and `retry_all` hold its work lock and read the
settings, then call these; they use the engine's own steps (its guard, its context, its failure
record) so that a PO on request is synced exactly as a scan syncs it. `engine` is passed in: this
module never imports engine.py (as recovery.py).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import anyio

from sync.clients.errors import ApiError
from sync.events import ReceiptBillFailed, RetryFinished, RetryStarted
from sync.settings import Settings, TransferAs
from sync.store.errorlog import ErrorStatus
from sync.store.errors import UnknownEntryError
from sync.store.journal import JournalState as S

from . import causes, documents, sources
from .causes import Cause
from .halt import ScanHalt, halt_for
from .po_sync import PoOutcome
from .scan import sync_one_refusal
from .tagged_bills import TaggedBills


async def sync_by_id(engine: Any, settings: Settings, po_id: int, alt_email: str | None, *, source: str,
                     log_id: int | None) -> PoOutcome:
    """Load the PO from Autotask and sync it (`source`: "sync_one" or "retry"); a PO that holds a
    number already is refused (or, under purchase_order_then_bill, its receipts are billed)."""
    try:
        data = await engine._guard(sources.load_one(engine.autotask, po_id))
        if data is None:
            return PoOutcome(po_id=po_id, po_number=str(po_id), ok=False,
                             cause=causes.make("po_not_found", po_id=po_id))
        existing = sync_one_refusal(data.po)
        if existing is not None and settings.transfer_as is TransferAs.PURCHASE_ORDER_THEN_BILL:
            entry = await anyio.to_thread.run_sync(engine.store.journal.get, po_id)
            if (entry is not None and entry.state is S.WRITTEN_BACK and entry.doc_number == existing
                    and documents.document_of(entry) == documents.PURCHASE_ORDER):
                # Its purchase order exists: syncing it now bills what was received since.
                ctx = await engine._guard(engine._context(settings))
                done = await engine._receipts(ctx, settings, only={po_id}, alt_email=alt_email)
                failed = next((e for e in done.events if isinstance(e, ReceiptBillFailed)), None)
                if failed is None and log_id is not None:
                    await engine._resolve_log(po_id, log_id)
                return PoOutcome(po_id=po_id, po_number=data.po_number, ok=failed is None,
                                 doc_number=existing, bill_id=entry.bill_id, log_id=log_id,
                                 cause=None if failed is None else Cause(
                                     code=failed.cause_code, cause=failed.cause, fix=failed.fix, scan_level=False))
        if existing is not None:
            # Named as what it was sent as (the journal), else what transfer_as makes now.
            entry = await anyio.to_thread.run_sync(engine.store.journal.get, po_id)
            sent_as = documents.document_of(entry, documents.first_document(settings))
            return await _already_synced(engine, data, existing, log_id, sent_as)
        ctx = await engine._guard(engine._context(settings))
        if source == "sync_one" and int(data.po.get("status") or 0) != ctx.submitted:
            status = await _status_label(engine, data.po.get("status"))
            return PoOutcome(po_id=po_id, po_number=data.po_number, ok=False,
                             cause=causes.make("po_not_submitted", po_number=data.po_number, status=status))
        outcome = await engine._one(ctx, settings, data, source=source, alt_email=alt_email)
        if outcome.ok and log_id is not None:
            await engine._resolve_log(po_id, log_id)
        return replace(outcome, log_id=log_id) if outcome.ok and log_id is not None else outcome
    except Exception as exc:
        halt = exc if isinstance(exc, ScanHalt) else halt_for(exc)  # (a disk full mid-way)
        if halt is None:
            raise
        return engine._stopped_outcome(halt, po_id, log_id)


async def retry_entry(engine: Any, settings: Settings, log_id: int) -> PoOutcome:
    """Run the PO of error-log entry `log_id` again. Success resolves the entry; another failure
    updates the same entry (and its to-do) instead of creating new ones."""
    errors = engine.store.errors
    entry = await anyio.to_thread.run_sync(errors.get, log_id)
    if entry is None:
        raise UnknownEntryError(f"no error-log entry with id {log_id}")
    if entry.status is ErrorStatus.RESOLVED:
        return PoOutcome(po_id=entry.po_id, po_number=entry.po_number or str(entry.po_id), ok=True,
                         log_id=log_id)
    engine._publish(RetryStarted(log_id=str(log_id), po_id=entry.po_id))
    await anyio.to_thread.run_sync(errors.mark_retrying, log_id)
    outcome = await sync_by_id(engine, settings, entry.po_id, entry.alt_email, source="retry", log_id=log_id)

    def reopen_if_untouched() -> None:
        # Stopped before the PO was tried (a service down, the PO gone): the entry stays open.
        current = errors.get(log_id)
        if current is not None and current.status is ErrorStatus.RETRYING:
            errors.update(log_id, status=ErrorStatus.OPEN)

    await anyio.to_thread.run_sync(reopen_if_untouched)
    engine._publish(RetryFinished(log_id=str(log_id), po_id=entry.po_id, ok=outcome.ok,
                                  doc_number=outcome.doc_number,
                                  cause_code=outcome.cause.code if outcome.cause else None))
    return outcome


async def retry_entries(engine: Any, settings: Settings) -> list[PoOutcome]:
    """Every open error-log entry, oldest first; stops early when a service is down (or the
    engine is stopping). QBO's tagged bills are read once for all of them."""
    entries = await anyio.to_thread.run_sync(engine.store.errors.open_errors)
    outcomes: list[PoOutcome] = []
    engine._shared_bills = TaggedBills.for_settings(engine.qbo, settings)
    try:
        for entry in sorted(entries, key=lambda e: e.id):
            if engine._stopping:
                break
            outcome = await retry_entry(engine, settings, entry.id)
            outcomes.append(outcome)
            if outcome.cause is not None and outcome.cause.scan_level:
                break
    finally:
        engine._shared_bills = None
    return outcomes


async def _status_label(engine: Any, value: object) -> str:
    try:
        picklist = await engine.autotask.picklist("PurchaseOrders", "status")
        return picklist.label_for(value) or str(value)
    except ApiError:
        return str(value)


async def _already_synced(engine: Any, data: sources.PoData, existing: str, log_id: int | None,
                          document: str = documents.BILL) -> PoOutcome:
    await engine._settle_written(data.po_id, existing)
    if log_id is not None:
        # Fixed by hand meanwhile (the PO holds a real number): the error is resolved.
        await engine._resolve_log(data.po_id, log_id)
        return PoOutcome(po_id=data.po_id, po_number=data.po_number, ok=True, doc_number=existing, log_id=log_id)
    return PoOutcome(po_id=data.po_id, po_number=data.po_number, ok=False,
                     cause=causes.make("po_already_synced", po_number=data.po_number, external=existing,
                                       document=documents.label(document)))
