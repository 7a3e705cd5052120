"""QBO PurchaseOrder over real sockets: required fields, POStatus, number rules, query and batch,
and a bill linked line by line that closes it (reference/qbo-api.md §4.8, XSD PurchaseOrder)."""

from __future__ import annotations

from tests.sandbox.qbo_helpers import fault_of, qbo, qbo_server  # noqa: F401 - fixtures


def line(item: str, qty: float, price: float, **extra: object) -> dict:
    return {"DetailType": "ItemBasedExpenseLineDetail", "Amount": round(qty * price, 2),
            "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price}, **extra}


def new_po(qbo, doc: str = "PO-1", lines: list | None = None, **extra: object) -> dict:
    r = qbo.post("purchaseorder", {"VendorRef": {"value": "101"}, "APAccountRef": {"value": "33"}, "DocNumber": doc,
                                   "Line": lines or [line("301", 3, 10.0), line("303", 2, 5.5)], **extra})
    assert r.status_code == 200, r.text
    return r.json()["PurchaseOrder"]


def link(po: dict, line_id: str) -> list[dict]:
    return [{"TxnId": po["Id"], "TxnType": "PurchaseOrder", "TxnLineId": line_id}]


def bill(qbo, lines: list, **extra: object):
    return qbo.post("bill", {"VendorRef": {"value": "101"}, "APAccountRef": {"value": "33"}, "Line": lines, **extra})


def test_purchase_order_is_open_posts_nothing_and_reads_back(qbo):
    vendor_before = qbo.get("vendor/101").json()["Vendor"].get("Balance", 0)
    po = new_po(qbo)
    assert po["POStatus"] == "Open" and po["TotalAmt"] == 41.0 and "Balance" not in po
    assert qbo.get(f"purchaseorder/{po['Id']}").json()["PurchaseOrder"] == po
    assert qbo.get("vendor/101").json()["Vendor"].get("Balance", 0) == vendor_before  # non-posting
    rows = qbo.rows("SELECT * FROM PurchaseOrder WHERE DocNumber = 'PO-1'", "PurchaseOrder")
    assert [r["Id"] for r in rows] == [po["Id"]]


def test_purchase_order_required_fields_status_and_numbers(qbo):
    assert fault_of(qbo.post("purchaseorder", {"Line": [line("301", 1, 1.0)]}))["code"] == "2020"  # VendorRef
    assert fault_of(qbo.post("purchaseorder", {"VendorRef": {"value": "101"}}))["code"] == "2020"  # Line
    assert fault_of(qbo.post("purchaseorder", {"VendorRef": {"value": "101"}, "POStatus": "Pending",
                                               "Line": [line("301", 1, 1.0)]}))["code"] == "2170"
    assert fault_of(qbo.post("purchaseorder", {"VendorRef": {"value": "101"}, "DocNumber": "X" * 22,
                                               "Line": [line("301", 1, 1.0)]}))["code"] == "2050"
    new_po(qbo, "PO-9")
    assert fault_of(qbo.post("purchaseorder", {"VendorRef": {"value": "101"}, "DocNumber": "PO-9",
                                               "Line": [line("301", 1, 1.0)]}))["code"] == "6140"
    # POStatus is not filterable in this emulator (the stricter side).
    assert fault_of(qbo.query("SELECT * FROM PurchaseOrder WHERE POStatus = 'Open'"))["code"] == "4001"


def test_partial_bills_linked_by_line_close_the_purchase_order_when_all_is_billed(qbo):
    po = new_po(qbo)
    first = bill(qbo, [line("301", 1, 10.0, LinkedTxn=link(po, "1"))])
    assert first.status_code == 200, first.text
    assert first.json()["Bill"]["Line"][0]["LinkedTxn"] == link(po, "1")
    after = qbo.get(f"purchaseorder/{po['Id']}").json()["PurchaseOrder"]
    assert after["POStatus"] == "Open" and after["SyncToken"] == "1"
    assert after["LinkedTxn"] == [{"TxnId": first.json()["Bill"]["Id"], "TxnType": "Bill"}]
    # More than is left on the line is refused.
    assert fault_of(bill(qbo, [line("301", 3, 10.0, LinkedTxn=link(po, "1"))]))["code"] == "6000"
    rest = bill(qbo, [line("301", 2, 10.0, LinkedTxn=link(po, "1")), line("303", 2, 5.5, LinkedTxn=link(po, "2"))])
    assert rest.status_code == 200, rest.text
    closed = qbo.get(f"purchaseorder/{po['Id']}").json()["PurchaseOrder"]
    assert closed["POStatus"] == "Closed" and len(closed["LinkedTxn"]) == 2
    # A closed purchase order takes no more bills; deleting a bill reopens it.
    assert fault_of(bill(qbo, [line("303", 1, 5.5, LinkedTxn=link(po, "2"))]))["code"] == "6000"
    gone = rest.json()["Bill"]
    assert qbo.post("bill?operation=delete", {"Id": gone["Id"], "SyncToken": gone["SyncToken"]}).status_code == 200
    assert qbo.get(f"purchaseorder/{po['Id']}").json()["PurchaseOrder"]["POStatus"] == "Open"


def test_bill_links_are_checked_strictly(qbo):
    po = new_po(qbo)
    # Header-level link to a purchase order: refused (the product links lines).
    header = bill(qbo, [line("301", 1, 10.0)], LinkedTxn=[{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}])
    assert fault_of(header)["code"] == "6000"
    assert fault_of(bill(qbo, [line("301", 1, 10.0, LinkedTxn=link(po, "9"))]))["code"] == "2010"  # no such line
    assert fault_of(bill(qbo, [line("303", 1, 5.5, LinkedTxn=link(po, "1"))]))["code"] == "6000"  # other item
    other_vendor = qbo.post("bill", {"VendorRef": {"value": "102"}, "APAccountRef": {"value": "33"},
                                     "Line": [line("301", 1, 10.0, LinkedTxn=link(po, "1"))]})
    assert fault_of(other_vendor)["code"] == "6000"
    missing = [{"TxnId": "999999", "TxnType": "PurchaseOrder", "TxnLineId": "1"}]
    assert fault_of(bill(qbo, [line("301", 1, 10.0, LinkedTxn=missing)]))["code"] == "610"


def test_purchase_order_in_a_batch(qbo):
    r = qbo.post("batch", {"BatchItemRequest": [
        {"bId": "1", "operation": "create", "PurchaseOrder": {"VendorRef": {"value": "101"}, "DocNumber": "B-1",
                                                              "APAccountRef": {"value": "33"},
                                                              "Line": [line("301", 1, 10.0)]}}]})
    assert r.status_code == 200, r.text
    item = r.json()["BatchItemResponse"][0]
    assert item["PurchaseOrder"]["DocNumber"] == "B-1" and item["PurchaseOrder"]["POStatus"] == "Open"
