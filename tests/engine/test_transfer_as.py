"""transfer_as = purchase_order (issue 18): the same seed rules, a QBO PurchaseOrder instead of a
bill, over real sockets; and a journal lost or a reply lost never makes a second one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine_world import AP, COGS, base_seed, days_ago, qs
from sync import events as ev
from sync.clients.http import RetryPolicy
from sync.sandbox.control import FaultRule
from sync.store.journal import JournalState as S

pytestmark = pytest.mark.anyio


def _po(seed, vendor: int, *, items, status="Submitted", created=1, **fields):
    return seed.autotask.add_po(vendor, status, items=items, createDateTime=days_ago(created), **fields)


def _line(product: int, qty: int, cost: float):
    return {"productID": product, "quantity": qty, "unitCost": cost}


def _qbo_po(w, doc: str, vendor: str = "200", item: str = "400") -> None:
    w.qbo_admin("POST", "entities/PurchaseOrder", {
        "VendorRef": {"value": vendor}, "APAccountRef": {"value": AP}, "DocNumber": doc,
        "Line": [{"DetailType": "ItemBasedExpenseLineDetail", "Amount": 1.0,
                  "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}, "Qty": 1, "UnitPrice": 1.0}}]})


def _seed_with_cable():
    seed = base_seed()
    seed.qbo.vendors.append(qs.vendor("200", "Old Vendor"))
    seed.qbo.items.append(qs.item("400", "Cable", expense_account_id=COGS))
    seed.qbo.customers.append(qs.customer("300", "Contoso Dental"))
    return seed


async def _one_po(world_factory, transfer_as: str = "purchase_order"):
    """A world with one submitted PO for 'Ingram Micro' (new to QBO) of one 'Cable' (in QBO)."""
    seed = _seed_with_cable()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)])
    return await world_factory(seed, transfer_as=transfer_as), po


async def test_purchase_order_mode_writes_a_qbo_purchase_order_with_the_bill_rules(world_factory):
    seed = _seed_with_cable()
    seed.qbo.bills.append(qs.bill("500", "200", [qs.item_line("400", 1, 1.0)], doc_number="77"))
    vendor = seed.autotask.add_vendor("Ingram Micro")
    customer = seed.autotask.add_company("Contoso Dental")
    cable = seed.autotask.add_product("Cable", 5)
    dock = seed.autotask.add_product("USB-C Dock", 120)
    po = _po(seed, vendor, items=[_line(cable, 3, 2.335), _line(dock, 1, 120)], freight=9.5,
             purchaseForCompanyID=customer)
    w = await world_factory(seed, transfer_as="purchase_order")
    _qbo_po(w, "1005")

    summary = await w.engine.scan_once()

    assert (summary.synced, summary.failed) == (1, 0)
    assert [b["Id"] for b in w.bills()] == ["500"]  # no bill: a purchase order instead
    made = [p for p in w.qbo_list("PurchaseOrder") if p["DocNumber"] != "1005"]
    [qpo] = made
    assert qpo["DocNumber"] == "1006"  # QBO's purchase order sequence, not its bills' (77)
    assert qpo["POStatus"] == "Open" and f"(Autotask PO id {po})" in qpo["PrivateNote"]
    assert qpo["APAccountRef"]["value"] == AP
    lines = [(l["ItemBasedExpenseLineDetail"]["Qty"], Decimal(str(l["Amount"])),
              l["ItemBasedExpenseLineDetail"].get("CustomerRef", {}).get("value")) for l in qpo["Line"]]
    assert lines == [(3, Decimal("7.01"), "300"), (1, Decimal("120.00"), "300"), (1, Decimal("9.50"), "300")]
    assert w.po(po)["externalPONumber"] == "1006"  # the write-back names the purchase order
    assert w.of(ev.PoSynced)[0].doc_number == "1006"
    entry = w.store.journal.get(po)
    assert entry.state.value == "written_back" and entry.document == "PurchaseOrder" and entry.bill_id == qpo["Id"]

    again = await w.engine.scan_once()
    assert again.scanned == 0 and len(w.qbo_list("PurchaseOrder")) == 2


async def test_purchase_order_mode_autotask_numbers_collide_with_purchase_orders_not_bills(world_factory):
    seed = _seed_with_cable()
    seed.qbo.bills.append(qs.bill("500", "200", [qs.item_line("400", 1, 1.0)], doc_number="PO-2001"))
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    fine = _po(seed, vendor, items=[_line(p, 1, 5)], purchaseOrderNumber="PO-2001")
    taken = _po(seed, vendor, items=[_line(p, 1, 5)], purchaseOrderNumber="PO-2002")
    w = await world_factory(seed, transfer_as="purchase_order", po_number_source="autotask")
    _qbo_po(w, "PO-2002")

    summary = await w.engine.scan_once()

    assert (summary.synced, summary.failed) == (1, 1)
    assert w.po(fine)["externalPONumber"] == "PO-2001"
    assert w.po(taken)["externalPONumber"] == "ERROR"
    entry = w.store.errors.latest_open_for_po(taken)
    assert entry.cause_code == "doc_number_taken" and any(t["id"] == entry.todo_id for t in w.at_list("CompanyToDos"))
    # The words name the document the PO goes to QBO as, not a bill.
    assert "QuickBooks purchase order numbered PO-2002" in entry.cause and "bill" not in entry.cause + entry.fix


async def test_purchase_order_mode_missing_item_fails_then_retry_makes_one_purchase_order(world_factory):
    seed = _seed_with_cable()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Mystery Box", 5)
    po = _po(seed, vendor, items=[_line(p, 2, 5)])
    w = await world_factory(seed, transfer_as="purchase_order", missing_item="error", new_item_expense_account=None)
    await w.engine.scan_once()
    entry = w.store.errors.latest_open_for_po(po)
    assert entry.cause_code == "missing_item" and w.po(po)["externalPONumber"] == "ERROR"
    w.qbo_admin("POST", "entities/Item", {"Name": "Mystery Box", "Type": "NonInventory",
                                          "ExpenseAccountRef": {"value": COGS}})
    fixed = await w.engine.retry(entry.id)
    assert fixed.ok and w.po(po)["externalPONumber"] == fixed.doc_number
    assert len(w.qbo_list("PurchaseOrder")) == 1 and w.bills() == []


async def test_purchase_order_mode_a_lost_reply_is_looked_up_not_created_again(world_factory):
    w, po = await _one_po(world_factory)
    # The purchase order commits in QBO and every reply is lost: the journal stays at bill_requested.
    w.server.sandbox.faults.add(FaultRule(kind="lost", service="qbo", method="POST", path=r"/purchaseorder$", times=10))
    w.qbo.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    first = await w.engine.scan_once()
    assert first.stopped is not None and w.store.journal.get(po).state is S.BILL_REQUESTED
    assert w.store.journal.get(po).document == "PurchaseOrder"
    w.server.sandbox.faults.clear()

    second = await w.engine.scan_once()

    assert second.synced == 1 and len(w.qbo_list("PurchaseOrder")) == 1 and w.bills() == []
    assert w.po(po)["externalPONumber"] == w.qbo_list("PurchaseOrder")[0]["DocNumber"]


async def test_purchase_order_mode_a_lost_journal_adopts_the_purchase_order_it_made(world_factory):
    w, po = await _one_po(world_factory)
    await w.engine.scan_once()
    [made] = w.qbo_list("PurchaseOrder")
    # The journal is lost and the write-back undone (a restore from an older backup).
    w.lose_journal()
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"externalPONumber": ""})

    summary = await w.engine.scan_once()

    assert summary.synced == 1 and len(w.qbo_list("PurchaseOrder")) == 1 and w.bills() == []
    assert w.po(po)["externalPONumber"] == made["DocNumber"]
    assert w.store.journal.get(po).document == "PurchaseOrder"


async def test_a_purchase_order_left_uncertain_is_not_resent_as_a_bill_after_transfer_as_changes(world_factory):
    w, po = await _one_po(world_factory)
    # The purchase order request never gets an answer: the journal stays at bill_requested.
    w.server.sandbox.faults.add(FaultRule(kind="503", service="qbo", method="POST", path=r"/purchaseorder$", times=10))
    w.qbo.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    await w.engine.scan_once()
    assert w.store.journal.get(po).state is S.BILL_REQUESTED
    assert w.store.journal.get(po).document == "PurchaseOrder"
    w.server.sandbox.faults.clear()
    w.set(transfer_as="bill")

    await w.engine.scan_once()

    # Neither a bill nor a second document: the user is told why and what to do.
    entry = w.store.errors.latest_open_for_po(po)
    assert entry is not None and entry.cause_code == "transfer_as_changed"
    assert "purchase order" in entry.cause and "transfer_as" in entry.fix
    assert w.bills() == [] and w.qbo_list("PurchaseOrder") == []
    assert w.store.journal.get(po).document == "PurchaseOrder"


def _lose_journal_and_write_back(w, po: int) -> None:
    """A restore from an older backup: the journal is gone and the PO not written back."""
    w.lose_journal()
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"externalPONumber": ""})


@pytest.mark.parametrize("before, after", [("purchase_order", "bill"), ("bill", "purchase_order"),
                                           ("bill", "purchase_order_then_bill")])
async def test_a_lost_journal_and_a_changed_transfer_as_make_no_second_document(world_factory, before, after):
    from datetime import datetime, timezone

    from sync.plan import make_plan

    seed = _seed_with_cable()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 2, 5)])
    w = await world_factory(seed, transfer_as=before)
    assert (await w.engine.scan_once()).synced == 1
    first = "Bill" if before == "bill" else "PurchaseOrder"
    [made] = w.qbo_list(first)
    _lose_journal_and_write_back(w, po)
    w.set(transfer_as=after)

    # The plan says it first: the PO's tagged document of the other kind is found, nothing made.
    report = await make_plan(w.store.settings.load(), w.at, w.qbo, w.store.journal, now=datetime.now(timezone.utc))
    [planned] = report.plans
    assert planned.outcome == "fail" and planned.cause_code == "sent_as_other_document" and not planned.hold
    summary = await w.engine.scan_once()

    assert summary.synced == 0
    entry = w.store.errors.latest_open_for_po(po)
    assert entry is not None and entry.cause_code == "sent_as_other_document"
    found, now_makes = ("bill", "purchase order") if before == "bill" else ("purchase order", "bill")
    assert f"already has a {found} numbered {made['DocNumber']}" in entry.cause
    assert f"now sends POs as a {now_makes}; no {now_makes} is made beside it" in entry.cause
    assert f"Set transfer_as back to {'bill' if before == 'bill' else 'purchase_order'}" in entry.fix
    assert len(w.bills()) == (1 if before == "bill" else 0)
    assert len(w.qbo_list("PurchaseOrder")) == (0 if before == "bill" else 1)
    assert w.po(po)["externalPONumber"] == "ERROR"  # the seed's failure marker, not a number

    # A retry (the one-PO path) under the new setting says the same and makes nothing.
    again = await w.engine.retry(entry.id)
    assert not again.ok and again.cause.code == "sent_as_other_document"
    assert len(w.bills()) + len(w.qbo_list("PurchaseOrder")) == 1
    # The fix it names works: the setting back, a retry adopts the document QBO has.
    w.set(transfer_as=before)
    entry = w.store.errors.latest_open_for_po(po)
    outcome = await w.engine.retry(entry.id)
    assert outcome.ok, outcome
    assert [d["Id"] for d in w.qbo_list(first)] == [made["Id"]]
    assert w.po(po)["externalPONumber"] == made["DocNumber"]


async def test_reconcile_under_purchase_order_names_the_purchase_order_deleted_in_quickbooks(world_factory):
    from sync.audit.reconcile import reconcile

    w, po = await _one_po(world_factory)
    await w.engine.scan_once()
    assert (await reconcile(w.store, w.at, w.qbo)).findings == ()  # before: "bill deleted", no bill was ever made

    [qpo] = w.qbo_list("PurchaseOrder")
    w.qbo_admin("DELETE", f"entities/PurchaseOrder/{qpo['Id']}")
    [finding] = (await reconcile(w.store, w.at, w.qbo)).findings
    assert finding.kind == "bill_deleted" and finding.po_id == po
    assert f"names purchase order {qpo['DocNumber']}, but that purchase order is no longer" in finding.text


async def test_export_names_the_document_each_qbo_id_is(world_factory):
    from sync.audit.export import rows, to_csv

    w, po = await _one_po(world_factory)
    await w.engine.scan_once()
    [qpo] = w.qbo_list("PurchaseOrder")
    [row] = rows(w.store)
    assert (row.autotask_po_id, row.qbo_bill_id, row.qbo_document) == (po, qpo["Id"], "PurchaseOrder")
    assert to_csv([row]).splitlines()[0].endswith(",last_error,qbo_document")


async def test_sync_one_of_a_po_already_sent_says_it_has_its_purchase_order(world_factory):
    w, po = await _one_po(world_factory)
    await w.engine.scan_once()
    refused = await w.engine.sync_one(po)
    assert not refused.ok and refused.cause.code == "po_already_synced"
    assert refused.cause.fix == "Nothing to do: the PO already has its purchase order."
    assert len(w.qbo_list("PurchaseOrder")) == 1


async def test_a_refused_write_back_under_purchase_order_names_the_purchase_order(world_factory):
    w, po = await _one_po(world_factory)
    w.at_admin("PUT", "rights", {"PurchaseOrders": ["update"]})
    await w.engine.scan_once()
    [qpo] = w.qbo_list("PurchaseOrder")
    entry = w.store.errors.latest_open_for_po(po)
    assert entry is not None and entry.cause_code == "writeback_failed"
    assert entry.cause.startswith(f"Purchase order {qpo['DocNumber']} was created in QuickBooks, but its number")
    assert entry.fix.endswith("(the purchase order is not created again).") and "bill" not in entry.cause + entry.fix
    w.at_admin("PUT", "rights", {})
    assert (await w.engine.retry(entry.id)).ok and len(w.qbo_list("PurchaseOrder")) == 1
