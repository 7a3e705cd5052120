"""Windows of the error log for the screens and the control socket, newest first, filtered.

`LogEntryView` is the screens' own flat, immutable view of one entry, so they do not depend on
the store's record layout (and it crosses the control socket as plain JSON); `ErrorLogSource`
adapts the store's ErrorLog to it. Reads run in a thread (a page of a large log may take more
than a few milliseconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sync.text import shown, shown_lines

STATUSES = ("open", "retrying", "resolved")


@dataclass(frozen=True)
class LogEntryView:
    id: str
    po_id: int
    po_number: str = ""
    status: str = "open"
    cause_code: str = ""
    cause: str = ""
    fix: str = ""
    raw_error: str = ""
    attempts: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    doc_number: str = ""
    todo_id: int | None = None

    @property
    def po_label(self) -> str:
        return self.po_number or str(self.po_id)

    def to_record(self) -> dict[str, Any]:
        record = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for key in ("created_at", "updated_at"):
            value = record[key]
            record[key] = value.isoformat() if value is not None else None
        return record


class LogSource(Protocol):
    def window(self, status: str | None, text: str, offset: int, limit: int) -> tuple[int, list[LogEntryView]]:
        """(number of matching entries, entries [offset, offset+limit) newest first)."""
        ...

    def get(self, log_id: str) -> LogEntryView | None: ...


def view_of(record: Any) -> LogEntryView:
    """The view of one store record (a dataclass or a mapping). The entry holds texts as they
    came from outside; the view is for people: control characters shown as escapes (sync.text)."""
    get = record.get if isinstance(record, dict) else (lambda name, default=None: getattr(record, name, default))
    raw = get("raw_error", "") or ""
    if not isinstance(raw, str):
        import json

        raw = json.dumps(raw, indent=2, ensure_ascii=False, default=str)
    return LogEntryView(
        id=shown(get("id", get("log_id", ""))),
        po_id=int(get("po_id", 0) or 0),
        po_number=shown(get("po_number", "") or ""),
        status=shown(_plain(get("status", "open"))),
        cause_code=shown(get("cause_code", "") or ""),
        cause=shown(get("cause", "") or ""),
        fix=shown(get("fix", "") or ""),
        raw_error=shown_lines(raw),
        attempts=int(get("attempts", 1) or 1),
        created_at=_dt(get("created_at", None)),
        updated_at=_dt(get("updated_at", None)),
        doc_number=shown(get("doc_number", "") or ""),
        todo_id=get("todo_id", None),
    )


def _plain(value: Any) -> str:
    return str(getattr(value, "value", value))


def _dt(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


TEXT_MATCH_CAP = 5_000  # a text filter shows at most this many matches (newest first)


class ErrorLogSource:
    """Windows of the store's ErrorLog (thread-safe: the ErrorLog locks its own reads).

    Status filters page through the log's index; a text filter searches once (newest first,
    at most TEXT_MATCH_CAP matches) and pages through that result until the log changes.
    """

    def __init__(self, errors: Any) -> None:
        import threading

        self.errors = errors
        self._lock = threading.Lock()
        self._search_key: tuple[str, str | None] | None = None
        self._search: list[LogEntryView] = []
        self._stale = False
        self.capped = False

    def changed(self) -> None:
        """The log was written: forget the cached text search. Called on the event loop, so it
        never takes the lock a search in a thread may hold for a while."""
        self._stale = True

    def window(self, status: str | None, text: str, offset: int, limit: int) -> tuple[int, list[LogEntryView]]:
        from sync.store import ErrorStatus

        wanted = ErrorStatus(status) if status else None
        if not text:
            if wanted is None:
                total = len(self.errors)
            else:
                total = self.errors.count_by_status()[wanted]
            return total, [view_of(e) for e in self.errors.page(limit=limit, offset=offset, status=wanted)]
        with self._lock:
            key = (text, status)
            if self._stale:
                self._stale, self._search_key = False, None
            if self._search_key != key:
                found = self.errors.search(text, limit=TEXT_MATCH_CAP)
                self.capped = len(found) >= TEXT_MATCH_CAP
                self._search = [view_of(e) for e in found if wanted is None or e.status == wanted]
                self._search_key = key
            matches = self._search
        return len(matches), matches[offset:offset + limit]

    def get(self, log_id: str) -> LogEntryView | None:
        entry = self.errors.get(int(log_id))
        return None if entry is None else view_of(entry)
