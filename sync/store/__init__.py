"""Everything atqbo remembers, on crash-safe TinyDB files under one data folder.

    store = Store.open(data_dir)          # data_dir None → --data-dir / ATQBO_DATA_DIR / platformdirs
    store.acquire_engine_lock()           # only the process that runs the engine
    settings = store.settings.load()
    store.secrets.save_qbo_tokens(...)
    store.errors.record_failure(...)
    store.journal.transition(po_id, JournalState.SEEN, JournalState.RESOLVED)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sync.paths import Locations, locate
from sync.settings import SMTP_PASSWORD_SECRET, Settings, SettingsError
from sync.store.errorlog import ErrorEntry, ErrorLog, ErrorStatus
from sync.store.errors import (
    CorruptFileError,
    EngineLockedError,
    IllegalTransitionError,
    StateMismatchError,
    StoreError,
    StoreFileError,
    UnreadableFileError,
)
from sync.store.faults import StorageFault, tighten_folder
from sync.store.history import History, HistoryEntry
from sync.store.journal import Journal, JournalEntry, JournalState
from sync.store.receipts import ReceiptLedger
from sync.store.links import Link, LinkBook, LinkMethod
from sync.store.lock import EngineLock
from sync.store.secrets import (
    AutotaskConnection,
    ConnectionStore,
    QboConnection,
    QboTokens,
    SecretStore,
    SecretStr,
)
from sync.store.settings_store import SettingsStore

log = logging.getLogger(__name__)


class Store:
    """The files of one data folder. Opening creates nothing; the first write creates folders
    (mode 0700) and files (mode 0600)."""

    def __init__(self, locations: Locations, *, error_segment_size: int | None = None) -> None:
        self.locations = locations
        # What the operator should know about the folders (too open, shared): told, not fatal.
        self.notices: list[str] = []
        for folder in dict.fromkeys((locations.data_dir, locations.config_dir)):
            notice = tighten_folder(folder)
            if notice:
                log.warning("%s", notice)
                self.notices.append(notice)
        self.settings = SettingsStore(locations.settings_file)
        self.secrets = SecretStore(locations.secrets_file)
        self.connection = ConnectionStore(locations.connection_file)
        retention = _retention(self.settings)
        kwargs: dict[str, Any] = dict(retention_days=retention[0], max_entries=retention[1])
        if error_segment_size is not None:
            kwargs["segment_size"] = error_segment_size
        self.errors = ErrorLog(locations.errors_dir, **kwargs)
        self.journal = Journal(locations.journal_dir)
        # transfer_as = purchase_order_then_bill: which receipts are billed (a cache of QBO).
        self.receipts = ReceiptLedger(locations.data_dir / "receipts.json")
        self.links = LinkBook(locations.links_file)
        self.history = History(locations.history_dir)
        self._engine_lock = EngineLock(locations.lock_file)

    @classmethod
    def open(cls, data_dir: Path | str | None = None, **kwargs: Any) -> "Store":
        return cls(locate(data_dir), **kwargs)

    def acquire_engine_lock(self) -> None:
        """Claim this data folder for the sync engine; EngineLockedError names the live holder."""
        self._engine_lock.acquire()

    def release_engine_lock(self) -> None:
        self._engine_lock.release()

    @property
    def holds_engine_lock(self) -> bool:
        return self._engine_lock.held

    def set_setting(self, key: str, raw: Any) -> Settings:
        """`atqbo settings set KEY VALUE`: the SMTP password goes to the secret store, every
        other key is validated and saved as a setting. Returns the settings after the change."""
        if key == SMTP_PASSWORD_SECRET:
            self.secrets.set_smtp_password(raw or None)
            return self.settings.load()
        return self.settings.set(key, raw)

    def close(self) -> None:
        self.errors.close()
        self.journal.close()
        self.receipts.close()
        self.links.close()
        self.history.close()
        self._engine_lock.release()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _retention(settings: SettingsStore) -> tuple[int, int]:
    # Damaged settings must not stop the log from opening (the console shows both problems).
    try:
        loaded = settings.load()
    except (SettingsError, StoreError):
        loaded = Settings()
    return loaded.log_retention_days, loaded.log_max_entries


__all__ = [
    "AutotaskConnection",
    "ConnectionStore",
    "CorruptFileError",
    "EngineLock",
    "EngineLockedError",
    "ErrorEntry",
    "ErrorLog",
    "ErrorStatus",
    "IllegalTransitionError",
    "History",
    "HistoryEntry",
    "Journal",
    "JournalEntry",
    "JournalState",
    "Link",
    "LinkBook",
    "LinkMethod",
    "QboConnection",
    "QboTokens",
    "SecretStore",
    "SecretStr",
    "Settings",
    "SettingsError",
    "SettingsStore",
    "StateMismatchError",
    "StorageFault",
    "Store",
    "StoreError",
    "StoreFileError",
    "UnreadableFileError",
]
