"""Settings on disk: a versioned document in a crash-safe TinyDB file."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sync.settings import SCHEMA_VERSION, SettingProblem, Settings, SettingsError, parse_value
from sync.store.docfile import DocumentFile
from sync.store.errors import NewerSchemaError


# --- schema migrations ----------------------------------------------------------------------
#
# A stored settings document is {"schema_version": N, "values": {...}}. Version 0 is the
# unversioned shape: a flat key → value mapping (values possibly strings, e.g. a hand-written
# file). To change the shape later, bump SCHEMA_VERSION and add MIGRATIONS[old] = function
# returning the next version's document; migrate() chains them.


def _v0_to_v1(document: Mapping[str, Any]) -> dict[str, Any]:
    values = {k: v for k, v in document.items() if k != "schema_version"}
    return {"schema_version": 1, "values": values}


MIGRATIONS: dict[int, Callable[[Mapping[str, Any]], dict[str, Any]]] = {0: _v0_to_v1}


def migrate(document: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
    """Bring a stored settings document up to SCHEMA_VERSION (values are not validated here)."""
    version = document.get("schema_version", 0)
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SettingsError([SettingProblem("schema_version", f"must be a whole number, got {version!r}")], source)
    if version > SCHEMA_VERSION:
        raise NewerSchemaError(
            f"{source or 'settings'}: written by a newer atqbo (settings schema {version}; "
            f"this version knows up to {SCHEMA_VERSION})"
        )
    current: dict[str, Any] = dict(document)
    while version < SCHEMA_VERSION:
        current = MIGRATIONS[version](current)
        version = current["schema_version"]
    if not isinstance(current.get("values"), dict):
        raise SettingsError([SettingProblem("values", "must be a mapping of settings")], source)
    return current


class SettingsStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = DocumentFile(self.path, "settings")
        self._lock = threading.RLock()

    def _document(self) -> dict[str, Any]:
        raw = self._file.read()
        if not raw:
            return {"schema_version": SCHEMA_VERSION, "values": {}}
        return migrate(raw, source=str(self.path))

    def load(self) -> Settings:
        """The saved settings (defaults when none). Invalid stored values raise SettingsError
        naming each key and the file; the file is left as it is."""
        with self._lock:
            return Settings.from_values(self._document()["values"], source=str(self.path))

    def save(self, settings: Settings) -> None:
        """Replace the stored settings; durable on return."""
        with self._lock:
            self._file.write(settings.to_document())

    def set(self, key: str, raw: Any) -> Settings:
        """Set one key from a string or typed value (None/'' = back to default) and save.

        A bad value raises SettingsError naming the key and saves nothing. Other keys that were
        already invalid in the file are kept as they are, and reported by the returned load().
        """
        with self._lock:
            value = parse_value(key, raw)
            document = self._document()
            values = dict(document["values"])
            if value is None:
                values.pop(key, None)
            else:
                values[key] = value.value if hasattr(value, "value") else value
            self._file.write({"schema_version": SCHEMA_VERSION, "values": values})
            return self.load()

    def raw_values(self) -> dict[str, Any]:
        """The stored values as they are (for showing a file whose values do not validate)."""
        with self._lock:
            return dict(self._document()["values"])


__all__ = ["SettingsStore", "SettingsError", "migrate"]
