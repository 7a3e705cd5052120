"""Connect: Intuit sign-in through the registered redirect URI (checked first; the address shown
whole outside the panel and copied by OSC 52; paste-back with a bad then a good address; the
localhost listener), Autotask "test connection" that says what is wrong, settings, review, and
Connect — after which the engine scans and bills appear in the emulated QBO. Each step focuses
its own first field: no hidden field takes keys."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from console_harness import wait_for
from screens.connect import ConnectScreen, renewal_text
from console.startup import StoreOnly
from screens.live import LiveScreen
from textual.widgets import Input, Select, Static

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


def _keys(screen, creds: dict, server_url: str, redirect_uri: str) -> None:
    _type(screen, "#qbo-client-id", creds["oauth"]["client_id"])
    _type(screen, "#qbo-client-secret", creds["oauth"]["client_secret"])
    screen.query_one("#qbo-environment", Select).value = creds["oauth"]["environment"]
    _type(screen, "#qbo-redirect-uri", redirect_uri)
    _type(screen, "#qbo-api-url", server_url)
    _type(screen, "#qbo-auth-url", creds["oauth"]["auth_url"])
    _type(screen, "#qbo-token-url", creds["oauth"]["token_url"])


def _register_localhost(w) -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        uri = f"http://localhost:{probe.getsockname()[1]}/callback"
    w.server.sandbox.emulators["oauth"].register_redirect_uri(uri)
    return uri


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
        paste_back = creds["oauth"]["redirect_uris"][1]  # an https URI: nothing listens there
        _keys(screen, creds, w.server.url, "http://127.0.0.1:8765/callback")
        _type(screen, "#qbo-api-url", "ftp://nowhere")
        await pilot.press("ctrl+o")
        await pilot.pause()
        assert "must start with http" in _status(screen, "#e-qbo-urls")
        # an IP address is refused before anything opens, with what to register instead
        assert "never accepts an IP address" in _status(screen, "#e-qbo-redirect-uri")
        assert "http://localhost:PORT/PATH" in _status(screen, "#e-qbo-redirect-uri")
        assert screen.sign_in is None
        _type(screen, "#qbo-api-url", w.server.url)
        _type(screen, "#qbo-redirect-uri", paste_back)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: "Open the address" in _status(screen, "#qbo-url"), what="the sign-in URL")
        assert not _status(screen, "#e-qbo-redirect-uri")
        url = screen.sign_in.url
        assert url.startswith(creds["oauth"]["auth_url"]) and not screen.sign_in.listening
        # the address alone, whole, outside the bordered page; and sent to the clipboard
        address = screen.query_one("#sign-in-address", Static)
        assert address.display and str(address.render()).replace("\n", "") == url
        assert app.clipboard == url

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
        assert "does not know the API user" in _status(screen, "#at-status")
        _type(screen, "#at-username", at["username"])
        _type(screen, "#at-secret", "wrong-secret")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "Testing" not in _status(screen, "#at-status"), what="the second test")
        assert "refused the credentials" in _status(screen, "#at-status")
        # A wrong integration code: Autotask answers 500; the same words as `atqbo connect autotask`.
        _type(screen, "#at-secret", at["secret"])
        _type(screen, "#at-code", "WRONG-CODE-42")
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: "Testing" not in _status(screen, "#at-status"), what="the third test")
        assert "refused the credentials" in _status(screen, "#at-status")
        assert "WRONG-CODE-42" not in _status(screen, "#at-status")
        _type(screen, "#at-code", at["integration_code"])
        _type(screen, "#at-secret", "wrong-secret")
        await pilot.press("ctrl+n")
        assert "Test the connection first" in _status(screen, "#at-status")
        _type(screen, "#at-secret", at["secret"])
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: screen.autotask_ok, what="the Autotask connection")
        await pilot.press("ctrl+n")  # → settings (kept from before)
        await pilot.pause()
        assert screen.focused is screen.query_one("#f-days_back")  # the bug: at-username kept the keys
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
        uri = _register_localhost(w)
        _keys(screen, creds, w.server.url, uri)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: screen.sign_in is not None and screen.sign_in.url, what="the URL")
        assert screen.sign_in.listening and screen.sign_in.redirect_uri == uri
        assert f"atqbo listens on {uri}" in _status(screen, "#qbo-url")
        location = await _approve(screen.sign_in.url)
        assert location.startswith(uri + "?")
        async with httpx.AsyncClient() as http:  # the browser follows the redirect to this machine
            reply = await http.get(location)
        assert reply.status_code == 200
        await wait_for(pilot, lambda: screen.qbo_ok, what="the connection")
        assert "days" in _status(screen, "#qbo-status") or "renewal" in _status(screen, "#qbo-status")
        assert not screen.query_one("#sign-in-address").display
    from sync.store import Store

    with Store.open(w.data_dir) as store:
        conn = store.connection.get_qbo()
        assert (conn.redirect_uri, conn.environment) == (uri, "sandbox")


async def test_each_step_focuses_its_own_first_field_and_typing_goes_there(console_world):
    """As a user at 100x30: after Next, keys typed go to the step shown, never to the hidden
    field of the step before (typing "30" for days back replaced the Autotask user name)."""
    w = console_world()
    from console.app import AtqboApp

    w.store.settings.save(w.store.settings.load())
    app = AtqboApp(StoreOnly(w.store), data_dir=w.data_dir, local_times=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert screen.focused is screen.query_one("#qbo-client-id")
        screen.qbo_ok = True  # signed in (the sign-in has its own tests)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.focused is screen.query_one("#at-username")
        await pilot.press(*"api@acme.example")
        assert screen.query_one("#at-username", Input).value == "api@acme.example"
        screen.autotask_ok = True
        await pilot.press("ctrl+n")
        await pilot.pause()
        days = screen.query_one("#f-days_back", Input)
        assert screen.focused is days
        days.value = ""
        await pilot.press("3", "0")
        assert days.value == "30"
        assert screen.query_one("#at-username", Input).value == "api@acme.example"
        for page in ("page-qbo", "page-autotask", "page-review"):  # hidden now: none holds the focus
            assert screen.focused not in screen.query_one(f"#{page}").query("*")
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert screen.focused is screen.query_one("#connect-go")
        assert "api@acme.example" in _status(screen, "#review") and "Autotask:[/b] 30" not in _status(screen, "#review")
        await pilot.press("ctrl+b", "ctrl+b")
        await pilot.pause()
        assert screen.focused is screen.query_one("#at-username")
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert screen.focused is screen.query_one("#qbo-client-id")


def test_renewal_text_counts_down():
    assert "expired" in renewal_text(1000.0, now=2000.0)
    assert "99 days" in renewal_text(100 * 86400 - 3600, now=0.0)
    assert "unknown" in renewal_text(None)
