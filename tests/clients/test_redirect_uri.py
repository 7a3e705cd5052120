"""The one local rule for the sign-in's redirect URI (Intuit's: production keys need https on
a real domain, never an IP address, http://localhost only with development keys), with a
message naming the rule broken and what to register."""

from __future__ import annotations

import pytest

from sync.clients.qbo import QBO_PRODUCTION, QBO_SANDBOX
from sync.clients.redirect_uri import RedirectUriError, check_redirect_uri, default_api_url


@pytest.mark.parametrize("uri, environment, port, path", [
    ("http://localhost:8765/callback", "sandbox", 8765, "/callback"),
    ("http://localhost/cb", "sandbox", 80, "/cb"),
    ("http://localhost:9000", "sandbox", 9000, "/"),
    ("https://acme.example.com/atqbo/callback", "production", None, "/"),
    ("https://acme.example.com/atqbo/callback", "sandbox", None, "/"),
    ("https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl", "sandbox", None, "/"),
    ("  https://acme.example.com/cb?x=1  ", "production", None, "/"),
])
def test_accepted_and_how_the_answer_comes_back(uri, environment, port, path):
    checked = check_redirect_uri(uri, environment)
    assert checked.uri == uri.strip() and checked.environment == environment
    assert checked.listen_port == port and checked.listener is (port is not None)
    assert checked.listen_path == path


@pytest.mark.parametrize("uri, environment, rule, fix", [
    ("http://127.0.0.1:8765/callback", "sandbox", "never accepts an IP address", "http://localhost:PORT/PATH"),
    ("http://127.0.0.1:8765/callback", "production", "never accepts an IP address", "https on your own domain"),
    ("http://[::1]:8765/callback", "sandbox", "never accepts an IP address", "Development keys"),
    ("https://10.1.2.3/cb", "production", "never accepts an IP address", "Production keys"),
    ("https://2130706433/cb", "production", "never accepts an IP address", "register"),
    ("http://localhost:8765/callback", "production", "production keys never accept localhost", "https address"),
    ("https://app.localhost/cb", "production", "never accept localhost", "Production keys"),
    ("http://acme.example.com/cb", "production", "only https", "https form"),
    ("https://intranet/cb", "production", "real domain", "domain you control"),
    ("http://acme.example.com/cb", "sandbox", "http is accepted only for http://localhost", "https"),
    ("", "sandbox", "a redirect URI is required", "http://localhost:8765/callback"),
    ("ftp://acme.example.com/cb", "production", "not a web address", "Register"),
    ("localhost:8765/callback", "sandbox", "not a web address", "Register"),
    ("http://localhost:99999/cb", "sandbox", "port", "valid port"),
    ("https://acme.example.com/cb#x", "production", "fragment", "without the #"),
    ("https://me:pw@acme.example.com/cb", "production", "user name or password", "without"),
    ("https://acme.example.com/c b", "production", "spaces or control characters", "exactly as registered"),
    ("https://acme.example.com/\x1b[31m", "production", "control characters", "Keys & credentials"),
])
def test_refused_with_the_rule_and_the_fix(uri, environment, rule, fix):
    with pytest.raises(RedirectUriError) as caught:
        check_redirect_uri(uri, environment)
    assert rule in caught.value.rule and fix in caught.value.fix
    assert "\x1b" not in str(caught.value)


def test_environment_is_checked_and_picks_the_api_host():
    with pytest.raises(ValueError, match="production or sandbox"):
        check_redirect_uri("https://acme.example.com/cb", "staging")
    assert default_api_url("sandbox") == QBO_SANDBOX
    assert default_api_url("production") == QBO_PRODUCTION and default_api_url(None) == QBO_PRODUCTION
