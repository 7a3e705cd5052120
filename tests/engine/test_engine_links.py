"""Matching you can trust (issue 16): links before names, near names that ask before they
create, against the sandbox over real sockets."""

from __future__ import annotations

import pytest

from engine_world import base_seed, days_ago, qs, COGS
from sync import events as ev
from sync.store.links import Link, LinkMethod

pytestmark = pytest.mark.anyio


def _po(seed, vendor: int, *, items, **fields):
    return seed.autotask.add_po(vendor, "Submitted", items=items, createDateTime=days_ago(1), **fields)


def _line(product: int, qty: int = 1, cost: float = 10.0):
    return {"productID": product, "quantity": qty, "unitCost": cost}


def _bill_of(w, po_id):
    return next(b for b in w.bills() if f"(Autotask PO id {po_id})" in b["PrivateNote"])


def _later(seed, vendor: int, *items, **fields) -> int:
    """A PO not eligible yet (status New); `_submit` makes it eligible in the running sandbox."""
    return seed.autotask.add_po(vendor, "New", items=list(items), createDateTime=days_ago(1), **fields)


def _submit(w, seed, po_id: int) -> None:
    status = seed.autotask.picklist_value("PurchaseOrders", "status", "Submitted")
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po_id}", {"status": status})


def _rename(w, org: int, name: str) -> None:
    w.at_admin("PATCH", f"entities/Companies/{org}", {"companyName": name})


async def test_first_scan_seeds_links_and_a_renamed_organization_keeps_its_vendor(world_factory):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Ingram Micro"))
    seed.qbo.items.append(qs.item("400", "USB-C Dock", expense_account_id=COGS))
    org = at.add_vendor("Ingram Micro")
    dock = at.add_product("USB-C Dock")
    cable = at.add_product("Cable")
    _po(seed, org, items=[_line(dock), _line(cable)])
    po2 = _later(seed, org, _line(dock))
    w = await world_factory(seed)

    await w.engine.scan_once()

    links = {(l.kind, l.autotask_id): l for l in w.store.links.all()}
    assert links[("vendor", org)].qbo_id == "200" and links[("vendor", org)].method is LinkMethod.EXACT_NAME
    assert links[("item", dock)].qbo_id == "400" and links[("item", dock)].method is LinkMethod.EXACT_NAME
    cable_item = next(i for i in w.qbo_list("Item") if i["Name"] == "Cable")
    assert links[("item", cable)].qbo_id == cable_item["Id"] and links[("item", cable)].method is LinkMethod.CREATED
    assert all(l.made_at for l in links.values())

    # Renamed in Autotask: the link keeps the vendor (by name it would be a new vendor, or a question).
    _rename(w, org, "Ingram Micro Inc.")
    _submit(w, seed, po2)
    summary = await w.engine.scan_once()
    assert summary.synced == 1
    assert _bill_of(w, po2)["VendorRef"]["value"] == "200"
    assert [v["DisplayName"] for v in w.qbo_list("Vendor")] == ["Ingram Micro"]
    assert not w.of(ev.VendorCreated) and not w.of(ev.PoHeld)
