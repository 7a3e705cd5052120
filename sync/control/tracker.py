"""The engine's state as its events tell it, kept beside the engine for status and snapshots.

A control-socket client that attaches mid-scan needs what it missed: the state of the
scheduler, the events of the scan in progress (or the last one), the next scan's time. This
tracker subscribes to the engine and keeps exactly that, bounded.
"""

from __future__ import annotations

from collections import deque

from sync import events as ev

MAX_SCAN_EVENTS = 5_000  # a 1,000-PO scan publishes about 3,000


class EngineTracker:
    def __init__(self) -> None:
        self.started = self.stopped = self.paused = self.scanning = False
        self.scan_events: deque[ev.Event] = deque(maxlen=MAX_SCAN_EVENTS)
        self.next_scan: ev.NextScanScheduled | None = None

    @property
    def engine(self) -> str:
        """starting | idle | scanning | paused | stopped (as the console's live state says)."""
        if self.stopped:
            return "stopped"
        if self.scanning:
            return "scanning"
        if self.paused:
            return "paused"
        return "idle" if self.started else "starting"

    def __call__(self, event: ev.Event) -> None:
        if isinstance(event, ev.EngineStarted):
            self.started, self.stopped = True, False
        elif isinstance(event, ev.EngineStopped):
            self.stopped, self.scanning = True, False
        elif isinstance(event, (ev.Paused, ev.Resumed)):
            self.paused = isinstance(event, ev.Paused)
        elif isinstance(event, ev.NextScanScheduled):
            self.next_scan = event
        else:
            if isinstance(event, ev.ScanStarted):
                self.scanning = True
                self.scan_events.clear()
            elif isinstance(event, ev.ScanFinished):
                self.scanning = False
            self.scan_events.append(event)

    def replay(self) -> list[ev.Event]:
        """What a new subscriber needs to draw the live run: the state, then the scan's events."""
        out: list[ev.Event] = [ev.EngineStarted()] if self.started else []
        out += list(self.scan_events)
        if self.next_scan is not None and not self.scanning:
            out.append(self.next_scan)
        if self.paused:
            out.append(ev.Paused())
        if self.stopped:
            out.append(ev.EngineStopped())
        return out

    def rows(self) -> list[dict]:
        """The current scan's purchase orders as the live screen lists them (plain records)."""
        rows: dict[int, dict] = {}
        for event in self.scan_events:
            po_id = getattr(event, "po_id", None)
            if not isinstance(po_id, int) or po_id <= 0:
                continue
            row = rows.setdefault(po_id, {"po_id": po_id, "po_number": "", "state": "working",
                                          "source": "scan", "outcome": "", "log_id": None})
            if isinstance(event, ev.PoStarted):
                row.update(po_number=event.po_number, state="working", source=event.source)
            elif isinstance(event, ev.PoSynced):
                row.update(po_number=event.po_number, state="synced", outcome=event.doc_number)
            elif isinstance(event, ev.PoFailed):
                row.update(po_number=event.po_number, state="failed", outcome=event.cause, log_id=event.log_id)
            elif isinstance(event, ev.PoHeld):
                row.update(po_number=event.po_number, state="held", outcome=f"held: {event.reason}")
            elif isinstance(event, ev.RetryStarted):
                row.update(state="retrying", log_id=event.log_id)
        return list(rows.values())
