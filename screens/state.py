"""What the live screen shows, kept by the app as engine events arrive (pure Python).

The app owns one `LiveState` for its whole life, so switching screens loses nothing; the live
screen renders from it on mount and redraws only the rows an event touched. Bounded: the last
`MAX_ROWS` purchase orders and `MAX_ACTIVITY` activity lines.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sync import events as ev
from sync.text import shown_fields

MAX_ROWS = 500
MAX_ACTIVITY = 200

# Documented ceilings of the two services (DESIGN §5), shown next to what we used.
AUTOTASK_PER_HOUR = 10_000
QBO_PER_MINUTE = 500


@dataclass
class PoRow:
    po_id: int
    po_number: str = ""
    state: str = "working"  # working | synced | failed | retrying | held
    source: str = "scan"
    vendor: str = ""
    lines: int | None = None
    amount: Decimal | None = None
    currency: str = ""
    outcome: str = ""  # the bill number, or the cause of the failure
    log_id: str | None = None
    hold: str = ""  # held: why (the reason the approval is for)


@dataclass
class Activity:
    at: datetime
    kind: str  # todo | retry | created | limit | scan | engine | problem
    text: str


@dataclass
class LiveState:
    engine: str = "starting"  # starting | idle | scanning | paused | stopped | failed
    scan_id: str = ""
    scan_trigger: str = ""
    scan_started_at: datetime | None = None
    scan_done: int = 0
    scan_synced: int = 0
    scan_failed: int = 0
    last_scan: ev.ScanFinished | None = None
    next_scan_at: datetime | None = None
    stop_reason: str = ""
    # What the last scan makes of a PO: "Bill", or "PurchaseOrder" (transfer_as purchase_order*).
    document: str = "Bill"
    rows: OrderedDict[int, PoRow] = field(default_factory=OrderedDict)
    activity: deque[Activity] = field(default_factory=lambda: deque(maxlen=MAX_ACTIVITY))
    api_calls: dict[str, list[tuple[datetime, int]]] = field(default_factory=dict)
    rate_limited: dict[str, float] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=lambda: {"synced": 0, "failed": 0, "todos": 0})

    # ---------------------------------------------------------------- reducer

    def apply(self, event: ev.Event, received_at: datetime | None = None) -> tuple[int, ...]:
        """Fold one event in; returns the ids of the PO rows it changed. Activity lines are
        stamped `received_at` (the console's clock) when given, else with the event's time."""
        handler = getattr(self, "_on_" + type(event).__name__, None)
        if handler is None:
            return ()
        self._stamp = received_at
        try:
            # Everything shown comes from here: names, numbers and causes from outside have
            # their control characters shown as escapes (sync.text), never sent to the terminal.
            return handler(shown_fields(event)) or ()
        finally:
            self._stamp = None

    def _row(self, po_id: int) -> PoRow:
        row = self.rows.get(po_id)
        if row is None:
            row = self.rows[po_id] = PoRow(po_id)
            while len(self.rows) > MAX_ROWS:
                self.rows.popitem(last=False)
        return row

    _stamp: datetime | None = None

    def _note(self, event: ev.Event, kind: str, text: str) -> None:
        self.activity.append(Activity(self._stamp or event.at, kind, text))

    def _on_EngineStarted(self, e: ev.EngineStarted) -> None:
        self.engine = "idle"

    def _on_EngineStopped(self, e: ev.EngineStopped) -> None:
        self.engine = "stopped"
        self.next_scan_at = None

    def _on_Paused(self, e: ev.Paused) -> None:
        self.engine = "paused"
        self._note(e, "engine", "Scheduler paused")

    def _on_Resumed(self, e: ev.Resumed) -> None:
        self.engine = "scanning" if self.scan_started_at else "idle"
        self._note(e, "engine", "Scheduler resumed")

    def _on_NextScanScheduled(self, e: ev.NextScanScheduled) -> None:
        self.next_scan_at = e.next_at

    def _on_SettingsReloaded(self, e: ev.SettingsReloaded) -> None:
        self._note(e, "engine", "Settings applied: " + ", ".join(e.changed))

    def _on_ScanStarted(self, e: ev.ScanStarted) -> None:
        if self.engine != "paused":
            self.engine = "scanning"
        self.scan_id, self.scan_trigger, self.scan_started_at = e.scan_id, e.trigger, e.at
        self.scan_done = self.scan_synced = self.scan_failed = 0
        self.stop_reason = ""
        self.next_scan_at = None
        self.document = "PurchaseOrder" if e.document == "PurchaseOrder" else "Bill"

    def _on_TransferPaused(self, e: ev.TransferPaused) -> None:
        self._note(e, "scan", f"Nothing transferred: {e.reason}")

    def _on_ScanStopped(self, e: ev.ScanStopped) -> None:
        self.stop_reason = f"{e.cause} — {e.fix}" if e.fix else e.cause
        self._note(e, "problem", f"Scan stopped: {e.cause}")

    def _on_ScanFinished(self, e: ev.ScanFinished) -> None:
        self.last_scan = e
        self.scan_started_at = None
        if self.engine == "scanning":
            self.engine = "idle"
        for service, count in e.api_calls.items():
            self.api_calls.setdefault(service, []).append((e.at, count))
        self._note(e, "scan", f"Scan finished: {e.synced} synced, {e.failed} failed, "
                              f"{e.skipped} skipped in {e.duration_s:.1f}s")

    def _on_PoStarted(self, e: ev.PoStarted) -> tuple[int, ...]:
        row = self._row(e.po_id)
        row.po_number = e.po_number or row.po_number
        row.source = e.source
        row.state = "retrying" if e.source == "retry" else "working"
        row.outcome = ""
        return (e.po_id,)

    def _on_PoSynced(self, e: ev.PoSynced) -> tuple[int, ...]:
        row = self._row(e.po_id)
        row.po_number = e.po_number or row.po_number
        row.state, row.vendor, row.lines = "synced", e.vendor, e.lines
        row.amount, row.currency, row.outcome = e.amount, e.currency, e.doc_number
        self.totals["synced"] += 1
        if self.scan_started_at and row.source == "scan":
            self.scan_done += 1
            self.scan_synced += 1
        return (e.po_id,)

    def _on_PoFailed(self, e: ev.PoFailed) -> tuple[int, ...]:
        row = self._row(e.po_id)
        row.po_number = e.po_number or row.po_number
        row.state, row.outcome, row.log_id = "failed", e.cause, e.log_id
        self.totals["failed"] += 1
        if self.scan_started_at and row.source == "scan":
            self.scan_done += 1
            self.scan_failed += 1
        return (e.po_id,)

    def _on_PoHeld(self, e: ev.PoHeld) -> tuple[int, ...]:
        row = self._row(e.po_id)
        row.po_number = e.po_number or row.po_number
        row.state, row.hold = "held", e.reason
        row.outcome = f"held: {e.reason}" + (" (held again, the plan changed: " + "; ".join(e.difference) + ")"
                                             if e.difference else "")
        self._note(e, "scan", f"PO {row.po_number or e.po_id} held for approval: {e.reason}")
        return (e.po_id,)

    def _on_VendorCreated(self, e: ev.VendorCreated) -> None:
        self._note(e, "created", f"Vendor created in QBO: {e.name}")

    def _on_CustomerCreated(self, e: ev.CustomerCreated) -> None:
        self._note(e, "created", f"Customer created in QBO: {e.name}")

    def _on_ItemCreated(self, e: ev.ItemCreated) -> None:
        self._note(e, "created", f"Item created in QBO: {e.name}")

    def _on_NameAdjusted(self, e: ev.NameAdjusted) -> None:
        self._note(e, "created", f"{e.kind.title()} name adjusted: \"{e.original}\" → \"{e.adjusted}\"")

    def _on_TodoCreated(self, e: ev.TodoCreated) -> None:
        self.totals["todos"] += 1
        row = self.rows.get(e.po_id)
        number = row.po_number if row and row.po_number else str(e.po_id)
        self._note(e, "todo", f"To-do {e.todo_id} created in Autotask for PO {number}")

    def _on_NotificationFailed(self, e: ev.NotificationFailed) -> None:
        self._note(e, "problem", f"E-mail to {e.recipient} not sent: {e.reason}")

    def _on_RetryStarted(self, e: ev.RetryStarted) -> tuple[int, ...]:
        row = self._row(e.po_id)
        row.state, row.source, row.outcome = "retrying", "retry", ""
        self._note(e, "retry", f"Retry started for PO {row.po_number or e.po_id}")
        return (e.po_id,)

    def _on_RetryFinished(self, e: ev.RetryFinished) -> None:
        row = self.rows.get(e.po_id)
        number = row.po_number if row and row.po_number else str(e.po_id)
        if e.ok:
            self._note(e, "retry", f"Retry of PO {number} succeeded: bill {e.doc_number}")
        else:
            self._note(e, "retry", f"Retry of PO {number} failed again ({e.cause_code})")

    def _on_RateLimited(self, e: ev.RateLimited) -> None:
        self.rate_limited[e.service] = e.wait_s
        self._note(e, "limit", f"{_service_name(e.service)} asked us to slow down: waiting {e.wait_s:.1f}s")

    # ---------------------------------------------------------------- views

    def calls_within(self, service: str, now: datetime, window: timedelta) -> int:
        return sum(count for at, count in self.api_calls.get(service, ()) if now - at <= window)


def _service_name(service: str) -> str:
    return {"qbo": "QuickBooks Online", "autotask": "Autotask"}.get(service, service)


def service_name(service: str) -> str:
    return _service_name(service)
