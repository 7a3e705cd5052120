"""Crash-safe TinyDB storage.

TinyDB's JSONStorage rewrites its file in place (a crash mid-write leaves half a file) and
re-reads and re-parses the whole file on every query. This storage instead:

- writes a temporary file in the same folder, fsyncs it, os.replace()s the old file and fsyncs
  the folder, so the file on disk is always either the old or the new complete version, and a
  write that returned is durable;
- keeps the parsed data in memory and re-reads only when the file changed on disk (another
  process wrote it), detected by a cheap stat (inode, size, mtime);
- refuses to treat a damaged file as empty: bad JSON, a truncated file or a wrong shape raise
  CorruptFileError naming the file (a copy is kept aside), permission problems raise
  UnreadableFileError. Nothing is overwritten.

It is not thread-safe by itself: the owners (Settings, ErrorLog, Journal…) serialise access.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import secrets as _random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tinydb.storages import Storage

from sync.paths import FILE_MODE, ensure_dir
from sync.store.errors import CorruptFileError, UnreadableFileError
from sync.store.faults import CREATE_FOLDER, READ, SAVE, name_fault, named

log = logging.getLogger(__name__)

Data = dict[str, dict[str, Any]]
Signature = tuple[int, int, int]


def _signature(st: os.stat_result) -> Signature:
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """An flock on `path`'s sidecar lock file for a read-modify-write of a file that two
    processes write (links.json: the engine and a one-shot `atqbo link`): without it, both read
    the same version and the second write loses the first one's change. The kernel drops the
    lock when its holder dies, even by SIGKILL."""
    with named(path.parent, CREATE_FOLDER):
        ensure_dir(path.parent)
    lock_path = path.with_name(path.name + ".lock")
    with named(lock_path, SAVE):
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def fsync_dir(path: Path) -> None:
    """Make a rename or unlink inside `path` durable."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, payload: bytes, mode: int = FILE_MODE) -> os.stat_result:
    """Replace `path` with `payload` atomically and durably; return the new file's stat.

    The temporary file is created with `mode` from the start (O_CREAT with mode, O_EXCL), so a
    secrets file is never readable by others, not even for an instant.
    """
    with named(path.parent, CREATE_FOLDER):
        folder = ensure_dir(path.parent)
    with named(path, SAVE):
        return _replace(folder, path, payload, mode)


def _replace(folder: Path, path: Path, payload: bytes, mode: int) -> os.stat_result:
    tmp = folder / f".{path.name}.{os.getpid()}.{_random.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        try:
            view = memoryview(payload)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
            st = os.fstat(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:  # (gone, or the disk refuses that too: the original error matters)
            pass
        raise
    fsync_dir(folder)
    return st


def remove_stale_temp_files(path: Path) -> None:
    """Delete temporary files of `path` left by writers that died (pid no longer alive)."""
    _remove_stale(path.parent, f".{path.name}.*.tmp")


def remove_stale_temp_files_in(folder: Path) -> None:
    """Delete every temporary file in `folder` left by writers that died."""
    _remove_stale(folder, ".*.tmp")


def _remove_stale(folder: Path, pattern: str) -> None:
    try:
        candidates = list(folder.glob(pattern))
    except OSError:
        return
    for tmp in candidates:
        # .<name>.<pid>.<random>.tmp
        parts = tmp.name.rsplit(".", 3)
        try:
            pid = int(parts[1])
        except (ValueError, IndexError):
            continue
        if pid != os.getpid() and _pid_alive(pid):
            continue
        try:
            tmp.unlink()
        except OSError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def keep_aside(path: Path) -> Path:
    """Copy a damaged file to `<name>.corrupt-<UTC timestamp>` (owner-only) and return the copy.

    If an identical copy already exists (a daemon restarting in a loop), reuse it.
    """
    original = path.read_bytes()
    for existing in sorted(path.parent.glob(f"{path.name}.corrupt-*")):
        try:
            if existing.read_bytes() == original:
                return existing
        except OSError:
            continue
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    copy = path.with_name(f"{path.name}.corrupt-{stamp}")
    fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(original)
        out.flush()
        os.fsync(out.fileno())
    fsync_dir(path.parent)
    return copy


def load_json_file(path: Path) -> Any | None:
    """Parse a JSON file; None when it does not exist. Damage raises an error naming the file.

    The parser's own exception is dropped (`from None`): it carries the whole file text, which
    may hold secrets.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _unreadable(exc, path) from None
    if not raw.strip():
        reason = "the file is empty (truncated?)"
    else:
        try:
            return json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            reason = "not valid UTF-8 text"
        except json.JSONDecodeError as exc:
            reason = f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno}; truncated or damaged?)"
    kept = _try_keep_aside(path)
    raise CorruptFileError(path, reason, kept) from None


def _unreadable(exc: OSError, path: Path) -> UnreadableFileError:
    # The same words as a failed write of that file (whose it is, what to do).
    fault = name_fault(exc, path, READ)
    return UnreadableFileError(path, f"cannot read the file: {fault.what}", advice=fault.fix)


def _try_keep_aside(path: Path) -> Path | None:
    try:
        return keep_aside(path)
    except OSError:
        log.warning("could not keep a copy of the damaged file %s", path)
        return None


class AtomicJSONStorage(Storage):
    """A TinyDB storage with atomic, durable writes and an in-memory cache."""

    def __init__(self, path: str | Path, mode: int = FILE_MODE, **_: Any) -> None:
        self.path = Path(path)
        self.mode = mode
        self._cache: Data | None = None
        self._sig: Signature | None = None
        remove_stale_temp_files(self.path)

    def read(self) -> Data | None:
        try:
            sig = _signature(os.stat(self.path))
        except FileNotFoundError:
            self._cache, self._sig = None, None
            return None
        except OSError as exc:
            raise _unreadable(exc, self.path) from None
        if self._cache is not None and sig == self._sig:
            return self._cache
        data = load_json_file(self.path)
        if data is None:
            return None
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            kept = _try_keep_aside(self.path)
            raise CorruptFileError(self.path, "not a TinyDB database (unexpected JSON shape)", kept)
        self._cache, self._sig = data, sig
        return data

    def write(self, data: Data) -> None:
        try:
            payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            st = atomic_write_bytes(self.path, payload, self.mode)
        except BaseException:
            # TinyDB mutated the cached dict before calling write(); forget it so the next read
            # sees what is really on disk.
            self._cache, self._sig = None, None
            raise
        self._cache, self._sig = data, _signature(st)

    def close(self) -> None:
        """Let go of the parsed data. The storage stays usable: the next read reads the file."""
        self._cache, self._sig = None, None
