"""One engine per data folder: an flock()ed lock file holding the owner's pid.

The kernel drops an flock when its holder dies (even by SIGKILL), so a stale lock — a dead pid
written in the file, or a file nobody holds — is simply taken over. The pid inside is for humans
and for the refusal message.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from sync.paths import FILE_MODE, ensure_dir
from sync.store.errors import EngineLockedError
from sync.store.faults import CREATE_FOLDER, LOCK, named


def read_holder_pid(lock_file: Path) -> int | None:
    """The pid written in the lock file, if any (it may be stale)."""
    try:
        text = lock_file.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    try:
        return int(text.split()[0]) if text else None
    except ValueError:
        return None


class EngineLock:
    """An exclusive, non-blocking lock on `lock_file`. Re-entrant within one EngineLock object."""

    def __init__(self, lock_file: Path) -> None:
        self.lock_file = Path(lock_file)
        self._fd: int | None = None
        self._guard = threading.Lock()

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise EngineLockedError naming the live holder's pid."""
        with self._guard:
            if self._fd is not None:
                return
            with named(self.lock_file.parent, CREATE_FOLDER):
                ensure_dir(self.lock_file.parent)
            with named(self.lock_file, LOCK):
                # (A folder at that path fails here with EISDIR, named as such.)
                fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, FILE_MODE)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise EngineLockedError(self.lock_file, read_holder_pid(self.lock_file)) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                with named(self.lock_file, LOCK):
                    # Ours now (any pid in the file was stale): record who holds it.
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
                    os.fsync(fd)
            except BaseException:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)
                raise
            self._fd = fd

    def release(self) -> None:
        with self._guard:
            if self._fd is None:
                return
            fd, self._fd = self._fd, None
            try:
                # Clear the pid so nobody reads a stale holder; the file itself stays.
                os.ftruncate(fd, 0)
            except OSError:  # (a stale pid is harmless: the next holder overwrites it)
                pass
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

    def __enter__(self) -> "EngineLock":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
