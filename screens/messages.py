"""Textual messages of the console and its screens, named in the past tense.

Engine events (sync.events, immutable records) reach the app in batches: the subscriber the
app registers with the engine appends each event to the app's inbox and posts
`EngineEventsArrived` when the inbox was empty; the app folds the batch into the live state
and tells the screens once.

The other messages report the end of the console's own background work (a page of the error
log read in a thread, a connection tested, options loaded for the settings form).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


class EngineEventsArrived(Message):
    """Engine events are waiting in the app's inbox.

    A scan is a storm of events (three or four per PO). Posting one message per event queued
    them in front of the operator's key presses, each dispatched on its own; instead the
    engine's subscriber only appends to the inbox and posts this message when the inbox was
    empty, so one message carries however many events arrived meanwhile."""


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


@dataclass
class ServiceStopped(Message):
    """The service the console was attached to went away (its control socket closed)."""

    pid: int
    said: str = ""


__all__ = ["ConnectionTested", "EngineEventsArrived", "EngineFailed", "LogWindowLoaded", "OptionsLoaded", "ServiceStopped",
           "SettingsSaved", "SyncOneFinished"]
