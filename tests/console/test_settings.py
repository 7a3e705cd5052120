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
# The same tests with the engine in the console, and with the console attached to a service.
BOTH_WAYS = _pytest.mark.parametrize("console_world", ["local", "remote"], indirect=True)

BAD_INPUTS = {
    "days_back": ("-3", "whole number from 0 to 3650"),
    "scan_interval_minutes": ("0", "whole number from 1 to 10080"),
    "notify_email": ("ops at example", "e-mail address"),
    "smtp_host": ("bad host!", "host name"),
    "smtp_port": ("70000", "port number"),
    "smtp_username": ("tab\there", "single line"),
    "smtp_from": ("x@", "e-mail address"),
    "log_retention_days": ("-1", "whole number from 0 to 36500"),
    "log_max_entries": ("10", "whole number from 1000 to 10000000"),
    "autotask_hourly_share": ("101", "whole percent from 1 to 100"),
    "near_match": ("link_above 40", "'link_above N' (N from 50 to 100)"),
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


@BOTH_WAYS
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


@BOTH_WAYS
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


@BOTH_WAYS
async def test_save_applies_from_the_next_scan_and_cancel_forgets(console_world):
    w = console_world()
    app = w.app()
    seen: list[ev.Event] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        app.control.subscribe(seen.append)
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


async def test_save_on_a_full_disk_tells_the_fault_and_the_console_keeps_running(console_world, monkeypatch):
    import errno
    import os

    w = console_world()
    app = w.app()
    real_write = os.write
    data_dir = str(w.data_dir)

    def full(fd, data):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if path.startswith(data_dir) and path.endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        form = screen.query_one(SettingsForm)
        form.query_one("#f-days_back", Input).value = "9"
        monkeypatch.setattr(os, "write", full)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: any("the disk is full" in n.message for n in app._notifications),
                       what="the notice")
        monkeypatch.setattr(os, "write", real_write)
        [notice] = [n for n in app._notifications if "the disk is full" in n.message]
        assert notice.severity == "error" and notice.title == "Settings not saved"
        assert str(w.data_dir / "settings.json") in notice.message and "Free some space" in notice.message
        assert "Traceback" not in notice.message and "StorageFault" not in notice.message
        assert app.is_running and app.screen is screen
        assert w.store.settings.load().days_back == 30  # what was saved before
        await pilot.press("ctrl+s")  # space again: the same Save goes through
        await wait_for(pilot, lambda: w.store.settings.load().days_back == 9, what="the save")


async def test_near_match_is_set_on_the_form_in_the_settings_own_words(console_world):
    w = console_world()
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        form = screen.query_one(SettingsForm)
        field = form.query_one("#f-near_match", Input)
        assert field.value == "hold"  # the default, shown as the CLI names it
        field.value = "  Link_Above   85 "
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: w.store.settings.load().near_match == "link_above 85", what="the save")
