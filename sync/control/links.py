"""Links as the operator sees them (issue 16): list, link by hand (checked against both
services), unlink. Used by `atqbo links|link|unlink` and, through the engine-control
interface, by the console's Links screen.

A link made here counts from the next scan (the engine reads the links once per run). A link
whose QBO name is near its Autotask name is recorded as "near name approved" (the operator
said yes to what the scan asked), any other as "by hand".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from sync.clients.errors import ApiError
from sync.engine.near import CUTOFF, score
from sync.store.links import AUTOTASK_WHAT, LINK_KINDS, QBO_ENTITY, Link, LinkBook, LinkMethod

from .api import CommandRefused


@dataclass(frozen=True)
class LinkView:
    """One link for a list or a screen row (names as they were when it was made)."""

    kind: str
    autotask_id: int
    qbo_id: str
    method: str  # LinkMethod value
    how: str  # in words: "created", "exact name", "near name approved", "by hand", ...
    made_at: str
    autotask_name: str
    qbo_name: str
    score: int | None

    @classmethod
    def of(cls, link: Link) -> "LinkView":
        return cls(kind=link.kind, autotask_id=link.autotask_id, qbo_id=link.qbo_id, method=link.method.value,
                   how=link.method.words, made_at=link.made_at, autotask_name=link.autotask_name,
                   qbo_name=link.qbo_name, score=link.score)

    def to_record(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_kind(kind: str | None) -> str | None:
    if kind is None:
        return None
    if kind not in LINK_KINDS:
        raise CommandRefused(f"unknown kind {kind!r}: use vendor, customer or item")
    return kind


def parse_ids(autotask_id: object, qbo_id: object = "1") -> tuple[int, str]:
    text = str(autotask_id).strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise CommandRefused(f"the Autotask id must be a whole number ≥ 1, got {autotask_id!r}")
    qbo = str(qbo_id).strip()
    if not qbo.isascii() or not qbo.isdigit() or len(qbo) > 18:
        raise CommandRefused(f"the QuickBooks id must be a whole number (QBO's Id), got {qbo_id!r}")
    return int(text), qbo


async def list_links(book: LinkBook, kind: str | None = None) -> list[LinkView]:
    kind = check_kind(kind)
    return [LinkView.of(link) for link in await anyio.to_thread.run_sync(lambda: book.all(kind))]


async def make_link(book: LinkBook, autotask: Any, qbo: Any, kind: str, autotask_id: object,
                    qbo_id: object) -> LinkView:
    """Link an Autotask record to a QBO record after reading both: the Autotask organization or
    product must exist, the QBO record must exist, be active and (an item) be purchasable.
    CommandRefused with the reason otherwise; nothing is stored then."""
    kind = check_kind(kind) or ""
    at_id, qbo_key = parse_ids(autotask_id, qbo_id)
    what, entity = AUTOTASK_WHAT[kind], QBO_ENTITY[kind]
    try:
        at_record = await autotask.get("Products" if kind == "item" else "Companies", at_id)
        record = await qbo.get(entity, qbo_key)
    except ApiError as exc:
        service = "QuickBooks" if exc.service in ("qbo", "oauth") else "Autotask"
        raise CommandRefused(f"{service} could not be read: {getattr(exc, 'message', '') or exc}; "
                             "nothing was linked") from None
    if at_record is None:
        raise CommandRefused(f"Autotask has no {what} with id {at_id}; nothing was linked")
    if record is None:
        raise CommandRefused(f"QuickBooks has no {kind} with id {qbo_key}; nothing was linked")
    qbo_name = str(record.get("Name" if kind == "item" else "DisplayName") or "")
    if record.get("Active") is False:
        raise CommandRefused(f"QuickBooks {kind} {qbo_key} ({qbo_name}) is inactive; make it active first, "
                             "or link another; nothing was linked")
    if kind == "item" and not (record.get("ExpenseAccountRef") or {}).get("value"):
        raise CommandRefused(f"QuickBooks item {qbo_key} ({qbo_name}) cannot go on a bill (it has no expense "
                             "account); nothing was linked")
    at_name = str(at_record.get("name" if kind == "item" else "companyName") or "")
    points = score(at_name, qbo_name) if at_name and qbo_name else 0
    method = LinkMethod.NEAR_APPROVED if points >= CUTOFF else LinkMethod.BY_HAND
    link = Link(kind=kind, autotask_id=at_id, qbo_id=qbo_key, method=method, autotask_name=at_name,
                qbo_name=qbo_name, score=points if method is LinkMethod.NEAR_APPROVED else None)
    stored = await anyio.to_thread.run_sync(book.put, link)
    return LinkView.of(stored)


async def remove_link(book: LinkBook, kind: str, autotask_id: object) -> LinkView:
    kind = check_kind(kind) or ""
    at_id, _ = parse_ids(autotask_id)
    removed = await anyio.to_thread.run_sync(book.remove, kind, at_id)
    if removed is None:
        raise CommandRefused(f"there is no {kind} link for Autotask {AUTOTASK_WHAT[kind]} {at_id}")
    return LinkView.of(removed)
