"""How the command line and the daemon print: engine events as human log lines or JSON lines,
and the run summary that `--json` promises as the last line on stdout.

Human lines are for a terminal or the systemd journal:
    2026-11-25T22:30:10Z INFO  PO 1042 (id 77) synced as bill 1001 (Acme Supplies, 250.00 USD, 2 lines)
JSON lines are one object per line, stable for scripts and log shippers:
    {"ts": "2026-11-25T22:30:10Z", "level": "info", "event": "po_synced", "po_id": 77, ...}

Nothing here imports Textual (the daemon uses it) and nothing here ever sees a secret: events
hold none by design, and free-form messages are written by our own code.

Events and messages quote names, numbers and API texts from outside: every line written here
passes sync.text's rule, so a control character is shown as an escape (`\x1b`), never written
raw to a terminal, the journal or daemon.log; JSON lines carry the exact text, escaped by JSON.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import IO, Any

from sync import events as ev
from sync.text import json_text, shown, shown_fields, shown_lines

# ---------------------------------------------------------------- JSON-safe values


def jsonable(value: Any) -> Any:
    """A JSON-ready copy: datetimes as ISO-8601 UTC, Decimals as strings (exact), enums by value."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.repr}
    return value


def iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def now_iso() -> str:
    return iso(datetime.now(timezone.utc))


