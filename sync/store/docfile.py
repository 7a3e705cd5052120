"""A TinyDB file that holds one document (settings, secrets, connection info)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document

from sync.store.errors import CorruptFileError
from sync.store.storage import AtomicJSONStorage

_DOC_ID = 1


class DocumentFile:
    """One JSON document in table `table` of a crash-safe TinyDB file; thread-safe."""

    def __init__(self, path: Path, table: str) -> None:
        self.path = Path(path)
        self._db = TinyDB(self.path, storage=AtomicJSONStorage)
        self._table = self._db.table(table, cache_size=0)
        self._lock = threading.RLock()

    def read(self) -> dict[str, Any]:
        """The stored document (a copy); {} when the file does not exist yet."""
        with self._lock:
            doc = self._table.get(doc_id=_DOC_ID)
            if doc is None:
                if len(self._table) > 0:
                    raise CorruptFileError(self.path, "unexpected records (not an atqbo file?)")
                return {}
            return _deep_copy(dict(doc))

    def write(self, document: dict[str, Any]) -> None:
        """Replace the whole document; durable when this returns."""
        new = _deep_copy(document)

        def replace_all(doc: dict[str, Any]) -> None:
            # upsert() would merge and keep deleted keys; replace the contents in one write.
            doc.clear()
            doc.update(new)

        with self._lock:
            if self._table.contains(doc_id=_DOC_ID):
                self._table.update(replace_all, doc_ids=[_DOC_ID])
            else:
                self._table.insert(Document(new, doc_id=_DOC_ID))

    def update(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Merge `fields` into the document (None deletes a key); durable on return."""
        with self._lock:
            doc = self.read()
            for key, value in fields.items():
                if value is None:
                    doc.pop(key, None)
                else:
                    doc[key] = value
            self.write(doc)
            return doc

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _deep_copy(value: Any) -> Any:
    # Documents are plain JSON; copying keeps callers from mutating TinyDB's cached data.
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_deep_copy(v) for v in value]
    return value
