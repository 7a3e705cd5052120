"""Each purchase order's story, for `atqbo why`: an append-only, indexed record of every step.

The journal keeps only where a PO stands now (and its last few states); the error log only
its failures. The history keeps everything that happened to it, in order, for an accountant
to read: the scans that saw it, the decisions (vendor matched by name or created, items
created, where the bill's number came from), the writes with their request ids and answers,
failures with cause and fix, to-dos, retries and who started them.

Cheap on purpose (a scan must not slow down): one line appended per step, to a file chosen
by the PO's id in blocks of BLOCK consecutive ids (a scan's POs have close ids, so a scan keeps
one or two files open). The index is the file name: reading one PO's story reads one file and
keeps the lines that start with its id. Lines are flushed, not fsynced: the journal is what
makes a sync crash-safe; a step lost to a power cut is a missing line of narrative, nothing
more. A torn last line (a crash mid-write) is skipped when read.

    history.append(HistoryEntry(po_id=12, kind="bill_created", text="...", details={...}))
    history.story(12)    # -> [HistoryEntry, ...] oldest first
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from sync.paths import FILE_MODE, ensure_dir
from sync.store.errors import StoreFileError

BLOCK = 256  # consecutive PO ids per file
SCANS_KEPT = 200  # finished scans remembered (a day at 15 min is 96)
OPEN_FILES = 8  # append handles kept open (a scan touches one or two blocks at a time)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class HistoryEntry:
    po_id: int
    kind: str  # seen, vendor_created, item_created, bill_created, written_back, failed, ...
    text: str  # one sentence for people (already sanitised by whoever wrote it)
    at: str = field(default_factory=_now)
    scan_id: str = ""
    origin: str = ""  # who started the work: "service", "console", "command line"
    details: dict[str, Any] = field(default_factory=dict)

    def to_line(self) -> str:
        body = {"at": self.at, "kind": self.kind, "text": self.text, "scan_id": self.scan_id,
                "origin": self.origin, "details": self.details}
        return f"{self.po_id}\t{json.dumps(body, ensure_ascii=False, separators=(',', ':'), default=str)}\n"

    @classmethod
    def from_line(cls, po_id: int, body: str) -> "HistoryEntry":
        doc = json.loads(body)
        return cls(po_id=po_id, kind=str(doc.get("kind", "")), text=str(doc.get("text", "")),
                   at=str(doc.get("at", "")), scan_id=str(doc.get("scan_id", "")),
                   origin=str(doc.get("origin", "")), details=dict(doc.get("details") or {}))

    def as_dict(self) -> dict[str, Any]:
        return {"po_id": self.po_id, "at": self.at, "kind": self.kind, "text": self.text,
                "scan_id": self.scan_id, "origin": self.origin, "details": self.details}


class History:
    """Append-only per-PO history under one folder; thread-safe, one writer process."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._lock = threading.Lock()
        self._open: dict[int, IO[str]] = {}

    def _path(self, block: int) -> Path:
        return self.folder / f"{block:06d}.log"

    def append(self, entry: HistoryEntry) -> None:
        self.append_many([entry])

    def append_many(self, entries: list[HistoryEntry]) -> None:
        with self._lock:
            try:
                for entry in entries:
                    handle = self._handle(int(entry.po_id) // BLOCK)
                    handle.write(entry.to_line())
                for handle in self._open.values():
                    handle.flush()
            except OSError as exc:  # disk full, folder gone: named, never half-silent
                raise StoreFileError(self.folder, exc.strerror or str(exc)) from None

    def _handle(self, block: int) -> IO[str]:
        handle = self._open.get(block)
        if handle is not None:
            return handle
        if len(self._open) >= OPEN_FILES:
            oldest = next(iter(self._open))
            self._open.pop(oldest).close()
        path = self._path(block)
        try:
            ensure_dir(self.folder)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, FILE_MODE)
        except OSError as exc:
            raise StoreFileError(path, exc.strerror or str(exc)) from None
        handle = os.fdopen(fd, "a", encoding="utf-8")
        # A crash mid-write leaves a torn last line: end it, so the next entry starts clean.
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            handle.write("\n")  # an OSError here is turned into StoreFileError by the caller
        self._open[block] = handle
        return handle

    def story(self, po_id: int) -> list[HistoryEntry]:
        """Everything recorded for `po_id`, oldest first."""
        path = self._path(int(po_id) // BLOCK)
        with self._lock:
            handle = self._open.get(int(po_id) // BLOCK)
            if handle is not None:
                handle.flush()
        prefix = f"{int(po_id)}\t"
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                lines = [line for line in f if line.startswith(prefix)]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreFileError(path, exc.strerror or str(exc)) from None
        out: list[HistoryEntry] = []
        for line in lines:
            if not line.endswith("\n"):
                continue  # torn by a crash mid-write
            try:
                out.append(HistoryEntry.from_line(int(po_id), line[len(prefix):]))
            except (ValueError, TypeError):
                continue

        return out

    def latest_of_kind(self, kind: str) -> dict[int, HistoryEntry]:
        """Each PO's newest entry of `kind` across the whole history (for the export): one pass
        over every file, parsing only the lines of that kind."""
        with self._lock:
            for handle in self._open.values():
                handle.flush()
        marker = f'"kind":{json.dumps(kind)}'
        found: dict[int, HistoryEntry] = {}
        try:
            paths = sorted(self.folder.glob("*.log"))
        except OSError as exc:
            raise StoreFileError(self.folder, exc.strerror or str(exc)) from None
        for path in paths:
            try:
                with open(path, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        if marker not in line or not line.endswith("\n"):
                            continue
                        head, _, body = line.partition("\t")
                        try:
                            found[int(head)] = HistoryEntry.from_line(int(head), body)
                        except (ValueError, TypeError):
                            continue
            except OSError as exc:
                raise StoreFileError(path, exc.strerror or str(exc)) from None
        return found

    # ------------------------------------------------------------ scans (for `atqbo health`)

    @property
    def scans_file(self) -> Path:
        return self.folder / "scans.json"

    def record_scan(self, record: dict[str, Any], keep: int = SCANS_KEPT) -> None:
        """Keep the last `keep` finished scans (when, counts, API calls, stopped): replaced
        atomically, so a reader never sees half a file."""
        with self._lock:
            scans = self._read_scans()[-(keep - 1):] if keep > 1 else []
            scans.append(record)
            path = self.scans_file
            tmp = path.with_name(path.name + ".tmp")
            try:
                ensure_dir(self.folder)
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(scans, f, separators=(",", ":"), default=str)
                os.replace(tmp, path)
            except OSError as exc:
                raise StoreFileError(path, exc.strerror or str(exc)) from None

    def recent_scans(self) -> list[dict[str, Any]]:
        """Finished scans, oldest first ([] when none was recorded or the file is damaged)."""
        with self._lock:
            return self._read_scans()

    def _read_scans(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.scans_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def close(self) -> None:
        with self._lock:
            for handle in self._open.values():
                try:
                    handle.close()
                except OSError:
                    pass
            self._open.clear()
