"""The one rule for the QuickBooks sign-in's redirect URI, checked before anything is sent to
Intuit (the CLI and the Connect screen both call `check_redirect_uri`).

Intuit redirects only to a URI registered, character for character, on the app's Keys &
credentials page; whether it is registered is the server's business. What can be known here:
production keys redirect only to https on a real domain; an IP address (127.0.0.1 and ::1
too) is never accepted; http is accepted only for http://localhost[:port]/path and only with
development (sandbox) keys. So atqbo never invents a redirect URI: the user names the
registered one, and for http://localhost:PORT/PATH atqbo listens on exactly that port and path;
for any other URI the user pastes back the address the browser was sent to.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from .qbo import QBO_PRODUCTION, QBO_SANDBOX

ENVIRONMENTS = ("production", "sandbox")
MAX_URI_LENGTH = 1000  # far above any real callback; keeps hostile text short
_KEYS = {"production": "Production keys", "sandbox": "Development keys"}
_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
# Hosts a browser reads as an IPv4 address although ipaddress does not: 2130706433, 0x7f.1, 127.1
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]+|[0-9]+)(\.(0x[0-9a-f]+|[0-9]+))*\.?$", re.IGNORECASE)


class RedirectUriError(ValueError):
    """The redirect URI breaks one of Intuit's rules: `rule` says which, `fix` what to register."""

    def __init__(self, rule: str, fix: str) -> None:
        super().__init__(f"{rule}. {fix}")
        self.rule = rule
        self.fix = fix


@dataclass(frozen=True)
class RedirectUri:
    """A redirect URI that passed the local rules, and how the sign-in comes back through it."""

    uri: str
    environment: str
    listen_port: int | None = None  # atqbo listens on localhost:listen_port (http://localhost only)
    listen_path: str = "/"

    @property
    def listener(self) -> bool:
        return self.listen_port is not None


def check_environment(text: str | None) -> str:
    value = (text or "").strip().lower()
    if value not in ENVIRONMENTS:
        raise ValueError(f"the environment must be production or sandbox, not {text!r}"[:200])
    return value


def default_api_url(environment: str | None) -> str:
    """The QuickBooks API base the environment's keys reach (production companies, or Intuit's
    sandbox companies)."""
    return QBO_SANDBOX if environment == "sandbox" else QBO_PRODUCTION


def _where(environment: str) -> str:
    return (f"on your Intuit app (developer.intuit.com > your app > Keys & credentials, "
            f"{_KEYS[environment]}, Redirect URIs), then give that same URI here")


def check_redirect_uri(text: str | None, environment: str) -> RedirectUri:
    """Check `text` against Intuit's redirect-URI rules for the environment's keys; raise
    RedirectUriError naming the rule broken and what to register instead."""
    environment = check_environment(environment)
    uri = (text or "").strip()
    where = _where(environment)
    example = ("https://your-domain.example/atqbo/callback" if environment == "production"
               else "http://localhost:8765/callback")
    if not uri:
        raise RedirectUriError("a redirect URI is required: atqbo never invents one, Intuit accepts "
                               "only a registered one", f"Register one such as {example} {where}")
    if len(uri) > MAX_URI_LENGTH or _CONTROL.search(uri):
        raise RedirectUriError("the redirect URI holds spaces or control characters, or is over "
                               f"{MAX_URI_LENGTH} characters", f"Give the URI exactly as registered {where}")
    parts = urlsplit(uri)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        raise RedirectUriError(f"{uri!r} is not a web address (it must start with https://, or "
                               "http://localhost for development keys)", f"Register one such as {example} {where}")
    try:
        port = parts.port
    except ValueError:
        raise RedirectUriError(f"the port in {uri!r} is not a number from 1 to 65535",
                               f"Register a URI with a valid port {where}") from None
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise RedirectUriError(f"{uri!r} names no host", f"Register one such as {example} {where}")
    if parts.username is not None or parts.password is not None:
        raise RedirectUriError("the redirect URI carries a user name or password (user@host)",
                               f"Register it without one {where}")
    if parts.fragment or uri.endswith("#"):
        raise RedirectUriError("the redirect URI has a fragment (#...), which OAuth 2.0 forbids",
                               f"Register it without the # part {where}")
    if _is_ip(host):
        raise RedirectUriError(
            f"Intuit never accepts an IP address as redirect URI ({host}), not even 127.0.0.1 or ::1",
            "Use a name instead: " + ("https on your own domain" if environment == "production"
                                      else "http://localhost:PORT/PATH (atqbo listens there)") + f"; register it {where}")
    local = host.lower() == "localhost" or host.lower().endswith(".localhost")
    if environment == "production":
        if local:
            raise RedirectUriError(
                "production keys never accept localhost; Intuit allows it only with development "
                "(sandbox) keys", "Register an https address on a domain you control (the page need "
                f"not exist: you paste back the address the browser shows), e.g. {example}, {where}")
        if scheme != "https":
            raise RedirectUriError("production keys accept only https redirect URIs",
                                   f"Register the https form, e.g. {example}, {where}")
        if "." not in host:
            raise RedirectUriError(f"production keys need a real domain name, not {host!r}",
                                   f"Register an https address on a domain you control, e.g. {example}, {where}")
        return RedirectUri(uri, environment)
    if scheme == "http":
        if host.lower() != "localhost":
            raise RedirectUriError(
                "http is accepted only for http://localhost (development keys); any other host needs https",
                f"Register http://localhost:8765/callback or an https address {where}")
        return RedirectUri(uri, environment, listen_port=port or 80, listen_path=parts.path or "/")
    return RedirectUri(uri, environment)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        return True
    except ValueError:
        return bool(_NUMERIC_HOST.match(host))
