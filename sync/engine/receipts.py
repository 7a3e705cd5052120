"""transfer_as = purchase_order_then_bill: a bill for what Autotask records as received, linked
to the PO's QBO purchase order (issue 18).

Which Autotask POs a scan looks at: every PO the journal records as written back as a QBO
purchase order (whatever its Autotask status or age: goods arrive after the window, and the PO's
status moves on to "Received Partial"/"Received Full"), until the ledger marks it closed — every
item received in full and billed, or the QBO purchase order closed or deleted by the bookkeeper.
One scan reads the items and receiving records of all of them in a few `in` queries, and QBO only
for the POs that have receipts not yet billed.

Per PO, one bill covers every receiving record not billed yet: one line per PO item received
(its QBO purchase order line's item, unit price and customer; Qty = the units received; Amount =
round-half-up(Qty × UnitPrice, 2)), each linked to that line; freight goes on the first bill.
Numbers follow `po_number_source`: QBO's bill sequence, or the Autotask PO number with "-R" and
the bill's ordinal (a number QBO already has is an error for that bill).

Exactly once: the bill is written to the ledger (store/receipts.py) with its requestid before it
is sent; the requestid is derived from the PO and the receiving ids it covers, so a resend is a
replay. The PrivateNote names the PO (the same tag as every document) and the receiving ids, and
QBO's purchase order lists its bills, so a lost ledger or a lost reply is settled by reading the
purchase order's bills before anything is sent again.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal

import anyio

from sync.clients.errors import ApiError, QboError
from sync.clients.qbo import BatchItem
from sync.clients.qbo_query import Select
from sync.events import ReceiptBilled, ReceiptBillFailed
from sync.store.journal import JournalState
from sync.store.receipts import PendingBill, ReceiptLedger, ReceiptRecord
from sync.text import for_qbo

from . import causes, documents
from .amounts import json_number, line_amount, round_money, to_decimal
from .causes import Cause
from .context import RunContext
from .currency import CurrencyMode
from .halt import api_words, halt_for
from .numbering import MAX_DOC_NUMBER, BillSequence
from .resolve import po_marker, receipts_tag, tagged_receipts
from .sources import CHUNK
from .tagged_bills import DUPLICATE_REQUEST_ID

S = JournalState
MAX_BATCH = 30
# A receipt's bill failing leaves the PO with its purchase order number (never ERROR).
CAUSES = frozenset({"receipt_purchase_order_deleted", "receipt_purchase_order_changed", "receipt_number_too_long",
                    "receipt_number_taken", "receipt_bill_rejected"})
_NS = uuid.UUID("5b0f4c9e-9a51-4c1e-9d8e-2f4a1c7e6b30")


def receipt_request_id(realm_id: str, po_id: int, receipts: Iterable[int]) -> str:
    ids = ",".join(str(r) for r in sorted(receipts))
    return uuid.uuid5(_NS, f"{realm_id}:{po_id}:receipts:{ids}").hex


@dataclass
class ReceiptsSummary:
    billed: int = 0
    failed: int = 0
    followed: int = 0
    events: list = field(default_factory=list)


@dataclass
class _Bill:
    record: ReceiptRecord
    po_number: str
    qpo: dict
    receipts: tuple[int, ...]
    freight: bool
    payload: dict
    doc_number: str
    request_id: str
    amount: Decimal
    closes: bool


@dataclass(frozen=True)
class DueBill:
    """A receipt bill the next scan would send (for `atqbo plan`): read-only."""

    po_id: int
    po_number: str
    purchase_order: str  # the QBO purchase order's DocNumber
    doc_number: str
    amount: Decimal
    receipts: int
    closes: bool


async def due(ctx: RunContext, ledger: ReceiptLedger) -> tuple[list[DueBill], list[ReceiptBillFailed]]:
    """What `follow` would bill now, and the receipt bills that would fail, without writing
    anything (the same reads; the ledger is only read)."""
    summary, bills, _, _ = await _bills_due(ctx, ledger, None)
    return ([DueBill(b.record.po_id, b.po_number, str(b.qpo.get("DocNumber") or ""), b.doc_number, b.amount,
                     len(b.receipts), b.closes) for b in bills],
            [e for e in summary.events if isinstance(e, ReceiptBillFailed)])


async def _bills_due(ctx: RunContext, ledger: ReceiptLedger, only: set[int] | None
                     ) -> tuple[ReceiptsSummary, list[_Bill], dict[int, ReceiptRecord], dict[int, ReceiptRecord]]:
    """The bills to send and the ledger records to write first; reads only."""
    summary = ReceiptsSummary()
    entries = [e for e in await anyio.to_thread.run_sync(ctx.journal.all)
               if e.state is S.WRITTEN_BACK and documents.document_of(e) == documents.PURCHASE_ORDER
               and e.bill_id and (only is None or e.po_id in only)]
    records = {r.po_id: r for r in await anyio.to_thread.run_sync(ledger.all)}
    followed = [e for e in entries if not (e.po_id in records and records[e.po_id].closed)]
    summary.followed = len(followed)
    if not followed:
        return summary, [], {}, records
    items = await _autotask(ctx, "PurchaseOrderItems", "orderID", [e.po_id for e in followed])
    received = await _autotask(ctx, "PurchaseOrderItemReceiving", "purchaseOrderItemID", [int(i["id"]) for i in items])
    items_of: dict[int, list[dict]] = {}
    for item in sorted(items, key=lambda i: int(i["id"])):  # the order the purchase order's lines were made in
        items_of.setdefault(int(item["orderID"]), []).append(item)
    receipts_of: dict[int, list[dict]] = {}
    for r in received:
        receipts_of.setdefault(int(r["purchaseOrderItemID"]), []).append(r)

    def record_of(po_id: int) -> ReceiptRecord:
        return records.get(po_id) or ReceiptRecord(po_id=po_id)

    def unbilled(po_id: int) -> list[dict]:
        billed = set(record_of(po_id).billed)
        return [r for i in items_of.get(po_id, []) for r in receipts_of.get(int(i["id"]), []) if int(r["id"]) not in billed]

    owed = [e for e in followed if unbilled(e.po_id) or record_of(e.po_id).pending]
    if not owed:
        return summary, [], {}, records
    qpos = {str(p["Id"]): p for p in await _qbo_by_ids(ctx, "PurchaseOrder", [str(e.bill_id) for e in owed])}
    await _settle_from_qbo(ctx, owed, qpos, records)

    bills: list[_Bill] = []
    changed: dict[int, ReceiptRecord] = {}
    sequence: BillSequence | None = None
    for e in owed:
        record = record_of(e.po_id)
        number = e.po_number or str(e.po_id)
        qpo = qpos.get(str(e.bill_id))
        if qpo is None or qpo.get("POStatus") == "Closed":
            # Deleted, or closed in QBO by the bookkeeper: nothing more is billed against it.
            changed[e.po_id] = replace(record, closed=True, pending=None)
            if qpo is None:
                summary.events.append(_failed(e.po_id, number, causes.make("receipt_purchase_order_deleted",
                                                                           doc_number=e.doc_number)))
            continue
        pending = record.pending
        todo = [r for r in unbilled(e.po_id) if pending is None or int(r["id"]) in pending.receipts]
        if not todo:
            changed[e.po_id] = replace(record, pending=None)
            continue
        ids = tuple(sorted(int(r["id"]) for r in todo))
        freight = not record.freight_billed
        try:
            lines, amount, with_freight = _lines(qpo, items_of.get(e.po_id, []), todo, freight)
        except _Mismatch as problem:
            summary.events.append(_failed(e.po_id, number, problem.cause))
            continue
        if pending is not None:
            doc_number, rid = pending.doc_number, pending.request_id
        elif ctx.numbers_from_autotask:
            doc_number = f"{number}-R{len(record.bills) + 1}"
            rid = receipt_request_id(ctx.qbo.realm_id, e.po_id, ids)
        else:
            if sequence is None:
                sequence = await _bill_sequence(ctx, records.values())
            doc_number, rid = sequence.take(), receipt_request_id(ctx.qbo.realm_id, e.po_id, ids)
        if len(doc_number) > MAX_DOC_NUMBER:
            summary.events.append(_failed(e.po_id, number, causes.make("receipt_number_too_long", doc_number=doc_number)))
            continue
        payload = {"VendorRef": {"value": qpo["VendorRef"]["value"]},
                   "APAccountRef": {"value": qpo["APAccountRef"]["value"]},
                   "DocNumber": doc_number, "Line": lines,
                   "PrivateNote": f"Autotask purchase order {for_qbo(number)} {po_marker(e.po_id)} "
                                  f"{receipts_tag(ids, with_freight)}, received goods, transferred by atqbo"}
        if ctx.currency.mode is not CurrencyMode.SINGLE and qpo.get("CurrencyRef"):
            payload["CurrencyRef"] = {"value": qpo["CurrencyRef"]["value"]}
        closes = _all_received(items_of.get(e.po_id, []), receipts_of) and len(todo) == len(unbilled(e.po_id))
        bills.append(_Bill(record, number, qpo, ids, with_freight, payload, doc_number, rid, amount, closes))
        changed[e.po_id] = replace(record, pending=PendingBill(rid, ids, doc_number))

    if ctx.numbers_from_autotask and bills:
        bills = await _free_numbers(ctx, bills, summary)
    return summary, bills, changed, records


async def follow(ctx: RunContext, ledger: ReceiptLedger, *, only: set[int] | None = None,
                 _depth: int = 0) -> ReceiptsSummary:
    """Bill every receipt not billed yet of the POs followed (see the module text)."""
    summary, bills, changed, records = await _bills_due(ctx, ledger, only)
    if not bills and not changed:
        for event in summary.events:
            ctx.publish(event)
        summary.failed = sum(1 for ev in summary.events if isinstance(ev, ReceiptBillFailed))
        return summary
    # Every bill about to be sent is in the ledger first (durable), with its requestid.
    await anyio.to_thread.run_sync(ledger.put_many, list(changed.values()))
    records.update(changed)
    done: list[ReceiptRecord] = []
    for start in range(0, len(bills), MAX_BATCH):
        group = bills[start:start + MAX_BATCH]
        for b, (bill, fault) in zip(group, await _send(ctx, group)):
            record = records[b.record.po_id]
            if bill is not None:
                record = record.with_bill(str(bill["Id"]), b.receipts, freight=b.freight)
                record = replace(record, closed=b.closes)
                done.append(record)
                summary.billed += 1
                summary.events.append(ReceiptBilled(
                    po_id=b.record.po_id, po_number=b.po_number, bill_id=str(bill["Id"]),
                    doc_number=str(bill.get("DocNumber") or b.doc_number), purchase_order=str(b.qpo.get("DocNumber") or ""),
                    amount=b.amount, currency=str((b.qpo.get("CurrencyRef") or {}).get("value") or "")
                    if ctx.currency.mode is not CurrencyMode.SINGLE else "", receipts=len(b.receipts), closed=b.closes))
            elif fault is not None and (halt_for(fault) is not None or fault.code == DUPLICATE_REQUEST_ID):
                continue  # it may exist: stays pending, looked up in QBO next run
            else:
                done.append(replace(record, pending=None))
                code = "receipt_number_taken" if fault is not None and fault.code == "6140" else "receipt_bill_rejected"
                cause = causes.make(code, doc_number=b.doc_number, api=api_words(fault) if fault else "no result")
                summary.events.append(_failed(b.record.po_id, b.po_number, cause))
    await anyio.to_thread.run_sync(ledger.put_many, done)
    summary.failed = sum(1 for ev in summary.events if isinstance(ev, ReceiptBillFailed))
    for event in summary.events:
        ctx.publish(event)
    # A bill resent from an earlier run covered only its own receipts: those that came since
    # are billed now, not a scan later.
    resent = {r.po_id for r in done if r.bills and any(b.record.po_id == r.po_id and b.record.pending for b in bills)}
    if resent and _depth == 0:
        more = await follow(ctx, ledger, only=resent, _depth=1)
        summary.billed += more.billed
        summary.failed += more.failed
        summary.events += more.events
    return summary


class _Mismatch(Exception):
    def __init__(self, cause: Cause) -> None:
        super().__init__(cause.cause)
        self.cause = cause


def _lines(qpo: dict, items: list[dict], todo: list[dict], freight: bool) -> tuple[list[dict], Decimal, bool]:
    """The bill's lines for these receipts, each linked to its purchase order line."""
    po_lines = [l for l in qpo.get("Line") or [] if l.get("DetailType") == "ItemBasedExpenseLineDetail"]
    if len(po_lines) < len(items):
        raise _Mismatch(causes.make("receipt_purchase_order_changed", doc_number=qpo.get("DocNumber")))
    qty_of: dict[int, int] = {}
    for r in todo:
        qty_of[int(r["purchaseOrderItemID"])] = qty_of.get(int(r["purchaseOrderItemID"]), 0) + int(r.get("quantityNowReceiving") or 0)
    lines: list[dict] = []
    total = Decimal(0)
    picked = [(po_lines[n], qty_of[int(item["id"])]) for n, item in enumerate(items) if qty_of.get(int(item["id"]))]
    with_freight = freight and len(po_lines) > len(items)
    if with_freight:
        picked += [(line, 1) for line in po_lines[len(items):]]
    for po_line, qty in picked:
        detail = po_line.get("ItemBasedExpenseLineDetail") or {}
        price = to_decimal(detail.get("UnitPrice"))
        if not (detail.get("ItemRef") or {}).get("value"):
            raise _Mismatch(causes.make("receipt_purchase_order_changed", doc_number=qpo.get("DocNumber")))
        amount = line_amount(Decimal(qty), price)
        out = {"ItemRef": {"value": detail["ItemRef"]["value"]}, "Qty": qty, "UnitPrice": json_number(price)}
        for key in ("CustomerRef", "BillableStatus"):
            if detail.get(key):
                out[key] = {"value": detail[key]["value"]} if key == "CustomerRef" else detail[key]
        line = {"DetailType": "ItemBasedExpenseLineDetail", "Amount": json_number(amount),
                "ItemBasedExpenseLineDetail": out,
                "LinkedTxn": [{"TxnId": str(qpo["Id"]), "TxnType": "PurchaseOrder", "TxnLineId": str(po_line["Id"])}]}
        if po_line.get("Description"):
            line["Description"] = po_line["Description"]
        lines.append(line)
        total += amount
    return lines, round_money(total), with_freight


