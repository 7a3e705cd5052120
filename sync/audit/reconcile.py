"""`atqbo reconcile`: what atqbo made in QuickBooks against what Autotask says, read-only.

Our bills are recognised by the tag in their PrivateNote ("(Autotask PO id N)", the engine's
`po_marker`), so a lost journal does not hide them. What is read is the document `transfer_as`
makes for a PO: bills, or QuickBooks purchase orders (a receipt's bill, which names its PO too,
is not a PO's document); the findings' words name it. The journal adds what was made (bill id,
number) and the history the bill as made (amount, lines), to see later changes in QBO.

Findings, each with what to do:
- `no_write_back`: a bill of ours whose PO's externalPONumber is blank, ERROR or another number;
- `bill_deleted` / `bill_voided`: a PO whose externalPONumber names one of our bills that was
  deleted in QuickBooks or voided there (amount 0, PrivateNote "Voided");
- `bill_changed`: a bill whose amount or number of lines changed in QuickBooks after atqbo made it;
- `duplicate_bills`: two or more of our bills for one PO;
- `cancelled_after_sync`: a PO cancelled in Autotask after its bill was made.
Nothing is written anywhere: each finding says what a person should do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sync.clients.autotask_filters import F
from sync.clients.qbo_query import Select
from sync.engine import documents
from sync.engine.resolve import is_receipt_bill, tagged_po_ids
CHUNK = 200
KINDS = ("no_write_back", "bill_deleted", "bill_voided", "bill_changed", "duplicate_bills", "cancelled_after_sync")
_CANCELLED = {"canceled", "cancelled"}


@dataclass(frozen=True)
class Finding:
    kind: str
    po_id: int
    po_number: str
    bill_id: str
    doc_number: str
    text: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Reconciliation:
    findings: tuple[Finding, ...]
    bills_checked: int  # the documents of ours read: bills, or QBO purchase orders (`document`)
    pos_checked: int
    document: str = "Bill"

    @property
    def made_words(self) -> str:
        """What `bills_checked` counts, for people ("Autotask purchase orders" are the others)."""
        return "bills" if self.document == "Bill" else "QuickBooks purchase orders"

    def counts(self) -> dict[str, int]:
        return {k: sum(f.kind == k for f in self.findings) for k in KINDS}


def _money(value: object) -> Decimal | None:
    try:
        return Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None


def _lines(bill: dict) -> int:
    return sum(1 for line in bill.get("Line") or [] if line.get("DetailType") != "SubTotalLineDetail")


def _voided(bill: dict) -> bool:
    note = str(bill.get("PrivateNote") or "")
    return note.lstrip().lower().startswith("voided") or (_money(bill.get("TotalAmt")) == 0 and "void" in note.lower())


async def reconcile(store: Any, autotask: Any, qbo: Any) -> Reconciliation:
    entity = documents.first_document(store.settings.load())
    doc = documents.label(entity)  # "bill" or "purchase order", in every finding's words
    bills = await qbo.query_all(Select(entity))
    ours: dict[int, list[dict]] = {}
    for bill in bills:
        if is_receipt_bill(bill):
            continue
        named = tagged_po_ids(bill)
        if named:
            ours.setdefault(min(named), []).append(bill)
    # The journal's records of this document (one sent as the other, before transfer_as
    # changed, is not looked for among these).
    journal = {e.po_id: e for e in store.journal.all()
               if (e.bill_id or e.doc_number) and documents.document_of(e) == entity}
    made = store.history.latest_of_kind("bill_created")
    po_ids = sorted(set(ours) | set(journal))
    pos: dict[int, dict] = {}
    for start in range(0, len(po_ids), CHUNK):
        for po in await autotask.query("PurchaseOrders", [F.in_("id", po_ids[start:start + CHUNK])]):
            pos[int(po["id"])] = po
    picklist = await autotask.picklist("PurchaseOrders", "status")
    cancelled = {str(v) for v, label in picklist.labels().items() if str(label).strip().lower() in _CANCELLED}

    findings: list[Finding] = []
    for po_id in po_ids:
        po = pos.get(po_id)
        entry = journal.get(po_id)
        tagged = ours.get(po_id, [])
        number = str((po or {}).get("externalPONumber") or "").strip()
        po_number = str((po or {}).get("purchaseOrderNumber") or (entry.po_number if entry else "") or po_id)
        live = [b for b in tagged if not _voided(b)]

        def add(kind: str, bill: dict | None, text: str, fix: str) -> None:
            findings.append(Finding(kind, po_id, po_number, str((bill or {}).get("Id") or ""),
                                    str((bill or {}).get("DocNumber") or ""), text, fix))

        if len(live) > 1:
            numbers = ", ".join(f"{b.get('DocNumber')} ({entity} {b.get('Id')})" for b in live)
            keep = next((b for b in live if str(b.get("DocNumber")) == number), None)
            keep_words = f"keep {doc} {keep.get('DocNumber')}, the number Autotask holds" if keep else \
                "keep the one you want Autotask to name"
            add("duplicate_bills", live[0], f"PO {po_number} has {len(live)} {doc}s in QuickBooks: {numbers}",
                f"{keep_words}; delete the other in QuickBooks after checking it was not paid")
        if live and number not in {str(b.get("DocNumber")) for b in live}:
            bill = live[0]
            now = "blank" if not number else ("ERROR" if number == "ERROR" else f"{number!r}")
            add("no_write_back", bill,
                f"{doc} {bill.get('DocNumber')} ({entity} {bill.get('Id')}) was made for PO {po_number}, but the PO's "
                f"externalPONumber is {now}",
                f"run `atqbo sync-one {po_id}`: it finds this {doc} (no second one is made) and writes its number back"
                if number in ("", "ERROR") else
                f"set the PO's externalPONumber to {bill.get('DocNumber')} in Autotask, or check which {doc} is right")
        if number and number != "ERROR" and po is not None:
            named = [b for b in tagged if str(b.get("DocNumber")) == number]
            made_here = entry is not None and (entry.doc_number == number)
            if not named and (made_here or tagged):
                add("bill_deleted", {"Id": entry.bill_id if entry else "", "DocNumber": number},
                    f"PO {po_number} names {doc} {number}, but that {doc} is no longer in QuickBooks (deleted)",
                    "if the purchase stands, clear the PO's externalPONumber in Autotask and sync it again "
                    f"(`atqbo sync-one {po_id}`); if not, note on the PO why its {doc} was removed")
            elif named and not [b for b in named if not _voided(b)]:
                add("bill_voided", named[0], f"PO {po_number} names {doc} {number}, which was voided in QuickBooks",
                    "if the purchase stands, clear the PO's externalPONumber in Autotask and sync it again "
                    f"(`atqbo sync-one {po_id}`); if it was cancelled, cancel the PO in Autotask too")
        for bill in live:
            record = made.get(po_id)
            if record is None or str(record.details.get("bill_id")) != str(bill.get("Id")):
                continue
            was_amount, now_amount = _money(record.details.get("amount")), _money(bill.get("TotalAmt"))
            was_lines, now_lines = record.details.get("lines"), _lines(bill)
            changes = []
            if was_amount is not None and now_amount is not None and was_amount != now_amount:
                changes.append(f"amount {was_amount} → {now_amount}")
            if isinstance(was_lines, int) and was_lines != now_lines:
                changes.append(f"lines {was_lines} → {now_lines}")
            if changes:
                add("bill_changed", bill, f"{doc} {bill.get('DocNumber')} for PO {po_number} was changed in QuickBooks "
                    f"after atqbo made it: {', '.join(changes)}",
                    "check the change with whoever made it; if the PO changed, change it in Autotask too, "
                    f"otherwise restore the {doc} to the PO's lines")
        if po is not None and str(po.get("status")) in cancelled and live:
            bill = live[0]
            add("cancelled_after_sync", bill,
                f"PO {po_number} was cancelled in Autotask after {doc} {bill.get('DocNumber')} was made",
                f"if the purchase is really cancelled, void or delete {doc} {bill.get('DocNumber')} in QuickBooks "
                f"(atqbo never deletes a {doc})")
    return Reconciliation(tuple(findings), bills_checked=sum(len(v) for v in ours.values()), pos_checked=len(po_ids),
                          document=entity)
