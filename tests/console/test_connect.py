"""Connect: Intuit sign-in (the URL shown; paste-back with a bad then a good address; the
loopback redirect), Autotask "test connection" that says what is wrong, settings, review, and
Connect — after which the engine scans and bills appear in the emulated QBO."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from console_harness import wait_for
from screens.connect import ConnectScreen, renewal_text
from console.startup import StoreOnly
from screens.live import LiveScreen
from textual.widgets import Input, Static

import pytest as _pytest

pytestmark = _pytest.mark.anyio


def _status(screen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _approve(url: str) -> str:
    """What a browser does on Intuit's page: open it, choose Connect; returns where it is sent."""
    async with httpx.AsyncClient() as http:
        page = await http.get(url)
        assert page.status_code == 200 and "Connect" in page.text
        form = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        answer = await http.post(url.split("?")[0], data={**form, "decision": "approve"})
        assert answer.status_code == 302
        return answer.headers["location"]


def _type(screen, selector: str, text: str) -> None:
    screen.query_one(selector, Input).value = text


async def test_first_run_connects_both_services_and_starts_scanning(console_world):
    w = console_world()
    w.store.settings.save(w.store.settings.load())  # settings exist: reconnecting keeps them
    creds = w.creds
    from console.app import AtqboApp
    from console_harness import fixed_clock

    app = AtqboApp(StoreOnly(w.store), data_dir=w.data_dir, clock=fixed_clock, local_times=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConnectScreen)

        # Next before signing in is refused with the reason
        await pilot.press("ctrl+n")
        assert "Sign in to QuickBooks first" in _status(screen, "#qbo-status")
        # sign in with nothing typed: both keys are required
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert "Required" in _status(screen, "#e-qbo-client-id")
        assert "Required" in _status(screen, "#e-qbo-client-secret")
        # a malformed URL is caught before anything is sent
        _type(screen, "#qbo-client-id", creds["oauth"]["client_id"])
        _type(screen, "#qbo-client-secret", creds["oauth"]["client_secret"])
        _type(screen, "#qbo-api-url", "ftp://nowhere")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert "must start with http" in _status(screen, "#e-qbo-urls")
        _type(screen, "#qbo-api-url", w.server.url)
        _type(screen, "#qbo-auth-url", creds["oauth"]["auth_url"])
        _type(screen, "#qbo-token-url", creds["oauth"]["token_url"])
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "Open this address" in _status(screen, "#qbo-url"), what="the sign-in URL")
        url = screen.sign_in.url
        assert url.startswith(creds["oauth"]["auth_url"]) and url.split("?")[0] in _status(screen, "#qbo-url")

        # SSH: the browser elsewhere; a wrong paste is explained, the right one completes it
        location = await _approve(url)
        screen.query_one("#qbo-paste", Input).focus()
        await pilot.press(*"http://127.0.0.1/callback?code=abc", "enter")
        await pilot.pause()
        assert "does not complete the sign-in" in _status(screen, "#qbo-status")
        _type(screen, "#qbo-paste", location)
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.qbo_ok, what="the QuickBooks connection")
        assert "Connected to" in _status(screen, "#qbo-status")
        await pilot.press("ctrl+n")
        await pilot.pause()

        # Autotask: each wrong credential is named
        at = creds["autotask"]
        _type(screen, "#at-username", "nobody@nowhere.example")
        _type(screen, "#at-code", at["integration_code"])
        _type(screen, "#at-secret", at["secret"])
        _type(screen, "#at-zone", at["zone_lookup_url"])
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "Testing" not in _status(screen, "#at-status"), what="the first test")
        assert "does not know this API user name" in _status(screen, "#at-status")
        _type(screen, "#at-username", at["username"])
        _type(screen, "#at-secret", "wrong-secret")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "Testing" not in _status(screen, "#at-status"), what="the second test")
        assert "refused the credentials" in _status(screen, "#at-status")
        await pilot.press("ctrl+n")
        assert "Test the connection first" in _status(screen, "#at-status")
        _type(screen, "#at-secret", at["secret"])
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.autotask_ok, what="the Autotask connection")
        await pilot.press("ctrl+n")  # → settings (kept from before)
        await pilot.pause()
        await pilot.press("ctrl+n")  # → review
        await pilot.pause()
        review = _status(screen, "#review")
        assert "days_back" in review and "30" in review
        await pilot.press("ctrl+s")  # Connect
        await wait_for(pilot, lambda: isinstance(app.screen, LiveScreen) and app.live.last_scan is not None,
                       timeout=20, what="the first scan after connecting")
    assert len(w.qbo_list("Bill")) == 5
    from sync.store import Store

    with Store.open(w.data_dir) as store:
        assert store.connection.get_autotask().username == at["username"]
        assert store.connection.get_qbo().realm_id == creds["oauth"]["realm_id"]
        assert store.secrets.get_qbo_tokens() is not None
        assert store.settings.load().days_back == 30


async def test_loopback_redirect_completes_the_sign_in(console_world):
    w = console_world()
    creds = w.creds
    from console.app import AtqboApp

    app = AtqboApp(StoreOnly(w.store), data_dir=w.data_dir, local_times=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        _type(screen, "#qbo-client-id", creds["oauth"]["client_id"])
        _type(screen, "#qbo-client-secret", creds["oauth"]["client_secret"])
        _type(screen, "#qbo-api-url", w.server.url)
        _type(screen, "#qbo-auth-url", creds["oauth"]["auth_url"])
        _type(screen, "#qbo-token-url", creds["oauth"]["token_url"])
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: screen.sign_in is not None and screen.sign_in.url, what="the URL")
        location = await _approve(screen.sign_in.url)
        async with httpx.AsyncClient() as http:  # the browser follows the redirect to this machine
            reply = await http.get(location)
        assert reply.status_code == 200
        await wait_for(pilot, lambda: screen.qbo_ok, what="the connection")
        assert "days" in _status(screen, "#qbo-status") or "renewal" in _status(screen, "#qbo-status")


def test_renewal_text_counts_down():
    assert "expired" in renewal_text(1000.0, now=2000.0)
    assert "99 days" in renewal_text(100 * 86400 - 3600, now=0.0)
    assert "unknown" in renewal_text(None)
