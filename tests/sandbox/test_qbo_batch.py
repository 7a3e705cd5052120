"""POST /batch (reference/qbo-api.md §6): per-item answers under a batch-level 200, the item limit,
and the rule that items do not see what earlier items of the same payload created."""

from __future__ import annotations

from tests.sandbox.qbo_helpers import fault_of, qbo, qbo_server  # noqa: F401 - fixtures


def item_line(item: str, qty: float, price: float) -> dict:
    return {"DetailType": "ItemBasedExpenseLineDetail", "Amount": round(qty * price, 2),
            "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price}}


def test_mixed_success_and_faults(qbo):
    batch = {"BatchItemRequest": [
        {"bId": "1", "operation": "create", "Vendor": {"DisplayName": "Batch Vendor"}},
        {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Ingram Micro"}},  # 6240
        {"bId": "3", "operation": "create", "Bill": {"VendorRef": {"value": "101"}, "DocNumber": "B-3",
                                                      "Line": [item_line("301", 1, 900)]}},
        {"bId": "4", "operation": "create", "Bill": {"VendorRef": {"value": "101"},
                                                      "Line": [item_line("302", 1, 5)]}},  # 6000
        {"bId": "5", "Query": "select * from Bill where DocNumber = '1001'"},
        {"bId": "6", "Query": "select * from Bill where DocNumber = 'none'"},
        {"bId": "7", "Query": "select * from Bill where DocNumber = 'x' OR DocNumber = 'y'"},  # 4000
    ]}
    r = qbo.post("batch", batch)
    assert r.status_code == 200
    body = r.json()
    assert "time" in body
    by_id = {item["bId"]: item for item in body["BatchItemResponse"]}
    assert by_id["1"]["Vendor"]["DisplayName"] == "Batch Vendor"
    assert by_id["2"]["Fault"]["Error"][0]["code"] == "6240"
    assert by_id["2"]["Fault"]["type"] == "ValidationFault"
    assert by_id["3"]["Bill"]["TotalAmt"] == 900.0
    assert by_id["4"]["Fault"]["Error"][0]["code"] == "6000"
    assert [b["DocNumber"] for b in by_id["5"]["QueryResponse"]["Bill"]] == ["1001"]
    assert by_id["6"]["QueryResponse"] == {}
    assert by_id["7"]["Fault"]["Error"][0]["code"] == "4000"
    assert len(qbo.rows("select * from Bill where DocNumber = 'B-3'", "Bill")) == 1
    assert qbo.rows("select * from Customer where DisplayName = 'Ingram Micro'", "Customer") == []


def test_items_do_not_see_earlier_creates_of_the_same_batch(qbo):
    created = qbo.post("vendor", {"DisplayName": "Probe"}).json()["Vendor"]
    next_id = str(int(created["Id"]) + 1)  # the id the batch's vendor will get
    batch = {"BatchItemRequest": [
        {"bId": "v", "operation": "create", "Vendor": {"DisplayName": "Made In Batch"}},
        {"bId": "b", "operation": "create", "Bill": {"VendorRef": {"value": next_id},
                                                      "Line": [item_line("303", 1, 1)]}},
        {"bId": "q", "Query": "select * from Vendor where DisplayName = 'Made In Batch'"},
        {"bId": "d", "operation": "create", "Vendor": {"DisplayName": "Made In Batch"}},  # uniqueness still holds
    ]}
    by_id = {i["bId"]: i for i in qbo.post("batch", batch).json()["BatchItemResponse"]}
    assert by_id["v"]["Vendor"]["Id"] == next_id
    assert by_id["b"]["Fault"]["Error"][0]["code"] == "2500"
    assert by_id["q"]["QueryResponse"] == {}
    assert by_id["d"]["Fault"]["Error"][0]["code"] == "6240"
    # After the batch, the vendor is there for everyone.
    assert qbo.post("bill", {"VendorRef": {"value": next_id}, "Line": [item_line("303", 1, 1)]}).status_code == 200


def test_more_than_30_items_is_1040_and_nothing_runs(qbo):
    items = [{"bId": str(i), "operation": "create", "Vendor": {"DisplayName": f"Over {i}"}} for i in range(31)]
    r = qbo.post("batch", {"BatchItemRequest": items})
    assert r.status_code == 400
    err = fault_of(r)
    assert err["code"] == "1040" and err["Message"] == "Batch size exceeds allowed limit"
    assert qbo.rows("select * from Vendor where DisplayName LIKE 'Over%'", "Vendor") == []
    r = qbo.post("batch", {"BatchItemRequest": items[:30]})
    assert r.status_code == 200 and len(r.json()["BatchItemResponse"]) == 30
    # The limit is configurable.
    qbo.http.patch("/_sandbox/qbo/limits", json={"batch_max_items": 10})
    assert fault_of(qbo.post("batch", {"BatchItemRequest": items[:11]}))["code"] == "1040"


def test_duplicate_doc_number_option_and_update_in_batch(qbo):
    qbo.http.patch("/_sandbox/qbo/preferences", json={"warn_duplicate_bill_number": True})
    bill = {"VendorRef": {"value": "101"}, "DocNumber": "1001", "Line": [item_line("303", 1, 1)]}
    v = qbo.post("vendor", {"DisplayName": "To Update"}).json()["Vendor"]
    batch = {"BatchItemRequest": [
        {"bId": "a", "operation": "create", "Bill": bill},
        {"bId": "b", "operation": "create", "optionsData": "allowduplicatedocnum", "Bill": bill},
        {"bId": "c", "operation": "update", "Vendor": {**v, "DisplayName": "Updated"}},
    ]}
    by_id = {i["bId"]: i for i in qbo.post("batch", batch).json()["BatchItemResponse"]}
    assert by_id["a"]["Fault"]["Error"][0]["code"] == "6140"
    assert by_id["b"]["Bill"]["DocNumber"] == "1001"
    assert by_id["c"]["Vendor"]["DisplayName"] == "Updated"


def test_malformed_batches(qbo):
    assert fault_of(qbo.post("batch", {"Nope": []}))["code"] == "2020"
    assert fault_of(qbo.post("batch", {"BatchItemRequest": [{"operation": "create", "Vendor": {}}]}))["code"] == "2020"
