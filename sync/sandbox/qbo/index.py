"""Look-ups by name for the emulated company's records, so that a company with tens of thousands of
items answers `Name IN (...)`, a name-uniqueness check or a duplicate-DocNumber check without
comparing every record (issue 17: the sandbox, not the product, was what a big bench measured).

The index only ever narrows the records a caller then checks with its own exact rule, unchanged:
it returns a superset of the matches, in the store's order, so every answer (rows, order, paging,
errors and which record an error names) is the one a full scan gives. A record whose value is not
a string is always a candidate, since the comparisons have their own rules for those.
"""

from __future__ import annotations

from collections.abc import Iterable

from .query import resolve

# The properties looked up by equality often enough to index: the names the engine resolves
# (Name, DisplayName) and the DocNumber it checks for numbers already taken.
INDEXED: dict[str, tuple[str, ...]] = {
    "Account": ("Name",), "Item": ("Name",),
    "Vendor": ("DisplayName",), "Customer": ("DisplayName",), "Employee": ("DisplayName",),
    "Bill": ("DocNumber",), "PurchaseOrder": ("DocNumber",),
}
_OTHER = None  # the bucket of records whose value is not a string


def key(text: str) -> str:
    """Coarser than both rules it serves (the query's casefold equality, the name checks' trimmed
    casefold equality): strings equal under either have the same key."""
    return text.casefold().strip()


class NameIndex:
    def __init__(self) -> None:
        self._order: dict[str, dict[str, int]] = {}  # entity -> Id -> position (the store's dict order)
        self._next = 0
        self._buckets: dict[tuple[str, str], dict[str | None, set[str]]] = {}
        self._filed: dict[tuple[str, str], dict[str, str | None]] = {}  # where each Id is filed

    def field(self, entity: str, name: str) -> str | None:
        """The indexed property `name` stands for (any casing), or None."""
        wanted = name.lower()
        return next((f for f in INDEXED.get(entity, ()) if f.lower() == wanted), None)

    def put(self, entity: str, record: dict) -> None:
        """After the store has set records[entity][Id] (a new record or a new version)."""
        rid = record["Id"]
        order = self._order.setdefault(entity, {})
        if rid not in order:
            order[rid] = self._next
            self._next += 1
        for name in INDEXED.get(entity, ()):
            value = resolve(record, name)  # as the query language reads it
            k = key(value) if isinstance(value, str) else _OTHER
            filed = self._filed.setdefault((entity, name), {})
            buckets = self._buckets.setdefault((entity, name), {})
            if rid in filed:
                if filed[rid] == k:
                    continue
                buckets[filed[rid]].discard(rid)
            filed[rid] = k
            buckets.setdefault(k, set()).add(rid)

    def remove(self, entity: str, rid: str) -> None:
        self._order.get(entity, {}).pop(rid, None)
        for name in INDEXED.get(entity, ()):
            k = self._filed.get((entity, name), {}).pop(rid, _OTHER)
            self._buckets.get((entity, name), {}).get(k, set()).discard(rid)

    def candidates(self, entity: str, name: str, values: Iterable[str]) -> list[str]:
        """The Ids that may equal one of `values` on the indexed property `name`, in store order."""
        buckets = self._buckets.get((entity, name), {})
        ids = set(buckets.get(_OTHER, ()))
        for value in values:
            ids |= buckets.get(key(value), set())
        order = self._order.get(entity, {})
        return sorted(ids, key=order.__getitem__)
