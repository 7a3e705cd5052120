"""The Plan screen's row and detail name the mode's document (issue 18): a QuickBooks purchase
order (and, under purchase_order_then_bill, the bills that follow the goods), a bill otherwise."""

from __future__ import annotations

from screens.plan import detail_lines, number_heading, row_cells, status_head
from sync.plan.model import PlanReport, PoPlan, ReceiptPlan


def _plan(**kw) -> PoPlan:
    return PoPlan(po_id=7, po_number="PO-7", outcome="bill", vendor_name="Acme", doc_number="1001", amount="10.00",
                  ap_account="A/P (id 33)", **kw)


def test_row_and_detail_name_the_purchase_order_and_the_bills_that_follow():
    bill, po, po_then = _plan(), _plan(document="PurchaseOrder"), _plan(document="PurchaseOrder", receipt_bills=True)
    assert str(row_cells(bill)[1]) == "bill" and detail_lines(bill)[1].startswith("Bill 1001: 10.00")
    assert str(row_cells(po)[1]) == "QB PO" and detail_lines(po)[1] == "Purchase order 1001: 10.00 on A/P A/P (id 33)"
    assert str(row_cells(po_then)[1]) == "PO, bills"
    assert detail_lines(po_then)[1].endswith("; then a bill for each receipt of goods")
    assert PoPlan.from_record(po_then.to_record()) == po_then


def test_status_line_counts_purchase_orders_and_receipt_bills():
    bill = PlanReport(plans=(_plan(),))
    assert status_head(bill) == "1 purchase order(s): 1 bill(s), 0 would fail, 0 held, 0 record(s) to create"
    po = PlanReport(plans=(_plan(document="PurchaseOrder", receipt_bills=True),),
                    receipts=(ReceiptPlan(8, "PO-8", "1001", "18", "5.00", 1),
                              ReceiptPlan(9, "PO-9", cause_code="receipt_number_taken", cause="taken", fix="x")))
    assert status_head(po) == ("1 purchase order(s): 1 QuickBooks purchase order(s), 0 would fail, 0 held, "
                               "0 record(s) to create, 1 receipt bill(s) (1 would fail)")
    assert PlanReport.from_record(po.to_record()) == po
    assert po.exit_code == 3  # a receipt bill that would fail is a failure to see


def test_the_number_column_is_headed_by_whose_number_it_is():
    failing = PoPlan(po_id=9, po_number="PO-9", outcome="fail", cause_code="missing_item", cause="x")
    assert number_heading(PlanReport(plans=(_plan(), failing))) == "Bill no."
    assert number_heading(PlanReport(plans=(_plan(document="PurchaseOrder"), failing))) == "QB PO no."
    assert number_heading(PlanReport(plans=(_plan(), _plan(document="PurchaseOrder")))) == "Doc no."
    assert number_heading(PlanReport()) == "Bill no."


def test_a_plan_with_nothing_to_make_names_the_document_transfer_as_makes():
    empty = PlanReport(document="PurchaseOrder")
    assert number_heading(empty) == "QB PO no."
    assert status_head(empty).startswith("0 purchase order(s): 0 QuickBooks purchase order(s), 0 would fail")
    assert status_head(PlanReport()).startswith("0 purchase order(s): 0 bill(s), 0 would fail")
    assert PlanReport.from_record(empty.to_record()) == empty
    assert PlanReport.from_record({**empty.to_record(), "document": "\x1b[31mEvil"}).document == "Bill"
