"""More causes a PO can fail for, and what the failure path does when Autotask or the mail
refuses part of it. Against the sandbox over real sockets."""

from __future__ import annotations

import pytest

from engine_world import COGS, base_seed, days_ago
from sync import events as ev
from sync.clients.http import RetryPolicy
from sync.sandbox.control import FaultRule

pytestmark = pytest.mark.anyio


def _po(seed, vendor, items, **fields):
    return seed.autotask.add_po(vendor, fields.pop("status", "Submitted"), items=items,
                                createDateTime=days_ago(1), **fields)


async def test_po_without_items_or_products_fails_with_its_cause(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    empty = _po(seed, vendor, [])
    no_product = _po(seed, vendor, [{"quantity": 1, "unitCost": 5, "memo": "misc"}])
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert summary.failed == 2 and w.bills() == []
    codes = {o.po_id: o.cause.code for o in summary.outcomes}
    assert codes == {empty: "po_no_items", no_product: "product_missing"}
    assert all(w.po(p)["externalPONumber"] == "ERROR" for p in (empty, no_product))
    assert len(w.todos()) == 2


async def test_a_missing_expense_account_for_new_items_fails_only_pos_that_need_one(world_factory):
    seed = base_seed()
    seed.qbo.items.append({"Id": "400", "Name": "Known", "Type": "NonInventory", "Active": True,
                           "ExpenseAccountRef": {"value": COGS}})
    vendor = seed.autotask.add_vendor("Ingram Micro")
    known = seed.autotask.add_product("Known", 5)
    unknown = seed.autotask.add_product("Unknown", 5)
    fine = _po(seed, vendor, [{"productID": known, "quantity": 1, "unitCost": 5}])
    needs = _po(seed, vendor, [{"productID": unknown, "quantity": 1, "unitCost": 5}])
    w = await world_factory(seed, new_item_expense_account="No Such Account")

    summary = await w.engine.scan_once()

    codes = {o.po_id: (o.cause.code if o.cause else "ok") for o in summary.outcomes}
    assert codes == {fine: "ok", needs: "expense_account_missing"}
    assert "No Such Account" in w.store.errors.latest_open_for_po(needs).cause


async def test_write_back_refused_keeps_the_bill_and_the_retry_only_writes_back(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, [{"productID": p, "quantity": 1, "unitCost": 5}])
    w = await world_factory(seed)
    w.server.sandbox.faults.add(FaultRule(kind="500", service="autotask", method="PATCH", path="PurchaseOrders$"))
    w.at.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)

    summary = await w.engine.scan_once()

    assert summary.failed == 1
    entry = w.store.errors.latest_open_for_po(po)
    assert entry.cause_code == "writeback_failed" and "1" in entry.cause
    assert len(w.bills()) == 1
    assert w.po(po)["externalPONumber"] in (None, "")  # not ERROR: the bill exists, its number is due
    assert len(w.todos()) == 1
    w.server.sandbox.faults.clear()

    fixed = await w.engine.retry(entry.id)

    assert fixed.ok and len(w.bills()) == 1 and w.po(po)["externalPONumber"] == "1"
    assert w.store.errors.get(entry.id).status.value == "resolved"


