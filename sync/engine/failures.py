"""What happens when a purchase order fails (DESIGN §1 "When a PO fails").

In this order, so that the most durable record comes first:
1. the journal moves to `failed` with `pending` set (a retry starts again from `seen`, with a
   new attempt); a failed write-back leaves it at bill_created (the number is still due);
2. the error log gets an entry, or the PO's open entry is updated (never a duplicate);
3. Autotask: `externalPONumber` := "ERROR" (not when a bill already exists: then the number is
   what is missing, and the log says so); a to-do on the local organization (company 0) with
   the configured action type and resource, or, when the entry already has one, that to-do's
   description is brought up to date instead of creating another;
4. the notifier (e-mail) to the notify address, or a single-PO sync's alternate address;
5. the journal's `pending` is cleared. A crash before that: recovery runs `finish_pending`.
A service failing during 3 stops the scan afterwards (the log entry is already written; the
journal keeps `pending`, so recovery completes 3-5 later).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from datetime import datetime, timedelta, timezone

import anyio

from sync.clients.autotask import AutotaskClient
from sync.clients.autotask_filters import F
from sync.clients.errors import ApiError
from sync.events import Event, NotificationFailed, PoFailed, TodoCreated
from sync.settings import Settings
from sync.store import ErrorLog, ErrorStatus, Journal, JournalState
from sync.text import shown, shown_lines

from . import documents
from .causes import Cause
from .halt import ScanHalt, api_words, halt_for
from .notify import FailureNotice, Notifier
from .scan import ERROR_MARKER

S = JournalState
LOCAL_ORGANIZATION = 0
PENDING_FAILURE = "failure"
WRITEBACK_FAILED = "writeback_failed"
# Causes after which the PO keeps (or is about to get) a bill number: never marked ERROR.
# (A receipt's bill, transfer_as purchase_order_then_bill: the PO keeps its purchase order number.)
KEEPS_NUMBER = frozenset({WRITEBACK_FAILED, "writeback_conflict", "receipt_purchase_order_deleted",
                          "receipt_purchase_order_changed", "receipt_number_too_long", "receipt_number_taken",
                          "receipt_bill_rejected"})


@dataclass
class FailureDeps:
    settings: Settings
    at: AutotaskClient
    journal: Journal
    errors: ErrorLog
    notifier: Notifier | None
    publish: Callable[[Event], None]
    now: datetime


def _document_words(deps: FailureDeps) -> str:
    """What the PO was to become in QuickBooks: "bill" or "purchase order" (transfer_as)."""
    return documents.label(documents.first_document(deps.settings))


def _autotask_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def todo_marker(po_id: int) -> str:
    """The words in every to-do's description that name its PO (to find it again)."""
    return f"(id {po_id}) to QuickBooks Online"


def todo_description(po_number: str, po_id: int, cause: Cause, log_id: int | None, document: str = "bill") -> str:
    # Text from outside is shown with its control characters escaped (sync.text), so a PO
    # number cannot add lines of its own; the line breaks left are ours.
    return shown_lines(f"atqbo could not transfer Autotask purchase order {shown(po_number)} {todo_marker(po_id)} "
                       f"as a {document}.\n\nCause: {shown(cause.cause)}\n\nWhat to fix: {shown(cause.fix)}\n\n"
                       f"Then retry it in atqbo (Logs, or `atqbo retry {log_id}`).")


async def record(deps: FailureDeps, po_id: int, po_number: str, cause: Cause, *, raw_error: str = "",
                 alt_email: str | None = None) -> tuple[int, int | None, bool]:
    """Record a failed PO everywhere. Returns (log id, to-do id, to-do created now).
    Raises ScanHalt after recording when Autotask itself is unreachable.

    The journal is moved to `failed` with `pending` set before anything else, and cleared after
    the notice: a crash in between leaves a record `Journal.unfinished()` lists, and
    `finish_pending` completes the rest (the ERROR marker again, the to-do looked up before it is
    created, the notice). A failed write-back leaves the journal at bill_created instead: the
    bill exists, and the next scan (or recovery) writes its number back."""
    journal, errors = deps.journal, deps.errors
    keeps_bill = cause.code == WRITEBACK_FAILED

    def journal_failed() -> bool:
        entry = journal.get(po_id)
        if entry is None:
            journal.transition(po_id, None, S.SEEN, po_number=po_number)
            entry = journal.get(po_id)
        if keeps_bill and entry.state is S.BILL_CREATED:
            return False
        if entry.state is not S.WRITTEN_BACK:
            journal.transition(po_id, entry.state, S.FAILED, pending=PENDING_FAILURE)
            return True
        return False

    def log() -> tuple[Any, bool]:
        before = errors.latest_open_for_po(po_id)
        # The same cause again on an entry nobody is retrying (a scan re-trying a write-back):
        # the operator already has the notice and the to-do (brought up to date below).
        repeat = before is not None and before.cause_code == cause.code and before.status is ErrorStatus.OPEN
        entry = errors.record_failure(po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause,
                                      fix=cause.fix, raw_error=raw_error, alt_email=alt_email)
        return entry, repeat

    journalled = await anyio.to_thread.run_sync(journal_failed)
    log_entry, repeat = await anyio.to_thread.run_sync(log)
    return await _finish(deps, po_id, po_number, cause, log_entry.id, log_entry.todo_id, raw_error=raw_error,
                         alt_email=alt_email, journalled=journalled, notify=not repeat, look_up_todo=False)


