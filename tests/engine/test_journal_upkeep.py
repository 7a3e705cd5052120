"""The journal keeps recent work, not every PO ever synced (upkeep.py): after a scan, written-back
records older than 90 days (or days_back plus a month) are forgotten, but not a QuickBooks
purchase order whose receipts are still followed. Forgetting never makes a second bill: QBO's
tagged bills stand behind the journal."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from engine_world import base_seed, days_ago
from sync.engine import upkeep
from sync.store.journal import JournalState as S
from sync.store.receipts import ReceiptRecord

pytestmark = pytest.mark.anyio


def _age(w, po_id: int, days: int) -> None:
    """The record as if last updated `days` ago (the journal stamps real time)."""
    stamp = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="microseconds")
    w.store.journal.restore([replace(w.store.journal.get(po_id), updated_at=stamp)])


def _seed(count: int):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    product = seed.autotask.add_product("Cable", 5)
    pos = [seed.autotask.add_po(vendor, "Submitted", createDateTime=days_ago(1),
                                items=[{"productID": product, "quantity": 1 + i, "unitCost": 5}])
           for i in range(count)]
    return seed, pos


async def test_old_written_back_records_are_forgotten_and_a_po_back_again_is_not_billed_twice(world_factory):
    seed, (old, recent) = _seed(2)
    w = await world_factory(seed, missing_item="create")
    assert (await w.engine.scan_once()).synced == 2
    _age(w, old, 100)
    _age(w, recent, 10)
    w.engine._pruned_at = None  # a day later: the next scan does the upkeep

    await w.engine.scan_once()

    assert w.store.journal.get(old) is None and w.store.journal.get(recent).state is S.WRITTEN_BACK
    # The PO comes back (its number cleared by hand): QBO's tagged bill is found, none is made.
    number = w.po(old)["externalPONumber"]
    w.at_admin("PATCH", f"entities/PurchaseOrders/{old}", {"externalPONumber": ""})
    again = await w.engine.scan_once()
    assert again.synced == 1 and len(w.bills()) == 2 and w.po(old)["externalPONumber"] == number


async def test_upkeep_runs_once_a_day_and_keeps_days_back_plus_a_month(world_factory):
    seed, (po,) = _seed(1)
    w = await world_factory(seed, missing_item="create", days_back=120)
    await w.engine.scan_once()  # the upkeep of the day ran after it
    _age(w, po, 100)
    await w.engine.scan_once()
    assert w.store.journal.get(po) is not None  # not again within the day
    w.engine._pruned_at = None
    await w.engine.scan_once()
    assert w.store.journal.get(po) is not None  # 100 days < 120 + 30
    assert upkeep.keep_for(w.store.settings.load()) == timedelta(days=150)
    _age(w, po, 151)
    w.engine._pruned_at = None
    await w.engine.scan_once()
    assert w.store.journal.get(po) is None


async def test_a_purchase_order_whose_receipts_are_followed_is_kept_until_closed(world_factory):
    seed, (po,) = _seed(1)
    w = await world_factory(seed, missing_item="create", transfer_as="purchase_order_then_bill")
    await w.engine.scan_once()
    assert w.store.journal.get(po).document == "PurchaseOrder"
    _age(w, po, 100)
    w.engine._pruned_at = None
    await w.engine.scan_once()
    assert w.store.journal.get(po).state is S.WRITTEN_BACK  # its receipts are still followed

    w.store.receipts.put_many([replace(w.store.receipts.get(po) or ReceiptRecord(po_id=po), closed=True)])
    w.engine._pruned_at = None
    await w.engine.scan_once()
    assert w.store.journal.get(po) is None
