"""The Intuit OAuth 2.0 emulator over real sockets: authorization page, code exchange, refresh
with rotation, expiry, revoke, and Intuit's error answers (reference/qbo-api.md §1)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.sandbox.qbo_helpers import QboSandbox, rich_seed
from sync.sandbox.server import SandboxServer

REDIRECT = "http://localhost:8765/callback"  # registered on the seeded development keys
PLAYGROUND = "https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl"  # registered too
SCOPE = "com.intuit.quickbooks.accounting"


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    with SandboxServer(QboSandbox(rich_seed())) as s:
        yield s


@pytest.fixture
def creds(server: SandboxServer) -> dict:
    return server.sandbox.credentials(server.url)["oauth"]


@pytest.fixture
def http(server: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as c:
        yield c


def authorize(http: httpx.Client, creds: dict, decision: str = "approve", state: str = "s-123",
              scope: str = SCOPE, redirect: str = REDIRECT) -> dict[str, str]:
    params = {"client_id": creds["client_id"], "response_type": "code", "scope": scope,
              "redirect_uri": redirect, "state": state}
    page = http.get(creds["auth_url"], params=params)
    assert page.status_code == 200
    assert "Connect atqbo to Sandbox Company US" in page.text
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    assert form["state"] == state
    r = http.post(creds["auth_url"], data={**{k: v.replace("&amp;", "&") for k, v in form.items()},
                                           "decision": decision})
    assert r.status_code == 302
    location = r.headers["location"]
    assert location.startswith(redirect + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(http: httpx.Client, creds: dict, code: str, redirect: str = REDIRECT) -> httpx.Response:
    return http.post(creds["token_url"], auth=(creds["client_id"], creds["client_secret"]),
                     data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
                     headers={"Accept": "application/json"})


def refresh(http: httpx.Client, creds: dict, token: str) -> httpx.Response:
    return http.post(creds["token_url"], auth=(creds["client_id"], creds["client_secret"]),
                     data={"grant_type": "refresh_token", "refresh_token": token})


def api_status(http: httpx.Client, server: SandboxServer, access_token: str) -> int:
    realm = server.sandbox.credentials(server.url)["qbo"]["realm_id"]
    return http.get(f"/v3/company/{realm}/companyinfo/{realm}",
                    headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"}).status_code


def test_full_authorization_code_flow(server, creds, http):
    params = authorize(http, creds)
    assert params["state"] == "s-123"
    assert params["realmId"] == creds["realm_id"]
    r = exchange(http, creds, params["code"])
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert "id_token" not in body  # only with openid
    assert r.headers.get("intuit_tid")
    assert api_status(http, server, body["access_token"]) == 200
    # A code is single-use.
    again = exchange(http, creds, params["code"])
    assert again.status_code == 400 and again.json() == {"error": "invalid_grant"}


def test_code_bound_to_its_redirect_uri(creds, http):
    params = authorize(http, creds)
    # Another URI registered on the same keys does not redeem it either: the one it was issued for.
    for other in (PLAYGROUND, "http://127.0.0.1:9999/other", REDIRECT + "/"):
        r = exchange(http, creds, params["code"], redirect=other)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = http.post(creds["token_url"], auth=(creds["client_id"], creds["client_secret"]),
                  data={"grant_type": "authorization_code", "code": params["code"]})  # no redirect_uri
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert exchange(http, creds, params["code"]).status_code == 200


def test_only_registered_redirect_uris_character_for_character(creds, http):
    assert authorize(http, creds, redirect=PLAYGROUND)["code"]
    for uri in ("http://localhost:8766/callback",  # another port
                "http://localhost:8765/callback/",  # a trailing slash
                "http://LOCALHOST:8765/callback",  # case
                "http://localhost:8765/Callback",
                "http://127.0.0.1:8765/callback",  # the same place by IP address
                "http://[::1]:8765/callback",
                "https://localhost:8765/callback"):
        r = http.get(creds["auth_url"], params={"client_id": creds["client_id"], "response_type": "code",
                                                "scope": SCOPE, "redirect_uri": uri, "state": "s"})
        assert r.status_code == 400 and "location" not in r.headers, uri
        assert "redirect_uri query parameter value is invalid" in r.text


@pytest.mark.parametrize("uri, keys, refused", [
    ("http://127.0.0.1:8765/callback", "development", "IP addresses"),
    ("http://[::1]:8765/callback", "development", "IP addresses"),
    ("https://10.0.0.5/callback", "production", "IP addresses"),
    ("https://2130706433/callback", "production", "IP addresses"),
    ("http://localhost:8765/callback", "production", "no localhost"),
    ("https://localhost/callback", "production", "no localhost"),
    ("https://intranet/callback", "production", "public domain"),
    ("http://acme.example.com/callback", "production", "https"),
    ("http://acme.example.com/callback", "development", "https"),
    ("https://acme.example.com/cb#top", "development", "fragment"),
    ("ftp://acme.example.com/cb", "development", "absolute"),
])
def test_the_portal_refuses_to_register_what_intuit_never_accepts(creds, http, uri, keys, refused):
    client_id = creds["client_id"] if keys == "development" else creds["production"]["client_id"]
    r = http.post("/_sandbox/oauth/redirect-uris", json={"uri": uri, "client_id": client_id})
    assert r.status_code == 400 and refused in r.json()["error"]
    assert uri not in http.get("/_sandbox/oauth/redirect-uris").json()[client_id]


def test_production_keys_sign_in_through_their_https_uri(server, creds, http):
    prod = creds["production"]
    assert prod["environment"] == "production" and prod["redirect_uris"]
    uri = prod["redirect_uris"][0]
    assert uri.startswith("https://")
    # Neither the development keys' localhost URI nor an IP address works with production keys.
    for other in (REDIRECT, "https://127.0.0.1/callback", "http://127.0.0.1:8765/callback"):
        r = http.get(creds["auth_url"], params={"client_id": prod["client_id"], "response_type": "code",
                                                "scope": SCOPE, "redirect_uri": other, "state": "s"})
        assert r.status_code == 400 and "redirect_uri query parameter value is invalid" in r.text, other
    params = authorize(http, {**creds, "client_id": prod["client_id"]}, redirect=uri)
    assert exchange(http, creds, params["code"], redirect=uri).json() == {"error": "invalid_grant"}  # other keys
    r = http.post(creds["token_url"], auth=(prod["client_id"], prod["client_secret"]),
                  data={"grant_type": "authorization_code", "code": params["code"], "redirect_uri": uri})
    assert r.status_code == 200 and api_status(http, server, r.json()["access_token"]) == 200


def test_a_registered_uri_is_accepted_and_can_be_removed(creds, http):
    uri = "http://localhost:18765/other/path"
    r = http.post("/_sandbox/oauth/redirect-uris", json={"uri": uri})
    assert r.status_code == 201 and uri in r.json()["redirect_uris"]
    assert authorize(http, creds, redirect=uri)["code"]
    assert http.request("DELETE", "/_sandbox/oauth/redirect-uris", json={"uri": uri}).json() == {"removed": True}
    r = http.get(creds["auth_url"], params={"client_id": creds["client_id"], "response_type": "code",
                                            "scope": SCOPE, "redirect_uri": uri, "state": "s"})
    assert r.status_code == 400


def test_openid_scope_adds_a_verifiable_id_token(creds, http):
    from authlib.jose import JsonWebKey, jwt  # already imported (quietly) by the emulator

    params = authorize(http, creds, scope=f"{SCOPE} openid")
    body = exchange(http, creds, params["code"]).json()
    discovery = http.get(creds["discovery_url"]).json()
    keys = JsonWebKey.import_key_set(http.get(discovery["jwks_uri"]).json())
    claims = jwt.decode(body["id_token"], keys)
    assert claims["iss"] == discovery["issuer"] and claims["realmid"] == creds["realm_id"]


def test_codes_are_short_lived(creds, http):
    http.patch("/_sandbox/oauth/settings", json={"code_ttl": 0})
    params = authorize(http, creds)
    r = exchange(http, creds, params["code"])
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}


def test_deny_redirects_with_access_denied(creds, http):
    params = authorize(http, creds, decision="deny", state="xyz")
    assert params == {"error": "access_denied", "state": "xyz"}


def test_consent_page_names_where_the_browser_goes(creds, http):
    page = http.get(creds["auth_url"], params={"client_id": creds["client_id"], "response_type": "code",
                                               "scope": SCOPE, "redirect_uri": REDIRECT, "state": "s"})
    assert page.status_code == 200 and f"You will be sent to {REDIRECT}" in page.text
    assert 'value="approve"' in page.text and 'value="deny"' in page.text


@pytest.mark.parametrize("change", [
    {"client_id": "unknown-app"},
    {"redirect_uri": "https://evil.example.com/cb"},
    {"scope": "openid"},
    {"response_type": "token"},
])
def test_bad_authorization_requests_get_an_error_page_not_a_redirect(creds, http, change):
    params = {"client_id": creds["client_id"], "response_type": "code", "scope": SCOPE,
              "redirect_uri": REDIRECT, "state": "s", **change}
    r = http.get(creds["auth_url"], params=params)
    assert r.status_code == 400
    assert "location" not in r.headers
    assert "Something went wrong" in r.text


def test_refresh_rotates_and_zero_grace_kills_the_old_token(server, creds, http):
    r = http.patch("/_sandbox/oauth/settings", json={"grace_seconds": 0})
    assert r.json()["grace_seconds"] == 0
    first = refresh(http, creds, creds["refresh_token"])
    assert first.status_code == 200
    new_rt = first.json()["refresh_token"]
    assert new_rt != creds["refresh_token"]
    old = refresh(http, creds, creds["refresh_token"])
    assert old.status_code == 400 and old.json() == {"error": "invalid_grant"}
    assert refresh(http, creds, new_rt).status_code == 200


def test_default_grace_keeps_the_old_refresh_token_alive(creds, http):
    assert http.get("/_sandbox/oauth/settings").json()["grace_seconds"] == 86400
    assert refresh(http, creds, creds["refresh_token"]).status_code == 200
    assert refresh(http, creds, creds["refresh_token"]).status_code == 200


def test_access_tokens_expire(server, creds, http):
    http.patch("/_sandbox/oauth/settings", json={"access_ttl": 1})
    body = refresh(http, creds, creds["refresh_token"]).json()
    assert body["expires_in"] == 1
    assert api_status(http, server, body["access_token"]) == 200
    server.sandbox.oauth.clock = lambda base=server.sandbox.oauth.clock: base() + 2  # let time pass
    assert api_status(http, server, body["access_token"]) == 401


def test_admin_expires_all_access_tokens_now(server, creds, http):
    at = refresh(http, creds, creds["refresh_token"]).json()["access_token"]
    assert http.post("/_sandbox/oauth/expire-access-tokens").json()["expired"] >= 1
    assert api_status(http, server, at) == 401


def test_revoke_kills_refresh_and_access_tokens(server, creds, http):
    body = refresh(http, creds, creds["refresh_token"]).json()
    r = http.post(creds["revoke_url"], auth=(creds["client_id"], creds["client_secret"]),
                  json={"token": body["refresh_token"]}, headers={"Accept": "application/json"})
    assert r.status_code == 200 and r.content == b""
    assert refresh(http, creds, body["refresh_token"]).json() == {"error": "invalid_grant"}
    assert api_status(http, server, body["access_token"]) == 401


def test_disconnect_revokes_everything_and_a_fresh_grant_works(server, creds, http):
    http.post("/_sandbox/oauth/revoke-all")
    assert refresh(http, creds, creds["refresh_token"]).status_code == 400
    issued = http.post("/_sandbox/oauth/refresh-tokens", json={})
    assert issued.status_code == 201
    assert refresh(http, creds, issued.json()["refresh_token"]).status_code == 200
    grants = http.get("/_sandbox/oauth/grants").json()
    assert [g["revoked"] for g in grants].count(False) == 1


def test_invalid_client(creds, http):
    r = http.post(creds["token_url"], auth=(creds["client_id"], "wrong-secret"),
                  data={"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]})
    assert r.status_code == 401 and r.json() == {"error": "invalid_client"}
    r = http.post(creds["token_url"], data={"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]},
                  headers={"Authorization": "Basic !!notbase64"})
    assert r.status_code == 401 and r.json() == {"error": "invalid_client"}
    r = http.post(creds["revoke_url"], auth=("x", "y"), json={"token": creds["refresh_token"]})
    assert r.status_code == 401


def test_client_secret_post_and_other_errors(creds, http):
    r = http.post(creds["token_url"], data={"grant_type": "refresh_token", "refresh_token": creds["refresh_token"],
                                            "client_id": creds["client_id"], "client_secret": creds["client_secret"]})
    assert r.status_code == 200
    auth = (creds["client_id"], creds["client_secret"])
    r = http.post(creds["token_url"], auth=auth, data={"grant_type": "password"})
    assert r.status_code == 400 and r.json() == {"error": "unsupported_grant_type"}
    r = http.post(creds["token_url"], auth=auth, data={})
    assert r.status_code == 400 and r.json() == {"error": "invalid_request"}
    r = http.post(creds["token_url"], auth=auth, data={"grant_type": "refresh_token", "refresh_token": "nope"})
    assert r.status_code == 400 and r.json() == {"error": "invalid_grant"}


def test_hard_expiry_header(creds, http):
    r = http.post(creds["token_url"], auth=(creds["client_id"], creds["client_secret"]),
                  data={"grant_type": "refresh_token", "refresh_token": creds["refresh_token"]},
                  headers={"x-include-refresh-token-hard-expires-in": "true"})
    assert r.json()["x_refresh_token_hard_expires_in"] > 0
    plain = refresh(http, creds, r.json()["refresh_token"]).json()
    assert "x_refresh_token_hard_expires_in" not in plain


def test_discovery_points_at_this_server(server, creds, http):
    doc = http.get(creds["discovery_url"]).json()
    assert doc["token_endpoint"] == creds["token_url"]
    assert doc["authorization_endpoint"] == creds["auth_url"]
    assert doc["revocation_endpoint"] == creds["revoke_url"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {"client_secret_post", "client_secret_basic"}


def test_credentials_are_full_urls(server, creds):
    for key in ("auth_url", "token_url", "revoke_url", "discovery_url"):
        assert creds[key].startswith(server.url + "/")
    assert set(creds) == {"client_id", "client_secret", "refresh_token", "realm_id", "auth_url", "token_url",
                          "revoke_url", "discovery_url", "environment", "redirect_uri", "redirect_uris",
                          "production"}
    assert creds["environment"] == "sandbox" and creds["redirect_uri"] == REDIRECT in creds["redirect_uris"]


def test_snapshot_shows_no_token_values(server, creds):
    text = repr(server.sandbox.oauth.snapshot())
    assert creds["refresh_token"] not in text and creds["client_secret"] not in text
    assert creds["production"]["client_secret"] not in text
