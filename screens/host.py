"""What the screens may ask of the console that hosts them: a small protocol, so no screen
imports the App (console/ is the shell above the screens, never below them).

The engine itself is reached through `control` (sync.control.EngineControl: in-process, or a
running service's control socket); the rest is the console's own state and navigation.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from sync.control.api import EngineControl

from .state import LiveState


class ConsoleHost(Protocol):
    control: EngineControl | None
    live: LiveState
    demo: bool
    local_times: bool
    data_dir: Path | None

    def now(self) -> datetime: ...

    @property
    def connected(self) -> bool: ...

    @property
    def attached(self) -> bool:
        """The engine is a running service's, reached over its control socket."""
        ...

    service_gone: bool  # attached, and the service stopped under the console

    # -------------------------------------------------------------- the live run
    def calls_in_window(self, seconds: float) -> tuple[int, int]: ...

    def autotask_budget(self) -> dict[str, Any]:
        """The product's share of Autotask's hour (ControlStatus.autotask_budget); {} unknown."""
        ...

    def live_shown(self) -> None: ...

    def scan_now(self) -> None: ...

    def pause_engine(self) -> None: ...

    def resume_engine(self) -> None: ...

    # -------------------------------------------------------------- logs, sync one, settings
    def show_log_entry(self, log_id: str) -> None: ...

    def retry(self, log_id: str) -> None: ...

    def retry_all(self) -> None: ...

    def demo_fix(self, entry: Any) -> None: ...

    def sync_one(self, po_id: int, alt_email: str | None) -> None: ...

    def settings_saved(self, changed: tuple[str, ...]) -> None: ...

    # -------------------------------------------------------------- the audit trail (read-only)
    async def po_story(self, po_id: int) -> Any:
        """sync.audit.why.Story of one PO (Logs screen, w)."""
        ...

    async def reconcile(self) -> Any:
        """sync.audit.reconcile.Reconciliation (the Reconcile screen)."""
        ...

    def go_back(self) -> None: ...

    # -------------------------------------------------------------- the doctor (read-only pre-flight)
    def doctor(self, settings: Any = None, autotask: Any = None, qbo: Any = None) -> Any:
        """An async callable returning a fresh sync.preflight.DoctorReport each time: on the
        console's connection and saved settings, or on the settings and clients given (the
        Connect screen's review, before anything is saved)."""
        ...

    # -------------------------------------------------------------- plan before apply
    def open_plan(self, po_id: int | None = None) -> None:
        """The Plan screen (on this PO's line when given)."""
        ...

    def approve_held(self, po_id: int, reason: str) -> None:
        """Approve a held PO from its live row: its plan now, approved only when it is held
        for the reason the row shows (otherwise the Plan screen opens on it, to be looked at)."""
        ...

    # -------------------------------------------------------------- the connect screen (local only)
    @property
    def store(self) -> Any: ...

    @property
    def autotask(self) -> Any: ...

    @property
    def qbo(self) -> Any: ...

    async def release_runtime(self) -> None: ...

    async def reopen_runtime(self, data_dir: Path | None) -> None:
        """Open the runtime again after the connect screen saved a new connection (raises with
        the reason in plain words when it cannot)."""
        ...
