"""`atqbo plan` and `atqbo doctor` name the mode's documents (issue 18), over the sandbox:
under transfer_as purchase_order the plan says each PO becomes a QuickBooks purchase order, its
number from QBO's purchase-order sequence (not the bills') or the Autotask PO number; under
purchase_order_then_bill, the purchase order now and bills as the goods are received. The scan
right after writes exactly those purchase orders, and doctor does not speak of bills."""

from __future__ import annotations

import pytest

from cli_helpers import COGS, _entities, atqbo, in_process, json_lines
from sync.sandbox.qbo import seed as qs
from test_cli_doctor import _clean_seed


def _plans(stdout: str) -> dict[int, dict]:
    return {p["po_id"]: p for p in json_lines(stdout) if p.get("type") == "po"}


def _po_id_of(document: dict) -> int:
    return int(str(document["PrivateNote"]).split("PO id ")[1].split(")")[0])


def _seed(n: int):
    seed = _clean_seed(n)
    # A bill numbered 17: the bill sequence would go on with 18; a purchase order's number does not.
    seed.qbo.bills.append(qs.bill("900", "1", [qs.item_line("400", 1, 1)], doc_number="17", ap_account_id="33"))
    return seed


@pytest.mark.parametrize("transfer_as", ["purchase_order", "purchase_order_then_bill"])
def test_plan_names_the_quickbooks_purchase_order_the_scan_then_writes(ready, capsys, transfer_as):
    n = 6
    w = ready(_seed(n), missing_item="create", new_item_expense_account=COGS, transfer_as=transfer_as)
    then_bill = transfer_as == "purchase_order_then_bill"
    result = in_process(capsys, "plan", "--json", *w.dd)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    summary = json_lines(result.stdout)[-1]
    assert summary["purchase_orders"] == n and summary["bills"] == 0
    plans = _plans(result.stdout)
    assert len(plans) == n
    for p in plans.values():
        assert p["outcome"] == "bill" and p["document"] == "PurchaseOrder" and p["receipt_bills"] is then_bill
    assert "18" not in {p["doc_number"] for p in plans.values()}

    human = in_process(capsys, "plan", *w.dd)
    assert human.returncode == 0
    for p in plans.values():
        assert f"PO {p['po_number']} (id {p['po_id']}): purchase order {p['doc_number']}, {p['amount']}" in human.stdout
    assert "): bill " not in human.stdout and "would become bills" not in human.stdout
    assert f"{n} would become QuickBooks purchase orders" in human.stdout
    assert ("then a bill for each receipt" in human.stdout) is then_bill
    assert ("(bills follow the goods received)" in human.stdout) is then_bill

    scan = atqbo("--daemon", "--once", "--json", *w.dd)
    assert scan.returncode == 0, scan.stdout[-2000:] + scan.stderr
    assert [b["Id"] for b in w.bills()] == ["900"]  # no receipts yet: no bill
    written = {_po_id_of(d): d for d in _entities(w.state()["qbo"], "PurchaseOrder")}
    assert set(written) == set(plans)
    numbers = {p["id"]: p.get("externalPONumber") for p in w.pos()}
    for po_id, p in plans.items():
        assert written[po_id]["DocNumber"] == p["doc_number"] == numbers[po_id]
        assert f"{float(written[po_id]['TotalAmt']):.2f}" == p["amount"]


def test_plan_with_autotask_numbers_names_the_purchase_order_by_the_autotask_number(ready, capsys):
    w = ready(_seed(2), missing_item="create", new_item_expense_account=COGS, transfer_as="purchase_order",
              po_number_source="autotask")
    plans = _plans(in_process(capsys, "plan", "--json", *w.dd).stdout)
    by_id = {p["id"]: p for p in w.pos()}
    for po_id, p in plans.items():
        assert p["document"] == "PurchaseOrder"
        assert p["doc_number"] == str(by_id[po_id].get("purchaseOrderNumber") or po_id)


@pytest.mark.parametrize("transfer_as", ["purchase_order", "purchase_order_then_bill"])
def test_doctor_speaks_of_purchase_orders_not_bills(ready, transfer_as):
    w = ready(_seed(3), missing_item="create", new_item_expense_account=COGS, transfer_as=transfer_as)
    result = atqbo("doctor", *w.dd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "every one would become a QuickBooks purchase order" in result.stdout
    assert ("then a bill for each receipt of goods" in result.stdout) is (transfer_as == "purchase_order_then_bill")
    assert "→ purchase order " in result.stdout and "→ bill" not in result.stdout and "  bill " not in result.stdout
    assert "(bills go" not in result.stdout and "write the bill number" not in result.stdout
    assert "purchase order numbers continue QuickBooks' own sequence of purchase orders" in result.stdout
    assert "bill numbers continue" not in result.stdout and "bills carry" not in result.stdout



def test_plan_shows_the_receipt_bill_the_next_scan_makes_for_goods_received(ready, capsys):
    """purchase_order_then_bill: a PO already in QuickBooks as a purchase order gets, in the plan,
    the bill for what Autotask recorded as received and not billed yet; the scan makes that bill."""
    w = ready(_seed(2), missing_item="create", new_item_expense_account=COGS,
              transfer_as="purchase_order_then_bill")
    assert atqbo("--daemon", "--once", *w.dd).returncode == 0
    store = w.server.sandbox.emulators["autotask"].store
    items = sorted((i for i in store.tables["PurchaseOrderItems"].values()), key=lambda i: i["id"])
    first = items[0]
    store.create(store.entity("PurchaseOrderItemReceiving"), {"quantityNowReceiving": 1}, parent_id=first["id"])
    po_id = int(first["orderID"])

    result = in_process(capsys, "plan", "--json", *w.dd)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    (receipt,) = [r for r in json_lines(result.stdout) if r.get("type") == "receipt_bill"]
    assert receipt["po_id"] == po_id and receipt["receipts"] == 1 and not receipt["cause_code"]
    assert json_lines(result.stdout)[-1]["receipt_bills"] == 1
    human = in_process(capsys, "plan", *w.dd)
    assert f"receipt bill {receipt['doc_number']}, {receipt['amount']}, for 1 receipt(s) of goods" in human.stdout
    assert [b["Id"] for b in w.bills()] == ["900"]  # the plan wrote nothing

    assert atqbo("--daemon", "--once", *w.dd).returncode == 0
    (bill,) = [b for b in w.bills() if b["Id"] != "900"]
    assert bill["DocNumber"] == receipt["doc_number"] and f"{float(bill['TotalAmt']):.2f}" == receipt["amount"]
    after = in_process(capsys, "plan", "--json", *w.dd)
    assert [r for r in json_lines(after.stdout) if r.get("type") == "receipt_bill"] == []
