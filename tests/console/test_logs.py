"""Logs: entries newest first, status and text filters, the detail of one entry, retry one (r)
after fixing the cause in the emulated QBO, retry all open (R) — with the sandbox's state checked."""

from __future__ import annotations

from console_harness import wait_for
from screens.log_list import LogList
from screens.logs import LogEntryScreen, LogsScreen
from textual.widgets import Input, Static

import pytest as _pytest

pytestmark = _pytest.mark.anyio
# The same tests with the engine in the console, and with the console attached to a service.
BOTH_WAYS = _pytest.mark.parametrize("console_world", ["local", "remote"], indirect=True)


def _lines(screen: LogsScreen) -> list[str]:
    log_list = screen.query_one(LogList)
    return [log_list.entry_at(i).po_label + ":" + log_list.entry_at(i).status
            for i in range(log_list.total or 0) if log_list.entry_at(i) is not None]


async def _logs_after_first_scan(app, pilot) -> LogsScreen:
    await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
    await pilot.press("2")
    await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query_one(LogList).total == 2,
                   what="the log to load")
    return app.screen


async def test_logs_list_filter_detail_and_retry_after_a_demo_fix(console_world):
    w = console_world()
    app = w.app(demo=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _logs_after_first_scan(app, pilot)
        # newest first: PO-1091 failed after PO-1090
        assert _lines(screen) == ["PO-1091:open", "PO-1090:open"]
        assert "Northwind Traders" in str(screen.query_one("#logs-detail", Static).render())

        # text filter (/): only the item problem
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"consulting", "enter")
        await wait_for(pilot, lambda: screen.query_one(LogList).total == 1, what="the text filter")
        assert _lines(screen) == ["PO-1090:open"]
        assert "consulting" in str(screen.query_one("#logs-filter-label", Static).render())

        # the detail: cause, what to fix, raw API error
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, LogEntryScreen)
        body = str(app.screen.query_one("#entry-body", Static).render())
        assert "not set up for purchasing" in body and "What to fix" in body and "Raw API error" in body
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LogsScreen)

        # retry before the fix fails again: still open, attempts 2, no second to-do
        todos_before = len(w.at_list("CompanyToDos"))
        await pilot.press("r")
        await wait_for(pilot, lambda: (e := screen.query_one(LogList).selected) is not None and e.attempts == 2,
                       what="the failed retry")
        assert screen.query_one(LogList).selected.status == "open"
        assert len(w.at_list("CompanyToDos")) == todos_before

        # demo fix (x) changes the emulated QBO; r then succeeds and the row shows it live
        await pilot.press("x")
        await wait_for(pilot, lambda: any(i.get("Name") == "Consulting" and i.get("ExpenseAccountRef")
                                          for i in w.qbo_list("Item")), what="the demo fix")
        await pilot.press("r")
        await wait_for(pilot, lambda: (e := screen.query_one(LogList).selected) is not None and e.status == "resolved",
                       what="the retry to resolve the entry")
    po = w.po_by_number("PO-1090")
    assert po["externalPONumber"] not in ("", "ERROR", None)
    assert any(b.get("DocNumber") == po["externalPONumber"] for b in w.qbo_list("Bill"))


async def test_status_filter_and_retry_all_open(console_world):
    w = console_world()
    app = w.app(demo=True)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _logs_after_first_scan(app, pilot)
        # fix both causes in the sandbox, as an operator would in QBO
        for _ in range(2):
            await pilot.press("x")
            await pilot.pause(0.3)
            await pilot.press("down")
        await wait_for(pilot, lambda: any(c.get("DisplayName", "").endswith("(customer)")
                                          for c in w.qbo_list("Customer")), what="both demo fixes")
        await pilot.press("R")
        await wait_for(pilot, lambda: _lines(screen) == ["PO-1091:resolved", "PO-1090:resolved"],
                       what="retry all to resolve both")
        # f cycles all → open → retrying → resolved
        await pilot.press("f")
        await wait_for(pilot, lambda: screen.query_one(LogList).total == 0, what="the open filter")
        assert "No entries match" in "".join(
            str(s.text) for s in [screen.query_one(LogList).render_line(0)])
        await pilot.press("f", "f")
        await wait_for(pilot, lambda: screen.query_one(LogList).total == 2, what="the resolved filter")
    assert all(p["externalPONumber"] not in ("ERROR", "", None) for p in w.at_list("PurchaseOrders"))


@BOTH_WAYS
async def test_retry_keys_are_not_offered_for_a_resolved_or_missing_entry(console_world):
    w = console_world()
    app = w.app(demo=False)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _logs_after_first_scan(app, pilot)
        # no demo: no fix key at all
        assert screen.check_action("demo_fix", ()) is False
        await pilot.press("slash", *"no such thing", "enter")
        await wait_for(pilot, lambda: screen.query_one(LogList).total == 0, what="an empty result")
        assert screen.check_action("retry", ()) is None  # shown dimmed: nothing selected
        await pilot.press("r")  # does nothing, raises nothing
        await pilot.pause()
        assert isinstance(app.screen, LogsScreen)


async def test_footer_greys_retry_on_a_resolved_entry_in_place(console_world):
    """r is greyed while the cursor is on a resolved entry and usable again on an open one; the
    footer updates its keys in place (a rebuild per cursor move made keys slow during a scan)."""
    from console_harness import fill_error_log
    from textual.widgets._footer import FooterKey

    w = console_world()
    fill_error_log(w.store, 8)  # newest first: the 4th (PO-2004) and the 8th are resolved
    app = w.app(start_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen)
                       and app.screen.query_one(LogList).total == 8, what="the log")
        screen = app.screen

        def retry_key() -> FooterKey:
            return next(k for k in screen.query(FooterKey) if k.action == "retry")

        await wait_for(pilot, lambda: not retry_key().has_class("-disabled"), what="r usable on an open entry")
        shown = retry_key()
        await pilot.press("down", "down", "down")
        await wait_for(pilot, lambda: retry_key().has_class("-disabled"), what="r greyed on PO-2004")
        assert screen.query_one(LogList).selected.po_label == "PO-2004"
        assert retry_key() is shown
        await pilot.press("up")
        await wait_for(pilot, lambda: not retry_key().has_class("-disabled"), what="r usable again")
        assert retry_key() is shown


@BOTH_WAYS
async def test_a_retry_under_a_text_filter_updates_the_row(console_world):
    """Attached, the log is read through the service: its cached text search must follow the
    engine's writes too (a retry's new attempt count shows under the filter)."""
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _logs_after_first_scan(app, pilot)
        await pilot.press("slash", *"consulting", "enter")
        await wait_for(pilot, lambda: screen.query_one(LogList).total == 1, what="the text filter")
        await pilot.press("r")
        await wait_for(pilot, lambda: (e := screen.query_one(LogList).selected) is not None and e.attempts == 2,
                       what="the failed retry")
        assert screen.query_one(LogList).selected.status == "open"
