"""Deciding before writing: every rule is checked before the first create, so a PO that fails
creates nothing in QuickBooks (and, with QuickBooks numbering, takes no number)."""

from __future__ import annotations

import pytest

from engine_world import base_seed, days_ago, qs, COGS
from sync.events import CustomerCreated, ItemCreated, VendorCreated

pytestmark = pytest.mark.anyio


async def test_a_po_that_fails_a_rule_creates_nothing_and_takes_no_number(world_factory):
    seed = base_seed()
    at = seed.autotask
    new_vendor = at.add_vendor("Fresh Supplies Ltd")  # not in QBO: would be created
    known = at.add_vendor("Ingram Micro")
    seed.qbo.vendors.append(qs.vendor("1", "Ingram Micro"))
    customer = at.add_company("New Customer Inc", "Customer")  # not in QBO either
    missing = at.add_product("Unknown Gadget", 10)
    dock = at.add_product("USB-C Dock", 120)
    seed.qbo.items.append(qs.item("400", "USB-C Dock", expense_account_id=COGS))
    # First a PO whose item QBO lacks (missing_item = error): it fails after its vendor and
    # customer were decided; then a good PO.
    at.add_po(new_vendor, "Submitted", items=[{"productID": missing, "quantity": 1, "unitCost": 10}],
              purchaseForCompanyID=customer, createDateTime=days_ago(2))
    at.add_po(known, "Submitted", items=[{"productID": dock, "quantity": 1, "unitCost": 120}],
              createDateTime=days_ago(1))
    w = await world_factory(seed, missing_item="error")
    summary = await w.engine.scan_once()
    assert [(o.ok, o.cause.code if o.cause else None) for o in summary.outcomes] == [(False, "missing_item"), (True, None)]
    assert w.of(VendorCreated) == [] and w.of(CustomerCreated) == [] and w.of(ItemCreated) == []
    assert {v["DisplayName"] for v in w.qbo_list("Vendor")} == {"Ingram Micro"}
    assert all(c["DisplayName"] != "New Customer Inc" for c in w.qbo_list("Customer"))
    [bill] = w.bills()
    assert bill["DocNumber"] == "1"  # the failed PO took no number from the sequence
