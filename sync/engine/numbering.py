"""Bill numbers (QBO DocNumber) for the two `po_number_source` settings.

- "quickbooks": the bill continues QBO's own sequence: the next number after the highest
  *numeric* DocNumber among existing bills ("1" when there is none). Leading zeros of that
  highest number are kept ("0041" → "0042"); non-numeric numbers ("PO-7", "A12") are ignored.
  QBO has no counter for bills, so within one scan the engine takes numbers from a
  `BillSequence` seeded once from the bills it read.
- "autotask": the DocNumber is the Autotask PO number (its `purchaseOrderNumber`, or its id
  when the tenant leaves the number empty). A bill with that number already in QBO means the
  PO is not synced (cause `doc_number_taken`), unless that bill is this PO's own.

A DocNumber is at most 21 characters (QBO's limit).
"""

from __future__ import annotations

from collections.abc import Iterable

from sync.text import for_qbo

MAX_DOC_NUMBER = 21


class DocNumberTooLong(ValueError):
    pass


def highest_numeric(doc_numbers: Iterable[str | None]) -> str | None:
    """The highest all-digits DocNumber (compared as integers), as written, or None."""
    best: str | None = None
    best_value = -1
    for raw in doc_numbers:
        text = (raw or "").strip()
        if not text.isascii() or not text.isdigit():
            continue
        value = int(text)
        # On a tie ("7" and "007") the wider spelling wins, so the zero padding is kept.
        if value > best_value or (value == best_value and best is not None and len(text) > len(best)):
            best, best_value = text, value
    return best


def next_after(doc_number: str | None) -> str:
    """The number after `doc_number` (an all-digits string), keeping its zero padding."""
    if doc_number is None:
        return "1"
    return str(int(doc_number) + 1).zfill(len(doc_number))


class BillSequence:
    """Hands out QBO-sequence bill numbers for one scan, starting after the highest seen."""

    def __init__(self, existing: Iterable[str | None]) -> None:
        self._last = highest_numeric(existing)

    def observe(self, doc_number: str | None) -> None:
        """Account for a number used elsewhere (a bill found or created meanwhile)."""
        self._last = highest_numeric([self._last, doc_number])

    def take(self) -> str:
        number = next_after(self._last)
        if len(number) > MAX_DOC_NUMBER:
            raise DocNumberTooLong(f"the next QuickBooks bill number {number} is longer than {MAX_DOC_NUMBER} characters")
        self._last = number
        return number


def autotask_doc_number(po: dict) -> str:
    """The Autotask PO number as a DocNumber; raises DocNumberTooLong past 21 characters."""
    # Control characters never reach QBO (sync.text); a line break inside becomes one space.
    number = " ".join(for_qbo(str(po.get("purchaseOrderNumber") or "")).split()) or str(po["id"])
    if len(number) > MAX_DOC_NUMBER:
        raise DocNumberTooLong(
            f"the Autotask PO number {number!r} has {len(number)} characters; QuickBooks allows {MAX_DOC_NUMBER}")
    return number