async def finish_pending(deps: FailureDeps, po_id: int) -> tuple[int | None, int | None, bool]:
    """Complete a failure a crash interrupted (the journal at failed with `pending`): the ERROR
    marker, the to-do (an existing one for this PO is adopted, never a second one), the notice.
    Returns (log id, to-do id, to-do created now)."""
    errors, journal = deps.errors, deps.journal
    entry = await anyio.to_thread.run_sync(errors.latest_open_for_po, po_id)
    if entry is None:
        # Nothing left to tell (resolved meanwhile, or the crash came before the log entry, when
        # nothing but the journal had changed): the record is simply complete.
        await anyio.to_thread.run_sync(lambda: journal.transition(po_id, S.FAILED, S.FAILED, pending=None))
        return None, None, False
    if entry.status is ErrorStatus.RETRYING:
        await anyio.to_thread.run_sync(lambda: errors.update(entry.id, status=ErrorStatus.OPEN))
    cause = Cause(code=entry.cause_code, cause=entry.cause, fix=entry.fix)
    return await _finish(deps, po_id, entry.po_number or str(po_id), cause, entry.id, entry.todo_id,
                         raw_error=entry.raw_error, alt_email=entry.alt_email, journalled=True, notify=True,
                         look_up_todo=True)


async def _existing_todo(at: AutotaskClient, po_id: int) -> int | None:
    """An open to-do on the local organization that names this PO (created by an attempt whose
    reply or bookkeeping a crash lost)."""
    found = await at.query("CompanyToDos", [F.eq("companyID", LOCAL_ORGANIZATION),
                                            F.contains("activityDescription", todo_marker(po_id))])
    open_ones = [t for t in found if not t.get("completedDate")]
    return int(open_ones[-1]["id"]) if open_ones else None


async def _finish(deps: FailureDeps, po_id: int, po_number: str, cause: Cause, log_id: int, todo_id: int | None, *,
                  raw_error: str, alt_email: str | None, journalled: bool, notify: bool,
                  look_up_todo: bool) -> tuple[int, int | None, bool]:
    errors = deps.errors
    halt: ScanHalt | None = None
    created = False
    try:
        if cause.code not in KEEPS_NUMBER:
            # (When the write-back itself failed, the bill exists: its number, not ERROR, is what
            # the PO must get, and the retry writes it.)
            await deps.at.update("PurchaseOrders", po_id, {"externalPONumber": ERROR_MARKER})
        description = todo_description(po_number, po_id, cause, log_id, _document_words(deps))
        if todo_id is None and look_up_todo:
            todo_id = await _existing_todo(deps.at, po_id)
            if todo_id is not None:
                await anyio.to_thread.run_sync(lambda: errors.update(log_id, todo_id=todo_id))
        if todo_id is None:
            start = deps.now.replace(microsecond=0)
            todo_id = await deps.at.create_child("Companies", LOCAL_ORGANIZATION, "ToDos", {
                "companyID": LOCAL_ORGANIZATION,
                "actionType": deps.settings.todo_action_type,
                "assignedToResourceID": deps.settings.todo_resource,
                "activityDescription": description,
                "startDateTime": _autotask_time(start),
                "endDateTime": _autotask_time(start + timedelta(minutes=30)),
            })
            created = True
            await anyio.to_thread.run_sync(lambda: errors.update(log_id, todo_id=todo_id))
            deps.publish(TodoCreated(todo_id=todo_id, po_id=po_id, resource_id=int(deps.settings.todo_resource or 0)))
        else:
            await deps.at.update_child("Companies", LOCAL_ORGANIZATION, "ToDos", todo_id,
                                       {"activityDescription": description})
    except ApiError as exc:
        halt = halt_for(exc)
        if halt is None:
            # The to-do (or the marker) was refused: keep the reason with the log entry.
            note = f"{raw_error}\n[atqbo] Autotask refused the ERROR marker or the to-do: {api_words(exc)}".strip()
            await anyio.to_thread.run_sync(lambda: errors.update(log_id, raw_error=note))

    if halt is not None:
        # Autotask is unreachable: the marker or the to-do may still be missing, so the journal
        # keeps `pending` and recovery finishes them once Autotask answers again.
        deps.publish(PoFailed(po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause,
                              fix=cause.fix, log_id=str(log_id), todo_id=todo_id))
        raise halt

    if deps.notifier is not None and notify:
        recipient = alt_email or deps.settings.notify_email or ""
        notice = FailureNotice(
            subject=f"atqbo: purchase order {shown(po_number)} was not synced to QuickBooks",
            body=(f"Autotask purchase order {shown(po_number)} (id {po_id}) could not be turned into a QuickBooks "
                  f"Online {_document_words(deps)}.\n\nCause: {shown(cause.cause)}\nWhat to fix: {shown(cause.fix)}\n\n"
                  f"Retry it after the fix: atqbo retry {log_id} (or from the console's Logs screen).\n"),
            recipient=recipient, po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause,
            fix=cause.fix, log_id=str(log_id))
        try:
            await deps.notifier.notify(notice)
        except Exception as exc:  # a mail problem never stops the sync
            deps.publish(NotificationFailed(po_id=po_id, recipient=recipient, reason=" ".join(str(exc).split())))

    if journalled:
        journal = deps.journal
        await anyio.to_thread.run_sync(
            lambda: journal.transition(po_id, S.FAILED, S.FAILED, pending=None, error_id=log_id))
    deps.publish(PoFailed(po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause,
                          fix=cause.fix, log_id=str(log_id), todo_id=todo_id))
    return log_id, todo_id, created
