"""The PO table repaints what changed where it is shown, scrolled or not: its header (a label
that follows transfer_as) and a changed row, with the view scrolled to the newest rows."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from screens.po_table import PoTable

pytestmark = pytest.mark.anyio


class _TableApp(App):
    def compose(self) -> ComposeResult:
        yield PoTable((("po", "PO", 8), ("outcome", "OLDHEAD", 12)))


async def test_a_new_heading_and_a_changed_row_show_when_the_table_is_scrolled():
    app = _TableApp()
    async with app.run_test(size=(40, 12)) as pilot:
        table = app.query_one(PoTable)
        for i in range(60):
            table.set_row(str(i), (f"PO-{i}", "synced"))
        await pilot.pause()
        table.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert table.scroll_y > 0
        shown = app.export_screenshot()
        assert "OLDHEAD" in shown and "PO-59" in shown

        table.set_label("outcome", "NEWHEAD")
        table.set_row("58", ("PO-58", "CHANGED"))
        await pilot.pause()
        shown = app.export_screenshot()
        assert "NEWHEAD" in shown and "OLDHEAD" not in shown
        assert "CHANGED" in shown
