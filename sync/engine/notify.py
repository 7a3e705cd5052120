"""How the engine tells someone about a failure outside the console (e-mail, issue 8).

The engine only knows this protocol; `Engine(notifier=None)` sends nothing. A notifier that
raises does not stop the engine: it publishes `NotificationFailed` and carries on (the failure
is already in the error log and the Autotask to-do).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class FailureNotice:
    """One PO that failed (or a scan that was stopped: po_id is None then)."""

    subject: str
    body: str
    recipient: str  # the notify address, or a single-PO sync's alternate address
    po_id: int | None
    po_number: str
    cause_code: str
    cause: str
    fix: str
    log_id: str | None = None


@dataclass(frozen=True)
class PoFailure:
    """What an operator needs to act on one failed PO."""

    po_id: int
    po_number: str
    cause: str
    fix: str = ""
    log_id: str | int | None = None
    document: str = "bill"  # what the PO was to become: "bill" or "purchase order" (transfer_as)


@dataclass(frozen=True)
class PoResult:
    """The outcome of one PO: synced (bill number) or failed (a `PoFailure`): a single-PO
    sync's result mail (sync.mail's notifier)."""

    po_id: int
    po_number: str
    bill_number: str | None = None
    failure: PoFailure | None = None
    document: str = "bill"  # "bill" or "purchase order": what bill_number numbers

    @property
    def ok(self) -> bool:
        return self.failure is None


@runtime_checkable
class Notifier(Protocol):
    async def notify(self, notice: FailureNotice) -> None:
        """Deliver the notice; raise on failure (the engine reports it and carries on)."""
        ...
