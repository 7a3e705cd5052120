"""What the console's Doctor screen and the Connect screen's review page run: the pre-flight on
the console's own runtime (its clients, its store, the settings as saved), or on the clients
and settings the Connect screen has not saved yet. Built here, in console/, so the screens get
a plain async callable and never import console/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import anyio

from sync.preflight import CannotRun, DoctorReport, check_can_run, run_doctor
from sync.settings import Settings

Produce = Callable[[], Awaitable[DoctorReport]]
_NOT_ATTACHED = object()


def doctor_producer(get_runtime: Callable[[], Any], *, settings: Settings | None = None,
                    autotask: Any = None, qbo: Any = None, attached_to: Any = _NOT_ATTACHED) -> Produce:
    """An async callable making a fresh report each time it is called, from whatever runtime
    `get_runtime()` returns then (the console replaces its runtime on reconnecting); the given
    settings and clients are used instead of the runtime's. A console attached to a running
    service (`attached_to`: its data folder, None for the default one) has no clients of its
    own: the doctor then reads with its own, from the saved connection, as `atqbo doctor` does."""

    async def produce() -> DoctorReport:
        runtime = get_runtime()
        at = autotask if autotask is not None else getattr(runtime, "autotask", None)
        qb = qbo if qbo is not None else getattr(runtime, "qbo", None)
        if (at is None or qb is None) and attached_to is not _NOT_ATTACHED:
            return await _from_saved_connection(attached_to)
        if runtime is None or at is None or qb is None:
            raise CannotRun("Not connected yet: connect QuickBooks Online and Autotask first.")
        chosen = settings if settings is not None else await anyio.to_thread.run_sync(runtime.store.settings.load)
        check_can_run(chosen)
        # The engine's clock decides the scan window, so the doctor uses the same one.
        clock = getattr(getattr(runtime, "engine", None), "clock", None)
        now = clock() if callable(clock) else datetime.now(timezone.utc)
        return await run_doctor(chosen, at, qb, runtime.store.journal, now=now)

    return produce


async def _from_saved_connection(data_dir: Any) -> DoctorReport:
    from .runtime_headless import RuntimeProblem, open_runtime

    try:
        runtime = await open_runtime(data_dir)  # no engine, no engine lock: the service keeps its own
    except RuntimeProblem as exc:
        raise CannotRun(str(exc)) from None
    try:
        check_can_run(runtime.settings)
        return await run_doctor(runtime.settings, runtime.autotask, runtime.qbo, runtime.store.journal,
                                now=datetime.now(timezone.utc))
    finally:
        await runtime.aclose()
