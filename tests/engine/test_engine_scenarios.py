"""Scenario tests of the engine against the sandbox over real sockets (DESIGN §1, issue 5).

Each test seeds both emulated systems, runs the engine through its public API, and reads back
what Autotask and QBO hold afterwards.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import AP, BUYER, COGS, ACTION_GENERAL, base_seed, days_ago, qs
from sync import events as ev

pytestmark = pytest.mark.anyio


def _po(seed, vendor: int, *, items, status="Submitted", created=1, **fields):
    return seed.autotask.add_po(vendor, status, items=items, createDateTime=days_ago(created), **fields)


def _line(product: int, qty: int, cost: float, **extra):
    return {"productID": product, "quantity": qty, "unitCost": cost, **extra}


async def test_happy_path_creates_vendor_items_bill_and_writes_back(world_factory):
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    p1 = at.add_product("Dell Latitude 5440", 900)
    p2 = at.add_product("USB-C Dock", 120)
    po = _po(seed, vendor, items=[_line(p1, 3, 899.995), _line(p2, 2, 19.99)], freight=25.5)
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert (summary.scanned, summary.synced, summary.failed) == (1, 1, 0)
    [bill] = w.bills()
    vendors = {v["DisplayName"]: v for v in w.qbo_list("Vendor")}
    assert bill["VendorRef"]["value"] == vendors["Ingram Micro"]["Id"]
    assert bill["APAccountRef"]["value"] == AP
    assert bill["DocNumber"] == "1"  # QBO had no bills: its sequence starts at 1
    assert f"(Autotask PO id {po})" in bill["PrivateNote"]
    items = {i["Id"]: i for i in w.qbo_list("Item")}
    lines = [(items[l["ItemBasedExpenseLineDetail"]["ItemRef"]["value"]]["Name"],
              l["ItemBasedExpenseLineDetail"]["Qty"], Decimal(str(l["Amount"]))) for l in bill["Line"]]
    assert lines == [("Dell Latitude 5440", 3, Decimal("2699.99")),  # 3 × 899.995 = 2699.985 → half-up
                     ("USB-C Dock", 2, Decimal("39.98")),
                     ("Freight", 1, Decimal("25.50"))]
    assert Decimal(str(bill["TotalAmt"])) == Decimal("2765.47")
    assert not any("TaxCodeRef" in l["ItemBasedExpenseLineDetail"] and l["ItemBasedExpenseLineDetail"]["TaxCodeRef"].get("value") not in (None, "NON") for l in bill["Line"])
    for name in ("Dell Latitude 5440", "USB-C Dock", "Freight"):
        item = next(i for i in items.values() if i["Name"] == name)
        assert item["Type"] == "NonInventory" and item["ExpenseAccountRef"]["value"] == COGS
    assert w.po(po)["externalPONumber"] == "1"
    assert w.todos() == []
    synced = w.of(ev.PoSynced)
    assert synced and synced[0].doc_number == "1" and synced[0].amount == Decimal("2765.47") and synced[0].lines == 3
    assert {e.name for e in w.of(ev.ItemCreated)} == {"Dell Latitude 5440", "USB-C Dock", "Freight"}
    assert [e.name for e in w.of(ev.VendorCreated)] == ["Ingram Micro"]
    finished = w.of(ev.ScanFinished)[-1]
    assert finished.synced == 1 and finished.api_calls["qbo"] > 0 and finished.api_calls["autotask"] > 0

    # A second scan finds nothing: the PO now carries its bill number.
    again = await w.engine.scan_once()
    assert again.scanned == 0 and len(w.bills()) == 1
