"""Interactive sign-in: paste-back parsing (pure), the loopback listener, and a full sign-in
against the OAuth emulator with a scripted "browser"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import anyio
import httpx
import pytest

from sync.clients.errors import SignInError
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient
from sync.clients.signin import parse_redirect, start_sign_in

pytestmark = pytest.mark.anyio


def test_parse_accepts_a_url_a_query_or_a_bare_query() -> None:
    for text in ("http://127.0.0.1:8765/callback?code=C1&state=S&realmId=42",
                 "  '?code=C1&state=S&realmId=42'  ",
                 "code=C1&state=S&realmId=42#frag"):
        r = parse_redirect(text, "S")
        assert (r.code, r.state, r.realm_id) == ("C1", "S", "42")


@pytest.mark.parametrize("text, message", [
    ("http://127.0.0.1/callback?code=C1&state=OTHER&realmId=1", "state does not match"),
    ("http://127.0.0.1/callback?error=access_denied&state=S", "cancelled"),
    ("http://127.0.0.1/callback?error=invalid_scope&state=S", "invalid_scope"),
    ("http://127.0.0.1/callback?code=C1", "no state"),
    ("http://127.0.0.1/callback?state=S", "no authorization code"),
    ("", "nothing was pasted"),
    ("https://example.com/", "not the redirected address"),
])
def test_parse_refuses_with_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(SignInError, match=message):
        parse_redirect(text, "S")


@pytest.fixture
def sandbox() -> Iterator:
    from sync.sandbox.server import Sandbox, SandboxServer

    with SandboxServer(Sandbox("empty")) as server:
        yield server


def oauth_for(server, saved: list[TokenSet]) -> tuple[IntuitOAuth, dict]:
    creds = server.sandbox.credentials(server.url)
    o = creds["oauth"]
    return IntuitOAuth(o["client_id"], o["client_secret"], on_tokens=saved.append,
                       endpoints=IntuitEndpoints(o["auth_url"], o["token_url"], o["revoke_url"])), creds


async def consent(url: str, decision: str = "approve") -> httpx.Response:
    """The user's browser: open the consent page, press a button, follow the redirect."""
    async with httpx.AsyncClient(follow_redirects=False) as browser:
        page = await browser.get(url)
        assert page.status_code == 200
        form = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page.text))
        form = {k: v.replace("&amp;", "&") for k, v in form.items() if k != "decision"}
        action = re.search(r'form method="post" action="([^"]+)"', page.text).group(1)
        answer = await browser.post(httpx.URL(url).join(action), data={**form, "decision": decision})
        assert answer.status_code == 302
        return answer


async def test_loopback_listener_completes_the_sign_in(sandbox) -> None:
    saved: list[TokenSet] = []
    oauth, creds = oauth_for(sandbox, saved)
    attempt = await start_sign_in(oauth)
    assert attempt.listening and attempt.redirect_uri.startswith("http://127.0.0.1:")
    redirect = await consent(attempt.url)
    async with httpx.AsyncClient() as browser:
        landing = await browser.get(redirect.headers["location"])
    assert landing.status_code == 200 and "connected" in landing.text
    tokens = await attempt.result()
    assert saved == [tokens] and tokens.realm_id == creds["qbo"]["realm_id"]
    assert not attempt.listening
    async with QboClient(oauth, api_url=creds["qbo"]["api_url"]) as qbo:
        assert await qbo.company_info()
    await oauth.aclose()


async def test_paste_back_completes_the_sign_in_when_the_browser_is_elsewhere(sandbox) -> None:
    saved: list[TokenSet] = []
    oauth, creds = oauth_for(sandbox, saved)
    attempt = await start_sign_in(oauth, listen=False, redirect_uri="http://localhost:9/callback")
    assert not attempt.listening
    redirect = await consent(attempt.url)  # the remote browser cannot load localhost:9; the user copies it
    with pytest.raises(SignInError):
        attempt.paste("garbage")  # a bad paste leaves the attempt open
    attempt.paste(redirect.headers["location"])
    tokens = await attempt.result()
    assert saved == [tokens] and tokens.realm_id == creds["oauth"]["realm_id"]
    await oauth.aclose()


async def test_access_denied_ends_the_attempt_with_a_clear_error(sandbox) -> None:
    oauth, _ = oauth_for(sandbox, [])
    attempt = await start_sign_in(oauth)
    redirect = await consent(attempt.url, decision="deny")
    async with httpx.AsyncClient() as browser:
        landing = await browser.get(redirect.headers["location"])
    assert landing.status_code == 400 and "cancelled" in landing.text
    with pytest.raises(SignInError, match="access_denied"):
        await attempt.result()
    assert oauth.tokens is None
    await oauth.aclose()


async def test_a_forged_callback_does_not_complete_the_attempt(sandbox) -> None:
    oauth, _ = oauth_for(sandbox, [])
    attempt = await start_sign_in(oauth)
    async with httpx.AsyncClient() as browser:
        forged = await browser.get(attempt.redirect_uri + "?code=EVIL&state=wrong&realmId=1")
        other = await browser.get(attempt.redirect_uri.replace("/callback", "/other"))
    assert forged.status_code == 400 and other.status_code == 404
    with anyio.move_on_after(0.2) as scope:
        await attempt.redirect()
    assert scope.cancelled_caught  # still waiting for the real redirect
    await attempt.aclose()
    await oauth.aclose()


async def test_a_registered_loopback_uri_is_listened_on_and_others_refused(sandbox) -> None:
    import socket

    oauth, _ = oauth_for(sandbox, [])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    attempt = await start_sign_in(oauth, redirect_uri=f"http://localhost:{port}/callback")
    assert attempt.listening and f"localhost%3A{port}%2Fcallback" in attempt.url
    redirect = await consent(attempt.url)
    async with httpx.AsyncClient() as browser:
        assert (await browser.get(redirect.headers["location"])).status_code == 200
    assert (await attempt.result()).access_token
    with pytest.raises(SignInError, match="paste-back"):
        await start_sign_in(oauth, redirect_uri="https://app.example/callback")
    await oauth.aclose()
