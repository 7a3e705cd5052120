"""QBO PurchaseOrder (`/purchaseorder`) and the link from a bill that closes it.

A purchase order shares the Bill's fields (reference §4.8; XSD `PurchaseOrder`) but posts
nothing: no Balance, no vendor or A/P balance change. `POStatus` is `Open | Closed`
(XSD `PurchaseOrderStatusEnum`), Open when created.

A bill is linked to a purchase order line by line: `Line[].LinkedTxn [{TxnId, TxnType:
"PurchaseOrder", TxnLineId}]` (XSD: `LinkedTxn` on `Line`, with `TxnLineId`). Which lines a
header-level `LinkedTxn` would consume is not defined anywhere we could read, so the emulator is
the stricter side and refuses a header link to a purchase order (UNVERIFIED; the product links
lines). QBO then records the bill on the purchase order (`LinkedTxn {TxnId, TxnType: "Bill"}`)
and closes it when every item line is billed in full; deleting the bill reopens it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from . import faults
from .faults import QboFault
from .store import Store

PO_STATUSES = ("Open", "Closed")


def _qty(detail: dict) -> Decimal:
    return Decimal(str(detail.get("Qty") or 0))


def build_purchase_order(payload: dict, store: Store, include: frozenset[str], existing: dict | None,
                         build_bill: Callable[..., dict]) -> dict:
    """`build_bill`: validation's Bill builder, one set of line, currency and account rules for both."""
    if not isinstance(payload, dict):
        raise faults.invalid_value("PurchaseOrder", "PurchaseOrder must be an object")
    status = payload.get("POStatus", existing.get("POStatus") if existing else "Open")
    if status not in PO_STATUSES:
        raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {status}", element="POStatus")
    if payload.get("LinkedTxn") and (existing is None or payload["LinkedTxn"] != existing.get("LinkedTxn")):
        raise faults.business("LinkedTxn on a purchase order is kept by QuickBooks; link from the bill instead.",
                              element="LinkedTxn")
    for line in payload.get("Line") or []:
        if isinstance(line, dict) and line.get("LinkedTxn"):
            raise faults.business("A purchase order line cannot link another transaction.", element="Line.LinkedTxn")
    rec = build_bill({k: v for k, v in payload.items() if k not in ("POStatus", "LinkedTxn")}, store,
                     include | {"allowduplicatedocnum"}, existing, linkable=False)
    for key in ("Balance", "HomeBalance"):
        rec.pop(key, None)
    doc = rec.get("DocNumber")
    if doc is not None and "allowduplicatedocnum" not in include:
        # [U] whether QBO refuses a repeated PO number: the stricter side refuses it (code 6140, as bills).
        for other in store.all("PurchaseOrder"):
            if (existing is None or other["Id"] != existing["Id"]) and other.get("DocNumber") == doc:
                raise faults.duplicate_doc_number(doc, other["Id"])
    rec["POStatus"] = status
    if existing is not None and existing.get("LinkedTxn"):
        rec["LinkedTxn"] = existing["LinkedTxn"]
    return rec


def check_line_link(store: Store, line: dict, vendor_id: str, item_id: str | None, qty: Decimal) -> list[dict]:
    """The validated LinkedTxn of one bill line (empty when it links nothing)."""
    links = line.get("LinkedTxn")
    if links in (None, []):
        return []
    if not isinstance(links, list) or len(links) != 1 or not isinstance(links[0], dict):
        raise faults.invalid_value("Line.LinkedTxn", "A bill line links at most one purchase order line")
    link = links[0]
    if link.get("TxnType") != "PurchaseOrder":
        raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {link.get('TxnType')}",
                       element="Line.LinkedTxn.TxnType")
    po = store.get("PurchaseOrder", link.get("TxnId"))
    if po is None or ("PurchaseOrder", po["Id"]) in store.hidden:
        raise faults.not_found("PurchaseOrder", str(link.get("TxnId")))
    if po["VendorRef"]["value"] != vendor_id:
        raise faults.business(f"The purchase order {po['Id']} is for another vendor.", element="Line.LinkedTxn")
    if po.get("POStatus") != "Open":
        raise faults.business(f"The purchase order {po['Id']} is closed.", element="Line.LinkedTxn")
    po_line = next((pl for pl in po["Line"] if pl["Id"] == str(link.get("TxnLineId"))), None)
    if po_line is None:
        raise faults.invalid_value("Line.LinkedTxn.TxnLineId",
                                   f"The purchase order {po['Id']} has no line {link.get('TxnLineId')}")
    detail = po_line.get("ItemBasedExpenseLineDetail") or {}
    if item_id is None or (detail.get("ItemRef") or {}).get("value") != item_id:
        raise faults.business(f"Line {po_line['Id']} of purchase order {po['Id']} is for another item.",
                              element="Line.LinkedTxn")
    if billed_qty(store, po["Id"], po_line["Id"]) + qty > _qty(detail):
        raise faults.business(f"Line {po_line['Id']} of purchase order {po['Id']} has fewer units left to bill.",
                              element="Line.ItemBasedExpenseLineDetail.Qty")
    return [{"TxnId": po["Id"], "TxnType": "PurchaseOrder", "TxnLineId": po_line["Id"]}]


def _links(bill: dict):
    for line in bill.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            yield line, link


def billed_qty(store: Store, po_id: str, line_id: str) -> Decimal:
    total = Decimal(0)
    for bill in store.all("Bill"):
        for line, link in _links(bill):
            if link["TxnId"] == po_id and link["TxnLineId"] == line_id:
                total += _qty(line.get("ItemBasedExpenseLineDetail") or {})
    return total


def linked_pos(bill: dict | None) -> set[str]:
    return {link["TxnId"] for _, link in _links(bill or {})}


def refresh(store: Store, po_ids: set[str]) -> None:
    """After a bill is written or deleted: its purchase orders' bill links and status."""
    for po_id in po_ids:
        po = store.get("PurchaseOrder", po_id)
        if po is None:
            continue
        bills = sorted((b["Id"] for b in store.all("Bill") if po_id in linked_pos(b)), key=lambda i: (len(i), i))
        full = all(billed_qty(store, po_id, pl["Id"]) >= _qty(pl.get("ItemBasedExpenseLineDetail") or {})
                   for pl in po["Line"] if (pl.get("ItemBasedExpenseLineDetail") or {}).get("ItemRef"))
        status = "Closed" if full and bills else "Open"
        links = [{"TxnId": b, "TxnType": "Bill"} for b in bills]
        if status != po.get("POStatus") or links != (po.get("LinkedTxn") or []):
            updated = {**po, "POStatus": status}
            updated.pop("LinkedTxn", None)
            if links:
                updated["LinkedTxn"] = links
            store.replace("PurchaseOrder", updated)
