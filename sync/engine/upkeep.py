"""Keeping the journal the size of recent work, not of every PO ever synced.

The journal is a cache of what QBO and Autotask know (DESIGN §5). A written-back PO carries its
number in Autotask, so no scan picks it up again; should it come back (its number cleared by
hand), QBO's tagged bills say it was billed, whatever the journal holds. So once a day, after a
scan, written-back records older than KEEP (at least days_back plus a month) are forgotten. Not
those of a QuickBooks purchase order whose receipts are still followed (purchase_order_then_bill
reads the journal for them), until the receipts ledger has closed it.

Without this a daemon's journal grew with every PO it ever synced: each transition rewrote a
file of 1/32 of them, and a scan's memory held the files it used.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import anyio

from sync.settings import Settings

from . import documents

log = logging.getLogger("atqbo.engine")

KEEP = timedelta(days=90)
EVERY = timedelta(days=1)
MARGIN = timedelta(days=30)


def keep_for(settings: Settings) -> timedelta:
    """How long written-back records are kept: KEEP, or days_back plus a month when longer."""
    return max(KEEP, timedelta(days=settings.days_back or 0) + MARGIN)


async def prune_journal(store, settings: Settings, now: datetime | None = None) -> int:
    """Forget the written-back records older than keep_for(settings) (by the journal's own
    clock: its records are stamped in real time, whatever clock the engine runs on); returns
    how many. A fault (the disk) is logged, never fails the scan: the next write names it."""
    journal, ledger = store.journal, getattr(store, "receipts", None)

    def prune() -> int:
        closed = {r.po_id for r in ledger.all() if r.closed} if ledger is not None else set()

        def followed(entry) -> bool:
            return documents.document_of(entry) == documents.PURCHASE_ORDER and entry.po_id not in closed

        return journal.prune_written_back(keep_for(settings), keep=followed, now=now)

    try:
        removed = await anyio.to_thread.run_sync(prune)
    except Exception:  # noqa: BLE001 (upkeep: the scan's work is done and recorded)
        log.warning("could not prune the journal", exc_info=True)
        return 0
    if removed:
        log.info("journal: forgot %d written-back record(s) older than %d days", removed, keep_for(settings).days)
    return removed
