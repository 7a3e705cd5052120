"""Keys: `?` help lists every key of the screen and the app; the command palette offers every
action by name and runs it; `esc` goes back; the footer shows only what works now."""

from __future__ import annotations

from console_harness import wait_for
from screens.help import HelpScreen
from screens.live import LiveScreen
from screens.logs import LogsScreen
from sync import events as ev
from textual.command import CommandPalette
from textual.widgets import Static

import pytest as _pytest

pytestmark = _pytest.mark.anyio
# The same tests with the engine in the console, and with the console attached to a service.
BOTH_WAYS = _pytest.mark.parametrize("console_world", ["local", "remote"], indirect=True)


@BOTH_WAYS
async def test_help_lists_the_keys_of_the_screen_and_the_app(console_world):
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        keys = str(app.screen.query_one("#help-keys", Static).render())
        for words in ("Scan now", "Pause/resume", "Logs", "Sync PO", "Settings", "Connect", "Quit", "Help"):
            assert words in keys, words
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)


@BOTH_WAYS
async def test_palette_runs_actions_by_name(console_world):
    w = console_world()
    app = w.app()
    seen: list[ev.Event] = []
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        app.control.subscribe(seen.append)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"pause the", "enter")
        await wait_for(pilot, lambda: app.control.status().paused, what="the engine to pause")
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"go: logs", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, LogsScreen), what="the logs screen")
        await pilot.press("escape")  # back to the live screen
        await pilot.pause()
        assert isinstance(app.screen, LiveScreen)
        await pilot.press("p")  # the same key now resumes
        await wait_for(pilot, lambda: not app.control.status().paused, what="the engine to resume")
    assert any(isinstance(e, ev.Paused) for e in seen) and any(isinstance(e, ev.Resumed) for e in seen)


@BOTH_WAYS
async def test_pause_key_toggles_and_the_status_line_says_which(console_world):
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        live = app.screen
        assert live.check_action("toggle_pause", ())
        assert app.check_action("go", ("live",)) is False  # no key to where you already are
        await pilot.press("p")
        await wait_for(pilot, lambda: app.live.engine == "paused", what="paused")
        await pilot.pause(0.1)
        assert "Paused" in str(live.query_one("#live-status").render())
        # scan now still works while paused (an explicit request)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.live.last_scan.scan_id != "" and app.live.scan_trigger == "manual",
                       what="the manual scan")
