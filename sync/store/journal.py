"""The per-PO sync journal that makes "a bill per PO, never two" survivable across crashes.

Each purchase order has one record whose state only moves along ALLOWED. The engine records each
step (`transition`) before its next side effect; the call returns only once the new state is on
disk (fsynced). After a crash, `unfinished()` lists every PO to recover: one in bill_requested
may or may not have a bill in QBO (look it up by request_id / doc number before re-creating);
one in failed with `pending` set stopped half-way through recording its failure (the ERROR
marker, the to-do, the notice are still due).

`transition_many` moves many records at once with one write (one fsync) per touched shard file:
for a group of POs that take the same step together (the batched pipeline).

Records are spread over SHARDS TinyDB files by po_id, so a transition rewrites only a small file
instead of the whole journal. Ids go to files in blocks of BLOCK consecutive ids (1-32 in file
01, 33-64 in file 02, ...): a scan's group of POs (close ids, in order) touches one or two files,
so a `transition_many` for the group costs one or two writes, not one per PO. Records an older
version placed by `po_id % SHARDS` are moved to their file on first use (`_relocate`).

Only the PARSED files used last are held parsed in memory: a scan goes through the ids in order,
so it works in one or two files at a time, and a journal of 10,000 POs is not held whole for it
(issue 17: memory does not grow with the POs of a scan). A file let go is read again when used.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document, Table

from sync.store.errors import CorruptFileError, IllegalTransitionError, StateMismatchError, StoreFileError
from sync.store.holds import HoldBook
from sync.store.storage import AtomicJSONStorage, remove_stale_temp_files_in

SHARDS = 32
BLOCK = 32  # consecutive ids per file
SHAPE_VERSION = 1
HISTORY_LIMIT = 20
PARSED = 6  # files held parsed: the groups a scan has in flight touch two or three


class JournalState(str, Enum):
    SEEN = "seen"  # picked up by a scan, nothing done yet
    RESOLVED = "resolved"  # vendor, customer and items matched or created in QBO
    BILL_REQUESTED = "bill_requested"  # a bill create was sent (request_id recorded) — outcome unknown
    BILL_CREATED = "bill_created"  # QBO confirmed the bill (bill_id, doc_number recorded)
    WRITTEN_BACK = "written_back"  # externalPONumber set in Autotask: done
    FAILED = "failed"  # stopped with an error (see the error log); a retry starts again at seen
    # Put back untouched by recovery: no bill exists for it (none was requested, or the one
    # requested was looked up and not found) and the PO is not ours to finish. A later scan that
    # finds the PO eligible starts again at seen.
    RELEASED = "released"


S = JournalState
# Which state may follow which. Re-entering seen/resolved/bill_requested is allowed: redoing
# those steps is harmless (bill_requested is re-sent with the same request_id). Once a bill may
# exist, the record only moves forward or to failed (bill_requested to released only after a
# look-up found no bill). failed -> failed completes a failure recorded half-way (`pending`);
# failed -> bill_created resumes a failed attempt whose bill was read back from QBO (no detour
# through seen, which would forget that a bill exists); failed -> written_back is a failed
# write-back found done after all (Autotask holds the number).
ALLOWED: dict[S | None, frozenset[S]] = {
    None: frozenset({S.SEEN}),
    S.SEEN: frozenset({S.SEEN, S.RESOLVED, S.FAILED, S.RELEASED}),
    S.RESOLVED: frozenset({S.SEEN, S.RESOLVED, S.BILL_REQUESTED, S.FAILED, S.RELEASED}),
    S.BILL_REQUESTED: frozenset({S.BILL_REQUESTED, S.BILL_CREATED, S.FAILED, S.RELEASED}),
    S.BILL_CREATED: frozenset({S.WRITTEN_BACK, S.FAILED}),
    S.WRITTEN_BACK: frozenset(),
    S.FAILED: frozenset({S.SEEN, S.FAILED, S.BILL_CREATED, S.WRITTEN_BACK}),
    S.RELEASED: frozenset({S.SEEN, S.FAILED}),
}
FINISHED = frozenset({S.WRITTEN_BACK, S.FAILED, S.RELEASED})
# Leaving one of these for a new try starts a new attempt (a new QBO requestid).
_NEW_ATTEMPT_FROM = frozenset({S.FAILED, S.RELEASED})


@dataclass(frozen=True)
class JournalEntry:
    po_id: int
    state: JournalState
    attempt: int = 1
    po_number: str | None = None
    request_id: str | None = None
    bill_id: str | None = None
    doc_number: str | None = None
    vendor_id: str | None = None
    error_id: int | None = None
    # The QBO entity bill_id names ("Bill" or "PurchaseOrder"; None: a bill, written before
    # the transfer_as setting existed).
    document: str | None = None
    # Set while a failure is being recorded ("failure"): the journal moved to failed first, the
    # ERROR marker, to-do and notice follow; cleared once they are done. Recovery finishes it.
    pending: str | None = None
    updated_at: str = ""
    # (state, ISO time) of the last HISTORY_LIMIT transitions, oldest first.
    history: tuple[tuple[str, str], ...] = field(default=())

    def to_doc(self) -> dict[str, Any]:
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["state"] = self.state.value
        doc["history"] = [list(h) for h in self.history]
        return doc

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return self.to_doc()

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> "JournalEntry":
        values = {f.name: doc.get(f.name, f.default) for f in fields(cls)}
        values["state"] = JournalState(doc["state"])
        values["history"] = tuple((h[0], h[1]) for h in doc.get("history", ()))
        return cls(**values)


_SETTABLE = {f.name for f in fields(JournalEntry)} - {"po_id", "state", "updated_at", "history"}


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


class Journal:
    """Per-PO states across SHARDS crash-safe TinyDB files; thread-safe, one writer process."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.RLock()
        self._tables: dict[int, Table] = {}
        self._dbs: dict[int, TinyDB] = {}
        self._parsed: OrderedDict[int, None] = OrderedDict()  # shards whose data is held, last used last
        self._placed = False
        self._holds: HoldBook | None = None
        remove_stale_temp_files_in(self.folder)

    @property
    def holds(self) -> HoldBook:
        """The held and approved POs (apply_mode), in a file of their own in this folder."""
        with self._lock:
            if self._holds is None:
                self._holds = HoldBook(self.folder)
            return self._holds

    def _relocate(self) -> None:
        """Move records found in another file than `shard_of` names (written by a version that
        placed them by po_id % SHARDS) to their file: first stored in the right file, then
        removed from the wrong one, so a crash in between leaves a copy, which the next open
        moves again (keeping the newer of two copies)."""
        if not any(self._shard_path(shard).exists() for shard in range(SHARDS)):
            return
        misplaced: dict[int, dict[int, dict[str, Any]]] = {}
        sources: dict[int, list[int]] = {}
        for shard in range(SHARDS):
            for doc in self._shard_table(shard).all():
                home = shard_of(doc.doc_id)
                if home != shard:
                    misplaced.setdefault(home, {})[doc.doc_id] = dict(doc)
                    sources.setdefault(shard, []).append(doc.doc_id)
        for home, docs in misplaced.items():
            def merge(stored: dict, docs: dict = docs) -> None:
                for doc_id, doc in docs.items():
                    here = stored.get(doc_id)
                    if here is None or str(here.get("updated_at", "")) < str(doc.get("updated_at", "")):
                        stored[doc_id] = doc
            self._shard_table(home)._update_table(merge)
        for shard, ids in sources.items():
            self._shard_table(shard).remove(doc_ids=ids)

    def file_of(self, po_id: int) -> Path:
        """The file that holds a PO's record."""
        return self._shard_path(shard_of(_po(po_id)))

    def _shard_path(self, shard: int) -> Path:
        return self.folder / f"journal-v{SHAPE_VERSION}-{shard:02d}.json"

    def _table(self, po_id: int) -> Table:
        return self._shard_table(shard_of(po_id))

    def _shard_table(self, shard: int) -> Table:
        if not self._placed:
            self._placed = True
            self._relocate()
        table = self._tables.get(shard)
        if table is None:
            db = self._dbs[shard] = TinyDB(self._shard_path(shard), storage=AtomicJSONStorage)
            table = self._tables[shard] = db.table("journal", cache_size=0)
        self._parsed[shard] = None
        self._parsed.move_to_end(shard)
        while len(self._parsed) > PARSED:
            oldest, _ = self._parsed.popitem(last=False)
            self._dbs[oldest].storage.close()  # drops the parsed data; the next use reads the file
        return table

    def _all_tables(self) -> Iterator[Table]:
        for shard in range(SHARDS):
            yield self._shard_table(shard)

    def _load(self, table: Table, po_id: int) -> JournalEntry | None:
        doc = table.get(doc_id=po_id)
        if doc is None:
            return None
        try:
            return JournalEntry.from_doc(doc)
        except (KeyError, ValueError, TypeError, IndexError):
            raise CorruptFileError(self._shard_path(shard_of(po_id)), f"journal record {po_id} is malformed") from None

    def get(self, po_id: int) -> JournalEntry | None:
        with self._lock:
            return self._load(self._table(_po(po_id)), _po(po_id))

    def transition(
        self,
        po_id: int,
        expected: JournalState | None | Collection[JournalState | None],
        to_state: JournalState,
        **changes: Any,
    ) -> JournalEntry:
        """Move `po_id` from one of `expected` (None = no record yet) to `to_state`, setting
        `changes` (attempt, po_number, request_id, bill_id, doc_number, vendor_id, error_id).

        Raises StateMismatchError if the current state is not expected, IllegalTransitionError
        if the move is not in ALLOWED. Durable (fsynced) when it returns.
        """
        po_id = _po(po_id)
        to_state = JournalState(to_state)
        unknown = set(changes) - _SETTABLE
        if unknown:
            raise TypeError(f"unknown journal fields: {sorted(unknown)}")
        with self._lock:
            table = self._table(po_id)
            entry = _next(self._load(table, po_id), po_id, expected, to_state, changes, _now())
            table.upsert(Document(entry.to_doc(), doc_id=po_id))
            return entry

    def transition_many(
        self,
        steps: Iterable[tuple[int, JournalState | None | Collection[JournalState | None], JournalState, dict[str, Any]]],
    ) -> list[JournalEntry]:
        """Apply `transition(po_id, expected, to_state, **fields)` for each step, in order (a PO
        may appear more than once), writing each touched shard file once: one fsync per file
        instead of one per step. Every step is checked before anything is written, so a refused
        step (StateMismatchError, IllegalTransitionError, TypeError) changes nothing. Each file
        is replaced atomically; all are durable when this returns. Returns the new entries."""
        planned: list[tuple[int, JournalState | None | Collection[JournalState | None], JournalState, dict]] = []
        for po_id, expected, to_state, changes in steps:
            changes = dict(changes or {})
            unknown = set(changes) - _SETTABLE
            if unknown:
                raise TypeError(f"unknown journal fields: {sorted(unknown)}")
            planned.append((_po(po_id), expected, JournalState(to_state), changes))
        with self._lock:
            now = _now()
            latest: dict[int, JournalEntry | None] = {}
            results: list[JournalEntry] = []
            for po_id, expected, to_state, changes in planned:
                if po_id not in latest:
                    latest[po_id] = self._load(self._table(po_id), po_id)
                entry = _next(latest[po_id], po_id, expected, to_state, changes, now)
                latest[po_id] = entry
                results.append(entry)
            by_shard: dict[int, dict[int, dict[str, Any]]] = {}
            for po_id, entry in latest.items():
                if entry is not None:
                    by_shard.setdefault(shard_of(po_id), {})[po_id] = entry.to_doc()
            for shard, docs in by_shard.items():
                table = self._shard_table(shard)
                # One read-modify-write of the shard file (TinyDB's own upsert writes per record).
                table._update_table(lambda stored, docs=docs: stored.update(docs))
            return results

    def unfinished(self) -> list[JournalEntry]:
        """Every PO left mid-way, oldest update first (what to recover on start): not in a
        finished state, or failed with its failure still being recorded (`pending`)."""
        finished = {s.value for s in FINISHED}
        with self._lock:
            found = [
                JournalEntry.from_doc(doc)
                for table in self._all_tables()
                for doc in table.all()
                if doc.get("state") not in finished or doc.get("pending")
            ]
        return sorted(found, key=lambda e: e.updated_at)

    def all(self) -> list[JournalEntry]:
        with self._lock:
            entries = [JournalEntry.from_doc(doc) for table in self._all_tables() for doc in table.all()]
        return sorted(entries, key=lambda e: e.po_id)

    def prune_written_back(self, older_than: timedelta) -> int:
        """Forget written_back records last updated before now - older_than; returns how many.
        (Their PO carries the bill number in Autotask, so a scan no longer picks it up.)"""
        cutoff = (datetime.now(timezone.utc) - older_than).isoformat(timespec="microseconds")
        removed = 0
        with self._lock:
            for table in self._all_tables():
                ids = [
                    doc.doc_id
                    for doc in table.all()
                    if doc.get("state") == S.WRITTEN_BACK.value and doc.get("updated_at", "") < cutoff
                ]
                if ids:
                    table.remove(doc_ids=ids)
                    removed += len(ids)
        return removed

    # ------------------------------------------------------------ repair (atqbo repair journal)

    def survey(self) -> tuple[list[JournalEntry], list[Path]]:
        """Every record that can be read (the newest copy of each PO), and the files that cannot
        (damaged: their records are unknown). Reads each file on its own, so one damaged file
        does not hide the others."""
        found: dict[int, JournalEntry] = {}
        damaged: list[Path] = []
        with self._lock:
            for shard in range(SHARDS):
                path = self._shard_path(shard)
                try:
                    data = AtomicJSONStorage(path).read() or {}
                    docs = list((data.get("journal") or {}).values())
                    entries = [JournalEntry.from_doc(doc) for doc in docs]
                except StoreFileError:
                    damaged.append(path)
                    continue
                except (KeyError, ValueError, TypeError, IndexError, AttributeError):
                    damaged.append(path)  # a malformed record: the file's records are not trusted
                    continue
                for entry in entries:
                    held = found.get(entry.po_id)
                    if held is None or held.updated_at < entry.updated_at:
                        found[entry.po_id] = entry
        return sorted(found.values(), key=lambda e: e.po_id), damaged

    def restore(self, entries: Iterable[JournalEntry], damaged: Collection[Path] = ()) -> None:
        """Store these records as they are, without the transition rules (repair only: what QBO
        and Autotask show replaces what the journal lost). A file named in `damaged` (its copy
        was kept aside when it could not be read) is rebuilt from the records given for it; any
        other file keeps its other records. Durable when it returns."""
        by_shard: dict[int, dict[str, dict[str, Any]]] = {}
        for entry in entries:
            by_shard.setdefault(shard_of(_po(entry.po_id)), {})[str(entry.po_id)] = entry.to_doc()
        allowed = {Path(p) for p in damaged}
        with self._lock:
            for shard in range(SHARDS):
                path = self._shard_path(shard)
                docs = by_shard.get(shard)
                if docs is None and path not in allowed:
                    continue
                storage = AtomicJSONStorage(path)
                try:
                    data = storage.read() or {}
                except StoreFileError:
                    if path not in allowed:
                        raise
                    data = {}
                data = {**data, "journal": {**(data.get("journal") or {}), **(docs or {})}}
                storage.write(data)
            self._placed = False  # records an older version misplaced are moved again on next use

    def close(self) -> None:
        with self._lock:
            if self._holds is not None:
                self._holds.close()
                self._holds = None
            for db in self._dbs.values():
                db.close()
            self._dbs.clear()
            self._tables.clear()
            self._parsed.clear()


