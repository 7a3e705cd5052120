"""The engine-control interface: everything a front end (the console's screens, the CLI, a
control-socket client) may ask of the engine, in one typed protocol.

Two implementations: `LocalEngineControl` (sync.control.local: the engine runs in this process)
and `RemoteEngineControl` (sync.control.remote: a running service's control socket). Front ends
hold an `EngineControl` and never reach for the engine, the store or the clients themselves, so
the same screen works beside a daemon as it does standalone.

Answers are plain records (`SyncOutcome`, `ControlStatus`, `LogEntryView`) that cross a socket as
JSON; a command the engine cannot take is `CommandRefused` (with the cause in plain words), one
that broke on the way is `CommandFailed`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

from sync.events import Event
from sync.plan.model import PlanReport, PoPlan
from sync.settings import Settings

from .logs import LogEntryView

Options = dict[str, list[tuple[str, str]]]
EventSink = Callable[[Event], None]


class CommandRefused(Exception):
    """The engine (or the service) will not do this: the cause says why, in plain words."""


class CommandFailed(Exception):
    """The command was taken but broke on the way (the connection to the service, a bug)."""


@dataclass(frozen=True, kw_only=True)
class Resynced(Event):
    """Not an engine event: the control tells a subscriber to redraw from `replay` (the
    service's view of the scan so far). Sent on attach, and after `missed` events were dropped
    because the subscriber fell behind."""

    missed: int = 0
    replay: tuple[Event, ...] = ()


@dataclass(frozen=True)
class Capabilities:
    """What this implementation can do beyond the interface (passed to screens, never looked up)."""

    remote: bool = False  # attached to a running service over its control socket
    demo_fix: bool = False  # the demo's "fix the cause in the emulated QBO"
    reconnect: bool = True  # the connect screen may replace the connection (local only)


@dataclass(frozen=True)
class ControlStatus:
    """The engine's state in a few fields (cheap: asked on every status-line redraw)."""

    engine: str = "starting"  # starting | idle | scanning | paused | stopped | failed
    paused: bool = False
    pid: int = 0
    data_dir: str = ""
    api_calls: dict[str, int] = field(default_factory=dict)  # requests sent so far, per service
    open_errors: int = 0
    # The product's share of Autotask's requests per hour and its use (Engine.autotask_budget):
    # share_percent, cap, used, threshold, timeframe_minutes, database_used. Empty: not known.
    autotask_budget: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "ControlStatus":
        calls = record.get("api_calls") or {}
        return cls(engine=str(record.get("engine", "starting")), paused=bool(record.get("paused")),
                   pid=int(record.get("pid") or 0), data_dir=str(record.get("data_dir") or ""),
                   api_calls={str(k): int(v) for k, v in dict(calls).items()},
                   open_errors=int(record.get("open_errors") or 0),
                   autotask_budget=_budget(record.get("autotask_budget")))


def _budget(raw: Any) -> dict[str, Any]:
    """The budget figures of a status record, numbers only (a record may come over the socket)."""
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for key in ("share_percent", "cap", "used", "threshold", "database_used"):
        value = raw.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out[key] = value
    minutes = raw.get("timeframe_minutes")
    if isinstance(minutes, (int, float)) and not isinstance(minutes, bool) and minutes > 0:
        out["timeframe_minutes"] = float(minutes)
    return out


@dataclass(frozen=True)
class SyncOutcome:
    """How one PO ended after sync one or a retry: synced (`doc_number`) or not (the cause)."""

    po_id: int
    po_number: str
    ok: bool
    doc_number: str = ""
    log_id: int | None = None
    cause_code: str = ""
    cause: str = ""
    fix: str = ""
    scan_level: bool = False  # the cause concerns every PO (a service down, auth refused)

    @classmethod
    def of(cls, outcome: Any) -> "SyncOutcome":
        """From the engine's PoOutcome."""
        c = outcome.cause
        return cls(po_id=int(outcome.po_id), po_number=str(outcome.po_number or outcome.po_id),
                   ok=bool(outcome.ok), doc_number=str(outcome.doc_number or ""),
                   log_id=outcome.log_id, cause_code=c.code if c else "", cause=c.cause if c else "",
                   fix=c.fix if c else "", scan_level=bool(c.scan_level) if c else False)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "SyncOutcome":
        log_id = record.get("log_id")
        return cls(po_id=int(record["po_id"]), po_number=str(record.get("po_number") or ""),
                   ok=bool(record.get("ok")), doc_number=str(record.get("doc_number") or ""),
                   log_id=int(log_id) if log_id is not None else None,
                   cause_code=str(record.get("cause_code") or ""), cause=str(record.get("cause") or ""),
                   fix=str(record.get("fix") or ""), scan_level=bool(record.get("scan_level")))


@runtime_checkable
class EngineControl(Protocol):
    capabilities: Capabilities

    # -------------------------------------------------------------- the engine's life
    async def run(self) -> None:
        """Local: run the scheduler until stop(). Remote: follow the service until it stops
        or the connection ends (the service keeps running)."""
        ...

    async def stop(self) -> None: ...

    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        """Call `sink(event)` for every engine event, in order; returns the unsubscribe."""
        ...

    def status(self) -> ControlStatus:
        """What is known now, without waiting (cheap enough for every redraw)."""
        ...

    async def refresh_status(self) -> ControlStatus:
        """Ask again (the open errors, a remote service's counters) and return it."""
        ...

    # -------------------------------------------------------------- commands
    async def scan_now(self) -> None: ...

    async def pause(self) -> None: ...

    async def resume(self) -> None: ...

    async def sync_one(self, po_id: int, alt_email: str | None = None) -> SyncOutcome:
        """Sync one PO now; its result (success or failure) is mailed to `alt_email` or else
        to notify_email, when mail is configured."""
        ...

    async def retry(self, log_id: int) -> SyncOutcome: ...

    async def retry_all(self) -> list[SyncOutcome]: ...

    # -------------------------------------------------------------- what screens read
    async def log_window(self, status: str | None, text: str, offset: int,
                         limit: int) -> tuple[int, list[LogEntryView]]:
        """(number of matching entries, entries [offset, offset+limit) newest first)."""
        ...

    async def log_entry(self, log_id: str) -> LogEntryView | None: ...

    async def settings_get(self) -> Settings: ...

    async def settings_set(self, values: dict[str, Any], smtp_password: str | None = None) -> tuple[str, ...]:
        """Save these settings (validated: SettingsError names each bad key); the engine uses
        them from the next scan. Returns the names that changed."""
        ...

    async def options(self) -> tuple[Options, dict[str, str]]:
        """Choices for the settings form from the live services, and what could not be read."""
        ...

    # -------------------------------------------------------------- links (issue 16)
    async def links_list(self, kind: str | None = None) -> list[Any]:
        """The links (sync.control.links.LinkView), of one kind or all."""
        ...

    async def link(self, kind: str, autotask_id: int, qbo_id: str) -> Any:
        """Link after reading both records (CommandRefused says why not); used from the next scan."""
        ...

    async def unlink(self, kind: str, autotask_id: int) -> Any:
        """Forget a link (CommandRefused when there is none); the next scan matches by name."""
        ...

    # -------------------------------------------------------------- plan before apply
    async def plan(self, po_ids: list[int] | None = None) -> PlanReport:
        """What a scan would do now to every eligible PO (or those named), read-only
        (sync.plan.make_plan). CommandRefused when it cannot run (settings incomplete)."""
        ...

    async def approve(self, plans: list[PoPlan]) -> tuple[list[PoPlan], list[tuple[PoPlan, str]]]:
        """Approve these shown plans (apply_mode): (approved, refused with the reason). Each
        approval holds for the plan as shown (its fingerprint) only."""
        ...
