"""What the sync engine reports, as typed, immutable events.

The engine publishes one of these for every step (see `sync.engine.Engine.subscribe`); the
console turns them into messages for its screens and the daemon into log lines. Names are
in the past tense: an event says what has happened, never what should happen.

Every event carries `at` (UTC, when it happened). Amounts are `Decimal`, never float.
Events never hold secrets or stack traces: a failure is a cause code, plain words and what
to fix (see `sync.engine.causes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True, kw_only=True)
class Event:
    at: datetime = field(default_factory=_now)


# ------------------------------------------------------------------ the scheduler


@dataclass(frozen=True, kw_only=True)
class EngineStarted(Event):
    """`run()` began; the first scan follows at once (unless paused)."""


@dataclass(frozen=True, kw_only=True)
class EngineStopped(Event):
    """`run()` returned (after `stop()`; the PO in flight, if any, was finished)."""


@dataclass(frozen=True, kw_only=True)
class Paused(Event):
    """The operator paused the scheduler: no scan starts until `resume()`."""


@dataclass(frozen=True, kw_only=True)
class Resumed(Event):
    """The operator resumed the scheduler; a scan follows when it is due (or at once if due)."""


@dataclass(frozen=True, kw_only=True)
class NextScanScheduled(Event):
    """The next scan will start at `next_at` (scan_interval_minutes after the last one ended)."""

    next_at: datetime
    interval_minutes: float


@dataclass(frozen=True, kw_only=True)
class SettingsReloaded(Event):
    """Settings were read again before a scan and some changed (`changed`: their names)."""

    changed: tuple[str, ...]


# ------------------------------------------------------------------ scans


@dataclass(frozen=True, kw_only=True)
class ScanStarted(Event):
    scan_id: str
    trigger: str  # "schedule" | "manual"
    days_back: int
    # The QBO document the scan makes of a PO (transfer_as): "Bill" or "PurchaseOrder".
    document: str = "Bill"


@dataclass(frozen=True, kw_only=True)
class TransferPaused(Event):
    """This scan transfers nothing on purpose: days_back is 0 (the documented way to pause)."""

    scan_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ScanStopped(Event):
    """The scan ended early for a reason that concerns every PO, told once instead of one
    error per PO: authentication refused, a service down, multi-currency on in Autotask but
    off in QBO, settings incomplete. `service` is "autotask", "qbo" or "" (neither)."""

    scan_id: str
    service: str
    cause_code: str
    cause: str
    fix: str


@dataclass(frozen=True, kw_only=True)
class RecoveryFinished(Event):
    """POs left mid-way by an earlier run (a crash, a stop, a failed write-back) were finished
    before this scan's own work."""

    found: int  # journal records left mid-way
    written_back: int  # Autotask already held the bill's number: only the journal was behind
    synced: int  # finished now: bill found or re-sent with its requestid, number written back
    failed: int  # finished as failures (recorded like any failure)
    released: int  # no bill of this attempt exists: put back for the scan
    failures_completed: int  # failures whose marker / to-do / notice a crash had interrupted
    po_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ScanFinished(Event):
    """Always published at the end of a scan, stopped or not."""

    scan_id: str
    scanned: int  # eligible POs found
    synced: int
    failed: int
    skipped: int  # eligible but not attempted (stopped scan, transfer blocked)
    todos_created: int
    api_calls: dict[str, int]  # per service: "autotask", "qbo"
    duration_s: float
    stopped: bool = False
    paused: bool = False
    held: int = 0  # eligible, waiting for approval (apply_mode): not synced, not failed, no to-do


# ------------------------------------------------------------------ purchase orders


@dataclass(frozen=True, kw_only=True)
class PoStarted(Event):
    po_id: int
    po_number: str
    source: str  # "scan" | "sync_one" | "retry"


