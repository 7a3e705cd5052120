"""How the console gets its runtime (store, clients, engine) — built inside the app's event loop,
because the API clients' connections belong to the loop that uses them.

It uses the headless front ends' builder (`console.runtime_headless.open_runtime`, same
shape). A data folder that is not connected yet
(or whose settings are incomplete) still opens: the runtime then has the store only, and the
console starts on its Connect screen. A folder whose service is running (its control socket
answers) is not opened at all: the console attaches to the service (`Attached`) and reaches the
engine, the log and the settings through the socket only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class StoreOnly:
    """A data folder without a working connection: what the connect screen starts from."""

    store: Any
    problem: str = ""
    autotask: Any = None
    qbo: Any = None
    engine: Any = None
    sandbox_server: Any = None
    settings: Any = None
    extra: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for client in self.extra:
            try:
                await client.aclose()
            except Exception:
                pass
        self.store.close()


@dataclass
class Attached:
    """The console beside a running service: everything goes through its control socket."""

    control: Any  # sync.control.remote.RemoteEngineControl, connected
    data_dir: Path | None = None
    store: Any = None
    autotask: Any = None
    qbo: Any = None
    engine: Any = None
    sandbox_server: Any = None
    extra: list[Any] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.control.pid

    async def aclose(self) -> None:
        # Only our connection ends: the service keeps running.
        await self.control.stop()
        for extra in self.extra:
            try:
                await extra.aclose()
            except Exception:
                pass


async def attach_to_service(data_dir: Path | None) -> Attached | None:
    """The running service of this data folder, if its control socket answers."""
    from sync.control.remote import RemoteEngineControl, ServiceUnavailable
    from sync.paths import locate

    path = locate(data_dir).control_socket
    if not path.exists():
        return None
    remote = RemoteEngineControl(path)
    try:
        await remote.connect(timeout=3.0)
    except ServiceUnavailable:
        return None
    return Attached(remote, data_dir)


class StartupError(Exception):
    """The console cannot start at all (engine lock held elsewhere, damaged files)."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


async def open_console_runtime(data_dir: Path | None, demo: bool) -> Any:
    from console.runtime_headless import RuntimeProblem, open_runtime, open_store

    if not demo:
        attached = await attach_to_service(data_dir)
        if attached is not None:
            return attached
    try:
        return await open_runtime(data_dir, demo=demo, engine=True)
    except RuntimeProblem as exc:
        if exc.exit_code != 2 or demo or getattr(exc, "fault", False):  # (fault: disk, damaged file)
            raise StartupError(str(exc), exc.exit_code) from None
        # Not connected, or settings incomplete: the connect screen deals with both.
        try:
            store = open_store(data_dir)
        except RuntimeProblem as again:
            raise StartupError(str(again), again.exit_code) from None
        store.notices[:0] = exc.notices  # (told by the store opened first, e.g. a folder made owner-only)
        return StoreOnly(store, problem=str(exc))
