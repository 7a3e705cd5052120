"""What the daemon tells the outside while it runs, kept out of daemon.py's control flow:
systemd (READY=1, STATUS= after each scan, WATCHDOG=1 pings, STOPPING=1) and, with
--metrics-port, the Prometheus endpoint. Nothing here imports Textual."""

from __future__ import annotations

from typing import Any

import anyio

from sync import events as ev
from sync.sdnotify import SdNotify


class Watch:
    def __init__(self, runtime: Any, printer: Any, notify: SdNotify | None = None) -> None:
        self.runtime = runtime
        self.printer = printer
        self.notify = notify or SdNotify.from_env()
        self.metrics: Any = None
        self.scans = 0
        self._last: ev.ScanFinished | None = None

    def start_metrics(self, at: tuple[str, int] | None) -> None:
        if at is None:
            return
        from sync.audit.metrics import EngineMetrics

        metrics = EngineMetrics(self.runtime.store, self.runtime.engine)
        try:
            metrics.serve(*at)
        except OSError:
            metrics.close()
            raise
        self.metrics = metrics
        self.printer.message(f"metrics on http://{at[0]}:{at[1]}/metrics", metrics_port=at[1])

    def ready(self, once: bool) -> None:
        self.notify.ready("one scan, then exit" if once else "first scan starting")

    def on_event(self, event: ev.Event) -> None:
        if not self.notify.enabled:
            return
        if isinstance(event, ev.ScanStarted):
            self.scans += 1
            self.notify.status(f"scan {self.scans} running")
        elif isinstance(event, ev.ScanFinished):
            self._last = event
            self.notify.status(self._scan_words(event))
        elif isinstance(event, ev.NextScanScheduled):
            minutes = event.interval_minutes
            when = f"{minutes:g} min"
            text = self._scan_words(self._last) if self._last else "no scan yet"
            self.notify.status(f"{text}, next in {when}")
        elif isinstance(event, ev.Paused):
            self.notify.status("paused by the operator")
        elif isinstance(event, ev.EngineStopped):
            self.notify.stopping()

    def _scan_words(self, e: ev.ScanFinished) -> str:
        text = f"scan {self.scans}: {e.synced} synced"
        if e.failed:
            text += f", {e.failed} failed"
        if e.held:
            text += f", {e.held} held for approval"
        if e.stopped:
            text += ", stopped (see the log)"
        elif e.paused:
            text += ", transfer paused (days_back 0)"
        return text

    async def watchdog(self) -> None:
        interval = self.notify.watchdog_interval_s
        if interval is None:
            return
        while True:
            self.notify.watchdog()
            await anyio.sleep(interval)

    def close(self) -> None:
        self.notify.stopping()
        self.notify.close()
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None
