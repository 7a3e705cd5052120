"""The Plan screen's row and detail name the mode's document (issue 18): a QuickBooks purchase
order (and, under purchase_order_then_bill, the bills that follow the goods), a bill otherwise."""

from __future__ import annotations

from screens.plan import detail_lines, row_cells
from sync.plan.model import PoPlan


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
