"""The console over the hostile seed (sync/sandbox/hostile_text.py): after a real scan, the live
screen, the logs screen and a log entry hold no raw control character, and what the terminal
would be sent carries no OSC sequence (the terminal title is not rewritten) and no BEL."""

from __future__ import annotations

import pytest
from textual.widgets import Select

from console_harness import wait_for
from screens.live import LiveScreen
from screens.log_list import LogList
from screens.logs import LogEntryScreen, LogsScreen
from screens.settings import SettingsForm, SettingsScreen
from sync.sandbox.hostile_text import HOSTILE_SETTINGS, MARKUP_ACCOUNT, hostile_seed
from sync.settings import Settings
from sync.text import CONTROL

pytestmark = pytest.mark.anyio


def _screen_text(app) -> str:
    """Every character the screen shows (segment texts, line by line)."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def _terminal_bytes(app) -> str:
    """What the driver would write for a full repaint."""
    return app.screen._compositor.render_full_update().render_segments(app.console)


def _assert_clean(app) -> str:
    text = _screen_text(app)
    assert sorted(set(CONTROL.findall(text)) - {"\n"}) == [], type(app.screen).__name__
    out = _terminal_bytes(app)
    assert "\x1b]" not in out and "\x07" not in out and "\x9b" not in out, type(app.screen).__name__
    return text


async def test_live_logs_and_entry_screens_show_hostile_text_escaped(console_world):
    w = console_world(hostile_seed(), settings=Settings.from_values(HOSTILE_SETTINGS))
    app = w.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, timeout=30, what="the first scan")
        await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen) and len(app.screen.query_one(
            "PoTable").keys) == 8, what="the rows")
        await pilot.pause(0.3)
        live = _assert_clean(app)
        assert "\\x1b" in live  # the attack is there, shown as an escape
        assert app.live.last_scan.synced == 7 and app.live.last_scan.failed == 1

        await pilot.press("2")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen) and app.screen.query_one(LogList).total == 1,
                       what="the log")
        await pilot.pause(0.3)
        logs = _assert_clean(app)
        assert "\\x1b" in logs
        assert " PO\\r\\nBcc…   1  The vendor" in logs  # a long PO number keeps the columns

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogEntryScreen), what="the entry")
        await pilot.pause(0.2)
        entry = _assert_clean(app)
        assert "PO\\r\\nBcc: evil@example.com" in entry
        await pilot.press("escape")
        await pilot.pause()

        # Settings: the choices are names read from both services.
        await pilot.press("4")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="the settings screen")
        form = app.screen.query_one(SettingsForm)
        expense = form.query_one("#f-new_item_expense_account", Select)
        await wait_for(pilot, lambda: len(expense._options) > 2, what="the choices")
        form.query_one("#f-new_item_expense_account", Select).value = "62"
        form.query_one("#f-todo_action_type", Select).focus()
        await pilot.pause(0.3)
        settings = _assert_clean(app)
        assert "Follow\\x1b]0;PWNED\\x07up" in settings  # the chosen action type, shown
        assert MARKUP_ACCOUNT in settings  # literally: markup in a name is not markup
        await pilot.press("enter")  # the action types' list open
        await pilot.pause(0.3)
        _assert_clean(app)
        assert app.is_running
