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


@runtime_checkable
class Notifier(Protocol):
    async def notify(self, notice: FailureNotice) -> None:
        """Deliver the notice; raise on failure (the engine reports it and carries on)."""
        ...
