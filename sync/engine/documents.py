"""Which QBO document a PO becomes (the `transfer_as` setting, issue 18).

`bill` writes a Bill at once (the seed app's behaviour). `purchase_order` writes a QBO
PurchaseOrder instead, with the same vendor, customer, items, amounts, currency and number
rules. `purchase_order_then_bill` writes the purchase order first and then, for what Autotask
records as received, bills linked to it (`receipts.py`).

The journal records which document a PO's write named (`JournalEntry.document`; None for
entries written before this setting existed, which are bills), so a PO in flight is looked up
as what it was sent as even if the setting changed since.
"""

from __future__ import annotations

from sync.settings import Settings, TransferAs

BILL = "Bill"
PURCHASE_ORDER = "PurchaseOrder"


def first_document(settings: Settings) -> str:
    """The QBO entity written when the PO is picked up."""
    return BILL if settings.transfer_as is TransferAs.BILL else PURCHASE_ORDER


def other_documents(settings: Settings) -> tuple[str, ...]:
    """The documents a PO may have been sent as under another transfer_as (looked for by its
    tag when the journal forgot it, so that no second document is made beside one)."""
    first = first_document(settings)
    return tuple(d for d in (BILL, PURCHASE_ORDER) if d != first)


def setting_for(entity: str) -> str:
    """The transfer_as values that send a PO as `entity` (for the words of a cause)."""
    return "bill" if entity == BILL else "purchase_order or purchase_order_then_bill"


def request_kind(entity: str) -> str:
    """The word in a write's requestid: a PO's bill and its purchase order never share one."""
    return "bill" if entity == BILL else "purchase_order"


def document_of(entry: object | None, default: str = BILL) -> str:
    """The entity a journal entry's bill_id names."""
    value = getattr(entry, "document", None)
    return value if value in (BILL, PURCHASE_ORDER) else default


def label(entity: str) -> str:
    return "bill" if entity == BILL else "purchase order"
