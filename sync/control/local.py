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

from sync.engine.single import sync_one_and_report
from sync.plan.model import PlanReport, PoPlan
from sync.settings import Settings

from .api import Capabilities, CommandRefused, ControlStatus, EventSink, Options, SyncOutcome
from .links import LinkView, list_links, make_link, remove_link
from .logs import ErrorLogSource, LogEntryView
from .options import load_options
from .tracker import EngineTracker


class LocalEngineControl:
    def __init__(self, runtime: Any, *, demo: bool = False) -> None:
        self.runtime = runtime
        self.capabilities = Capabilities(remote=False, demo_fix=demo, reconnect=True)
        self.tracker = EngineTracker()
        self._unsubscribe_tracker = self.engine.subscribe(self.tracker)
        self._log_source: ErrorLogSource | None = None

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
        calls = {"autotask": int(getattr(self.runtime.autotask, "calls", 0) or 0),
                 "qbo": int(getattr(self.runtime.qbo, "calls", 0) or 0)}
        try:
            from sync.store import ErrorStatus

            open_errors = self.store.errors.count_by_status()[ErrorStatus.OPEN]
        except Exception:  # a closed store while the app shuts down
            open_errors = 0
        return ControlStatus(engine=self.tracker.engine, paused=bool(self.engine.paused), pid=os.getpid(),
                             data_dir=str(self.store.locations.data_dir), api_calls=calls,
                             open_errors=int(open_errors))

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
        def save() -> tuple[str, ...]:
            try:
                before = self.store.settings.load().to_values()
            except Exception:  # a damaged file is replaced by a valid one
                before = {}
            merged = dict(before)
            merged.update(values)
            settings = Settings.from_values(merged)  # SettingsError names every bad key
            self.store.settings.save(settings)
            if smtp_password is not None:
                self.store.secrets.set_smtp_password(smtp_password)
            after = settings.to_values()
            return tuple(k for k in after if before.get(k) != after.get(k))

        changed = await anyio.to_thread.run_sync(save)
        reload = getattr(self.runtime, "reload_settings", None)
        if changed and callable(reload) and getattr(self.runtime, "notifier", None) is not None:
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
                               now=datetime.now(timezone.utc), po_ids=po_ids, links=self.store.links)

    async def approve(self, plans: list[PoPlan]) -> tuple[list[PoPlan], list[tuple[PoPlan, str]]]:
        from sync.plan import approve_plans

        return await approve_plans(self.store.journal, list(plans))
