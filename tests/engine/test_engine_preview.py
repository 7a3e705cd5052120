"""The preview (what the next scan would do, read-only) agrees with the scan that follows it,
PO by PO: the same failures with the same causes, the same bill numbers and amounts, the same
records created. It runs the engine's own decisions on read-only clients and writes nothing."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from engine_world import base_seed, days_ago
from sync.engine import context, sources
from sync.engine.preview import preview
from sync.events import CustomerCreated, ItemCreated, PoSynced, VendorCreated
from sync.preflight import ReadOnly, WriteRefused
from sync.sandbox.demo import DEMO_SETTINGS, demo_seed

pytestmark = pytest.mark.anyio


async def _preview(w, journal=None):
    settings = w.store.settings.load()
    at, qbo = ReadOnly(w.at, "autotask"), ReadOnly(w.qbo, "qbo")
    now = datetime.now(timezone.utc)
    submitted, pos = await sources.read_eligible(at, settings.days_back, now)
    ctx = await context.build(settings, at, qbo, journal or w.store.journal, lambda e: None, now, submitted)
    return await preview(ctx, await sources.load(at, pos))


def _world_state(w) -> tuple:
    """Every record of both services (not the request counters, which reads move)."""
    state = w.state()
    return state["qbo"], state["autotask"]["entities"]


@pytest.mark.parametrize("missing_item,numbers", [("error", "autotask"), ("create", "quickbooks")])
async def test_the_preview_agrees_with_the_scan_after_it(world_factory, missing_item, numbers):
    settings = {**DEMO_SETTINGS, "missing_item": missing_item, "po_number_source": numbers, "days_back": 30}
    w = await world_factory(demo_seed(), **settings)
    before = _world_state(w)
    previews = await _preview(w)
    assert _world_state(w) == before  # nothing written to either service
    assert w.store.journal.unfinished() == [] and w.store.journal.get(previews[0].po_id) is None

    summary = await w.engine.scan_once()
    outcomes = {o.po_id: o for o in summary.outcomes}
    assert set(outcomes) == {p.po_id for p in previews}
    synced = {e.po_id: e for e in w.of(PoSynced)}
    for p in previews:
        o = outcomes[p.po_id]
        if p.would_fail:
            assert not o.ok and o.cause.code == p.cause.code, (p.po_number, p.cause, o.cause)
        else:
            assert o.ok, (p.po_number, o.cause)
            assert o.doc_number == p.doc_number
            assert synced[p.po_id].amount == p.plan.amount
            assert synced[p.po_id].currency == p.plan.currency
    created = {("Vendor", e.name) for e in w.of(VendorCreated)} | {("Customer", e.name) for e in w.of(CustomerCreated)} \
        | {("Item", e.name) for e in w.of(ItemCreated)}
    assert created == {(r.entity, r.name) for p in previews for r in p.creates}
    kinds = {p.cause.code for p in previews if p.would_fail}
    expected = {"name_clash_vendor_is_customer", "name_clash_customer_is_vendor", "item_not_purchasable",
                "currency_mismatch"}
    if missing_item == "error":
        expected |= {"missing_item", "doc_number_taken"}
    assert expected <= kinds


async def test_a_preview_on_read_only_clients_cannot_write(world_factory):
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("New Vendor Ltd")
    product = at.add_product("Brand-new Widget", 12.5)
    at.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": 4, "unitCost": 12.5}],
              createDateTime=days_ago(1))
    w = await world_factory(seed)
    [p] = await _preview(w)
    assert p.cause is None and p.plan.amount == Decimal("50.00")
    assert [(r.entity, r.name) for r in p.creates] == [("Vendor", "New Vendor Ltd"), ("Item", "Brand-new Widget")]
    with pytest.raises(WriteRefused):
        await ReadOnly(w.qbo, "qbo").create("Vendor", {"DisplayName": "X"})
    with pytest.raises(WriteRefused):
        await ReadOnly(w.at, "autotask").update("PurchaseOrders", 1, {"externalPONumber": "1"})
    assert w.qbo_list("Vendor") == [] or all(v["DisplayName"] != "New Vendor Ltd" for v in w.qbo_list("Vendor"))


async def test_a_po_left_mid_way_is_previewed_as_finished_by_the_next_scan(world_factory):
    from sync.store.journal import JournalState as S

    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("New Vendor Ltd")
    product = at.add_product("Brand-new Widget", 12.5)
    for _ in range(2):
        at.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": 1, "unitCost": 12.5}],
                  createDateTime=days_ago(1))
    w = await world_factory(seed)
    journal = w.store.journal
    journal.transition(1, None, S.SEEN, po_number="1")
    journal.transition(1, S.SEEN, S.RESOLVED, doc_number="1", request_id="r1")
    journal.transition(1, S.RESOLVED, S.BILL_REQUESTED)  # a crash after sending the bill
    first, second = await _preview(w)
    assert first.resume and "bill_requested" in first.resume and first.cause is None
    # Number 1 may be on the bill the crash left in flight: the sequence goes on after it.
    assert second.resume == "" and second.doc_number == "2" and second.cause is None
    assert journal.get(1).state is S.BILL_REQUESTED and journal.get(2) is None  # only read


async def test_a_po_billed_before_the_journal_was_lost_is_previewed_as_adopted(world_factory, tmp_path):
    from sync.store import Store

    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("New Vendor Ltd")
    product = at.add_product("Brand-new Widget", 12.5)
    for _ in range(2):
        at.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": 1, "unitCost": 12.5}],
                  createDateTime=days_ago(1))
    w = await world_factory(seed)
    assert [o.doc_number for o in (await w.engine.scan_once()).outcomes] == ["1", "2"]
    await w.at.update("PurchaseOrders", 1, {"externalPONumber": ""})  # cleared by hand
    with Store.open(tmp_path / "restored") as lost:  # a journal that knows nothing
        [p] = await _preview(w, journal=lost.journal)
        assert p.po_id == 1 and p.cause is None and p.doc_number == "1" and "found by the PO's tag" in p.resume
        assert lost.journal.get(1) is None
