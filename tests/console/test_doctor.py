"""The Doctor screen, opened from the command palette: the same report as `atqbo doctor` (the
shop's two failing POs named with their causes), nothing written to either service, checked
again on r, back on escape; a doctor that cannot run says why instead of crashing."""

from __future__ import annotations

import pytest

from console_harness import wait_for
from screens.doctor import DoctorScreen, DoctorView
from screens.live import LiveScreen
from sync.preflight import CannotRun

pytestmark = pytest.mark.anyio


def _records(w) -> tuple:
    state = w.state()
    return state["qbo"], state["autotask"]["entities"]


def _text(screen: DoctorScreen) -> str:
    return screen.query_one(DoctorView).plain_text


async def test_doctor_from_the_palette_shows_the_report_and_writes_nothing(console_world):
    w = console_world()
    before = _records(w)
    app = w.app(start_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause(0.2)
        await pilot.press(*"doctor")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen) and app.screen.report is not None,
                       what="the doctor's report")
        screen = app.screen
        report = screen.report
        assert report.exit_code == 3
        assert {p.po_number: p.cause_code for p in report.failing_pos} == {
            "PO-1090": "item_not_purchasable", "PO-1091": "name_clash_vendor_is_customer"}
        text = _text(screen)
        assert "PO PO-1090" in text and '"Consulting"' in text and "Northwind Traders" in text
        assert "ATTENTION" in text and "QuickBooks connection" in text
        status = str(screen.query_one("#doctor-status").content)
        assert "2 of 7 purchase orders would fail" in status
        first = report
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.report is not first and screen.report is not None, what="a second check")
        assert screen.report.counts() == first.counts()
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, LiveScreen)
    assert _records(w) == before


async def test_a_doctor_that_cannot_run_says_why(console_world):
    w = console_world()
    app = w.app(start_engine=False)

    async def cannot() -> None:
        raise CannotRun("settings incomplete, the doctor cannot check a scan:\n  ap_account is required")

    async with app.run_test(size=(100, 30)) as pilot:
        screen = DoctorScreen(cannot)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: not screen.running, what="the doctor to finish")
        assert "cannot run" in str(screen.query_one("#doctor-status").content)
        assert "ap_account is required" in _text(screen)
        assert screen.report is None


def test_doctor_100x30(console_world, snap_compare):
    """The shop's report as the Doctor screen shows it (the sandbox's port masked)."""
    import re
    from dataclasses import replace

    from console.doctor_source import doctor_producer

    w = console_world()
    app = w.app(start_engine=False)

    async def run_before(pilot):
        real = doctor_producer(lambda: app.runtime)

        async def masked():
            report = await real()
            findings = tuple(replace(f, title=re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", f.title))
                             for f in report.findings)
            return replace(report, findings=findings)

        screen = DoctorScreen(masked)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.report is not None, what="the doctor's report")
        await pilot.pause(0.2)

    assert snap_compare(app, run_before=run_before, terminal_size=(100, 30))


async def test_the_connect_review_page_shows_what_the_first_scan_would_do(console_world):
    from screens.connect import ConnectScreen
    from sync.store import AutotaskConnection, QboConnection

    w = console_world()
    a, o = w.creds["autotask"], w.creds["oauth"]
    # What an earlier connect saved (the harness's runtime has the same clients).
    w.store.connection.set_autotask(AutotaskConnection(a["username"], a["integration_code"], w.server.url))
    w.store.secrets.set_autotask_secret(a["secret"])
    w.store.connection.set_qbo(QboConnection(o["client_id"], o["realm_id"], w.server.url))
    w.store.secrets.set_qbo_client_secret(o["client_secret"])
    before = _records(w)
    app = w.app(start_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("5")
        await wait_for(pilot, lambda: isinstance(app.screen, ConnectScreen), what="the connect screen")
        screen = app.screen
        await wait_for(pilot, lambda: screen.query_one("#qbo-client-id").value == o["client_id"], what="the prefill")
        await pilot.press("ctrl+n")  # QuickBooks: the company connected before is kept
        await pilot.press("ctrl+t")  # Autotask: test the saved credentials
        await wait_for(pilot, lambda: screen.autotask_ok, what="the Autotask test")
        await pilot.press("ctrl+n")  # → settings
        await pilot.pause(0.2)
        await pilot.press("ctrl+n")  # → review
        await wait_for(pilot, lambda: screen.doctor_report is not None, what="the review page's doctor")
        report = screen.doctor_report
        assert {p.po_number for p in report.failing_pos} == {"PO-1090", "PO-1091"}
        assert "2 of 7 purchase orders would fail" in str(screen.query_one("#review-doctor-status").content)
        assert "PO PO-1091" in screen.query_one("#review-doctor").plain_text
    assert _records(w) == before  # the review wrote nothing (Connect was not pressed)


async def test_an_attached_console_runs_the_doctor_on_the_saved_connection(console_world):
    """Attached to a running service the console has no clients: the doctor reads with its own,
    from the data folder's saved connection, as `atqbo doctor` does."""
    from console.doctor_source import doctor_producer
    from sync.store import AutotaskConnection, QboConnection

    w = console_world()
    a, o = w.creds["autotask"], w.creds["oauth"]
    w.store.connection.set_autotask(AutotaskConnection(a["username"], a["integration_code"], w.server.url))
    w.store.secrets.set_autotask_secret(a["secret"])
    w.store.connection.set_qbo(QboConnection(o["client_id"], o["realm_id"], w.server.url, o["auth_url"], o["token_url"]))
    w.store.secrets.set_qbo_client_secret(o["client_secret"])
    w.store.secrets.save_qbo_tokens(o["refresh_token"])
    report = await doctor_producer(lambda: None, attached_to=w.data_dir)()
    assert {p.po_number for p in report.failing_pos} == {"PO-1090", "PO-1091"}
    with pytest.raises(CannotRun, match="not connected"):
        await doctor_producer(lambda: None, attached_to=w.data_dir / "elsewhere")()
