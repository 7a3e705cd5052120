"""The links of one run: Autotask id -> QBO record, used before any name (issue 16).

The Resolver asks `record(link)` for a linked vendor, customer or item; the records of a
group's links come from the same bulk reads as its names: a linked record whose name has not
changed is in the answer to the group's `Name IN (...)` query already, and only the others
(renamed on either side, inactive, deleted) are read by `Id IN (...)` (`fetch`, inactive ones
included so that a record made inactive is told apart from one deleted). A linked record that is gone or inactive is a cause, never a silent create.
Links made during the run (created, exact name, near name linked automatically) are kept
pending and stored together by `flush` (one write per group, not one per PO).

Near names: `near(...)` looks a name up in the index of the entity's active names (listed once
per run, only when a record would otherwise be created) and applies the `near_match` setting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio

from sync.clients.qbo import QboClient
from sync.clients.qbo_query import Select
from sync.settings import near_policy
from sync.store.links import AUTOTASK_WHAT, QBO_ENTITY, Link, LinkBook, LinkMethod

from . import causes
from .near import Candidate, NameIndex

ID_CHUNK = 50
_UNREAD = object()


class LinkGone(Exception):
    """The linked QBO record was deleted or made inactive (the cause says which)."""

    def __init__(self, cause: causes.Cause) -> None:
        super().__init__(cause.cause)
        self.cause = cause


@dataclass(frozen=True)
class NearVerdict:
    """What to do with a name QBO holds only nearly: `use` that candidate (link_above N), or
    `hold` the PO with that cause (hold); the candidates, best first."""

    candidates: list[Candidate]
    use: Candidate | None = None
    hold: causes.Cause | None = None


@dataclass
class Linker:
    qbo: QboClient
    book: LinkBook | None
    near_match: str = "create"
    _links: dict[str, dict[int, Link]] | None = None
    _pending: dict[str, Link] = field(default_factory=dict)
    _by_id: dict[str, dict[str, dict | None]] = field(default_factory=dict)
    _index: dict[str, NameIndex] = field(default_factory=dict)

    async def ready(self) -> None:
        """The stored links, read once per run (a link made by `atqbo link` counts from the next run)."""
        if self._links is None:
            book = self.book
            stored = await anyio.to_thread.run_sync(lambda: book.all() if book is not None else [])
            self._links = {kind: {} for kind in QBO_ENTITY}
            for link in stored:
                self._links[link.kind][link.autotask_id] = link

    def link_of(self, kind: str, autotask_id: object) -> Link | None:
        at_id = _autotask_id(autotask_id)
        if at_id is None or self._links is None:
            return None
        return self._pending.get(f"{kind}:{at_id}") or self._links[kind].get(at_id)

    # ------------------------------------------------------------ linked records

    def known(self, kind: str, record: dict) -> None:
        """A linked record the name look-ups returned anyway (no read by Id needed for it)."""
        self._by_id.setdefault(QBO_ENTITY[kind], {})[str(record.get("Id"))] = record

    async def fetch(self, kind: str, qbo_ids: list[str]) -> None:
        """Read these linked records by Id in bulk (inactive ones too: told apart from deleted)."""
        entity = QBO_ENTITY[kind]
        have = self._by_id.setdefault(entity, {})
        ids = sorted({i for i in qbo_ids if i not in have}, key=lambda i: (len(i), i))
        for start in range(0, len(ids), ID_CHUNK):
            chunk = ids[start:start + ID_CHUNK]
            query = Select(entity).where("Id", "IN", chunk).where("Active", "IN", [True, False])
            found = {str(r.get("Id")): r for r in await self.qbo.query_all(query)}
            for qbo_id in chunk:
                have[qbo_id] = found.get(qbo_id)  # None: QBO has no such record (deleted)

    async def record(self, link: Link, name: str) -> dict:
        """The QBO record a link names; LinkGone when it was deleted or made inactive."""
        entity = QBO_ENTITY[link.kind]
        have = self._by_id.setdefault(entity, {})
        record = have.get(link.qbo_id, _UNREAD)
        if record is _UNREAD:
            record = await self.qbo.get(entity, link.qbo_id)
            have[link.qbo_id] = record  # type: ignore[assignment]
        details = dict(kind=link.kind, qbo_id=link.qbo_id, name=name, autotask_id=link.autotask_id,
                       what=AUTOTASK_WHAT[link.kind])
        if record is None:
            raise LinkGone(causes.make("link_target_deleted", **details))
        if record.get("Active") is False:  # type: ignore[union-attr]
            raise LinkGone(causes.make("link_target_inactive", **details))
        return record  # type: ignore[return-value]

    # ------------------------------------------------------------ links made this run

    def note(self, kind: str, autotask_id: object, record: dict, method: LinkMethod, autotask_name: str,
             qbo_name: str, score: int | None = None) -> None:
        at_id = _autotask_id(autotask_id)
        if at_id is None or self.book is None or self._links is None:
            return
        known = self.link_of(kind, at_id)
        qbo_id = str(record.get("Id") or "")
        if not qbo_id or (known is not None and known.qbo_id == qbo_id):
            return
        link = Link(kind=kind, autotask_id=at_id, qbo_id=qbo_id, method=method, autotask_name=autotask_name,
                    qbo_name=qbo_name, score=score)
        self._pending[link.key] = link
        self._by_id.setdefault(QBO_ENTITY[kind], {})[qbo_id] = record

    async def flush(self) -> None:
        """Store the links made since the last flush (one write); durable when it returns."""
        if not self._pending or self.book is None or self._links is None:
            return
        pending, self._pending = list(self._pending.values()), {}
        book = self.book
        stored = await anyio.to_thread.run_sync(lambda: book.put_many(pending))
        for link in stored:
            self._links[link.kind][link.autotask_id] = link

    # ------------------------------------------------------------ near names

    def has_index(self, entity: str) -> bool:
        return entity in self._index

    def set_index(self, entity: str, index: NameIndex) -> None:
        self._index[entity] = index

    def remember(self, entity: str, record: dict) -> None:
        index = self._index.get(entity)
        if index is not None:
            index.add(record)

    def near(self, kind: str, autotask_id: object, name: str) -> NearVerdict | None:
        """What near_match says for a name QBO does not hold exactly: None to create it."""
        mode, threshold = near_policy(self.near_match)
        entity = QBO_ENTITY[kind]
        index = self._index.get(entity)
        at_id = _autotask_id(autotask_id)
        if mode == "create" or index is None or at_id is None:
            return None
        # A record another Autotask record is linked to is that one's, not a guess for this one.
        claimed = frozenset(link.qbo_id for link in (self._links or {}).get(kind, {}).values()
                            if link.autotask_id != at_id)
        found = index.candidates(name, exclude_ids=claimed)
        if not found:
            return None
        best = found[0]
        if mode == "link_above":
            if threshold is not None and best.score >= threshold:
                return NearVerdict(found, use=best)
            return None
        offered = ", or ".join(c.words() for c in found)
        return NearVerdict(found, hold=causes.make("near_name", kind=kind, name=name, candidates=offered,
                                                   autotask_id=at_id, qbo_id=best.qbo_id))


def _autotask_id(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
