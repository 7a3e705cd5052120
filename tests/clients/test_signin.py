"""Interactive sign-in: paste-back parsing (pure), the loopback listener, and a full sign-in
against the OAuth emulator with a scripted "browser"."""

from __future__ import annotations

import re
from collections.abc import Iterator

import anyio
import httpx
import pytest

from sync.clients.errors import OAuthError, SignInError
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient
from sync.clients.redirect_uri import check_redirect_uri
from sync.clients.signin import parse_redirect, start_sign_in

PLAYGROUND = "https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl"  # seeded, paste-back

pytestmark = pytest.mark.anyio


def test_parse_accepts_a_url_a_query_or_a_bare_query() -> None:
    for text in ("http://127.0.0.1:8765/callback?code=C1&state=S&realmId=42",
                 "  '?code=C1&state=S&realmId=42'  ",
                 "code=C1&state=S&realmId=42#frag",
                 "code=C1\nrealmId=42  state=S"):  # the pairs as a page showed them
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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def registered_localhost(server, path: str = "/callback") -> str:
    """Register http://localhost:<free port><path> on the sandbox app, as a user does on the
    Intuit app's Keys & credentials page."""
    uri = f"http://localhost:{_free_port()}{path}"
    server.sandbox.emulators["oauth"].register_redirect_uri(uri)
    return uri


async def test_the_listener_takes_exactly_the_registered_port_and_path(sandbox) -> None:
    saved: list[TokenSet] = []
    oauth, creds = oauth_for(sandbox, saved)
    uri = registered_localhost(sandbox, "/atqbo/back")
    attempt = await start_sign_in(oauth, check_redirect_uri(uri, "sandbox"))
    assert attempt.listening and attempt.redirect_uri == uri
    assert "redirect_uri=" + uri.replace(":", "%3A").replace("/", "%2F") in attempt.url
    redirect = await consent(attempt.url)
    assert redirect.headers["location"].startswith(uri + "?")
    async with httpx.AsyncClient() as browser:
        elsewhere = await browser.get(uri.replace("/atqbo/back", "/callback") + "?code=x&state=" + attempt.state)
        landing = await browser.get(redirect.headers["location"])
    assert elsewhere.status_code == 404  # not the registered path
    assert landing.status_code == 200 and "connected" in landing.text
    tokens = await attempt.result()
    assert saved == [tokens] and tokens.realm_id == creds["qbo"]["realm_id"]
    assert not attempt.listening
    async with QboClient(oauth, api_url=creds["qbo"]["api_url"]) as qbo:
        assert await qbo.company_info()
    await oauth.aclose()


async def test_paste_back_completes_the_sign_in_for_an_https_uri(sandbox) -> None:
    saved: list[TokenSet] = []
    oauth, creds = oauth_for(sandbox, saved)
    attempt = await start_sign_in(oauth, check_redirect_uri(PLAYGROUND, "sandbox"))
    assert not attempt.listening  # nothing to listen on: the browser goes to Intuit's page
    redirect = await consent(attempt.url)
    location = redirect.headers["location"]
    assert location.startswith(PLAYGROUND + "?")
    with pytest.raises(SignInError):
        attempt.paste("garbage")  # a bad paste leaves the attempt open
    with pytest.raises(SignInError, match="state does not match"):
        attempt.paste(location.replace(attempt.state, "another-attempt"))
    attempt.paste(location)
    tokens = await attempt.result()
    assert saved == [tokens] and tokens.realm_id == creds["oauth"]["realm_id"]
    await oauth.aclose()


async def test_access_denied_ends_the_attempt_with_a_clear_error(sandbox) -> None:
    oauth, _ = oauth_for(sandbox, [])
    attempt = await start_sign_in(oauth, check_redirect_uri(registered_localhost(sandbox), "sandbox"))
    redirect = await consent(attempt.url, decision="deny")
    async with httpx.AsyncClient() as browser:
        landing = await browser.get(redirect.headers["location"])
    assert landing.status_code == 400 and "cancelled" in landing.text
    with pytest.raises(SignInError, match="access_denied"):
        await attempt.result()
    assert oauth.tokens is None
    await oauth.aclose()


async def test_a_forged_callback_with_the_wrong_state_does_not_complete_the_attempt(sandbox) -> None:
    oauth, _ = oauth_for(sandbox, [])
    attempt = await start_sign_in(oauth, check_redirect_uri(registered_localhost(sandbox), "sandbox"))
    async with httpx.AsyncClient() as browser:
        forged = await browser.get(attempt.redirect_uri + "?code=EVIL&state=wrong&realmId=1")
    assert forged.status_code == 400 and "state does not match" in forged.text
    with anyio.move_on_after(0.2) as scope:
        await attempt.redirect()
    assert scope.cancelled_caught  # still waiting for the real redirect
    await attempt.aclose()
    await oauth.aclose()


async def test_an_unregistered_uri_is_refused_by_intuit_not_listened_on_forever(sandbox) -> None:
    oauth, _ = oauth_for(sandbox, [])
    uri = f"http://localhost:{_free_port()}/callback"  # passes the local rules, not registered
    attempt = await start_sign_in(oauth, check_redirect_uri(uri, "sandbox"))
    async with httpx.AsyncClient() as browser:
        page = await browser.get(attempt.url)
    assert page.status_code == 400 and "location" not in page.headers
    assert "redirect_uri query parameter value is invalid" in page.text
    await attempt.aclose()
    await oauth.aclose()


async def test_a_code_replayed_with_another_registered_uri_is_refused(sandbox) -> None:
    saved: list[TokenSet] = []
    oauth, _ = oauth_for(sandbox, saved)
    attempt = await start_sign_in(oauth, check_redirect_uri(PLAYGROUND, "sandbox"))
    redirect = attempt.paste((await consent(attempt.url)).headers["location"])
    with pytest.raises(OAuthError, match="invalid_grant"):
        await oauth.exchange_code(redirect.code, redirect.realm_id, redirect_uri=registered_localhost(sandbox))
    assert saved == []
    assert (await attempt.result()).access_token  # the URI it was issued for still redeems it
    await oauth.aclose()


async def test_a_port_in_use_is_said_plainly(sandbox) -> None:
    import socket

    oauth, _ = oauth_for(sandbox, [])
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(SignInError, match=f"cannot listen on localhost:{port}.*another program"):
            await start_sign_in(oauth, check_redirect_uri(f"http://localhost:{port}/callback", "sandbox"))
    await oauth.aclose()
