"""Autotask's item receiving records over real sockets (swagger PurchaseOrderItemReceivingModel):
fields, root query and GET, child access under PurchaseOrderItems, and what a receipt may hold."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.sandbox.autotask import empty_autotask_seed
from sync.sandbox.autotask.seed import AutotaskSeed
from sync.sandbox.demo import demo_seed
from tests.sandbox.autotask_helpers import AT, error_of, serve


def tenant() -> AutotaskSeed:
    seed = empty_autotask_seed()
    v = seed.add_vendor("Ingram Micro", id=100)
    p = seed.add_product("Laptop 14", 800.0, id=300)
    seed.add_po(v, "Submitted", id=1001, items=[{"productID": p, "quantity": 5, "unitCost": 800.0, "id": 7001}])
    seed.add_po(v, "New", id=1002, items=[{"productID": p, "quantity": 1, "unitCost": 800.0, "id": 7002}])
    seed.receive(7001, 2)
    return seed


@pytest.fixture
def at() -> Iterator[AT]:
    seed = tenant()
    with serve(seed) as server:
        client = AT(server, seed)
        yield client
        client.close()


def test_receipts_query_by_item_and_read_under_the_item(at: AT) -> None:
    r = at.query("PurchaseOrderItemReceiving", {"filter": [{"op": "in", "field": "purchaseOrderItemID",
                                                            "value": [7001, 7002]}]})
    assert r.status_code == 200, r.text
    [rec] = r.json()["items"]
    assert rec["purchaseOrderItemID"] == 7001 and rec["quantityNowReceiving"] == 2
    assert rec["quantityPreviouslyReceived"] == 0 and rec["quantityBackOrdered"] == 3
    assert set(rec) >= {"id", "receiveDate", "receivedByResourceID", "serialNumber", "vendorInvoiceNumber"}
    child = at.get("PurchaseOrderItems/7001/Receiving")
    assert [x["id"] for x in child.json()["items"]] == [rec["id"]]
    assert at.get(f"PurchaseOrderItemReceiving/{rec['id']}").json()["item"]["id"] == rec["id"]
    fields = {f["name"] for f in at.get("PurchaseOrderItemReceiving/entityInformation/fields").json()["fields"]}
    assert "quantityNowReceiving" in fields and "purchaseOrderItemID" in fields


def test_receiving_is_created_under_its_item_and_counts_what_came_before(at: AT) -> None:
    r = at.post("PurchaseOrderItems/7001/Receiving", {"quantityNowReceiving": 3})
    assert r.status_code == 200, r.text
    rec = at.get(f"PurchaseOrderItemReceiving/{r.json()['itemId']}").json()["item"]
    assert rec["quantityPreviouslyReceived"] == 2 and rec["quantityBackOrdered"] == 0
    # Nothing left to receive; a PO not yet submitted receives nothing; no root create, no PATCH.
    assert "outstanding" in error_of(at.post("PurchaseOrderItems/7001/Receiving", {"quantityNowReceiving": 1}))
    assert "submitted" in error_of(at.post("PurchaseOrderItems/7002/Receiving", {"quantityNowReceiving": 1}))
    assert at.post("PurchaseOrderItemReceiving", {"purchaseOrderItemID": 7001, "quantityNowReceiving": 1}).status_code >= 400
    assert at.patch("PurchaseOrderItemReceiving", {"id": rec["id"], "serialNumber": "x"}).status_code >= 400
    assert "read-only" in error_of(at.post("PurchaseOrderItems/7002/Receiving",
                                           {"quantityNowReceiving": 1, "quantityBackOrdered": 0}))


def test_demo_has_purchase_orders_partly_and_fully_received() -> None:
    seed = demo_seed().autotask
    items = seed.entities["PurchaseOrderItems"]
    received: dict[int, int] = {}
    for rec in seed.entities["PurchaseOrderItemReceiving"].values():
        received[rec["purchaseOrderItemID"]] = received.get(rec["purchaseOrderItemID"], 0) + rec["quantityNowReceiving"]
    by_po: dict[int, list[tuple[int, int]]] = {}
    for item_id, item in items.items():
        by_po.setdefault(item["orderID"], []).append((received.get(item_id, 0), item["quantity"]))
    full = [po for po, qs in by_po.items() if all(r == q for r, q in qs)]
    partly = [po for po, qs in by_po.items() if any(r for r, _ in qs) and po not in full]
    submitted = seed.picklist_value("PurchaseOrders", "status", "Submitted")
    pos = seed.entities["PurchaseOrders"]
    assert any(pos[p]["status"] == submitted for p in full) and any(pos[p]["status"] == submitted for p in partly)
