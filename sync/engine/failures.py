"""What happens when a purchase order fails (DESIGN §1 "When a PO fails").

In this order, so that the most durable record comes first:
1. the journal moves to `failed` (a retry starts again from `seen`, with a new attempt);
2. the error log gets an entry, or the PO's open entry is updated (never a duplicate);
3. Autotask: `externalPONumber` := "ERROR" (not when a bill already exists: then the number is
   what is missing, and the log says so); a to-do on the local organization (company 0) with
   the configured action type and resource, or, when the entry already has one, that to-do's
   description is brought up to date instead of creating another;
4. the notifier (e-mail) to the notify address, or a single-PO sync's alternate address.
A service failing during 3 stops the scan afterwards (the log entry is already written).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import anyio

from sync.clients.autotask import AutotaskClient
from sync.clients.errors import ApiError
from sync.events import Event, NotificationFailed, PoFailed, TodoCreated
from sync.settings import Settings
from sync.store import ErrorLog, Journal, JournalState

from .causes import Cause
from .halt import ScanHalt, api_words, halt_for
from .notify import FailureNotice, Notifier
from .scan import ERROR_MARKER

S = JournalState
LOCAL_ORGANIZATION = 0


@dataclass
class FailureDeps:
    settings: Settings
    at: AutotaskClient
    journal: Journal
    errors: ErrorLog
    notifier: Notifier | None
    publish: Callable[[Event], None]
    now: datetime


def _autotask_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def todo_description(po_number: str, po_id: int, cause: Cause, log_id: int | None) -> str:
    return (f"atqbo could not transfer Autotask purchase order {po_number} (id {po_id}) to QuickBooks Online "
            f"as a bill.\n\nCause: {cause.cause}\n\nWhat to fix: {cause.fix}\n\n"
            f"Then retry it in atqbo (Logs, or `atqbo retry {log_id}`).")


async def record(deps: FailureDeps, po_id: int, po_number: str, cause: Cause, *, raw_error: str = "",
                 alt_email: str | None = None) -> tuple[int, int | None, bool]:
    """Record a failed PO everywhere. Returns (log id, to-do id, to-do created now).
    Raises ScanHalt after recording when Autotask itself is unreachable."""
    journal, errors = deps.journal, deps.errors

    def journal_failed() -> None:
        entry = journal.get(po_id)
        if entry is None:
            journal.transition(po_id, None, S.SEEN, po_number=po_number)
            entry = journal.get(po_id)
        if entry.state not in (S.FAILED, S.WRITTEN_BACK):
            journal.transition(po_id, entry.state, S.FAILED)

    await anyio.to_thread.run_sync(journal_failed)
    log_entry = await anyio.to_thread.run_sync(lambda: errors.record_failure(
        po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause, fix=cause.fix,
        raw_error=raw_error, alt_email=alt_email))
    log_id = log_entry.id

    halt: ScanHalt | None = None
    todo_id = log_entry.todo_id
    created = False
    try:
        if cause.code != "writeback_failed":
            # (When the write-back itself failed, the bill exists: its number, not ERROR, is what
            # the PO must get, and the retry writes it.)
            await deps.at.update("PurchaseOrders", po_id, {"externalPONumber": ERROR_MARKER})
        description = todo_description(po_number, po_id, cause, log_id)
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

    if deps.notifier is not None:
        recipient = alt_email or deps.settings.notify_email or ""
        notice = FailureNotice(
            subject=f"atqbo: purchase order {po_number} was not synced to QuickBooks",
            body=(f"Autotask purchase order {po_number} (id {po_id}) could not be turned into a QuickBooks "
                  f"Online bill.\n\nCause: {cause.cause}\nWhat to fix: {cause.fix}\n\n"
                  f"Retry it after the fix: atqbo retry {log_id} (or from the console's Logs screen).\n"),
            recipient=recipient, po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause,
            fix=cause.fix, log_id=str(log_id))
        try:
            await deps.notifier.notify(notice)
        except Exception as exc:  # a mail problem never stops the sync
            deps.publish(NotificationFailed(po_id=po_id, recipient=recipient, reason=" ".join(str(exc).split())))

    deps.publish(PoFailed(po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause,
                          fix=cause.fix, log_id=str(log_id), todo_id=todo_id))
    if halt is not None:
        raise halt
    return log_id, todo_id, created
