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


async def test_a_suffix_and_punctuation_variant_asks_instead_of_creating(world_factory):
    """'Dell Technologies, Inc.' beside QBO's 'Dell Technologies': the PO waits with the
    question (no vendor, no bill, no ERROR, no to-do); approving links it, and it syncs."""
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Dell Technologies"))
    org = at.add_vendor("Dell Technologies, Inc.")
    po = _po(seed, org, items=[_line(at.add_product("Laptop"))])
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert summary.synced == 0 and summary.failed == 0 and summary.held == 1 and summary.skipped == 0
    [held] = w.of(ev.PoHeld)
    assert held.po_id == po and "did you mean 'Dell Technologies' (100 %)?" in held.reason
    assert f"atqbo link vendor {org} 200" in held.reason  # how to approve it
    assert [v["DisplayName"] for v in w.qbo_list("Vendor")] == ["Dell Technologies"]
    assert w.bills() == [] and w.todos() == [] and w.po(po).get("externalPONumber") in (None, "")
    assert w.store.links.get("vendor", org) is None

    # Held again on the next scan, still nothing written.
    await w.engine.scan_once()
    assert len(w.of(ev.PoHeld)) == 2 and w.bills() == []

    w.store.links.put(Link("vendor", org, "200", LinkMethod.NEAR_APPROVED, score=100))
    summary = await w.engine.scan_once()
    assert summary.synced == 1 and _bill_of(w, po)["VendorRef"]["value"] == "200"
    assert len(w.qbo_list("Vendor")) == 1


@pytest.mark.parametrize("setting, created", [("create", True), ("link_above 95", False), ("link_above 100", False)])
async def test_near_match_create_and_link_above(world_factory, setting, created):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Acme Corp."))
    org = at.add_vendor("ACME  corp")
    po = _po(seed, org, items=[_line(at.add_product("Widget"))])
    w = await world_factory(seed, near_match=setting)

    summary = await w.engine.scan_once()

    assert summary.synced == 1 and not w.of(ev.PoHeld)
    vendor_id = _bill_of(w, po)["VendorRef"]["value"]
    link = w.store.links.get("vendor", org)
    if created:
        assert vendor_id != "200" and link.method is LinkMethod.CREATED
    else:
        assert vendor_id == "200" and link.method is LinkMethod.NEAR_AUTO and link.score == 100


async def test_link_above_does_not_link_below_its_score(world_factory):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Northwind Traders"))
    org = at.add_vendor("Northwind Trading")
    po = _po(seed, org, items=[_line(at.add_product("Widget"))])
    w = await world_factory(seed, near_match="link_above 99")

    await w.engine.scan_once()

    assert _bill_of(w, po)["VendorRef"]["value"] != "200"
    assert w.store.links.get("vendor", org).method is LinkMethod.CREATED


@pytest.mark.parametrize("how, code, words", [
    ("inactive", "link_target_inactive", "vendor 200 linked to Ingram Micro was made inactive"),
    ("deleted", "link_target_deleted", "vendor 999 linked to Ingram Micro was deleted"),
])
async def test_a_linked_vendor_gone_from_qbo_is_a_named_cause_never_a_create(world_factory, how, code, words):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Ingram Micro"))
    org = at.add_vendor("Ingram Micro")
    po = _po(seed, org, items=[_line(at.add_product("Cable"))])
    w = await world_factory(seed)
    if how == "inactive":
        w.store.links.put(Link("vendor", org, "200", LinkMethod.EXACT_NAME))
        w.qbo_admin("PATCH", "entities/Vendor/200", {"Active": False})
    else:
        w.store.links.put(Link("vendor", org, "999", LinkMethod.BY_HAND))

    summary = await w.engine.scan_once()

    assert summary.failed == 1
    [failed] = w.of(ev.PoFailed)
    assert failed.cause_code == code and words in failed.cause
    assert f"atqbo unlink vendor {org}" in failed.fix
    assert not w.of(ev.VendorCreated) and w.bills() == []
    assert w.po(po)["externalPONumber"] == "ERROR"


async def test_same_name_customer_and_vendor_clash_is_settled_by_links(world_factory):
    """QBO names are unique across customers and vendors: the bookkeeper keeps Contoso the vendor
    as 'Contoso' and Contoso the customer as 'Contoso (client)'. By name the customer clashes;
    with a customer link the PO syncs with both records."""
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Contoso"))
    seed.qbo.customers.append(qs.customer("300", "Contoso (client)"))
    contoso = at.add_company("Contoso", "Vendor")
    first = _po(seed, contoso, items=[_line(at.add_product("Cable"))], purchaseForCompanyID=contoso)
    w = await world_factory(seed, near_match="create")

    await w.engine.scan_once()
    [failed] = w.of(ev.PoFailed)
    assert failed.po_id == first and failed.cause_code == "name_clash_customer_is_vendor"

    w.store.links.put(Link("customer", contoso, "300", LinkMethod.BY_HAND))
    entry = w.store.errors.latest_open_for_po(first)
    await w.engine.retry(entry.id)

    bill = _bill_of(w, first)
    assert bill["VendorRef"]["value"] == "200"
    assert {l["ItemBasedExpenseLineDetail"]["CustomerRef"]["value"] for l in bill["Line"]} == {"300"}
    assert w.store.links.get("vendor", contoso).qbo_id == "200"  # matched by name, linked


