"""POST /batch (reference/qbo-api.md §6): up to `batch_max_items` BatchItemRequest entries, each
answered on its own (entity, QueryResponse or Fault) under a batch-level 200. Items run serially,
but an item cannot see what earlier items of the same payload created (B-BATCH17): references to
those records fail and queries do not return them. Uniqueness checks do see them (serial writes).
"""

from __future__ import annotations

from collections.abc import Callable

from . import faults, validation
from .faults import QboFault, now_iso
from .delete import delete_record  # the same rule as POST ?operation=delete
from .store import Store

ENTITY_KEYS = ("Vendor", "Customer", "Item", "Account", "Bill", "PurchaseOrder")
MAX_BID_WITH_REQUESTID = 10


def run_batch(body: object, store: Store, max_items: int, with_requestid: bool,
              run_query: Callable[[str], dict]) -> dict:
    if not isinstance(body, dict) or not isinstance(body.get("BatchItemRequest"), list):
        raise faults.required("BatchItemRequest")
    items = body["BatchItemRequest"]
    if len(items) > max_items:
        raise faults.batch_too_large(max_items)
    for item in items:
        if not isinstance(item, dict) or not item.get("bId"):
            raise faults.required("bId")
        if with_requestid and len(str(item["bId"])) > MAX_BID_WITH_REQUESTID:
            # B-REQID: with a batch-level requestid each bId is limited to 10 characters.
            raise faults.too_long("bId", MAX_BID_WITH_REQUESTID, len(str(item["bId"])))
    responses = []
    with store.lock:
        store.hidden.clear()
        try:
            for item in items:
                responses.append({"bId": str(item["bId"]), **_run_item(item, store, run_query)})
        finally:
            store.hidden.clear()
    return {"BatchItemResponse": responses, "time": now_iso()}


def _run_item(item: dict, store: Store, run_query: Callable[[str], dict]) -> dict:
    try:
        if "Query" in item:
            if not isinstance(item["Query"], str):
                raise faults.required("Query")
            return {"QueryResponse": run_query(item["Query"])["QueryResponse"]}
        keys = [k for k in ENTITY_KEYS if k in item]
        if len(keys) != 1:
            raise faults.required("entity")
        entity = keys[0]
        operation = item.get("operation", "create")
        options = frozenset(str(item.get("optionsData", "")).replace(" ", "").lower().split(",")) - {""}
        payload = item[entity]
        if operation == "create":
            rec = validation.create(store, entity, payload, include=options)
            store.hidden.add((entity, rec["Id"]))
            return {entity: rec}
        if operation == "update":
            return {entity: validation.update(store, entity, payload, include=options)}
        if operation == "delete":
            return {entity: delete_record(store, entity, payload)}
        raise faults.unsupported(str(operation))
    except QboFault as fault:
        return {"Fault": fault.fault()}
