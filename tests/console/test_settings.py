"""Settings: the form starts from the saved settings with choices read from the live services;
bad input in every field is shown next to the field and saves nothing; Save stores and the
next scan uses it; Cancel forgets the changes."""

from __future__ import annotations

from console_harness import wait_for
from screens.settings import SettingsForm, SettingsScreen
from sync import events as ev
from textual.widgets import Input, Select, Static

import pytest as _pytest

pytestmark = _pytest.mark.anyio

BAD_INPUTS = {
    "days_back": ("-3", "whole number ≥ 0"),
    "scan_interval_minutes": ("0", "whole number ≥ 1"),
    "notify_email": ("ops at example", "e-mail address"),
    "smtp_host": ("bad host!", "host name"),
    "smtp_port": ("70000", "port number"),
    "smtp_username": ("tab\there", "single line"),
    "smtp_from": ("x@", "e-mail address"),
    "log_retention_days": ("-1", "whole number ≥ 0"),
    "log_max_entries": ("10", "whole number ≥ 1000"),
    "autotask_hourly_share": ("101", "whole percent from 1 to 100"),
}


async def _open(app, pilot) -> SettingsScreen:
    await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
    await pilot.press("4")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, SettingsScreen)
    form = screen.query_one(SettingsForm)
    await wait_for(pilot, lambda: len(form.query_one("#f-todo_resource", Select)._options) > 0
                   and form.query_one("#f-days_back", Input).value == "30", what="the form to load")
    return screen


def _error(form: SettingsForm, key: str) -> str:
    return str(form.query_one(f"#e-{key}", Static).render())


async def test_choices_come_from_the_live_services(console_world):
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        form = screen.query_one(SettingsForm)
        ap = [str(label) for label, value in form.query_one("#f-ap_account", Select)._options]
        people = [str(label) for label, value in form.query_one("#f-todo_resource", Select)._options if value is not Select.NULL]
        kinds = [str(label) for label, value in form.query_one("#f-todo_action_type", Select)._options]
    qbo_ap = [a["Name"] for a in w.qbo_list("Account") if a.get("AccountType") == "Accounts Payable"]
    assert qbo_ap and all(any(name in label for label in ap) for name in qbo_ap)
    resources = [r for r in w.at_list("Resources") if r.get("isActive")]
    assert len(people) == len(resources)
    assert any(a["name"] in kinds for a in w.at_list("ActionTypes") if a.get("isActive"))


async def test_bad_input_in_every_field_is_shown_and_nothing_is_saved(console_world):
    w = console_world()
    app = w.app()
    before = w.store.settings.load()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        form = screen.query_one(SettingsForm)
        for key, (text, _) in BAD_INPUTS.items():
            form.query_one(f"#f-{key}", Input).value = text
        form.query_one("#f-ap_account", Select).clear()  # a required choice left blank
        await pilot.pause()
        for key, (_, words) in BAD_INPUTS.items():  # inline, as typed
            assert words in _error(form, key), key
            assert form.query_one(f"#f-{key}").has_class("-invalid"), key
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert "required" in _error(form, "ap_account")
        # blank days_back is "required", not a crash
        form.query_one("#f-days_back", Input).value = ""
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert "required" in _error(form, "days_back")
    assert w.store.settings.load() == before


async def test_save_applies_from_the_next_scan_and_cancel_forgets(console_world):
    w = console_world()
    app = w.app()
    seen: list[ev.Event] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        app.engine.subscribe(seen.append)
        form = screen.query_one(SettingsForm)
        # Cancel: the change is forgotten and we are back on the live screen
        form.query_one("#f-days_back", Input).value = "7"
        await pilot.press("escape")
        await pilot.pause()
        assert app.current_mode == "live"
        assert w.store.settings.load().days_back == 30
        # Save days_back = 0 (the documented pause); the next scan transfers nothing
        await pilot.press("4")
        await pilot.pause()
        await wait_for(pilot, lambda: form.query_one("#f-days_back", Input).value == "30", what="reload")
        form.query_one("#f-days_back", Input).value = "0"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: w.store.settings.load().days_back == 0, what="the save")
        await pilot.press("escape", "s")
        await wait_for(pilot, lambda: any(isinstance(e, ev.ScanFinished) for e in seen), what="the next scan")
    assert any(isinstance(e, ev.TransferPaused) for e in seen)
