"""Textual messages of the console, named in the past tense.

Engine events (sync.events) reach the app as one typed message each: the subscriber the app
registers with the engine calls `message_for(event)` and posts the result to the app. Every
such message subclasses `EngineReported`, so one `@on(EngineReported)` handler sees them all,
and a screen can still handle exactly the ones it cares about.

The other messages report the end of the console's own background work (a page of the error
log read in a thread, a connection tested, options loaded for the settings form).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message

from sync import events as ev


@dataclass
class EngineReported(Message):
    """Something happened in the engine; `event` is the engine's own immutable record."""

    event: ev.Event


# One message per engine event. Their names repeat the event's (already past tense).
class EngineStarted(EngineReported): ...
class EngineStopped(EngineReported): ...
class Paused(EngineReported): ...
class Resumed(EngineReported): ...
class NextScanScheduled(EngineReported): ...
class SettingsReloaded(EngineReported): ...
class ScanStarted(EngineReported): ...
class TransferPaused(EngineReported): ...
class ScanStopped(EngineReported): ...
class ScanFinished(EngineReported): ...
class PoStarted(EngineReported): ...
class PoSynced(EngineReported): ...
class PoFailed(EngineReported): ...
class VendorCreated(EngineReported): ...
class CustomerCreated(EngineReported): ...
class ItemCreated(EngineReported): ...
class NameAdjusted(EngineReported): ...
class TodoCreated(EngineReported): ...
class NotificationFailed(EngineReported): ...
class RetryStarted(EngineReported): ...
class RetryFinished(EngineReported): ...
class RateLimited(EngineReported): ...


_BY_EVENT: dict[type[ev.Event], type[EngineReported]] = {
    getattr(ev, name): cls
    for name, cls in list(globals().items())
    if isinstance(cls, type) and issubclass(cls, EngineReported) and cls is not EngineReported
    and isinstance(getattr(ev, name, None), type)
}


def message_for(event: ev.Event) -> EngineReported:
    """The typed message for an engine event (an event type added later still arrives, as the
    base class)."""
    for cls in type(event).__mro__:
        message_cls = _BY_EVENT.get(cls)  # type: ignore[arg-type]
        if message_cls is not None:
            return message_cls(event)
    return EngineReported(event)


# ------------------------------------------------------------------ the console's own work


@dataclass
class EngineFailed(Message):
    """The engine's run() ended with an exception (the scheduler is no longer running)."""

    error: str


@dataclass
class LogWindowLoaded(Message):
    """A window of the error log was read (in a thread) for the logs screen."""

    generation: int
    total: int
    offset: int
    entries: list[Any] = field(default_factory=list)


@dataclass
class ConnectionTested(Message):
    """A "test connection" finished: `ok`, or `problem` in plain words."""

    service: str
    ok: bool
    problem: str = ""
    detail: str = ""


@dataclass
class OptionsLoaded(Message):
    """Choices for the settings form, read from the live services.

    `options` maps a setting name to (label, value) pairs; `problems` names what could not be
    read and why.
    """

    options: dict[str, list[tuple[str, str]]]
    problems: dict[str, str] = field(default_factory=dict)


@dataclass
class SettingsSaved(Message):
    """The operator saved the settings; the next scan uses them."""

    changed: tuple[str, ...]


@dataclass
class SyncOneFinished(Message):
    """A "sync one PO" request ended: the engine's result, or the error that stopped it."""

    po_id: int
    ok: bool
    doc_number: str = ""
    cause: str = ""
    fix: str = ""
    detail: str = ""
