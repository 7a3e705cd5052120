"""Sync one PO: bad input in each field is refused with a clear message (and nothing is sent to
the engine); a good id syncs now (a bill in QBO); a failure shows in red with its cause."""

from __future__ import annotations

import pytest

from console_harness import days_ago, wait_for
from screens.sync_one import SyncOneScreen, validate_po_id
from sync import events as ev
from sync.sandbox.empty import empty_seed
from textual.widgets import Input, Static

import pytest as _pytest

pytestmark = _pytest.mark.anyio
# The same tests with the engine in the console, and with the console attached to a service.
BOTH_WAYS = _pytest.mark.parametrize("console_world", ["local", "remote"], indirect=True)


def _seed():
    seed = empty_seed()
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    cable = at.add_product("Cat6 Cable 3m", 4)
    # outside any scan window: only "sync one" picks it up
    at.add_po(vendor, "Submitted", items=[{"productID": cable, "quantity": 10, "unitCost": 4}],
              createDateTime=days_ago(400), purchaseOrderNumber="PO-OLD")
    return seed


@pytest.mark.parametrize("text, problem", [
    ("", "Enter the Autotask purchase order id"),
    ("abc", "whole number"),
    ("12a", "whole number"),
    ("-5", "whole number"),
    ("0", "from 1 to"),
    ("1.5", "whole number"),
    ("9223372036854775808", "from 1 to 9223372036854775807"),  # 2**63: more than Autotask's int64 ids
    ("٣", "digits 0-9"),  # an Arabic-Indic three: int() would take it
    ("１２", "digits 0-9"),  # fullwidth digits
])
def test_po_id_validation_messages(text, problem):
    value, message = validate_po_id(text)
    assert value is None and problem in message


async def _open(app, pilot) -> SyncOneScreen:
    await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
    await pilot.press("3")
    await pilot.pause()
    assert isinstance(app.screen, SyncOneScreen)
    return app.screen


@BOTH_WAYS
async def test_bad_input_in_every_field_is_refused_and_nothing_is_sent(console_world):
    w = console_world(_seed())
    app = w.app()
    seen: list[ev.Event] = []
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        app.control.subscribe(seen.append)
        # empty id
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Enter the Autotask purchase order id" in str(screen.query_one("#po-id-error", Static).render())
        assert screen.query_one("#po-id", Input).has_class("-invalid")
        # letters: refused as typed
        await pilot.press(*"12x")
        await pilot.pause()
        assert "whole number" in str(screen.query_one("#po-id-error", Static).render())
        # a good id but a bad e-mail
        screen.query_one("#po-id", Input).value = "1"
        await pilot.press("tab", *"not-an-address", "ctrl+s")
        await pilot.pause()
        assert "e-mail address" in str(screen.query_one("#alt-email-error", Static).render())
        assert screen.running_po is None
        await pilot.pause(0.2)
    assert not [e for e in seen if isinstance(e, ev.PoStarted)]


@BOTH_WAYS
async def test_do_it_now_syncs_one_po_outside_the_window(console_world):
    w = console_world(_seed())
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        assert app.live.last_scan.scanned == 0  # the old PO is outside the window
        po = w.po_by_number("PO-OLD")
        await pilot.press(*str(po["id"]), "tab", *"ap@example.com", "enter")
        await wait_for(pilot, lambda: screen.running_po is None and "synced" in
                       str(screen.query_one("#sync-result", Static).render()), what="the sync")
        text = str(screen.query_one("#sync-result", Static).render())
    po = w.po_by_number("PO-OLD")
    assert po["externalPONumber"] and po["externalPONumber"] != "ERROR"
    assert f"bill {po['externalPONumber']}" in text
    assert [b for b in w.qbo_list("Bill") if b["DocNumber"] == po["externalPONumber"]]


@BOTH_WAYS
async def test_an_unknown_po_shows_the_error_in_red_with_its_cause(console_world):
    w = console_world(_seed())
    app = w.app()
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(app, pilot)
        await pilot.press(*"987654", "ctrl+s")
        await wait_for(pilot, lambda: screen.running_po is None and "not synced" in
                       str(screen.query_one("#sync-result", Static).render()), what="the refusal")
        result = screen.query_one("#sync-result", Static)
        text = str(result.render())
        assert "987654" in text
        assert "[b $error]" in str(result.content)  # in red
        assert "no purchase order with id 987654" in text and "What to fix: Check the PO id" in text
    assert w.qbo_list("Bill") == []


def _smtp_helpers():
    # tests/mail's real SMTP server (aiosmtpd on loopback), loaded by path like tests/cli does.
    import importlib.util
    import sys
    from pathlib import Path

    name = "atqbo_test_smtp"
    if name not in sys.modules:
        path = Path(__file__).resolve().parents[1] / "mail" / "smtp_server.py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@BOTH_WAYS
async def test_a_success_is_mailed_to_the_alternate_address(console_world):
    # The result mail of a single-PO sync is the engine's own operation (sync.engine.single),
    # so the screen sends it as the CLI does: a success to the alternate address.
    from sync.mail import MailNotifier, SmtpConfig

    w = console_world(_seed())
    with _smtp_helpers().plain_server() as smtp:
        runtime = w.runtime()
        runtime.engine.notifier = MailNotifier(
            SmtpConfig(smtp.host, "atqbo@example.com", port=smtp.port, security="none"), "ops@example.com")
        app = w.app(runtime=runtime)
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await _open(app, pilot)
            po = w.po_by_number("PO-OLD")
            await pilot.press(*str(po["id"]), "tab", *"buyer@example.com", "enter")
            await wait_for(pilot, lambda: screen.running_po is None, what="the sync")
            assert "synced" in str(screen.query_one("#sync-result", Static).render())
            await wait_for(pilot, lambda: smtp.inbox.messages, what="the result mail")
        (recipients, message), = smtp.inbox.messages
    number = w.po_by_number("PO-OLD")["externalPONumber"]
    assert recipients == ["buyer@example.com"]
    assert message["Subject"] == f"atqbo: purchase order PO-OLD synced as bill {number}"
