"""The error log: one entry per failed purchase order, fast at 100,000 entries.

TinyDB rewrites a whole file per write and scans it per query, so the log is split into
segment files of at most `segment_size` entries (errors-000001.json, …). New entries go to the
highest ("active") segment; only the segment that changed is rewritten. Each sealed segment has
a small sidecar index (errors-000001.idx.json: id, po_id, status, times per entry, plus the
segment file's stat signature) so opening the log reads the sidecars, not 100,000 entries.
A sidecar is derived data: if it is missing, damaged or its signature does not match the
segment (a crash between the two writes), it is rebuilt from the segment.

In memory we keep a compact index of every entry, so open errors, the latest open entry of a
PO, counts and newest-first pages touch only the segments holding the rows they return. Text
search reads segments newest first and stops at `limit` matches.

Retention: resolved entries older than `retention_days` are removed, and beyond `max_entries`
the oldest resolved entries go first; open and retrying entries are never removed. The active
segment is never pruned, so ids are never reused.
"""

from __future__ import annotations

import bisect
import gc
import json
import logging
import os
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any, NamedTuple

from tinydb import TinyDB
from tinydb.table import Document, Table

from sync.store.errors import CorruptFileError, IllegalTransitionError, UnknownEntryError
from sync.store.storage import AtomicJSONStorage, atomic_write_bytes, load_json_file, remove_stale_temp_files_in

log = logging.getLogger(__name__)

SHAPE_VERSION = 1
DEFAULT_SEGMENT_SIZE = 250
SEGMENT_CACHE = 32  # parsed sealed segments kept in memory (~250 entries each)
_SEGMENT_RE = re.compile(r"errors-(\d{6})\.json")

# Causes the engine reports; other snake_case codes are accepted too.
KNOWN_CAUSE_CODES = (
    "missing_item",
    "name_clash",
    "not_purchasable",
    "currency_mismatch",
    "multicurrency_unsupported",
    "duplicate_number",
    "invalid_name",
    "qbo_validation",
    "qbo_error",
    "autotask_error",
    "writeback_failed",
    "internal_error",
)


class ErrorStatus(str, Enum):
    OPEN = "open"
    RETRYING = "retrying"
    RESOLVED = "resolved"


ALLOWED_STATUS: dict[ErrorStatus, frozenset[ErrorStatus]] = {
    ErrorStatus.OPEN: frozenset({ErrorStatus.OPEN, ErrorStatus.RETRYING, ErrorStatus.RESOLVED}),
    ErrorStatus.RETRYING: frozenset({ErrorStatus.OPEN, ErrorStatus.RETRYING, ErrorStatus.RESOLVED}),
    ErrorStatus.RESOLVED: frozenset(),
}
_UNRESOLVED = (ErrorStatus.OPEN, ErrorStatus.RETRYING)


