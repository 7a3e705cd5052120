"""Errors raised by the store. Messages name the file and never carry file contents."""

from __future__ import annotations

from pathlib import Path


class StoreError(Exception):
    """Base class for everything the store refuses or cannot do."""


class StoreFileError(StoreError):
    """A store file cannot be read or parsed. The message names the file."""

    # What to do, unless the owner of the file knows better (secrets: connect again).
    ADVICE = "fix or remove the file, then start again."

    def __init__(self, path: Path, reason: str, kept_copy: Path | None = None, advice: str | None = None) -> None:
        self.path = Path(path)
        self.reason = reason
        self.kept_copy = kept_copy
        self.advice = advice or _remedy(self.path, self.ADVICE)
        message = f"{self.path}: {reason}"
        if kept_copy is not None:
            message += f"; a copy of the damaged file is kept at {kept_copy}"
        message += f". Nothing was overwritten: {self.advice}"
        super().__init__(message)

    def with_advice(self, advice: str) -> "StoreFileError":
        """The same error with the owner's advice (the file's kind decides what to do)."""
        return type(self)(self.path, self.reason, self.kept_copy, advice)


def _remedy(path: Path, default: str) -> str:
    if path.parent.name == "journal" or path.name.startswith("journal-"):
        # The journal is what keeps a PO from being billed twice: never advise throwing it away.
        return ("rebuild the journal from QuickBooks and Autotask with `atqbo repair journal` "
                "(try `atqbo repair journal --dry-run` first), then start again.")
    return default


class CorruptFileError(StoreFileError):
    """The file exists but is not a valid database (bad JSON, truncated, wrong shape)."""


class UnreadableFileError(StoreFileError):
    """The file exists but cannot be opened (permission denied, I/O error)."""

    ADVICE = ("give the file back to the user atqbo runs as (chown), or make it readable for "
              "that user (chmod u+rw), then start again.")


class UnsafeFileError(StoreFileError):
    """The file is not one atqbo may trust with secrets (a symbolic link)."""


class EngineLockedError(StoreError):
    """Another live process holds the engine lock for this data folder."""

    def __init__(self, lock_file: Path, holder_pid: int | None) -> None:
        self.lock_file = Path(lock_file)
        self.holder_pid = holder_pid
        who = f"process {holder_pid}" if holder_pid is not None else "another process"
        super().__init__(
            f"the sync engine for this data folder is already running in {who} "
            f"(lock file {self.lock_file}); stop it first or use another --data-dir"
        )


class IllegalTransitionError(StoreError):
    """A journal transition that the state machine does not allow."""


class StateMismatchError(StoreError):
    """A journal transition whose expected current state does not hold."""


class UnknownEntryError(StoreError, KeyError):
    """No record with that id."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the plain message
        return str(self.args[0]) if self.args else ""


class NewerSchemaError(StoreError):
    """A file was written by a newer atqbo with a schema this one does not know."""