def _all_received(items: list[dict], receipts_of: dict[int, list[dict]]) -> bool:
    return all(sum(int(r.get("quantityNowReceiving") or 0) for r in receipts_of.get(int(i["id"]), []))
               >= int(i.get("quantity") or 0) for i in items)


def _failed(po_id: int, po_number: str, cause: Cause) -> ReceiptBillFailed:
    return ReceiptBillFailed(po_id=po_id, po_number=po_number, cause_code=cause.code, cause=cause.cause, fix=cause.fix)


async def _autotask(ctx: RunContext, entity: str, field_name: str, ids: list[int]) -> list[dict]:
    from sync.clients.autotask_filters import F

    out: list[dict] = []
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        out.extend(await ctx.at.query(entity, [F.in_(field_name, wanted[start:start + CHUNK])]))
    return out


async def _qbo_by_ids(ctx: RunContext, entity: str, ids: list[str]) -> list[dict]:
    out: list[dict] = []
    wanted = sorted(set(ids), key=lambda i: (len(i), i))
    for start in range(0, len(wanted), 500):
        out += await ctx.qbo.query_all(Select(entity).where("Id", "IN", wanted[start:start + 500]))
    return out


async def _settle_from_qbo(ctx: RunContext, due: list, qpos: dict[str, dict], records: dict[int, ReceiptRecord]) -> None:
    """The purchase order lists its bills: any the ledger does not know (a lost reply, a lost
    ledger) are read and their receipts counted as billed."""
    unknown: dict[str, int] = {}
    for e in due:
        qpo = qpos.get(str(e.bill_id)) or {}
        known = set((records.get(e.po_id) or ReceiptRecord(e.po_id)).bills)
        for link in qpo.get("LinkedTxn") or []:
            if link.get("TxnType") == "Bill" and str(link.get("TxnId")) not in known:
                unknown[str(link["TxnId"])] = e.po_id
    if not unknown:
        return
    for bill in await _qbo_by_ids(ctx, "Bill", list(unknown)):
        po_id = unknown.get(str(bill.get("Id")))
        if po_id is None or po_marker(po_id) not in str(bill.get("PrivateNote") or ""):
            continue
        ids, freight = tagged_receipts(bill)
        record = records.get(po_id) or ReceiptRecord(po_id=po_id)
        pending = record.pending
        record = record.with_bill(str(bill["Id"]), tuple(ids), freight=freight)
        if pending is not None and not set(pending.receipts) <= set(record.billed):
            record = replace(record, pending=pending)  # another bill: this one is still to be looked for
        records[po_id] = record


