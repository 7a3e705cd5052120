"""Machine faults at the storage layer, named: what happened, where, and what to do.

A full disk, a quota used up, a read-only mount, a folder that belongs to someone else, a
folder where a file should be: the operator can fix each of these, and none of them is a bug
to report. Every file operation of the store turns the OSError it meets into a StorageFault
here, so that every front end says the same sentence (and exits with code 2: the machine,
like a setting, needs the operator's hand).

The atomic writes guarantee the rest of the promise: a write that fails leaves the previous
version of the file complete and readable, so a fault never loses what was saved before.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sync.store.errors import StoreError

# What the store was doing, in words for the message ("cannot save <path>").
SAVE, READ, CREATE_FOLDER, LOCK, USE = "save", "read", "create the folder", "lock", "use"


class StorageFault(StoreError, OSError):
    """The machine refused a file operation of the store. `what` and `fix` are plain sentences;
    the message never carries file contents (only the path and the system's own words).
    Still an OSError, so code that already handles OSError (a screen's save) keeps doing so."""

    def __init__(self, path: Path | str, errno_: int | None, doing: str, what: str, fix: str) -> None:
        # (Writes are atomic: a failed one leaves the previous version whole.)
        kept = " Nothing was changed: what was saved before is intact." if doing in (SAVE, LOCK) else ""
        super().__init__(f"cannot {doing} {Path(path)}: {what}.{kept} {fix}")
        # (After OSError.__init__, which resets errno; str() stays the message above.)
        self.path = Path(path)
        self.errno = errno_
        self.doing = doing
        self.what = what
        self.fix = fix

    @property
    def code(self) -> str:
        """A stable word for logs and JSON (disk_full, read_only, ...)."""
        return _CODES.get(self.errno or 0, "storage_fault")


_CODES = {
    errno.ENOSPC: "disk_full",
    errno.EDQUOT: "quota_exceeded",
    errno.EROFS: "read_only",
    errno.EACCES: "permission_denied",
    errno.EPERM: "permission_denied",
    errno.EISDIR: "is_a_folder",
    errno.ENOTDIR: "not_a_folder",
    errno.EEXIST: "not_a_folder",
    errno.ELOOP: "symbolic_link",
    errno.EIO: "io_error",
    errno.EMFILE: "too_many_open_files",
    errno.ENFILE: "too_many_open_files",
}

_ELSEWHERE = "or point atqbo at another folder with --data-dir DIR (or ATQBO_DATA_DIR)"


def name_fault(exc: OSError, path: Path | str, doing: str = SAVE) -> StorageFault:
    """The StorageFault for `exc`, met while doing `doing` on `path`."""
    if isinstance(exc, StorageFault):
        return exc
    path = Path(path)
    folder = path if doing == CREATE_FOLDER else path.parent
    code = exc.errno
    if code == errno.ENOSPC:
        what, fix = "the disk is full", (
            f"Free some space on the disk that holds {folder} (df -h {folder} shows it), then "
            "try again.")
    elif code == errno.EDQUOT:
        what, fix = f"the disk quota of {_me()} is used up", (
            f"Free some of your space, or ask the administrator to raise your quota on {folder}, "
            "then try again.")
    elif code == errno.EROFS:
        what, fix = "the file system is read-only", (
            f"Make it writable (mount -o remount,rw ...), {_ELSEWHERE}.")
    elif code in (errno.EACCES, errno.EPERM):
        what, fix = _permission(folder if doing in (SAVE, LOCK) else path, doing)
    elif code == errno.EISDIR:
        what, fix = "that is a folder, where atqbo keeps a file", (
            f"Move the folder {path} out of the way (atqbo did not make it), then try again.")
    elif code in (errno.ENOTDIR, errno.EEXIST):  # (EEXIST: making a folder where a file is)
        what, fix = "a part of that path is a file, where atqbo needs a folder", (
            f"Move that file out of the way, {_ELSEWHERE}.")
    elif code == errno.ELOOP:
        what, fix = "it is a symbolic link, which atqbo does not follow there", (
            "Replace the link by the file itself (mv the target in its place), then try again.")
    elif code == errno.EIO:
        what, fix = "the disk reported an input/output error", (
            f"Check the disk (dmesg, smartctl); copy the data folder to a healthy disk and use "
            "--data-dir DIR.")
    elif code in (errno.EMFILE, errno.ENFILE):
        what, fix = "too many files are open", "Raise the limit (ulimit -n) or close other programs, then try again."
    else:
        reason = exc.strerror or type(exc).__name__
        what, fix = f"the system refused it ({reason})", f"Check the folder {folder}, {_ELSEWHERE}."
    return StorageFault(path, code, doing, what, fix)


@contextmanager
def named(path: Path | str, doing: str = SAVE) -> Iterator[None]:
    """Turn an OSError inside the block into a StorageFault about `path`."""
    try:
        yield
    except StorageFault:
        raise
    except OSError as exc:
        raise name_fault(exc, path, doing) from None


def _permission(subject: Path, doing: str) -> tuple[str, str]:
    """Permission denied on `subject` (or its nearest existing parent): say whose it is when it
    is not ours (the usual cause: atqbo once ran as root, or another user copied the folder)."""
    existing, st = subject, None
    while st is None:
        try:
            st = os.stat(existing)
        except FileNotFoundError:
            if existing == existing.parent:
                break
            existing = existing.parent
        except OSError:  # a parent we may not enter: that one is what blocks us
            if existing == existing.parent:
                break
            existing = existing.parent
    if st is None:
        return "permission denied", f"Check who owns {subject} and its permissions, {_ELSEWHERE}."
    me = os.geteuid()
    if st.st_uid != me:
        owner = _user(st.st_uid)
        return (f"permission denied: {existing} belongs to {owner}, and atqbo runs as {_me()}",
                f"Run atqbo as {owner}, or give the folder to {_me()} (sudo chown -R {_me()} {existing}), "
                f"{_ELSEWHERE}.")
    mode = stat.S_IMODE(st.st_mode)
    if doing == READ:
        return (f"permission denied: {existing} is not readable for you (mode {mode:o})",
                f"Make it readable (chmod u+r {existing}), {_ELSEWHERE}.")
    return (f"permission denied: {existing} is not writable for you (mode {mode:o})",
            f"Make it writable (chmod u+rwx {existing}), {_ELSEWHERE}.")


def _user(uid: int) -> str:
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _me() -> str:
    return _user(os.geteuid())



def from_os_error(exc: OSError) -> StorageFault:
    """An OSError that reached a front end without the store naming it: named by the path the
    system gave (every file of atqbo is in the data folder)."""
    return name_fault(exc, exc.filename or "a file in the data folder", USE)


def tighten_folder(folder: Path) -> str | None:
    """The data folder holds secrets: when others may enter it, make it owner-only (0700) if it
    is ours and not a shared folder (like /tmp, world-writable or sticky, where chmod would
    break other users); otherwise say so. Returns what the operator should be told, or None."""
    try:
        st = os.stat(folder)
    except OSError:
        return None  # not there yet (created 0700 on the first write), or named when used
    mode = stat.S_IMODE(st.st_mode)
    if not mode & 0o077:
        return None
    if st.st_uid != os.geteuid():
        return (f"the data folder {folder} belongs to {_user(st.st_uid)} and others may open it "
                f"(mode {mode:o}): keep atqbo's secrets in a folder of your own (--data-dir DIR)")
    if mode & (stat.S_ISVTX | 0o002):
        return (f"the data folder {folder} is shared by everybody on this machine (mode {mode:o}): "
                "keep atqbo's secrets in a folder of your own (--data-dir DIR)")
    try:
        os.chmod(folder, 0o700)
    except OSError as exc:
        return (f"the data folder {folder} is open to others (mode {mode:o}) and could not be "
                f"made owner-only ({exc.strerror}): run chmod 700 {folder}")
    return (f"the data folder {folder} was open to others (mode {mode:o}); it is now owner-only "
            "(700), as it holds secrets")
