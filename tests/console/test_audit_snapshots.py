"""Snapshots of the Why panel and the Reconcile screen at 100x30, fed fixed answers (the
stories and findings themselves are proven end to end in test_audit_screens.py and the CLI
tests). Update with `--snapshot-update` after LOOKING at the report."""

from __future__ import annotations

from sync.audit.reconcile import Finding, Reconciliation
from sync.audit.why import Story
from sync.store import ErrorEntry, ErrorStatus, HistoryEntry, JournalEntry, JournalState

from screens.reconcile import ReconcileScreen
from screens.story import StoryScreen


def _story() -> Story:
    def step(at: str, kind: str, text: str, origin: str = "service") -> HistoryEntry:
        return HistoryEntry(po_id=3, kind=kind, text=text, at=f"2026-11-25T{at}+00:00", scan_id="a1b2c3", origin=origin)

    steps = (
        step("08:00:01", "seen", "PO PO-1003 picked up by a scan (schedule scan a1b2c3), started by service"),
        step("08:00:02", "failed", "failed: No QuickBooks item is named \"Cat6 Cable 3m\". What to fix: create it, "
             "then retry. (error log 7; externalPONumber set to ERROR)"),
        step("08:00:02", "todo_created", "Autotask to-do 41 created for resource 29682886"),
        step("09:12:40", "retry_started", "retry of error log 7 started by console", "console"),
        step("09:12:41", "item_created", "item 'Cat6 Cable 3m' not found in QuickBooks by name: created (Item 412, "
             "expense account Cost of Goods Sold)", "console"),
        step("09:12:41", "bill_created", "bill 1044 created in QuickBooks: Bill 518, 2 lines, 270.00; vendor "
             "'Ingram Micro' matched by name; number from the next number of QuickBooks' own bill sequence; "
             "requestid 5f0c2e7d9a1b4c3e8f6a7b9c0d1e2f30", "console"),
        step("09:12:42", "written_back", "Autotask PO externalPONumber set to 1044 (PATCH accepted)", "console"),
        step("09:12:42", "retry_finished", "retry of error log 7 succeeded (bill 1044)", "console"),
    )
    state = JournalEntry(po_id=3, state=JournalState.WRITTEN_BACK, attempt=2, po_number="PO-1003", bill_id="518",
                         doc_number="1044")
    error = ErrorEntry(id=7, po_id=3, po_number="PO-1003", cause_code="missing_item", cause="No QuickBooks item is "
                       "named \"Cat6 Cable 3m\"", fix="Create it", raw_error="", attempts=2, status=ErrorStatus.RESOLVED,
                       created_at="2026-11-25T08:00:02+00:00", updated_at="2026-11-25T09:12:42+00:00")
    return Story(po_id=3, steps=steps, state=state, errors=(error,))


def _findings() -> Reconciliation:
    return Reconciliation(findings=(
        Finding("no_write_back", 1, "PO-1001", "501", "1040", "bill 1040 (Bill 501) was made for PO PO-1001, but the "
                "PO's externalPONumber is blank", "run `atqbo sync-one 1`: it finds this bill (no second one is "
                "made) and writes its number back"),
        Finding("bill_changed", 4, "PO-1004", "504", "1043", "bill 1043 for PO PO-1004 was changed in QuickBooks "
                "after atqbo made it: amount 905.00 → 1810.00", "check the change with whoever made it"),
        Finding("cancelled_after_sync", 6, "PO-1006", "506", "1045", "PO PO-1006 was cancelled in Autotask after "
                "bill 1045 was made", "if the purchase is really cancelled, void or delete bill 1045 in QuickBooks "
                "(atqbo never deletes a bill)"),
    ), bills_checked=6, pos_checked=6)


def test_why_panel_100x30(console_world, snap_compare):
    w = console_world()

    async def load(po_id: int) -> Story:
        return _story()

    async def run_before(pilot):
        await pilot.app.push_screen(StoryScreen(3, "PO-1003", load, local_times=False))
        await pilot.pause(0.2)

    assert snap_compare(w.app(start_engine=False), run_before=run_before, terminal_size=(100, 30))


def test_reconcile_100x30(console_world, snap_compare):
    w = console_world()

    async def reconcile() -> Reconciliation:
        return _findings()

    async def run_before(pilot):
        await pilot.app.push_screen(ReconcileScreen(reconcile))
        await pilot.pause(0.2)

    assert snap_compare(w.app(start_engine=False), run_before=run_before, terminal_size=(100, 30))