@dataclass(frozen=True, kw_only=True)
class PoSynced(Event):
    po_id: int
    po_number: str
    bill_id: str
    doc_number: str
    vendor: str
    amount: Decimal
    currency: str  # "" when multi-currency is off in QBO
    lines: int
    resumed: bool = False  # True when an earlier attempt had already created the bill
    document: str = "bill"  # or "purchase order" (transfer_as)
    customer: str = ""  # the "purchase for" organization (Autotask name), "" when none
    request_id: str = ""  # the QBO requestid the bill was created with
    number_from: str = ""  # "quickbooks" (its bill sequence) | "autotask" (the PO number) | "kept"


@dataclass(frozen=True, kw_only=True)
class ReceiptBilled(Event):
    """transfer_as = purchase_order_then_bill: a bill for goods Autotask recorded as received,
    linked to the PO's QBO purchase order."""

    po_id: int
    po_number: str
    bill_id: str
    doc_number: str
    purchase_order: str  # the QBO purchase order's number
    amount: Decimal
    currency: str
    receipts: int  # Autotask receiving records it covers
    closed: bool = False  # every item is now received and billed


@dataclass(frozen=True, kw_only=True)
class ReceiptBillFailed(Event):
    """A receipt's bill could not be made; the next scan tries again (the PO keeps its QBO
    purchase order number)."""

    po_id: int
    po_number: str
    cause_code: str
    cause: str
    fix: str


@dataclass(frozen=True, kw_only=True)
class PoFailed(Event):
    po_id: int
    po_number: str
    cause_code: str
    cause: str
    fix: str
    log_id: str | None
    todo_id: int | None


@dataclass(frozen=True, kw_only=True)
class PoHeld(Event):
    """The PO waits for the operator's approval (apply_mode): nothing was written for it, no
    to-do. `difference` is set when an approved plan changed before the scan could apply it."""

    po_id: int
    po_number: str
    reason: str  # "would create vendor 'X'"
    difference: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class VendorCreated(Event):
    name: str
    vendor_id: str
    currency: str = ""


@dataclass(frozen=True, kw_only=True)
class CustomerCreated(Event):
    name: str
    customer_id: str


@dataclass(frozen=True, kw_only=True)
class ItemCreated(Event):
    name: str
    item_id: str
    expense_account: str


@dataclass(frozen=True, kw_only=True)
class NameAdjusted(Event):
    """An Autotask name QBO cannot hold was changed by the documented rule (sync.engine.names)."""

    kind: str  # "vendor" | "customer" | "item"
    original: str
    adjusted: str


@dataclass(frozen=True, kw_only=True)
class TodoCreated(Event):
    todo_id: int
    po_id: int
    resource_id: int


@dataclass(frozen=True, kw_only=True)
class NotificationFailed(Event):
    """The failure notice (e-mail) could not be sent; the failure itself is still logged."""

    po_id: int
    recipient: str
    reason: str


# ------------------------------------------------------------------ retries and limits


@dataclass(frozen=True, kw_only=True)
class RetryStarted(Event):
    log_id: str
    po_id: int


@dataclass(frozen=True, kw_only=True)
class RetryFinished(Event):
    log_id: str
    po_id: int
    ok: bool
    doc_number: str | None = None
    cause_code: str | None = None


@dataclass(frozen=True, kw_only=True)
class RateLimited(Event):
    """We wait `wait_s` seconds before resending a request to `service`: it throttled us (429,
    thread limit) or failed for a moment (5xx, connection). The clients' own steady pacing under
    the published limits is not reported."""

    service: str
    wait_s: float


EVENT_TYPES: tuple[type[Event], ...] = (
    EngineStarted, EngineStopped, Paused, Resumed, NextScanScheduled, SettingsReloaded,
    ScanStarted, TransferPaused, ScanStopped, RecoveryFinished, ScanFinished,
    PoStarted, PoSynced, PoFailed, PoHeld, VendorCreated, CustomerCreated, ItemCreated, NameAdjusted,
    TodoCreated, NotificationFailed, RetryStarted, RetryFinished, RateLimited, ReceiptBilled, ReceiptBillFailed,
)
