"""The approval fingerprint and hold rules (sync.engine.approval), without a network: what
changes the fingerprint (an edit of a matched QBO record, a quantity, the Autotask number) and
what does not (a QuickBooks sequence number), the difference in words, and who waits under
each apply_mode; the hold book survives reopening."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from sync.engine import causes
from sync.engine.approval import basis, difference, fingerprint, hold_reason
from sync.engine.decide import BillPlan, LinePlan
from sync.engine.resolve import Match, NewRecord
from sync.engine.sources import PoData
from sync.settings import ApplyMode
from sync.store.holds import Hold, HoldBook, HoldStatus

AP = {"Id": "33", "Name": "Accounts Payable (A/P)"}


def _plan(*, vendor_token: str = "0", qty: int = 2, new_item: bool = False, po_number: str = "PO-7") -> BillPlan:
    data = PoData(po={"id": 7, "purchaseOrderNumber": po_number}, vendor={"companyName": "Acme"})
    vendor = Match("Vendor", "Acme", record={"Id": "5", "DisplayName": "Acme", "SyncToken": vendor_token})
    if new_item:
        item = Match("Item", "Dock", new=NewRecord("Item", "Dock", {"Name": "Dock"}, account={"Id": "80"}))
    else:
        item = Match("Item", "Dock", record={"Id": "400", "Name": "Dock", "SyncToken": "3"})
    line = LinePlan(item, qty, Decimal("120"), None, Decimal(qty) * 120)
    return BillPlan(data=data, vendor=vendor, customer=None, lines=(line,), currency="", ap_account=AP,
                    amount=Decimal(qty) * 120)


def _ctx(autotask_numbers: bool = False) -> SimpleNamespace:
    return SimpleNamespace(numbers_from_autotask=autotask_numbers)


def _mark(plan: BillPlan, **kw) -> str:
    return fingerprint(basis(_ctx(**kw), plan.data, plan, None))


def test_the_fingerprint_follows_the_po_and_the_records_it_depends_on():
    base = _mark(_plan())
    assert _mark(_plan()) == base  # the same plan, the same fingerprint
    assert _mark(_plan(vendor_token="1")) != base  # the vendor was edited in QBO
    assert _mark(_plan(qty=3)) != base  # the PO changed in Autotask
    assert _mark(_plan(new_item=True)) != base  # the item is gone from QBO: it would be created
    # A QuickBooks sequence number moves with every bill anyone creates: not part of it, while
    # with Autotask numbering the bill's number is the PO's own, and counts.
    plan = _plan()
    assert "doc_number" not in basis(_ctx(), plan.data, plan, None)
    assert basis(_ctx(autotask_numbers=True), plan.data, plan, None)["doc_number"] == "PO-7"


def test_a_record_this_run_created_counts_as_the_one_the_plan_said_to_create():
    """Manual mode: two approved POs of one new vendor, in two groups of a scan. The first group
    creates the vendor; the second PO's plan now matches it, yet it is the approved plan."""
    approved = _plan()
    vendor_new = NewRecord("Vendor", "Acme", {"DisplayName": "Acme"})
    approved = BillPlan(data=approved.data, vendor=Match("Vendor", "Acme", new=vendor_new), customer=None,
                        lines=approved.lines, currency="", ap_account=AP, amount=approved.amount)
    before_run = fingerprint(basis(_ctx(), approved.data, approved, None))
    run = SimpleNamespace(numbers_from_autotask=False,
                          resolver=SimpleNamespace(created_this_run={("Vendor", "5"): vendor_new}))
    assert fingerprint(basis(run, approved.data, _plan(), None)) == before_run  # vendor 5 made by this run
    assert fingerprint(basis(_ctx(), approved.data, _plan(), None)) != before_run  # vendor 5 was there before


def test_the_difference_says_what_changed_in_words():
    old = basis(_ctx(), _plan().data, _plan(), None)
    new = basis(_ctx(), _plan().data, _plan(vendor_token="1", qty=3), None)
    words = difference(old, new)
    assert any(w.startswith("vendor: vendor 'Acme' (QBO id 5, version 0) → vendor 'Acme' (QBO id 5, version 1)")
               for w in words), words
    assert any(w.startswith("line 1:") and "× 2" in w and "× 3" in w for w in words), words
    assert any(w.startswith("amount: 240 → 360") for w in words), words
    assert difference(old, old) == ()


def test_who_waits_under_each_apply_mode():
    plain, creating = _plan(), _plan(new_item=True)
    cause = causes.make("missing_item", name="Dock")
    assert hold_reason(ApplyMode.AUTO, creating, None) == ""
    assert hold_reason(ApplyMode.HOLD_NEW_RECORDS, plain, None) == ""
    assert hold_reason(ApplyMode.HOLD_NEW_RECORDS, creating, None) == "would create item 'Dock'"
    assert hold_reason(ApplyMode.HOLD_NEW_RECORDS, None, cause) == ""  # it fails as before, with its to-do
    assert hold_reason(ApplyMode.MANUAL, plain, None) == "manual approval (apply_mode = manual)"
    assert hold_reason(ApplyMode.MANUAL, creating, None) == "would create item 'Dock'"
    assert hold_reason(ApplyMode.MANUAL, None, cause).startswith("manual approval (apply_mode = manual); would fail:")


def test_the_hold_book_survives_reopening(tmp_path):
    book = HoldBook(tmp_path)
    plan_basis = basis(_ctx(), _plan().data, _plan(), None)
    book.put_many([Hold(7, HoldStatus.HELD, po_number="PO-7", reason="would create item 'Dock'",
                        fingerprint=fingerprint(plan_basis), basis=plan_basis),
                   Hold(8, HoldStatus.APPROVED, po_number="PO-8", fingerprint="f" * 32)])
    book.close()
    again = HoldBook(tmp_path)
    assert [h.po_id for h in again.held()] == [7]
    held = again.get(7)
    assert held.basis == plan_basis and held.reason == "would create item 'Dock'"
    assert again.get(8).status is HoldStatus.APPROVED
    again.clear_many([7, 8, 9])
    assert again.all() == []