def snake(name: str) -> str:
    """`PoSynced` → `po_synced`: the event name used in JSON lines."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# ---------------------------------------------------------------- events

WARNING_EVENTS: tuple[type, ...] = (ev.PoFailed, ev.ScanStopped, ev.NotificationFailed,
                                    ev.RateLimited, ev.TransferPaused)


def level_of(event: ev.Event) -> str:
    if isinstance(event, ev.ScanStopped):
        return "error"
    if isinstance(event, ev.RetryFinished) and not event.ok:
        return "warning"
    return "warning" if isinstance(event, WARNING_EVENTS) else "info"


def event_record(event: ev.Event) -> dict[str, Any]:
    fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name != "at"}
    return {"ts": iso(event.at), "level": level_of(event), "event": snake(type(event).__name__),
            **jsonable(fields)}


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:.2f} {currency}".strip()


def describe(event: ev.Event) -> str:
    """One plain sentence per event, for people (text fields shown by sync.text's rule)."""
    e = shown_fields(event)
    if isinstance(e, ev.EngineStarted):
        return "engine started"
    if isinstance(e, ev.EngineStopped):
        return "engine stopped"
    if isinstance(e, ev.Paused):
        return "scheduler paused: no scan starts until resumed"
    if isinstance(e, ev.Resumed):
        return "scheduler resumed"
    if isinstance(e, ev.NextScanScheduled):
        return f"next scan at {iso(e.next_at)} (every {e.interval_minutes:g} min after the last one ended)"
    if isinstance(e, ev.SettingsReloaded):
        return "settings reloaded; changed: " + (", ".join(e.changed) or "nothing")
    if isinstance(e, ev.ScanStarted):
        return f"scan {e.scan_id} started ({e.trigger}; purchase orders of the last {e.days_back} days)"
    if isinstance(e, ev.TransferPaused):
        return f"scan {e.scan_id} transfers nothing: {e.reason}"
    if isinstance(e, ev.ScanStopped):
        who = {"autotask": "Autotask", "qbo": "QuickBooks Online"}.get(e.service, e.service)
        head = f"scan {e.scan_id} stopped" + (f" ({who})" if who else "")
        return f"{head}: {e.cause}" + (f" What to do: {e.fix}" if e.fix else "")
    if isinstance(e, ev.ScanFinished):
        calls = ", ".join(f"{k} {v}" for k, v in sorted(e.api_calls.items())) or "none"
        state = " (stopped early)" if e.stopped else " (transfer paused)" if e.paused else ""
        # A stopped scan may not have read the eligible POs at all: never a bare "0 eligible".
        found = f"{e.scanned} read before the stop" if e.stopped else f"{e.scanned} eligible"
        return (f"scan {e.scan_id} finished{state}: {found}, {e.synced} synced, "
                f"{e.failed} failed, {e.skipped} skipped, {e.todos_created} to-dos"
                + (f", {e.held} held for approval" if e.held else "") + "; "
                f"API calls: {calls}; {e.duration_s:.1f} s")
    if isinstance(e, ev.PoStarted):
        return f"PO {e.po_number} (id {e.po_id}) started ({e.source.replace('_', ' ')})"
    if isinstance(e, ev.PoSynced):
        resumed = "; resumed an earlier attempt" if e.resumed else ""
        lines = "1 line" if e.lines == 1 else f"{e.lines} lines"
        return (f"PO {e.po_number} (id {e.po_id}) synced as {e.document} {e.doc_number} "
                f"({e.vendor}, {_money(e.amount, e.currency)}, {lines}{resumed})")
    if isinstance(e, ev.ReceiptBilled):
        closed = "; all received and billed" if e.closed else ""
        return (f"PO {e.po_number} (id {e.po_id}): bill {e.doc_number} for {e.receipts} receipt(s), linked to "
                f"purchase order {e.purchase_order} ({_money(e.amount, e.currency)}{closed})")
    if isinstance(e, ev.ReceiptBillFailed):
        tail = f" What to fix: {e.fix}" if e.fix else ""
        return f"PO {e.po_number} (id {e.po_id}): the bill for its receipts failed: {e.cause}.{tail}".replace("..", ".")
    if isinstance(e, ev.PoFailed):
        tail = f" What to fix: {e.fix}" if e.fix else ""
        ref = f" [log {e.log_id}]" if e.log_id else ""
        return f"PO {e.po_number} (id {e.po_id}) failed: {e.cause}.{tail}{ref}".replace("..", ".")
    if isinstance(e, ev.PoHeld):
        again = (" (held again: the approved plan changed: " + "; ".join(shown(d) for d in e.difference) + ")"
                 if e.difference else "")
        return f"PO {e.po_number} (id {e.po_id}) held: {e.reason}{again}; approve it with atqbo approve {e.po_id}"
    if isinstance(e, ev.VendorCreated):
        cur = f" in {e.currency}" if e.currency else ""
        return f"QBO vendor {e.name!r} created{cur} (id {e.vendor_id})"
    if isinstance(e, ev.CustomerCreated):
        return f"QBO customer {e.name!r} created (id {e.customer_id})"
    if isinstance(e, ev.ItemCreated):
        return f"QBO item {e.name!r} created (id {e.item_id}, expense account {e.expense_account})"
    if isinstance(e, ev.NameAdjusted):
        return f"{e.kind} name \"{e.original}\" adjusted to \"{e.adjusted}\" for QBO"
    if isinstance(e, ev.TodoCreated):
        return f"Autotask to-do {e.todo_id} created for PO id {e.po_id} (resource {e.resource_id})"
    if isinstance(e, ev.NotificationFailed):
        return f"mail about PO id {e.po_id} to {e.recipient} not sent: {e.reason}"
    if isinstance(e, ev.RetryStarted):
        return f"retry of log entry {e.log_id} (PO id {e.po_id}) started"
    if isinstance(e, ev.RetryFinished):
        if e.ok:
            return f"retry of log entry {e.log_id} (PO id {e.po_id}) succeeded: bill {e.doc_number}"
        return f"retry of log entry {e.log_id} (PO id {e.po_id}) failed again ({e.cause_code})"
    if isinstance(e, ev.RateLimited):
        return f"{e.service} asked us to slow down; waiting {e.wait_s:.1f} s"
    if isinstance(e, ev.RecoveryFinished):
        return (f"finished {e.found} PO(s) an earlier run left mid-way: {e.synced} synced, "
                f"{e.written_back} already written back, {e.failed} failed, {e.released} put back "
                f"for this scan, {e.failures_completed} failure record(s) completed")
    # An event this version does not know yet: still shown, generically.
    fields = event_record(e)
    name = fields.pop("event")
    for k in ("ts", "level"):
        fields.pop(k)
    return name.replace("_", " ") + "".join(f" {k}={v}" for k, v in fields.items())


def human_line(event: ev.Event) -> str:
    text = " ".join(part.strip() for part in describe(event).split("\n") if part.strip())
    return f"{iso(event.at)} {level_of(event).upper():<7} {shown(text)}"


def dumps(value: Any) -> str:
    """One JSON line for stdout or a log: exact text, no raw control character (sync.text)."""
    return json_text(json.dumps(value, ensure_ascii=False))


def json_line(event: ev.Event) -> str:
    return dumps(event_record(event))


# ---------------------------------------------------------------- the printer


class LogFile:
    """The daemon's own log file (besides stdout): owner-only (0600), rotated by size so it
    never fills the disk (`keep` old files: daemon.log.1 ... daemon.log.N)."""

    def __init__(self, path: Path, max_bytes: int = 5_000_000, keep: int = 3) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._file: IO[str] | None = None
        self._size = 0

    def _open(self) -> IO[str]:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        self._size = os.fstat(fd).st_size
        return open(fd, "a", encoding="utf-8")

    def _rotate(self) -> None:
        self.close()
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.path.exists():
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def write(self, line: str) -> None:
        if self._file is None:
            self._file = self._open()
        data = line + "\n"
        if self._size and self._size + len(data.encode()) > self.max_bytes:
            self._rotate()
            self._file = self._open()
        self._file.write(data)
        self._file.flush()
        self._size += len(data.encode())

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class Printer:
    """Writes events and our own messages to one stream, as human lines or JSON lines, flushed
    at once (a daemon's output goes to a pipe or the journal, never left in a buffer), and to
    a log file when one is attached (`tee`)."""

    def __init__(self, as_json: bool, stream: IO[str] | None = None) -> None:
        self.as_json = as_json
        self._stream = stream
        self._log_file: LogFile | None = None

    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stdout

    def tee(self, log_file: LogFile | None) -> None:
        self._log_file = log_file

    def _write(self, line: str, to_file: bool = True) -> None:
        # Whatever composed the line, nothing raw leaves here (sync.text).
        line = json_text(line) if self.as_json else shown_lines(line)
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except BrokenPipeError:  # `atqbo ... | head`: the reader left; nothing to tell
            pass
        if to_file and self._log_file is not None:
            try:
                self._log_file.write(line)
            except OSError as exc:  # a full disk must not stop the sync; stdout still has the line
                path, self._log_file = self._log_file.path, None
                reason = exc.strerror or type(exc).__name__
                self.message(f"{path} is no longer written ({reason}); lines go to stdout only",
                             level="warning")

    def event(self, event: ev.Event) -> None:
        self._write(json_line(event) if self.as_json else human_line(event))

    __call__ = event

    def message(self, text: str, level: str = "info", **fields: Any) -> None:
        """A line from the command line or daemon itself (not an engine event)."""
        if self.as_json:
            record = {"ts": now_iso(), "level": level, "event": "message", "message": text,
                      **jsonable(fields)}
            self._write(dumps(record))
        else:
            # One log line per message (the journal and grep see lines): fold multi-line text;
            # any other control character is shown as an escape.
            flat = " ".join(part.strip() for part in str(text).split("\n") if part.strip())
            self._write(f"{now_iso()} {level.upper():<7} {shown(flat)}")

    def summary(self, record: Mapping[str, Any], human: str | None = None) -> None:
        """The final line: a JSON object (with --json) or the human text."""
        if self.as_json:
            self._write(dumps(jsonable(record)))
        elif human is not None:
            self._write(human)


class StderrLog(logging.Handler):
    """Python log records of a one-shot command (a mail not sent, a store warning) on stderr,
    through the text rule. Without a handler, logging's last resort would write them raw, and
    they quote what a mail server or an API answered."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        super().__init__(level=logging.WARNING)
        self._stream = stream
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            stream = self._stream or sys.stderr
            # "atqbo: warning: ..." like the commands' own error lines ("atqbo: ...").
            stream.write(f"atqbo: {record.levelname.lower()}: " + shown_lines(self.format(record)) + "\n")
            stream.flush()
        except Exception:  # logging must never take a command down
            self.handleError(record)


# ---------------------------------------------------------------- the run summary


@dataclasses.dataclass
class RunSummary:
    """Counts over one or more scans (or a single-PO sync / retry), for the final JSON line."""

    scans: int = 0
    scanned: int = 0
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    todos_created: int = 0
    held: int = 0
    api_calls: dict[str, int] = dataclasses.field(default_factory=dict)
    duration_s: float = 0.0
    stopped: bool = False
    stop_cause: str | None = None
    stop_service: str | None = None

    def add(self, event: ev.Event) -> None:
        """Fold an engine event in. ScanFinished carries the scan's own counts."""
        if isinstance(event, ev.ScanFinished):
            self.scans += 1
            self.scanned += event.scanned
            self.synced += event.synced
            self.failed += event.failed
            self.skipped += event.skipped
            self.held += event.held
            self.todos_created += event.todos_created
            for service, n in event.api_calls.items():
                self.api_calls[service] = self.api_calls.get(service, 0) + n
            self.stopped = self.stopped or event.stopped
        elif isinstance(event, ev.ScanStopped):
            self.stopped = True
            self.stop_cause = event.cause
            self.stop_service = event.service or None

    def as_record(self, **extra: Any) -> dict[str, Any]:
        record: dict[str, Any] = {
            "scanned": self.scanned, "synced": self.synced, "failed": self.failed,
            "skipped": self.skipped, "held": self.held, "todos_created": self.todos_created,
            "api_calls": {"autotask": self.api_calls.get("autotask", 0),
                          "qbo": self.api_calls.get("qbo", 0),
                          **{k: v for k, v in self.api_calls.items() if k not in ("autotask", "qbo")}},
            "duration_s": round(self.duration_s, 3),
        }
        if self.stopped:
            record["stopped"] = True
            if self.stop_cause:
                record["stop_cause"] = self.stop_cause
        record.update(extra)
        return record

    def human(self) -> str:
        calls = ", ".join(f"{k} {v}" for k, v in self.as_record()["api_calls"].items())
        found = (f"stopped early ({self.stop_cause or 'see above'}); {self.scanned} read before the stop"
                 if self.stopped else f"{self.scanned} eligible")
        return (f"summary: {found}, {self.synced} synced, {self.failed} failed, "
                f"{self.skipped} skipped, " + (f"{self.held} held, " if self.held else "")
                + f"{self.todos_created} to-dos; API calls: {calls}; "
                f"{self.duration_s:.1f} s")


Handler = Callable[[ev.Event], None]
