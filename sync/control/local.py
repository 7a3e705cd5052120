"""The engine-control interface over an engine in this process (the console running the engine
itself, the CLI, and the control socket's server side).

It wraps a runtime (`.store`, `.engine`, `.autotask`, `.qbo`, optional `.notifier`,
`.sandbox_server`): the same object the command line and the daemon build. Store reads run in a
thread (a page of a large error log takes a few milliseconds, the event loop must not wait).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import anyio

from sync import events as ev
from sync.engine.single import sync_one_and_report
from sync.plan.model import PlanReport, PoPlan
from sync.settings import Settings
from sync.settings_check import LIVE_CHECKED, check_live

from .api import Capabilities, CommandFailed, CommandRefused, ControlStatus, EventSink, Options, SyncOutcome
from .links import LinkView, list_links, make_link, remove_link
from .logs import ErrorLogSource, LogEntryView
from .options import load_options
from .tracker import EngineTracker


class LocalEngineControl:
    def __init__(self, runtime: Any, *, demo: bool = False, pid: int | None = None) -> None:
        self.runtime = runtime
        self.pid = os.getpid() if pid is None else pid  # a test may pin it (snapshots)
        self.capabilities = Capabilities(remote=False, demo_fix=demo, reconnect=True)
        self.tracker = EngineTracker()
        self._log_source: ErrorLogSource | None = None
        self._open_errors = 0
        self._unsubscribe_tracker = self.engine.subscribe(self._on_event)

    def _on_event(self, event: ev.Event) -> None:
        self.tracker(event)
        if isinstance(event, (ev.PoFailed, ev.RetryStarted, ev.RetryFinished)):
            self.log_changed()  # a text search cached for a client is stale now

    @property
    def engine(self) -> Any:
        return self.runtime.engine

    @property
    def store(self) -> Any:
        return self.runtime.store

    def close(self) -> None:
        self._unsubscribe_tracker()

    # -------------------------------------------------------------- the engine's life

    async def run(self) -> None:
        await self.engine.run()

    async def stop(self) -> None:
        await self.engine.stop()

    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        return self.engine.subscribe(sink)

    def status(self) -> ControlStatus:
        """Cheap, on the event loop (the console samples it every second): the open-error count
        is the one last read by refresh_status(), which reads the store in a thread."""
        calls = {"autotask": int(getattr(self.runtime.autotask, "calls", 0) or 0),
                 "qbo": int(getattr(self.runtime.qbo, "calls", 0) or 0)}
        budget = self.engine.autotask_budget()
        return ControlStatus(engine=self.tracker.engine, paused=bool(self.engine.paused), pid=self.pid,
                             data_dir=str(self.store.locations.data_dir), api_calls=calls,
                             open_errors=self._open_errors,
                             autotask_budget=budget.to_record() if budget is not None else {})

    async def refresh_status(self) -> ControlStatus:
        def count() -> int:
            from sync.store import ErrorStatus

            try:
                return int(self.store.errors.count_by_status()[ErrorStatus.OPEN])
            except Exception:  # a closed store while the app shuts down
                return 0

        # The log's lock may be held by a writer thread: never wait for it on the event loop.
        self._open_errors = await anyio.to_thread.run_sync(count)
        return self.status()

    # -------------------------------------------------------------- commands

    async def scan_now(self) -> None:
        self.engine.scan_now()

    async def pause(self) -> None:
        self.engine.pause()

    async def resume(self) -> None:
        self.engine.resume()

    async def sync_one(self, po_id: int, alt_email: str | None = None) -> SyncOutcome:
        return SyncOutcome.of(await sync_one_and_report(self.engine, int(po_id), alt_email))

    async def retry(self, log_id: int) -> SyncOutcome:
        from sync.store.errors import UnknownEntryError

        try:
            return SyncOutcome.of(await self.engine.retry(int(log_id)))
        except UnknownEntryError as exc:
            raise CommandRefused(f"{exc}; list them with atqbo logs") from None

    async def retry_all(self) -> list[SyncOutcome]:
        return [SyncOutcome.of(o) for o in await self.engine.retry_all()]

    # -------------------------------------------------------------- what screens read

    def log_source(self) -> ErrorLogSource:
        if self._log_source is None or self._log_source.errors is not self.store.errors:
            self._log_source = ErrorLogSource(self.store.errors)
        return self._log_source

    def log_changed(self) -> None:
        if self._log_source is not None:
            self._log_source.changed()

    async def log_window(self, status: str | None, text: str, offset: int,
                         limit: int) -> tuple[int, list[LogEntryView]]:
        source = self.log_source()
        return await anyio.to_thread.run_sync(source.window, status, text, offset, limit)

    async def log_entry(self, log_id: str) -> LogEntryView | None:
        from sync.ids import IdError, parse_log_id

        try:
            number = parse_log_id(str(log_id))  # (isdigit() also takes '²', which int() refuses)
        except IdError:
            return None
        return await anyio.to_thread.run_sync(self.log_source().get, str(number))

    async def settings_get(self) -> Settings:
        return await anyio.to_thread.run_sync(self.store.settings.load)

    async def settings_set(self, values: dict[str, Any], smtp_password: str | None = None) -> tuple[str, ...]:
        """Validated as a whole, then each changed setting that names something in a live
        system is checked there (sync.settings_check); only then saved."""
        from sync.clients.errors import ApiError

        def current() -> dict[str, Any]:
            try:
                return self.store.settings.load().to_values()
            except Exception:  # a damaged file is replaced by a valid one
                return {}

        before = await anyio.to_thread.run_sync(current)
        settings = Settings.from_values({**before, **values})  # SettingsError names every bad key
        after = settings.to_values()
        changed = tuple(k for k in after if before.get(k) != after.get(k))
        for key in changed:
            if key not in LIVE_CHECKED or after[key] is None:
                continue
            try:
                problem = await check_live(key, after[key], autotask=self.runtime.autotask, qbo=self.runtime.qbo)
            except ApiError as exc:
                raise CommandFailed(f"cannot check {key}: {exc}; nothing was saved") from None
            if problem:
                raise CommandRefused(f"{key}: {problem}; nothing was saved")

        def save() -> None:
            self.store.settings.save(settings)
            if smtp_password is not None:
                self.store.secrets.set_smtp_password(smtp_password or None)

        await anyio.to_thread.run_sync(save)
        reload = getattr(self.runtime, "reload_settings", None)
        if (changed or smtp_password is not None) and callable(reload) and \
                getattr(self.runtime, "notifier", None) is not None:
            # The mail notifier follows the new SMTP settings; the engine reads them next scan.
            try:
                await reload()
            except Exception:
                pass
        return changed

    async def links_list(self, kind: str | None = None) -> list[LinkView]:
        return await list_links(self.store.links, kind)

    async def link(self, kind: str, autotask_id: int, qbo_id: str) -> LinkView:
        return await make_link(self.store.links, self.runtime.autotask, self.runtime.qbo, kind, autotask_id, qbo_id)

    async def unlink(self, kind: str, autotask_id: int) -> LinkView:
        return await remove_link(self.store.links, kind, autotask_id)

    async def options(self) -> tuple[Options, dict[str, str]]:
        return await load_options(self.runtime.autotask, self.runtime.qbo)

    # -------------------------------------------------------------- plan before apply

    async def plan(self, po_ids: list[int] | None = None) -> PlanReport:
        from datetime import datetime, timezone

        from sync.plan import make_plan

        settings = await anyio.to_thread.run_sync(self.store.settings.load)
        missing = settings.missing_for_scan()
        if missing:
            raise CommandRefused("settings incomplete, a plan needs them: " + "; ".join(str(m) for m in missing))
        return await make_plan(settings, self.runtime.autotask, self.runtime.qbo, self.store.journal,
                               now=datetime.now(timezone.utc), po_ids=po_ids, links=self.store.links,
                               receipts=self.store.receipts)

    async def approve(self, plans: list[PoPlan]) -> tuple[list[PoPlan], list[tuple[PoPlan, str]]]:
        from sync.plan import approve_plans

        return await approve_plans(self.store.journal, list(plans))

    async def approve_shown(self, shown: list[tuple[int, str]]) -> tuple[list[PoPlan], list[tuple[PoPlan, str]]]:
        """Approve by (PO id, fingerprint of the plan the operator saw), as the control socket
        does: the plan is made again here, and a PO whose plan no longer has that fingerprint is
        refused (the operator looks again), never approved on trust."""
        wanted = dict(shown)
        report = await self.plan(list(wanted))
        if report.halt_code:
            raise CommandRefused(report.halt_cause)
        same = [p for p in report.plans if p.fingerprint and p.fingerprint == wanted.get(p.po_id)]
        same_ids = {p.po_id for p in same}
        changed = [(p, "the plan changed since it was shown: look at it again") for p in report.plans
                   if p.po_id not in same_ids and p.fingerprint]
        approved, refused = await self.approve(same)
        refused += changed + [(p, f"nothing to approve: {p.cause or p.note or 'no plan'}") for p in report.plans
                              if not p.fingerprint]
        return approved, refused
