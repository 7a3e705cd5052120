"""Names QBO's query language cannot carry (a character above U+00FF: ’ “ ” – ł answer a 4000
lexical error, as the sandbox now does) are still matched, never duplicated, scan after scan."""

from __future__ import annotations

import pytest

from engine_world import base_seed, days_ago, qs, COGS
from sync import events as ev

pytestmark = pytest.mark.anyio

VENDOR = "O’Neil Supplies"
CABLE = "Cat6 Cable – 3 m"
CUSTOMER = "Łódź “Partners”"


def _po(seed, vendor: int, product: int, customer: int, status: str = "Submitted") -> int:
    return seed.autotask.add_po(vendor, status, createDateTime=days_ago(1), purchaseForCompanyID=customer,
                                items=[{"productID": product, "quantity": 2, "unitCost": 4.5}])


async def test_vendor_item_and_customer_with_unqueryable_names_match_across_two_scans(world_factory):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", VENDOR))  # already in QuickBooks: must be found, not re-created
    seed.qbo.vendors.append(qs.vendor("201", "O'Neil Supplies"))  # the ASCII look-alike is another vendor
    vendor = at.add_vendor(VENDOR)
    customer = at.add_company(CUSTOMER)
    cable = at.add_product(CABLE, 4.5)
    first = _po(seed, vendor, cable, customer)
    second = _po(seed, vendor, cable, customer, status="New")  # submitted before the second scan
    submitted = at.entities["PurchaseOrders"][first]["status"]
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert summary.synced == 1, [o.cause for o in summary.outcomes]
    assert not w.of(ev.VendorCreated)
    assert [e.name for e in w.of(ev.ItemCreated)] == [CABLE]
    assert [e.name for e in w.of(ev.CustomerCreated)] == [CUSTOMER]
    [bill] = w.bills()
    assert bill["VendorRef"]["value"] == "200"

    w.at_admin("PATCH", f"entities/PurchaseOrders/{second}", {"status": submitted})
    calls = w.qbo.calls
    again = await w.engine.scan_once()

    assert again.synced == 1, [o.cause for o in again.outcomes]
    assert sorted(v["DisplayName"] for v in w.qbo_list("Vendor")) == ["O'Neil Supplies", VENDOR]
    assert [i["Name"] for i in w.qbo_list("Item")] == [CABLE]
    assert [c["DisplayName"] for c in w.qbo_list("Customer")] == [CUSTOMER]
    assert len(w.of(ev.ItemCreated)) == 1 and len(w.of(ev.CustomerCreated)) == 1
    bills = w.bills()
    assert len(bills) == 2 and {b["VendorRef"]["value"] for b in bills} == {"200"}
    assert {b["Line"][0]["ItemBasedExpenseLineDetail"]["ItemRef"]["value"] for b in bills} == \
        {w.qbo_list("Item")[0]["Id"]}
    # At little cost: one listing per entity (vendors, customers, items) instead of one IN query each
    # (and the window's purchase orders, read for a PO once sent as one: issue 18).
    assert w.qbo.calls - calls <= 9, w.qbo.calls - calls


async def test_autotask_po_numbers_with_an_en_dash_are_checked_and_collide_like_any_other(world_factory):
    seed = base_seed()
    seed.qbo.vendors.append(qs.vendor("200", "Someone Else"))
    seed.qbo.items.append(qs.item("400", "Cable", expense_account_id=COGS))
    seed.qbo.bills.append(qs.bill("500", "200", [qs.item_line("400", 1, 1.0)], doc_number="PO–2002"))
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    line = [{"productID": p, "quantity": 1, "unitCost": 5}]
    fine = seed.autotask.add_po(vendor, "Submitted", createDateTime=days_ago(1), items=line,
                                purchaseOrderNumber="PO–2001")
    taken = seed.autotask.add_po(vendor, "Submitted", createDateTime=days_ago(1), items=line,
                                 purchaseOrderNumber="PO–2002")
    w = await world_factory(seed, po_number_source="autotask")

    summary = await w.engine.scan_once()

    assert (summary.synced, summary.failed) == (1, 1), [o.cause for o in summary.outcomes]
    assert w.po(fine)["externalPONumber"] == "PO–2001"
    assert next(o for o in summary.outcomes if o.po_id == taken).cause.code == "doc_number_taken"
    # The write-back is lost: the next scan finds the bill by its number instead of making another.
    w.at_admin("PATCH", f"entities/PurchaseOrders/{fine}", {"externalPONumber": None})
    assert (await w.engine.scan_once()).synced == 1
    assert sorted(b["DocNumber"] for b in w.bills()) == ["PO–2001", "PO–2002"]