async def test_a_refused_todo_is_noted_in_the_log_and_the_po_still_marked(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Mystery", 5)
    po = _po(seed, vendor, [{"productID": p, "quantity": 1, "unitCost": 5}])
    w = await world_factory(seed, missing_item="error", new_item_expense_account=None, todo_action_type=999)

    await w.engine.scan_once()

    entry = w.store.errors.latest_open_for_po(po)
    assert entry.cause_code == "missing_item" and entry.todo_id is None
    assert "refused" in entry.raw_error and w.todos() == []
    assert w.po(po)["externalPONumber"] == "ERROR"
    assert w.of(ev.PoFailed)[0].todo_id is None


async def test_a_failing_notifier_is_reported_and_the_scan_goes_on(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Mystery", 5)
    a = _po(seed, vendor, [{"productID": p, "quantity": 1, "unitCost": 5}])
    b = _po(seed, vendor, [{"productID": p, "quantity": 2, "unitCost": 5}])
    w = await world_factory(seed, missing_item="error", new_item_expense_account=None)

    async def broken(notice):
        raise OSError("SMTP server mail.example.com:587 refused the connection")

    w.notifier.notify = broken
    summary = await w.engine.scan_once()

    assert summary.failed == 2
    failures = w.of(ev.NotificationFailed)
    # One report per PO (in no set order: each group records its failures as it finishes).
    assert sorted(f.po_id for f in failures) == sorted([a, b])
    assert all("refused" in f.reason and f.recipient == "ops@example.com" for f in failures)


async def test_sync_one_refuses_a_po_that_is_not_submitted(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, [{"productID": p, "quantity": 1, "unitCost": 5}], status="New")
    w = await world_factory(seed)

    outcome = await w.engine.sync_one(po)

    assert not outcome.ok and outcome.cause.code == "po_not_submitted" and "New" in outcome.cause.cause
    assert w.bills() == [] and w.po(po)["externalPONumber"] in (None, "") and w.todos() == []


async def test_unreadable_settings_stop_the_scan_with_a_clear_cause(world_factory):
    seed = base_seed()
    w = await world_factory(seed)
    w.store.locations.settings_file.write_text("{ this is not json")

    summary = await w.engine.scan_once()
    outcome = await w.engine.sync_one(1)

    assert summary.stopped is not None and summary.stopped.code == "settings_unreadable"
    assert str(w.store.locations.settings_file) in summary.stopped.cause
    assert outcome.cause.code == "settings_unreadable"


@pytest.mark.parametrize("quantity,unit_cost,why", [
    (0, 5, "its quantity is 0 or less"),
    (-2, 5, "its quantity is 0 or less"),
    (2, -5, "its unit cost is negative"),
    (-1, -5, "its quantity is 0 or less"),
])
async def test_a_line_that_would_not_bill_fails_the_po_by_name(world_factory, quantity, unit_cost, why):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("A Vendor Nobody Has Yet")
    dock = seed.autotask.add_product("USB-C Dock", 120)
    fine = _po(seed, vendor, [{"productID": dock, "quantity": 1, "unitCost": 120}])
    bad = _po(seed, vendor, [{"productID": dock, "quantity": 1, "unitCost": 120},
                             {"productID": dock, "quantity": quantity, "unitCost": unit_cost}])
    w = await world_factory(seed)
    vendors_before = len(w.qbo_list("Vendor"))

    summary = await w.engine.scan_once()

    outcome = {o.po_id: o for o in summary.outcomes}
    assert outcome[fine].ok and not outcome[bad].ok
    cause = outcome[bad].cause
    assert cause.code == "line_not_billable"
    assert "Item 2 of the PO" in cause.cause and why in cause.cause
    assert f"quantity {quantity}, unit cost {unit_cost}" in cause.cause
    assert "vendor credit" in cause.fix
    [bill] = w.bills()  # only the good PO's
    assert all(line.get("Amount", 0) > 0 for line in bill["Line"])
    assert w.po(bad)["externalPONumber"] == "ERROR" and len(w.todos()) == 1
    [entry] = w.store.errors.open_errors()
    assert entry.po_id == bad and entry.cause_code == "line_not_billable"
    assert len(w.qbo_list("Vendor")) == vendors_before + 1  # made for the good PO only, once


async def test_a_days_back_beyond_its_bound_in_the_file_stops_the_scan_by_name(world_factory):
    # Written by hand, or by a version without the bound: 10**9 once made every scan raise
    # OverflowError (the window's start date) instead of saying what is wrong.
    import json

    w = await world_factory(base_seed())
    path = w.store.locations.settings_file
    document = json.loads(path.read_text())
    document["settings"]["1"]["values"]["days_back"] = 10**9
    path.write_text(json.dumps(document))

    summary = await w.engine.scan_once()

    assert summary.stopped is not None and summary.stopped.code == "settings_unreadable"
    assert "days_back: must be a whole number from 0 to 3650, got 1000000000" in summary.stopped.cause
