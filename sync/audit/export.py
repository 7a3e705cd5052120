"""`atqbo export`: one row per purchase order atqbo handled, for the accountant's spreadsheet.

Rows come from the journal (every PO handled and where it stands), the history (the bill as
made: vendor, customer, amount, currency, when) and the error log (the last error). CSV cells
a spreadsheet would take for a formula (starting with = + - @, a tab or a CR) get a leading
apostrophe, OWASP's advice for CSV injection, so a hostile vendor name stays text."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, IO

from sync.engine import documents

COLUMNS = ("autotask_po_id", "autotask_po_number", "qbo_bill_id", "qbo_doc_number", "vendor", "customer",
           "amount", "currency", "first_seen_at", "synced_at", "updated_at", "state", "last_error",
           "qbo_document")  # appended last (issue 18): what qbo_bill_id names, "Bill" or "PurchaseOrder"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportRow:
    autotask_po_id: int
    autotask_po_number: str
    qbo_bill_id: str
    qbo_doc_number: str
    vendor: str
    customer: str
    amount: str
    currency: str
    first_seen_at: str
    synced_at: str
    updated_at: str
    state: str
    last_error: str
    qbo_document: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def rows(store: Any, since: date | None = None) -> list[ExportRow]:
    """Every PO in the journal whose last change is on or after `since`, by Autotask id."""
    entries = store.journal.all()
    bills = store.history.latest_of_kind("bill_created")
    out: list[ExportRow] = []
    for entry in sorted(entries, key=lambda e: e.po_id):
        if since is not None and (entry.updated_at or "")[:10] < since.isoformat():
            continue
        bill = bills.get(entry.po_id)
        details = bill.details if bill else {}
        first_seen = entry.history[0][1] if entry.history else ""
        last_error = ""
        if entry.error_id is not None or entry.state.value == "failed":
            latest = store.errors.for_po(entry.po_id)
            if latest:
                last_error = f"{latest[0].cause_code}: {latest[0].cause}"
        out.append(ExportRow(
            autotask_po_id=entry.po_id, autotask_po_number=entry.po_number or "",
            qbo_bill_id=entry.bill_id or "", qbo_doc_number=entry.doc_number or "",
            vendor=str(details.get("vendor", "")), customer=str(details.get("customer", "")),
            amount=str(details.get("amount", "")), currency=str(details.get("currency", "")),
            first_seen_at=first_seen, synced_at=bill.at if bill else "", updated_at=entry.updated_at,
            state=entry.state.value, last_error=last_error,
            qbo_document=documents.document_of(entry) if entry.bill_id else ""))
    return out


def neutralise(cell: object) -> str:
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(found: list[ExportRow], out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in found:
        writer.writerow([neutralise(getattr(row, c)) for c in COLUMNS])


def to_csv(found: list[ExportRow]) -> str:
    buf = io.StringIO()
    write_csv(found, buf)
    return buf.getvalue()


def since_of(value: date | datetime | None) -> date | None:
    return value.date() if isinstance(value, datetime) else value
