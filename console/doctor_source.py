"""What the console's Doctor screen (and the Connect review page) runs: the pre-flight on the
console's own runtime: its clients, its store, the settings as saved. Built here, in console/,
so the screens get a plain async callable and never import console/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import anyio

from sync.preflight import CannotRun, DoctorReport, check_can_run, run_doctor


def doctor_producer(get_runtime: Callable[[], Any]) -> Callable[[], Awaitable[DoctorReport]]:
    """An async callable making a fresh report each time it is called, from whatever runtime
    `get_runtime()` returns then (the console replaces its runtime on reconnecting)."""

    async def produce() -> DoctorReport:
        runtime = get_runtime()
        if runtime is None or getattr(runtime, "autotask", None) is None or getattr(runtime, "qbo", None) is None:
            raise CannotRun("Not connected yet: connect QuickBooks Online and Autotask first.")
        settings = await anyio.to_thread.run_sync(runtime.store.settings.load)
        check_can_run(settings)
        # The engine's clock decides the scan window, so the doctor uses the same one.
        clock = getattr(getattr(runtime, "engine", None), "clock", None)
        now = clock() if callable(clock) else datetime.now(timezone.utc)
        return await run_doctor(settings, runtime.autotask, runtime.qbo, runtime.store.journal, now=now)

    return produce