async def test_unlink_then_the_next_scan_matches_by_name_again(world_factory):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Ingram Micro"))
    seed.qbo.vendors.append(qs.vendor("201", "Wrong Vendor"))
    org = at.add_vendor("Ingram Micro")
    cable = at.add_product("Cable")
    first = _po(seed, org, items=[_line(cable)])
    second = _later(seed, org, _line(cable))
    w = await world_factory(seed)
    w.store.links.put(Link("vendor", org, "201", LinkMethod.BY_HAND))

    await w.engine.scan_once()
    assert _bill_of(w, first)["VendorRef"]["value"] == "201"  # the link wins over the name

    assert w.store.links.remove("vendor", org) is not None
    _submit(w, seed, second)
    await w.engine.scan_once()
    assert _bill_of(w, second)["VendorRef"]["value"] == "200"
    relinked = w.store.links.get("vendor", org)
    assert relinked.qbo_id == "200" and relinked.method is LinkMethod.EXACT_NAME


async def test_links_cost_no_extra_call_per_po(world_factory):
    """Twelve POs of two vendors and three products: the scan with links (seeded by the first
    of two equal worlds' scans) makes no more QBO calls than the scan that had none."""
    async def scan(w):
        summary = await w.engine.scan_once()
        assert summary.synced == 12
        return w.of(ev.ScanFinished)[-1].api_calls["qbo"]

    def world_seed():
        seed = base_seed()
        at = seed.autotask
        seed.qbo.vendors.extend([qs.vendor("200", "Ingram Micro"), qs.vendor("201", "TD Synnex")])
        seed.qbo.items.extend([qs.item(str(400 + i), f"Part {i}", expense_account_id=COGS) for i in range(3)])
        orgs = [at.add_vendor("Ingram Micro"), at.add_vendor("TD Synnex")]
        parts = [at.add_product(f"Part {i}") for i in range(3)]
        for n in range(12):
            _po(seed, orgs[n % 2], items=[_line(parts[n % 3]), _line(parts[(n + 1) % 3])])
        return seed

    without = await world_factory(world_seed())
    calls_without = await scan(without)
    with_links = await world_factory(world_seed())
    with_links.store.links.put_many(without.store.links.all())  # same ids in both worlds
    calls_with = await scan(with_links)
    assert len(without.store.links.all()) == 5
    assert calls_with <= calls_without, (calls_with, calls_without)


async def test_a_vendor_renamed_in_qbo_is_still_the_linked_one(world_factory):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Ingram Micro Corporation (US)"))
    org = at.add_vendor("Ingram Micro")
    po = _po(seed, org, items=[_line(at.add_product("Cable"))])
    w = await world_factory(seed)
    w.store.links.put(Link("vendor", org, "200", LinkMethod.BY_HAND))

    summary = await w.engine.scan_once()

    assert summary.synced == 1 and _bill_of(w, po)["VendorRef"]["value"] == "200"
    assert len(w.qbo_list("Vendor")) == 1 and not w.of(ev.PoHeld)


async def test_approving_the_held_plan_links_the_near_name(world_factory):
    """The plan shows the near name and the question; approving that plan (apply_mode's
    approve) lets the next scan go ahead, and the near name becomes a link."""
    from sync.plan import approve_plans, make_plan
    from datetime import datetime, timezone

    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Acme Corp."))
    org = at.add_vendor("ACME Corporation")
    po = _po(seed, org, items=[_line(at.add_product("Widget"))])
    w = await world_factory(seed)
    await w.engine.scan_once()
    assert w.bills() == [] and len(w.of(ev.PoHeld)) == 1

    settings = w.store.settings.load()
    report = await make_plan(settings, w.at, w.qbo, w.store.journal, now=datetime.now(timezone.utc),
                             links=w.store.links)
    [plan] = report.plans
    assert plan.vendor.qbo_id == "200" and "near name (100 %)" in plan.vendor.by
    assert "did you mean 'Acme Corp.' (100 %)?" in plan.hold
    approved, refused = await approve_plans(w.store.journal, list(report.plans))
    assert [p.po_id for p in approved] == [po] and not refused

    summary = await w.engine.scan_once()
    assert summary.synced == 1 and _bill_of(w, po)["VendorRef"]["value"] == "200"
    link = w.store.links.get("vendor", org)
    assert link.qbo_id == "200" and link.method is LinkMethod.NEAR_APPROVED and link.score == 100


async def test_sync_one_of_a_po_with_a_near_name_fails_with_the_question_and_creates_nothing(world_factory):
    seed = base_seed()
    at = seed.autotask
    seed.qbo.vendors.append(qs.vendor("200", "Dell Technologies"))
    org = at.add_vendor("Dell Technologies LLC")
    po = _po(seed, org, items=[_line(at.add_product("Laptop"))])
    w = await world_factory(seed)

    outcome = await w.engine.sync_one(po)

    assert not outcome.ok and outcome.cause.code == "near_name"
    assert "did you mean 'Dell Technologies' (100 %)?" in outcome.cause.cause
    assert f"atqbo link vendor {org} 200" in outcome.cause.fix
    assert len(w.qbo_list("Vendor")) == 1 and w.bills() == []
