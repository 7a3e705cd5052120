"""Snapshots of every screen at 100x30 and the live screen at 80x24 (pytest-textual-snapshot).

Deterministic: a fixed clock, UTC times, no cursor blink, no animations; the engine is not
started — the live screen is fed a recorded scan's events with fixed times — and the error log
is filled with entries stamped at fixed times. Update with `--snapshot-update` after LOOKING at
the report.
"""

from __future__ import annotations

from console_harness import fill_error_log, replay_events, wait_for
from screens.log_list import LogList
from console.startup import StoreOnly
from screens.settings import SettingsForm
from textual.widgets import Input, Select


def _app(w, **kw):
    return w.app(start_engine=False, **kw)


async def _replayed(pilot) -> None:
    app = pilot.app
    for event in replay_events():
        app._engine_event(event)
    await pilot.pause(0.2)


def test_live_100x30(console_world, snap_compare):
    w = console_world()
    assert snap_compare(_app(w, demo=True), run_before=_replayed, terminal_size=(100, 30))


def test_live_80x24(console_world, snap_compare):
    w = console_world()
    assert snap_compare(_app(w), run_before=_replayed, terminal_size=(80, 24))


def test_logs_100x30(console_world, snap_compare):
    w = console_world()
    fill_error_log(w.store)

    async def run_before(pilot):
        await pilot.press("2")
        await wait_for(pilot, lambda: pilot.app.screen.query_one(LogList).total == 12, what="the log")
        await pilot.press("down", "down")
        await pilot.pause(0.2)

    assert snap_compare(_app(w, demo=True), run_before=run_before, terminal_size=(100, 30))


def test_log_entry_detail_100x30(console_world, snap_compare):
    w = console_world()
    fill_error_log(w.store)

    async def run_before(pilot):
        await pilot.press("2")
        await wait_for(pilot, lambda: pilot.app.screen.query_one(LogList).total == 12, what="the log")
        await pilot.press("enter")
        await pilot.pause(0.2)

    assert snap_compare(_app(w, demo=True), run_before=run_before, terminal_size=(100, 30))


def test_sync_one_with_bad_input_100x30(console_world, snap_compare):
    w = console_world()

    async def run_before(pilot):
        await pilot.press("3")
        await pilot.pause()
        await pilot.press(*"12x", "tab", *"not-an-address", "ctrl+s")
        await pilot.pause(0.2)

    assert snap_compare(_app(w), run_before=run_before, terminal_size=(100, 30))


async def _settings_with_an_error(pilot) -> None:
    await pilot.press("4")
    await pilot.pause()
    form = pilot.app.screen.query_one(SettingsForm)
    await wait_for(pilot, lambda: len(form.query_one("#f-todo_resource", Select)._options) > 1
                   and form.query_one("#f-days_back", Input).value == "30", what="the form")
    form.query_one("#f-days_back", Input).value = "-3"
    await pilot.pause(0.2)


def test_settings_100x30(console_world, snap_compare):
    w = console_world()
    assert snap_compare(_app(w), run_before=_settings_with_an_error, terminal_size=(100, 30))


def test_settings_80x24(console_world, snap_compare):
    # The smallest supported terminal: a label keeps its gap before the value.
    w = console_world()
    assert snap_compare(_app(w), run_before=_settings_with_an_error, terminal_size=(80, 24))


def test_connect_first_run_100x30(console_world, snap_compare):
    w = console_world()
    from console.app import AtqboApp
    from console_harness import fixed_clock

    app = AtqboApp(StoreOnly(w.store), data_dir=w.data_dir, clock=fixed_clock, local_times=False)

    async def run_before(pilot):
        await pilot.pause(0.2)

    assert snap_compare(app, run_before=run_before, terminal_size=(100, 30))


def test_connect_signing_in_100x30(console_world, snap_compare, monkeypatch):
    """The sign-in address alone under the page, full width (copies without border characters).
    Intuit's own authorize URL and a fixed state keep it deterministic; nothing is sent."""
    import sync.clients.signin as signin
    from console.app import AtqboApp
    from console_harness import fixed_clock

    w = console_world()
    monkeypatch.setattr(signin.secrets, "token_urlsafe", lambda n=None: "FixedStateForTheSnapshot0123456789ab")
    app = AtqboApp(StoreOnly(w.store), data_dir=w.data_dir, clock=fixed_clock, local_times=False)

    async def run_before(pilot):
        await pilot.pause(0.1)
        screen = pilot.app.screen
        screen.query_one("#qbo-client-id", Input).value = w.creds["oauth"]["production"]["client_id"]
        screen.query_one("#qbo-client-secret", Input).value = "not-sent"
        screen.query_one("#qbo-redirect-uri", Input).value = "https://acme.example.com/atqbo/callback"
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: screen.query_one("#sign-in-address").display, what="the address")
        await pilot.pause(0.2)

    assert snap_compare(app, run_before=run_before, terminal_size=(100, 30))


def test_help_100x30(console_world, snap_compare):
    w = console_world()

    async def run_before(pilot):
        await _replayed(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(_app(w), run_before=run_before, terminal_size=(100, 30))
