"""`atqbo --demo`: the console opens the runtime itself (sandbox in-process with the demo
company, a temporary data folder already connected); within seconds POs sync and some fail
with to-dos; a failure's cause is fixed in the emulated QBO (x) and its retry (r) succeeds."""

from __future__ import annotations

import pytest

from console.app import AtqboApp
from console_harness import wait_for
from screens.log_list import LogList
from screens.logs import LogsScreen
from console.startup import open_console_runtime

pytestmark = pytest.mark.anyio


async def test_demo_shows_the_product_working_and_a_fix_then_retry_succeeds():
    app = AtqboApp(runtime_factory=lambda: open_console_runtime(None, True), demo=True)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.live.totals["synced"] > 0, timeout=20, what="POs syncing")
            await wait_for(pilot, lambda: app.live.last_scan is not None, timeout=30, what="the first scan")
            assert app.live.last_scan.failed > 0 and app.live.totals["todos"] > 0
            await pilot.press("2")
            await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query(LogList)
                           and app.screen.query_one(LogList).total, what="the log")
            log_list = app.screen.query_one(LogList)
            first = log_list.selected
            assert first is not None and first.status == "open"
            await pilot.press("x")
            fixes = [w for w in app.workers if w.group == "demo-fix"]
            if fixes:  # (a finished worker has already left the manager)
                await app.workers.wait_for_complete(fixes)  # the fix went to the sandbox's admin API
            await pilot.press("r")
            await wait_for(pilot, lambda: (e := log_list.selected) is not None and e.id == first.id
                           and e.status == "resolved", timeout=15, what="the retry to succeed")
    finally:
        if app.runtime is not None:
            await app.runtime.aclose()