@dataclass(frozen=True)
class ErrorEntry:
    id: int
    po_id: int
    po_number: str | None
    cause_code: str
    cause: str  # plain words
    fix: str  # what the operator should do
    raw_error: str  # the API's own error text/JSON
    attempts: int
    status: ErrorStatus
    created_at: str
    updated_at: str
    resolved_at: str | None = None
    todo_id: int | None = None  # the Autotask to-do created for it
    alt_email: str | None = None  # single-PO sync: where to notify instead

    def to_doc(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "id"}
        doc["status"] = self.status.value
        return doc

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, id included (for `atqbo logs --json`)."""
        return {"id": self.id, **self.to_doc()}

    @classmethod
    def from_doc(cls, entry_id: int, doc: dict[str, Any]) -> "ErrorEntry":
        values = {f.name: doc.get(f.name, f.default) for f in fields(cls) if f.name != "id"}
        values["status"] = ErrorStatus(doc["status"])
        return cls(id=entry_id, **values)


_UPDATABLE = {"po_number", "cause_code", "cause", "fix", "raw_error", "attempts", "todo_id", "alt_email"}


def _haystack(doc: dict[str, Any]) -> str:
    return "\x00".join(
        str(doc.get(k) or "") for k in ("po_number", "po_id", "cause_code", "cause", "fix", "raw_error", "alt_email")
    ).casefold()


class _Row(NamedTuple):
    seg: int
    po_id: int
    status: str
    created_at: str
    resolved_at: str | None


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def _check_code(code: str) -> str:
    if not isinstance(code, str) or not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", code):
        raise ValueError(f"cause_code must be a snake_case word, got {code!r}")
    return code


class ErrorLog:
    """The error log of one data folder. Thread-safe; one writer process."""

    def __init__(
        self,
        folder: Path,
        *,
        segment_size: int = DEFAULT_SEGMENT_SIZE,
        retention_days: int = 365,
        max_entries: int = 200_000,
    ) -> None:
        if segment_size < 1:
            raise ValueError("segment_size must be ≥ 1")
        self.folder = Path(folder)
        self.segment_size = segment_size
        self.retention_days = retention_days
        self.max_entries = max_entries
        self._lock = threading.RLock()
        self._rows: dict[int, _Row] = {}
        self._ids: list[int] = []  # ascending
        self._by_po: dict[int, list[int]] = {}
        self._counts: Counter[str] = Counter()
        self._seg_ids: dict[int, set[int]] = {}
        self._unresolved: set[int] = set()  # open or retrying
        self._known_sigs: dict[int, list[int]] = {}  # segment → stat signature we last saw
        self._segments: OrderedDict[int, TinyDB] = OrderedDict()
        self._active = 1
        self._next_id = 1
        self._open_index()

    # --- files ------------------------------------------------------------------------------

    def _seg_path(self, seg: int) -> Path:
        return self.folder / f"errors-{seg:06d}.json"

    def _idx_path(self, seg: int) -> Path:
        return self.folder / f"errors-{seg:06d}.idx.json"

    def _db(self, seg: int) -> TinyDB:
        db = self._segments.get(seg)
        if db is None:
            db = TinyDB(self._seg_path(seg), storage=AtomicJSONStorage)
            self._segments[seg] = db
            while len(self._segments) > SEGMENT_CACHE + 1:
                victim = next(s for s in self._segments if s != self._active)
                self._segments.pop(victim).close()
        else:
            self._segments.move_to_end(seg)
        return db

    def _table(self, seg: int) -> Table:
        return self._db(seg).table("errors", cache_size=0)

    def _seg_signature(self, seg: int) -> list[int]:
        st = os.stat(self._seg_path(seg))
        return [st.st_ino, st.st_size, st.st_mtime_ns]

    def _segment_docs(self, seg: int) -> dict[int, dict[str, Any]]:
        docs: dict[int, dict[str, Any]] = {}
        for doc in self._table(seg).all():
            if not isinstance(doc.get("status"), str) or not isinstance(doc.get("po_id"), int):
                raise CorruptFileError(self._seg_path(seg), f"error entry {doc.doc_id} is malformed")
            docs[doc.doc_id] = doc
        return docs

    def _segment_meta(self, seg: int) -> dict[str, Any]:
        meta = self._db(seg).table("meta", cache_size=0).get(doc_id=1)
        return dict(meta) if meta else {}

    def _write_sidecar(self, seg: int) -> None:
        rows = []
        for entry_id in sorted(self._seg_ids.get(seg, ())):
            row = self._rows[entry_id]
            rows.append([entry_id, row.po_id, row.status, row.created_at, row.resolved_at])
        sig = self._known_sigs[seg] = self._seg_signature(seg)
        payload = {
            "v": SHAPE_VERSION,
            "sig": sig,
            "max_id": self._segment_meta(seg).get("max_id"),
            "rows": rows,
        }
        # Derived data, rebuilt when it does not match the segment; written atomically all the same.
        atomic_write_bytes(self._idx_path(seg), json.dumps(payload, separators=(",", ":")).encode())

    # --- index ------------------------------------------------------------------------------

    def _index_add(self, entry_id: int, row: _Row) -> None:
        old = self._rows.get(entry_id)
        if old is not None:
            self._counts[old.status] -= 1
        else:
            if not self._ids or entry_id > self._ids[-1]:
                self._ids.append(entry_id)
            else:
                bisect.insort(self._ids, entry_id)
            self._by_po.setdefault(row.po_id, []).append(entry_id)
            self._seg_ids.setdefault(row.seg, set()).add(entry_id)
        self._rows[entry_id] = row
        self._counts[row.status] += 1
        if row.status == ErrorStatus.RESOLVED.value:
            self._unresolved.discard(entry_id)
        else:
            self._unresolved.add(entry_id)

    def _index_remove(self, entry_id: int) -> None:
        row = self._rows.pop(entry_id)
        self._unresolved.discard(entry_id)
        self._counts[row.status] -= 1
        del self._ids[bisect.bisect_left(self._ids, entry_id)]
        ids = self._by_po[row.po_id]
        ids.remove(entry_id)
        if not ids:
            del self._by_po[row.po_id]
        self._seg_ids[row.seg].discard(entry_id)

    def _index_bulk(self, seg: int, rows: list[list[Any]]) -> None:
        """Index a sealed segment's rows at open (ids ascending); the fast path of _index_add."""
        seg_ids = self._seg_ids.setdefault(seg, set())
        rows_map, by_po, counts, unresolved = self._rows, self._by_po, self._counts, self._unresolved
        resolved = ErrorStatus.RESOLVED.value
        ordered = not self._ids or not rows or rows[0][0] > self._ids[-1]
        for entry_id, po_id, status, created_at, resolved_at in rows:
            if entry_id in rows_map:
                raise CorruptFileError(self._idx_path(seg), f"error entry {entry_id} is listed twice")
            rows_map[entry_id] = _Row(seg, po_id, status, created_at, resolved_at)
            same_po = by_po.get(po_id)
            if same_po is None:
                by_po[po_id] = [entry_id]
            else:
                same_po.append(entry_id)
            counts[status] += 1
            if status != resolved:
                unresolved.add(entry_id)
            seg_ids.add(entry_id)
        if ordered:
            self._ids.extend(r[0] for r in rows)
        else:
            for r in rows:
                bisect.insort(self._ids, r[0])
            for ids in by_po.values():
                ids.sort()

    def _index_segment_from_docs(self, seg: int) -> int:
        docs = self._segment_docs(seg)
        for entry_id, doc in docs.items():
            self._index_add(entry_id, _Row(seg, doc["po_id"], doc["status"], doc.get("created_at", ""), doc.get("resolved_at")))
        self._seg_ids.setdefault(seg, set())
        return max(docs, default=0)

    def _open_index(self) -> None:
        # Building 100,000 index rows triggers the cyclic GC over and over (it would roughly
        # double the open time); none of these objects form cycles, so pause it meanwhile.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._build_index()
        finally:
            if was_enabled:
                gc.enable()

    def _build_index(self) -> None:
        remove_stale_temp_files_in(self.folder)
        segs = sorted(int(m.group(1)) for p in self._list_folder() if (m := _SEGMENT_RE.fullmatch(p)))
        for name in self._list_folder():
            m = re.fullmatch(r"errors-(\d{6})\.idx\.json", name)
            if m and int(m.group(1)) not in segs:
                (self.folder / name).unlink(missing_ok=True)  # orphan of a removed segment
        if not segs:
            self._active, self._next_id = 1, 1
            return
        self._active = segs[-1]
        max_seen = 0
        for seg in segs[:-1]:
            max_seen = max(max_seen, self._load_sealed(seg))
        max_seen = max(max_seen, self._index_segment_from_docs(self._active))
        self._remember(self._active)
        first_id = self._segment_meta(self._active).get("first_id", 1)
        self._next_id = max(max_seen + 1, first_id)

    def _list_folder(self) -> list[str]:
        try:
            return os.listdir(self.folder)
        except FileNotFoundError:
            return []

    def _load_sealed(self, seg: int) -> int:
        """Index a sealed segment from its sidecar, rebuilding the sidecar when stale."""
        sidecar: Any = None
        try:
            sidecar = load_json_file(self._idx_path(seg))
        except CorruptFileError:
            sidecar = None  # derived data: rebuild below (a copy was kept aside anyway)
        if (
            isinstance(sidecar, dict)
            and sidecar.get("v") == SHAPE_VERSION
            and sidecar.get("sig") == self._seg_signature(seg)
            and isinstance(sidecar.get("rows"), list)
        ):
            self._known_sigs[seg] = sidecar["sig"]
            self._index_bulk(seg, sidecar["rows"])
            return int(sidecar.get("max_id") or max((r[0] for r in sidecar["rows"]), default=0))
        log.info("rebuilding the index of %s", self._seg_path(seg))
        max_id = self._index_segment_from_docs(seg)
        self._write_sidecar(seg)
        return max(max_id, self._segment_meta(seg).get("max_id") or 0)

    def _remember(self, seg: int) -> None:
        self._known_sigs[seg] = self._seg_signature(seg)

    def refresh(self) -> bool:
        """Pick up changes another process made to the files (a console reading the log of a
        daemon). Cheap when nothing changed: a folder listing and a stat per segment. Returns
        whether anything was reloaded."""
        with self._lock:
            on_disk: dict[int, list[int]] = {}
            for name in self._list_folder():
                m = _SEGMENT_RE.fullmatch(name)
                if m:
                    try:
                        on_disk[int(m.group(1))] = self._seg_signature(int(m.group(1)))
                    except FileNotFoundError:
                        continue
            if on_disk == self._known_sigs:
                return False
            for db in self._segments.values():
                db.close()
            self._segments.clear()
            self._rows.clear()
            self._ids.clear()
            self._by_po.clear()
            self._counts.clear()
            self._seg_ids.clear()
            self._unresolved.clear()
            self._known_sigs.clear()
            self._open_index()
            return True

    def _seal_if_full(self) -> None:
        if len(self._seg_ids.get(self._active, ())) < self.segment_size:
            return
        sealed = self._active
        self._db(sealed).table("meta", cache_size=0).upsert(
            Document({"first_id": self._segment_meta(sealed).get("first_id", 1), "max_id": self._next_id - 1}, doc_id=1)
        )
        self._write_sidecar(sealed)
        self._active = sealed + 1
        self._seg_ids[self._active] = set()
        # The new segment records where ids continue, so ids are never reused even if every
        # older segment is later removed by retention.
        self._db(self._active).table("meta", cache_size=0).insert(
            Document({"v": SHAPE_VERSION, "first_id": self._next_id}, doc_id=1)
        )
        self._remember(self._active)
        self._apply_retention()

    # --- writes -------------------------------------------------------------------------------

    def add(
        self,
        *,
        po_id: int,
        cause_code: str,
        cause: str,
        fix: str,
        raw_error: str = "",
        po_number: str | None = None,
        todo_id: int | None = None,
        alt_email: str | None = None,
        attempts: int = 1,
        status: ErrorStatus = ErrorStatus.OPEN,
    ) -> ErrorEntry:
        """Append a new entry; durable on return."""
        if isinstance(po_id, bool) or not isinstance(po_id, int):
            raise ValueError(f"po_id must be a whole number, got {po_id!r}")
        now = _now()
        status = ErrorStatus(status)
        with self._lock:
            self._seal_if_full()
            entry = ErrorEntry(
                id=self._next_id,
                po_id=po_id,
                po_number=po_number,
                cause_code=_check_code(cause_code),
                cause=cause,
                fix=fix,
                raw_error=raw_error,
                attempts=attempts,
                status=status,
                created_at=now,
                updated_at=now,
                resolved_at=now if status is ErrorStatus.RESOLVED else None,
                todo_id=todo_id,
                alt_email=alt_email,
            )
            if self._next_id == 1 and not self._seg_path(self._active).exists():
                self._db(self._active).table("meta", cache_size=0).insert(
                    Document({"v": SHAPE_VERSION, "first_id": 1}, doc_id=1)
                )
            self._table(self._active).insert(Document(entry.to_doc(), doc_id=entry.id))
            self._remember(self._active)
            self._next_id += 1
            self._index_add(entry.id, _Row(self._active, po_id, status.value, now, entry.resolved_at))
            return entry

    def bulk_add(self, records: Iterable[dict[str, Any]]) -> int:
        """Append many entries (each a dict of add()'s arguments) with one write per segment
        instead of one per entry — for imports. Durable on return; returns how many."""
        count = 0
        with self._lock:
            batch: list[ErrorEntry] = []

            def flush() -> None:
                if batch:
                    if batch[0].id == 1 and not self._seg_path(self._active).exists():
                        self._db(self._active).table("meta", cache_size=0).insert(
                            Document({"v": SHAPE_VERSION, "first_id": 1}, doc_id=1)
                        )
                    self._table(self._active).insert_multiple(Document(e.to_doc(), doc_id=e.id) for e in batch)
                    self._remember(self._active)
                    for e in batch:
                        self._index_add(e.id, _Row(self._active, e.po_id, e.status.value, e.created_at, e.resolved_at))
                    batch.clear()

            for record in records:
                if len(self._seg_ids.get(self._active, ())) + len(batch) >= self.segment_size:
                    flush()
                    self._seal_if_full()
                now = _now()
                status = ErrorStatus(record.get("status", ErrorStatus.OPEN))
                po_id = record["po_id"]
                if isinstance(po_id, bool) or not isinstance(po_id, int):
                    raise ValueError(f"po_id must be a whole number, got {po_id!r}")
                batch.append(
                    ErrorEntry(
                        id=self._next_id, po_id=po_id, po_number=record.get("po_number"),
                        cause_code=_check_code(record["cause_code"]), cause=record["cause"], fix=record["fix"],
                        raw_error=record.get("raw_error", ""), attempts=record.get("attempts", 1), status=status,
                        created_at=now, updated_at=now, resolved_at=now if status is ErrorStatus.RESOLVED else None,
                        todo_id=record.get("todo_id"), alt_email=record.get("alt_email"),
                    )
                )
                self._next_id += 1
                count += 1
            flush()
        return count

    def record_failure(
        self,
        *,
        po_id: int,
        cause_code: str,
        cause: str,
        fix: str,
        raw_error: str = "",
        po_number: str | None = None,
        todo_id: int | None = None,
        alt_email: str | None = None,
    ) -> ErrorEntry:
        """A PO failed: update its latest unresolved entry (attempts + 1, new cause, status open)
        or add a new one — a retry that fails again never duplicates the entry."""
        with self._lock:
            existing = self.latest_open_for_po(po_id)
            if existing is None:
                return self.add(
                    po_id=po_id, cause_code=cause_code, cause=cause, fix=fix, raw_error=raw_error,
                    po_number=po_number, todo_id=todo_id, alt_email=alt_email,
                )
            changes: dict[str, Any] = dict(cause_code=cause_code, cause=cause, fix=fix, raw_error=raw_error,
                                           attempts=existing.attempts + 1)
            if po_number is not None:
                changes["po_number"] = po_number
            if todo_id is not None:
                changes["todo_id"] = todo_id
            if alt_email is not None:
                changes["alt_email"] = alt_email
            return self.update(existing.id, status=ErrorStatus.OPEN, **changes)

    def update(self, entry_id: int, *, status: ErrorStatus | None = None, **changes: Any) -> ErrorEntry:
        """Change fields and/or status of an entry (status moves per ALLOWED_STATUS); durable."""
        unknown = set(changes) - _UPDATABLE
        if unknown:
            raise TypeError(f"unknown error-log fields: {sorted(unknown)}")
        if "cause_code" in changes:
            _check_code(changes["cause_code"])
        with self._lock:
            current = self.get(entry_id)
            if current is None:
                raise UnknownEntryError(f"no error-log entry with id {entry_id}")
            now = _now()
            entry = replace(current, updated_at=now, **changes)
            if status is not None:
                status = ErrorStatus(status)
                if status not in ALLOWED_STATUS[current.status]:
                    raise IllegalTransitionError(
                        f"error-log entry {entry_id}: cannot go from {current.status.value} to {status.value}"
                    )
                entry = replace(entry, status=status, resolved_at=now if status is ErrorStatus.RESOLVED else None)
            row = self._rows[entry_id]
            self._table(row.seg).upsert(Document(entry.to_doc(), doc_id=entry_id))
            self._index_add(entry_id, row._replace(status=entry.status.value, resolved_at=entry.resolved_at))
            if row.seg != self._active:
                self._write_sidecar(row.seg)
            else:
                self._remember(row.seg)
            return entry

    def mark_retrying(self, entry_id: int) -> ErrorEntry:
        return self.update(entry_id, status=ErrorStatus.RETRYING)

    def resolve(self, entry_id: int) -> ErrorEntry:
        return self.update(entry_id, status=ErrorStatus.RESOLVED)

    # --- reads --------------------------------------------------------------------------------

    def get(self, entry_id: int) -> ErrorEntry | None:
        with self._lock:
            row = self._rows.get(entry_id)
            if row is None:
                return None
            doc = self._table(row.seg).get(doc_id=entry_id)
            if doc is None:
                raise CorruptFileError(self._seg_path(row.seg), f"error entry {entry_id} is missing from its segment")
            return ErrorEntry.from_doc(entry_id, doc)

    def _entries(self, ids: Iterable[int]) -> list[ErrorEntry]:
        return [e for e in (self.get(i) for i in ids) if e is not None]

    def latest_open_for_po(self, po_id: int) -> ErrorEntry | None:
        """The newest open or retrying entry for a PO."""
        with self._lock:
            for entry_id in reversed(self._by_po.get(po_id, ())):
                if self._rows[entry_id].status != ErrorStatus.RESOLVED.value:
                    return self.get(entry_id)
            return None

    def for_po(self, po_id: int) -> list[ErrorEntry]:
        """Every entry of a PO, newest first."""
        with self._lock:
            return self._entries(sorted(self._by_po.get(po_id, ()), reverse=True))

    def open_errors(self, limit: int | None = None, offset: int = 0) -> list[ErrorEntry]:
        """Open and retrying entries, newest first."""
        with self._lock:
            ids = sorted(self._unresolved, reverse=True)
            end = None if limit is None else offset + limit
            return self._entries(ids[offset:end])

    def page(self, limit: int = 100, offset: int = 0, status: ErrorStatus | None = None) -> list[ErrorEntry]:
        """Entries newest first, `limit` from `offset` (optionally one status)."""
        with self._lock:
            if status is None:
                n = len(self._ids)
                start, stop = max(n - offset - limit, 0), max(n - offset, 0)
                ids = list(reversed(self._ids[start:stop]))
            else:
                want = ErrorStatus(status).value
                ids = []
                skipped = 0
                for i in reversed(self._ids):
                    if self._rows[i].status == want:
                        if skipped < offset:
                            skipped += 1
                        else:
                            ids.append(i)
                            if len(ids) >= limit:
                                break
            return self._entries(ids)

    def search(self, text: str, limit: int = 100) -> list[ErrorEntry]:
        """Entries whose PO number, PO id, cause code, cause, fix, raw error or e-mail contains
        `text` (case-insensitive), newest first, at most `limit`.

        Segments are read newest first and the search stops at `limit` hits. A segment whose
        file text does not contain the words at all is skipped without parsing it (our files
        hold text unescaped, so any match shows in the raw text)."""
        needle = text.casefold().strip()
        if not needle:
            return self.page(limit)
        # JSON escapes quotes, backslashes and control characters: look for the longest run of
        # the words without them in the raw text.
        probe = max(re.split(r'["\\\x00-\x1f]', needle), key=len)
        found: list[ErrorEntry] = []
        with self._lock:
            for seg in sorted(self._seg_ids, reverse=True):
                ids = self._seg_ids[seg]
                if not ids:
                    continue
                if probe and seg not in self._segments:
                    try:
                        raw_text = self._seg_path(seg).read_bytes().decode("utf-8", errors="replace")
                    except OSError:
                        raw_text = needle  # let the parse below report the problem
                    if probe not in raw_text.casefold():
                        continue
                table = self._table(seg)._read_table()
                for entry_id in sorted(ids, reverse=True):
                    doc = table.get(str(entry_id))
                    if doc is not None and needle in _haystack(doc):
                        found.append(ErrorEntry.from_doc(entry_id, doc))
                        if len(found) >= limit:
                            return found
        return found

    def count_by_status(self) -> dict[ErrorStatus, int]:
        with self._lock:
            return {s: self._counts.get(s.value, 0) for s in ErrorStatus}

    def __len__(self) -> int:
        with self._lock:
            return len(self._ids)

    # --- retention ----------------------------------------------------------------------------

    def apply_retention(self, now: datetime | None = None) -> int:
        """Remove resolved entries past retention (see module doc); returns how many."""
        with self._lock:
            return self._apply_retention(now)

    def _apply_retention(self, now: datetime | None = None) -> int:
        now = now or datetime.now(timezone.utc)
        doomed: dict[int, list[int]] = {}
        resolved = ErrorStatus.RESOLVED.value
        if self.retention_days > 0:
            cutoff = (now - timedelta(days=self.retention_days)).isoformat(timespec="microseconds")
            for entry_id in self._ids:
                row = self._rows[entry_id]
                if row.seg != self._active and row.status == resolved and (row.resolved_at or "") < cutoff:
                    doomed.setdefault(row.seg, []).append(entry_id)
        excess = len(self._ids) - sum(map(len, doomed.values())) - self.max_entries
        if excess > 0:
            chosen = {i for ids in doomed.values() for i in ids}
            for entry_id in self._ids:  # oldest first
                if excess <= 0:
                    break
                row = self._rows[entry_id]
                if entry_id not in chosen and row.seg != self._active and row.status == resolved:
                    doomed.setdefault(row.seg, []).append(entry_id)
                    excess -= 1
        removed = 0
        for seg, ids in sorted(doomed.items()):
            if set(ids) >= self._seg_ids[seg]:
                # The whole segment goes: sidecar first, so a crash leaves a segment that is
                # simply re-indexed (and pruned again), never an index without its data.
                db = self._segments.pop(seg, None)
                if db is not None:
                    db.close()
                self._idx_path(seg).unlink(missing_ok=True)
                self._seg_path(seg).unlink(missing_ok=True)
                for entry_id in ids:
                    self._index_remove(entry_id)
                del self._seg_ids[seg]
                self._known_sigs.pop(seg, None)
            else:
                self._table(seg).remove(doc_ids=ids)
                for entry_id in ids:
                    self._index_remove(entry_id)
                self._write_sidecar(seg)
            removed += len(ids)
        if removed:
            log.info("error log retention removed %d resolved entries", removed)
        return removed

    def close(self) -> None:
        with self._lock:
            for db in self._segments.values():
                db.close()
            self._segments.clear()
