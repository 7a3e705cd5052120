"""transfer_as = purchase_order_then_bill (issue 18): the QBO purchase order when the Autotask PO
is submitted, then a bill for what Autotask records as received, linked to it; partial receipts
give partial bills, later scans pick up later receipts, and nothing is ever billed twice."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine_world import AP, COGS, base_seed, days_ago, qs
from sync import events as ev
from sync.clients.http import RetryPolicy
from sync.sandbox.control import FaultRule

pytestmark = pytest.mark.anyio


def _seed():
    seed = base_seed()
    seed.qbo.items.append(qs.item("400", "Cable", expense_account_id=COGS))
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    customer = at.add_company("Contoso Dental")
    cable = at.add_product("Cable", 5)
    dock = at.add_product("USB-C Dock", 120)
    po = at.add_po(vendor, "Submitted", createDateTime=days_ago(1), freight=9.5, purchaseForCompanyID=customer,
                   items=[{"productID": cable, "quantity": 3, "unitCost": 2.335},
                          {"productID": dock, "quantity": 2, "unitCost": 120.0}])
    items = sorted(i for i, r in at.entities["PurchaseOrderItems"].items() if r["orderID"] == po)
    return seed, po, items


async def _receive(w, item_id: int, qty: int) -> None:
    await w.at.create_child("PurchaseOrderItems", item_id, "Receiving", {"quantityNowReceiving": qty})


async def _partly_billed_then_journal_lost(world_factory, seed, cable: int):
    """purchase_order_then_bill: the purchase order, two cables received and billed, then the
    journal lost. Returns the world, the QBO purchase order and the receipt bill."""
    w = await world_factory(seed, transfer_as="purchase_order_then_bill")
    await w.engine.scan_once()
    await _receive(w, cable, 2)
    await w.engine.scan_once()
    [qpo], [receipt_bill] = w.qbo_list("PurchaseOrder"), w.bills()
    w.lose_journal()
    return w, qpo, receipt_bill


def _lines(bill: dict) -> list[tuple[str, float, Decimal, str]]:
    return [(l["ItemBasedExpenseLineDetail"]["ItemRef"]["name"], l["ItemBasedExpenseLineDetail"]["Qty"],
             Decimal(str(l["Amount"])), l["LinkedTxn"][0]["TxnLineId"]) for l in bill["Line"]]


async def test_purchase_order_then_partial_and_final_bills_that_close_it(world_factory):
    seed, po, (cable, dock) = _seed()
    w = await world_factory(seed, transfer_as="purchase_order_then_bill")

    first = await w.engine.scan_once()  # submitted, nothing received yet: the purchase order only
    assert first.synced == 1 and w.bills() == []
    [qpo] = w.qbo_list("PurchaseOrder")
    assert w.po(po)["externalPONumber"] == qpo["DocNumber"] and qpo["POStatus"] == "Open"

    await _receive(w, cable, 2)
    await w.engine.scan_once()  # a later scan picks up the receipt: a partial bill
    [partial] = w.bills()
    assert _lines(partial) == [("Cable", 2, Decimal("4.67"), "1"), ("Freight", 1, Decimal("9.50"), "3")]
    assert all(l["LinkedTxn"][0]["TxnId"] == qpo["Id"] for l in partial["Line"])
    assert partial["Line"][0]["ItemBasedExpenseLineDetail"]["CustomerRef"]["name"] == "Contoso Dental"
    assert f"(Autotask PO id {po})" in partial["PrivateNote"]
    assert partial["APAccountRef"]["value"] == AP
    assert w.qbo_list("PurchaseOrder")[0]["POStatus"] == "Open"
    [billed] = w.of(ev.ReceiptBilled)
    assert billed.receipts == 1 and not billed.closed and billed.purchase_order == qpo["DocNumber"]

    nothing_new = await w.engine.scan_once()
    assert nothing_new.stopped is None and len(w.bills()) == 1  # the same receipts are never billed twice

    await _receive(w, cable, 1)
    await _receive(w, dock, 2)
    await w.engine.scan_once()
    bills = sorted(w.bills(), key=lambda b: int(b["Id"]))
    assert len(bills) == 2
    assert _lines(bills[1]) == [("Cable", 1, Decimal("2.34"), "1"), ("USB-C Dock", 2, Decimal("240.00"), "2")]
    assert w.qbo_list("PurchaseOrder")[0]["POStatus"] == "Closed"  # QBO closed it: all is billed
    assert w.of(ev.ReceiptBilled)[-1].closed
    # The numbers continue QBO's bill sequence; the PO keeps its purchase order number.
    assert [b["DocNumber"] for b in bills] == ["1", "2"] and w.po(po)["externalPONumber"] == qpo["DocNumber"]
    assert w.store.receipts.get(po).closed
    # The PO's history (atqbo why) tells the purchase order and each receipt bill.
    story = [(h.kind, h.text) for h in w.store.history.story(po)]
    assert any(k == "bill_created" and t.startswith(f"purchase order {qpo['DocNumber']} created") for k, t in story)
    assert [k for k, _ in story].count("receipt_billed") == 2

    # Closed: no further QBO reads for it.
    calls = (await w.engine.scan_once()).api_calls
    assert calls.get("qbo", 0) <= 3


async def test_receipts_with_autotask_numbers_and_sync_one(world_factory):
    seed, po, (cable, dock) = _seed()
    w = await world_factory(seed, transfer_as="purchase_order_then_bill", po_number_source="autotask")
    await w.engine.scan_once()
    number = w.po(po)["purchaseOrderNumber"]
    await _receive(w, dock, 1)

    outcome = await w.engine.sync_one(po)  # sync one bills what was received since

    assert outcome.ok and outcome.doc_number == number
    [bill] = w.bills()
    assert bill["DocNumber"] == f"{number}-R1"
    assert _lines(bill) == [("USB-C Dock", 1, Decimal("120.00"), "2"), ("Freight", 1, Decimal("9.50"), "3")]


async def test_a_lost_receipt_bill_reply_and_a_lost_ledger_never_bill_twice(world_factory):
    seed, po, (cable, dock) = _seed()
    w = await world_factory(seed, transfer_as="purchase_order_then_bill")
    await w.engine.scan_once()
    await _receive(w, cable, 3)
    # The bill commits in QBO and every reply is lost: the ledger keeps it pending.
    w.server.sandbox.faults.add(FaultRule(kind="lost", service="qbo", method="POST", path=r"/bill$", times=10))
    w.qbo.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    stopped = await w.engine.scan_once()
    assert stopped.stopped is not None and len(w.bills()) == 1
    assert w.store.receipts.get(po).pending is not None
    w.server.sandbox.faults.clear()

    await w.engine.scan_once()
    assert len(w.bills()) == 1 and w.store.receipts.get(po).pending is None  # found through the purchase order

    # The ledger is lost: the purchase order's bills say what is billed already.
    w.store.receipts.close()
    w.store.receipts.path.unlink()
    await _receive(w, dock, 1)
    await w.engine.scan_once()
    bills = sorted(w.bills(), key=lambda b: int(b["Id"]))
    assert len(bills) == 2 and _lines(bills[1]) == [("USB-C Dock", 1, Decimal("120.00"), "2")]


async def test_a_refused_receipt_bill_is_logged_with_a_to_do_keeps_the_number_and_retry_bills_it(world_factory):
    seed, po, (cable, dock) = _seed()
    w = await world_factory(seed, transfer_as="purchase_order_then_bill", po_number_source="autotask")
    await w.engine.scan_once()
    number = w.po(po)["externalPONumber"]
    # The bookkeeper already used the receipt bill's number for another bill.
    w.qbo_admin("POST", "entities/Bill", {"VendorRef": {"value": w.qbo_list("Vendor")[0]["Id"]},
                                          "APAccountRef": {"value": AP}, "DocNumber": f"{number}-R1",
                                          "Line": [{"DetailType": "ItemBasedExpenseLineDetail", "Amount": 1.0,
                                                    "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "400"},
                                                                                   "Qty": 1, "UnitPrice": 1.0}}]})
    await _receive(w, cable, 1)
    await w.engine.scan_once()

    entry = w.store.errors.latest_open_for_po(po)
    assert entry is not None and entry.cause_code == "receipt_number_taken" and f"{number}-R1" in entry.cause
    assert w.po(po)["externalPONumber"] == number  # never ERROR: the purchase order exists
    assert any(t["id"] == entry.todo_id for t in w.todos())
    assert any(n.po_id == po and n.cause_code == "receipt_number_taken" for n in w.notifier.sent)

    w.qbo_admin("PATCH", f"entities/Bill/{[b for b in w.bills() if b['DocNumber'] == f'{number}-R1'][0]['Id']}",
                {"DocNumber": "OTHER-1"})
    fixed = await w.engine.retry(entry.id)

    assert fixed.ok and w.store.errors.get(entry.id).status.value == "resolved"
    assert [b["DocNumber"] for b in w.bills() if "(Autotask receipts " in (b.get("PrivateNote") or "")] == [f"{number}-R1"]


async def test_receipts_of_many_pos_go_in_batches(world_factory):
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    cable = at.add_product("Cable", 5)
    pos = [at.add_po(vendor, "Submitted", createDateTime=days_ago(1), items=[{"productID": cable, "quantity": 4,
                                                                             "unitCost": 5.0}]) for _ in range(35)]
    w = await world_factory(seed, transfer_as="purchase_order_then_bill")
    await w.engine.scan_once()
    for item_id, item in list(at.entities["PurchaseOrderItems"].items()):
        await _receive(w, item_id, 3)

    summary = await w.engine.scan_once()

    assert summary.stopped is None
    assert len(w.bills()) == 35 and len(w.of(ev.ReceiptBilled)) == 35
    assert all(p["POStatus"] == "Open" for p in w.qbo_list("PurchaseOrder"))
    assert summary.api_calls["qbo"] <= 12  # two batches, not 35 creates


async def test_repair_journal_under_purchase_order_then_bill_records_the_purchase_order_not_a_receipt_bill(
        world_factory):
    """`atqbo repair journal` after the journal is lost: the PO's record names its QuickBooks
    purchase order (the document transfer_as makes first), never one of its receipt bills, which
    carry the same PO tag; later receipts are billed once, nothing is made twice."""
    from sync.engine import documents
    from sync.engine.repair import repair_journal
    from sync.store.journal import JournalState as S

    seed, po, (cable, dock) = _seed()
    w, qpo, receipt_bill = await _partly_billed_then_journal_lost(world_factory, seed, cable)

    document = documents.first_document(w.store.settings.load())
    report = await repair_journal(w.store.journal, w.store.errors, w.at, w.qbo, dry_run=False, document=document)

    assert report.document == "PurchaseOrder" and report.tagged_bills == 1
    [finding] = report.findings
    assert finding.after == "written_back" and finding.bill_id == qpo["Id"] != receipt_bill["Id"]
    assert finding.why.startswith(f"purchase order {qpo['DocNumber']} names this PO")
    entry = w.store.journal.get(po)
    assert entry.state is S.WRITTEN_BACK and entry.document == "PurchaseOrder" and entry.bill_id == qpo["Id"]

    await _receive(w, cable, 1)
    await _receive(w, dock, 2)
    summary = await w.engine.scan_once()
    assert summary.stopped is None
    assert len(w.qbo_list("PurchaseOrder")) == 1 and len(w.bills()) == 2  # the rest billed once
    assert w.qbo_list("PurchaseOrder")[0]["POStatus"] == "Closed"


async def test_a_receipt_bill_is_never_taken_for_the_pos_bill_after_a_lost_journal_and_transfer_as_bill(
        world_factory):
    """The receipt bills carry the PO's tag: after the journal is lost (and the write-back with
    it) and transfer_as set to bill, the scan finds the PO's QuickBooks purchase order, says so,
    and neither adopts a receipt bill as the PO's bill nor makes a new one."""
    seed, po, (cable, _dock) = _seed()
    w, qpo, receipt_bill = await _partly_billed_then_journal_lost(world_factory, seed, cable)
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"externalPONumber": ""})
    w.set(transfer_as="bill")

    summary = await w.engine.scan_once()

    assert summary.synced == 0
    entry = w.store.errors.latest_open_for_po(po)
    assert entry is not None and entry.cause_code == "sent_as_other_document"
    assert f"already has a purchase order numbered {qpo['DocNumber']}" in entry.cause
    assert [b["Id"] for b in w.bills()] == [receipt_bill["Id"]] and len(w.qbo_list("PurchaseOrder")) == 1
    assert w.po(po)["externalPONumber"] != receipt_bill["DocNumber"]


async def test_reconcile_under_purchase_order_then_bill_checks_purchase_orders_and_skips_receipt_bills(
        world_factory):
    """Two receipt bills for one PO are not 'duplicate bills', nor bills without a write-back:
    reconcile checks the PO's purchase order."""
    from sync.audit.reconcile import reconcile

    seed, po, (cable, dock) = _seed()
    w = await world_factory(seed, transfer_as="purchase_order_then_bill")
    await w.engine.scan_once()
    await _receive(w, cable, 2)
    await w.engine.scan_once()
    await _receive(w, dock, 1)
    await w.engine.scan_once()
    assert len(w.bills()) == 2
    clean = await reconcile(w.store, w.at, w.qbo)
    assert clean.findings == () and clean.bills_checked == 1, clean.findings
