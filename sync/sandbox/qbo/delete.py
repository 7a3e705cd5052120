"""POST ?operation=delete, one rule for the entity endpoint (app.py) and a batch item (batch.py)."""

from __future__ import annotations

from . import faults, purchase_orders, validation
from .faults import QboFault
from .store import Store


def delete_record(store: Store, entity: str, payload: object) -> dict:
    """POST ?operation=delete: transactions are deleted; name lists are only made inactive (§4.1)."""
    if not isinstance(payload, dict) or not payload.get("Id"):
        raise faults.required("Id")
    if entity not in ("Bill", "PurchaseOrder"):
        raise faults.unsupported(f"delete of {entity} (make it inactive with Active=false)")
    with store.lock:
        existing = store.get(entity, payload["Id"])
        if existing is None:
            raise faults.QboFault("610", "Object Not Found",
                                  "Object Not Found : Another user has deleted this transaction.")
        if str(payload.get("SyncToken")) != existing["SyncToken"]:
            raise QboFault("5010", "Stale Object Error",
                           "Stale Object Error : You and sandbox were working on this at the same time. sandbox "
                           f"finished before you did, so your work was not saved. Entity={entity}")
        if entity == "PurchaseOrder" and any(existing["Id"] in purchase_orders.linked_pos(b) for b in store.all("Bill")):
            raise faults.business("This purchase order is linked to a bill; delete or unlink the bill first.")
        if entity == "Bill":
            validation.apply_bill_to_balances(store, existing, -1)
        store.remove(entity, existing["Id"])
        if entity == "Bill":
            purchase_orders.refresh(store, purchase_orders.linked_pos(existing))
        return {"status": "Deleted", "domain": "QBO", "Id": existing["Id"]}