async def _bill_sequence(ctx: RunContext, records: Iterable[ReceiptRecord]) -> BillSequence:
    numbers = [str(b.get("DocNumber") or "") async for b in ctx.qbo.query_iter(Select("Bill"))]
    return BillSequence([*numbers, *(r.pending.doc_number for r in records if r.pending)])


async def _free_numbers(ctx: RunContext, bills: list[_Bill], summary: ReceiptsSummary) -> list[_Bill]:
    """Autotask numbering: a number a QBO bill already has (not this one's own) fails that bill."""
    existing = await ctx.resolver.bills_with_numbers([b.doc_number for b in bills], documents.BILL)
    taken = {str(b.get("DocNumber") or "") for b in existing}
    keep = []
    for b in bills:
        if b.doc_number in taken and b.record.pending is None:
            summary.events.append(_failed(b.record.po_id, b.po_number,
                                          causes.make("receipt_number_taken", doc_number=b.doc_number)))
        else:
            keep.append(b)
    return keep


async def _send(ctx: RunContext, group: list[_Bill]) -> list[tuple[dict | None, QboError | None]]:
    if len(group) == 1:
        try:
            return [(await ctx.qbo.create(documents.BILL, group[0].payload, requestid=group[0].request_id), None)]
        except QboError as exc:
            if halt_for(exc) is not None and exc.code != DUPLICATE_REQUEST_ID:
                raise
            return [(None, exc)]
    rid = uuid.uuid5(_NS, f"{ctx.qbo.realm_id}:receipt-batch:{','.join(sorted(b.request_id for b in group))}").hex
    items = [BatchItem.create(documents.BILL, b.payload, bid=str(i)) for i, b in enumerate(group)]
    try:
        results = await ctx.qbo.batch(items, chunk_size=len(items), requestid=rid)
    except ApiError as exc:
        if isinstance(exc, QboError) and exc.code == DUPLICATE_REQUEST_ID:
            return [(None, exc) for _ in group]
        raise
    return [(r.entity, r.fault) for r in results]