def shard_of(po_id: int) -> int:
    """The file of a PO's record: blocks of BLOCK consecutive ids, ids 1-BLOCK in file 1."""
    return ((po_id + BLOCK - 1) // BLOCK) % SHARDS


def _next(current: JournalEntry | None, po_id: int, expected: Any, to_state: JournalState,
          changes: dict[str, Any], now: str) -> JournalEntry:
    """The entry after one checked step (nothing stored)."""
    if expected is None or isinstance(expected, (JournalState, str)):
        expected_set = {None if expected is None else JournalState(expected)}
    else:
        expected_set = {None if e is None else JournalState(e) for e in expected}
    current_state = current.state if current else None
    if current_state not in expected_set:
        shown = sorted("(none)" if e is None else e.value for e in expected_set)
        raise StateMismatchError(
            f"PO {po_id}: expected state {' or '.join(shown)}, found "
            f"{current_state.value if current_state else '(none)'}"
        )
    if to_state not in ALLOWED[current_state]:
        raise IllegalTransitionError(
            f"PO {po_id}: cannot go from {current_state.value if current_state else '(none)'} "
            f"to {to_state.value}"
        )
    if current is None:
        entry = JournalEntry(po_id=po_id, state=to_state, updated_at=now)
    else:
        entry = replace(current, state=to_state, updated_at=now)
        if current_state in _NEW_ATTEMPT_FROM and to_state is JournalState.SEEN and "attempt" not in changes:
            entry = replace(entry, attempt=current.attempt + 1)
    return replace(entry, **changes, history=(entry.history + ((to_state.value, now),))[-HISTORY_LIMIT:])


def _po(po_id: Any) -> int:
    if isinstance(po_id, bool) or not isinstance(po_id, int) or po_id < 0:
        raise ValueError(f"po_id must be a non-negative whole number, got {po_id!r}")
    return po_id
