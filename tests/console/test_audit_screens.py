"""The Why panel (Logs screen, w) and the Reconcile screen (6), on the real app, engine and
sandbox: the story of a failed PO after a real scan; reconcile clean, then with a bill deleted
in the emulated QBO behind atqbo's back."""

from __future__ import annotations

import httpx
import pytest as _pytest
from textual.widgets import Static

from console_harness import wait_for
from screens.log_list import LogList
from screens.logs import LogsScreen
from screens.reconcile import ReconcileScreen
from screens.story import StoryScreen

pytestmark = _pytest.mark.anyio


def _text(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def test_why_panel_tells_the_failed_pos_story(console_world):
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query_one(LogList).total == 2,
                       what="the log")
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, StoryScreen) and "picked up" in _text(app.screen, "#story-body"),
                       what="the story")
        body = _text(app.screen, "#story-body")
        assert "PO PO-1091" in body and "started by console" in body
        assert "failed:" in body and "What to fix" in body and "to-do" in body
        await pilot.press("escape")
        assert isinstance(app.screen, LogsScreen)


async def test_reconcile_screen_clean_then_a_deleted_bill(console_world):
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        await pilot.press("6")
        await wait_for(pilot, lambda: isinstance(app.screen, ReconcileScreen)
                       and "Comparing" not in _text(app.screen, "#reconcile-body"), what="the comparison")
        assert "Nothing to reconcile" in _text(app.screen, "#reconcile-body")
        bill = next(b for b in w.qbo_list("Bill") if "(Autotask PO id 1)" in b.get("PrivateNote", ""))
        r = httpx.delete(f"{w.server.url}/_sandbox/qbo/entities/Bill/{bill['Id']}", timeout=10)
        assert r.status_code == 200, r.text
        await pilot.press("r")
        await wait_for(pilot, lambda: "findings" in _text(app.screen, "#reconcile-body"), what="the findings")
        body = _text(app.screen, "#reconcile-body")
        assert "1 findings" in body and "Bill deleted in QuickBooks" in body and "What to do" in body
