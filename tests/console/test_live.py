"""Live run: the engine runs in the app's loop; each PO's row changes state as it moves."""

from __future__ import annotations

import pytest

from console_harness import wait_for
from screens.live import LiveScreen
from screens.po_table import PoTable

import pytest as _pytest

pytestmark = _pytest.mark.anyio
# The same tests with the engine in the console, and with the console attached to a service.
BOTH_WAYS = _pytest.mark.parametrize("console_world", ["local", "remote"], indirect=True)


@BOTH_WAYS
async def test_first_scan_fills_rows_with_synced_and_failed_pos(console_world):
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        screen = app.screen
        assert isinstance(screen, LiveScreen)
        table = screen.query_one(PoTable)

        def shown() -> dict[str, list[str]]:
            return {str(table.row(k)[0]): [str(c) for c in table.row(k)] for k in table.keys}

        # the screen shows engine events batched, within FLUSH_S of the last one
        await wait_for(pilot, lambda: len(shown()) == 7 and shown()["PO-1090"][1] == "FAILED", what="the rows")
        rows = shown()
        assert rows["PO-1001"][1] == "synced" and rows["PO-1001"][2] == "Ingram Micro"
        assert rows["PO-1090"][1] == "FAILED" and "not set up for purchasing" in rows["PO-1090"][5]
        assert app.live.last_scan.synced == 5 and app.live.last_scan.failed == 2
    # the engine really did it: bills in QBO, ERROR on the failed PO
    assert len(w.qbo_list("Bill")) == 5
    assert w.po_by_number("PO-1090")["externalPONumber"] == "ERROR"


@BOTH_WAYS
async def test_enter_on_a_failed_row_opens_its_log_entry(console_world):
    from screens.logs import LogEntryScreen

    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        await pilot.pause(0.2)
        table = app.screen.query_one(PoTable)
        table.focus()
        table.cursor = table.keys.index(
            str(next(r.po_id for r in app.live.rows.values() if r.po_number == "PO-1090")))
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogEntryScreen), what="the entry")
        assert app.screen.entry.po_label == "PO-1090" and "purchasing" in app.screen.entry.cause


@BOTH_WAYS
async def test_under_transfer_as_purchase_order_the_number_column_says_whose_number_it_is(console_world):
    from console_harness import default_settings

    w = console_world(settings=default_settings(transfer_as="purchase_order"))
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        table = app.screen.query_one(PoTable)
        await wait_for(pilot, lambda: table.row_count == 7, what="the rows")
        assert [label for _, label, _ in table.columns][-1] == "QB PO no. / cause"
        assert "QB PO no. / cause" in str(table.render_line(0))
    assert len(w.qbo_list("PurchaseOrder")) == 5 and not w.qbo_list("Bill")
