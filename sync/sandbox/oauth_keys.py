"""The emulated Intuit developer portal's side of an app: its two pairs of keys (development,
production), each with its Redirect URIs list, and the rules the portal applies before it
registers a URI (Intuit, "Set app redirect URIs": https only, IP addresses never, localhost
without https only on development keys). Written apart from the product's own check
(sync/clients/redirect_uri.py): an emulator that shared it would agree with its bugs.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

KeyType = Literal["development", "production"]
# A listener URI for atqbo's sign-in, and Intuit's OAuth 2.0 Playground page, which Intuit
# registers on every new app's development keys (paste-back: the page shows the address).
DEVELOPMENT_REDIRECT_URIS = ("http://localhost:8765/callback",
                             "https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl")
PRODUCTION_REDIRECT_URIS = ("https://atqbo-sandbox.example.com/callback",)
INVALID_REDIRECT = ("The redirect_uri query parameter value is invalid. Make sure it is listed in the "
                     "Redirect URIs section on your app's keys tab and matches it exactly.")


class RedirectUriRefused(ValueError):
    """The developer portal refuses to register this redirect URI for these keys."""


def registrable(uri: str, key_type: KeyType) -> None:
    """Intuit's developer-portal rules for a redirect URI (Set app redirect URIs): https only,
    never an IP address; http://localhost only on development keys. Raises RedirectUriRefused."""
    parts = urlsplit(uri)
    try:
        parts.port  # noqa: B018 - a malformed port raises
    except ValueError:
        raise RedirectUriRefused("the port is not valid") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or any(c.isspace() for c in uri):
        raise RedirectUriRefused("a redirect URI must be an absolute http(s) URL")
    if parts.fragment or "#" in uri:
        raise RedirectUriRefused("a redirect URI must not have a fragment")
    if _looks_like_ip(host):
        raise RedirectUriRefused("IP addresses aren't allowed")
    if key_type == "production" and (host == "localhost" or host.endswith(".localhost") or "." not in host):
        raise RedirectUriRefused("production redirect URIs must be https on a public domain (no localhost)")
    if parts.scheme != "https" and not (key_type == "development" and host == "localhost"):
        raise RedirectUriRefused("redirect URIs must begin with https (http only for localhost, "
                                 "development keys)")


def _looks_like_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True
    except ValueError:
        # 2130706433, 0x7f.1, 127.1: a browser reads these as IPv4 addresses
        return all(p.isdigit() or p.startswith("0x") for p in host.rstrip(".").split("."))


@dataclass
class OAuthKeys:
    """One pair of an app's keys with its registered redirect URIs."""

    client_id: str
    client_secret: str
    key_type: KeyType
    redirect_uris: list[str] = field(default_factory=list)
