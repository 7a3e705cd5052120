"""Reading purchase orders and what they reference from Autotask, in bulk.

A scan reads the eligible POs with one query, then their items, organizations and products
with `in` filters (a few hundred ids per query), so the number of Autotask calls grows with
pages, not with POs. A single-PO sync goes through the same path with one id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sync.clients.autotask import AutotaskClient
from sync.clients.autotask_filters import F

from .scan import SUBMITTED_LABEL, is_eligible, window_start

CHUNK = 200  # ids per `in` filter


@dataclass
class PoData:
    """A purchase order with everything the bill needs from Autotask."""

    po: dict
    items: list[dict] = field(default_factory=list)
    vendor: dict | None = None  # the vendorID company
    customer: dict | None = None  # the purchaseForCompanyID company (None when unset or 0)
    products: dict[int, dict] = field(default_factory=dict)

    @property
    def po_id(self) -> int:
        return int(self.po["id"])

    @property
    def po_number(self) -> str:
        return str(self.po.get("purchaseOrderNumber") or self.po["id"])


async def submitted_value(at: AutotaskClient) -> int:
    """The tenant's value for the "Submitted" PO status, read from the picklist by label.
    The cached field information is dropped first: a tenant's picklist can change."""
    at.forget_fields()
    picklist = await at.picklist("PurchaseOrders", "status")
    return int(picklist.value_for(SUBMITTED_LABEL))


async def eligible_pos(at: AutotaskClient, submitted: int, since: datetime) -> list[dict]:
    """Submitted POs created since `since` (the blank externalPONumber check is the caller's)."""
    return await at.query("PurchaseOrders", [F.eq("status", submitted), F.gte("createDateTime", since)])


def eligible_iter(at: AutotaskClient, submitted: int, since: datetime) -> AsyncIterator[dict]:
    """The same POs page by page, as they arrive (a scan streams them)."""
    return at.query_iter("PurchaseOrders", [F.eq("status", submitted), F.gte("createDateTime", since)])


async def read_eligible(at: AutotaskClient, days_back: int, now: datetime) -> tuple[int, list[dict]]:
    """The tenant's "Submitted" value and the eligible POs (DESIGN §1 "Eligibility"), in id order."""
    submitted = await submitted_value(at)
    since = window_start(now, days_back)
    found = await eligible_pos(at, submitted, since)
    chosen = {int(p["id"]): p for p in found if is_eligible(p, submitted, since)}
    return submitted, [chosen[k] for k in sorted(chosen)]


async def _by_ids(at: AutotaskClient, entity: str, field_name: str, ids: Iterable[int]) -> list[dict]:
    wanted = sorted({int(i) for i in ids if i is not None})
    out: list[dict] = []
    for start in range(0, len(wanted), CHUNK):
        out.extend(await at.query(entity, [F.in_(field_name, wanted[start:start + CHUNK])]))
    return out


def _company_id(value: object) -> int | None:
    try:
        cid = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return cid


@dataclass
class References:
    """Companies and products a scan has read already: its POs share vendors and products, so
    a later chunk asks only for the ones it has not seen. At most `limit` of each are kept (the
    oldest go first), so memory stays bounded whatever the size of the catalogue."""

    limit: int = 2_000
    companies: dict[int, dict] = field(default_factory=dict)
    products: dict[int, dict] = field(default_factory=dict)

    async def fetch(self, at: AutotaskClient, entity: str, ids: set[int]) -> dict[int, dict]:
        known = self.companies if entity == "Companies" else self.products
        found = {i: known[i] for i in ids if i in known}
        for record in await _by_ids(at, entity, "id", ids - set(found)):
            rid = int(record["id"])
            found[rid] = record
            known.pop(rid, None)
            known[rid] = record
            while len(known) > self.limit:
                del known[next(iter(known))]
        return found


async def load(at: AutotaskClient, pos: list[dict], refs: References | None = None) -> list[PoData]:
    """Each PO with its items, vendor, "purchase for" organization and products (`refs`: what
    the scan has read already, and keeps what is read now)."""
    if not pos:
        return []
    refs = refs if refs is not None else References()
    po_ids = [int(p["id"]) for p in pos]
    items = await _by_ids(at, "PurchaseOrderItems", "orderID", po_ids)
    company_ids: set[int] = set()
    for p in pos:
        for key in ("vendorID", "purchaseForCompanyID"):
            cid = _company_id(p.get(key))
            if cid is not None and (key == "vendorID" or cid != 0):
                company_ids.add(cid)
    companies = await refs.fetch(at, "Companies", company_ids)
    product_ids = {int(i["productID"]) for i in items if i.get("productID") not in (None, "", 0)}
    products = await refs.fetch(at, "Products", product_ids)

    by_po: dict[int, list[dict]] = {pid: [] for pid in po_ids}
    for item in items:
        by_po.setdefault(int(item["orderID"]), []).append(item)
    out = []
    for p in pos:
        lines = sorted(by_po.get(int(p["id"]), []), key=lambda i: int(i["id"]))
        vendor_id = _company_id(p.get("vendorID"))
        customer_id = _company_id(p.get("purchaseForCompanyID"))
        out.append(PoData(
            po=p, items=lines,
            vendor=companies.get(vendor_id) if vendor_id is not None else None,
            customer=companies.get(customer_id) if customer_id not in (None, 0) else None,
            products={int(i["productID"]): products[int(i["productID"])] for i in lines
                      if i.get("productID") not in (None, "", 0) and int(i["productID"]) in products},
        ))
    return out


async def pos_by_ids(at: AutotaskClient, po_ids: Iterable[int]) -> dict[int, dict]:
    """The POs with these ids (absent: deleted or not visible), with `in` filters."""
    return {int(p["id"]): p for p in await _by_ids(at, "PurchaseOrders", "id", po_ids)}


async def load_one(at: AutotaskClient, po_id: int) -> PoData | None:
    po = await at.get("PurchaseOrders", po_id)
    if po is None:
        return None
    return (await load(at, [po]))[0]


async def multicurrency_currencies(at: AutotaskClient) -> list[dict] | None:
    """Autotask's active currencies, or None when the entity cannot be queried (multi-currency
    not enabled in the tenant, or no permission: both mean single-currency here)."""
    from sync.clients.errors import AutotaskNotFound, AutotaskPermissionError, AutotaskValidationError

    try:
        return await at.query("Currencies", [F.eq("isActive", True)])
    except (AutotaskPermissionError, AutotaskNotFound, AutotaskValidationError):
        return None
