"""Where the Autotask secret may go (DESIGN §1 "Connecting", §5 "Secrets stay secret").

Every Autotask request carries the API user's secret, and the URLs it goes to come from
Autotask's own answers: the zone lookup names the zone's base URL, and each query page names
the next one. An answer is text from outside, so before the client sends anything there:

- a zone URL must be https on Autotask's own domain (autotask.net: its zones are
  webservices.autotask.net, webservices2.autotask.net, ... — reference/autotask-api.md §1.2,
  Autotask's getZoneInfo documentation), or on the very host the zone lookup itself was sent
  to (the one the user named with --zone-url; that is how the local sandbox on
  http://127.0.0.1 is accepted, not because loopback is trusted);
- a page link (nextPageUrl, prevPageUrl) must stay on the zone's own scheme, host and port.

URLs are judged as httpx parses them (the parser that sends the request), never with a second
parser that could read the host differently; a user name in the URL is refused outright.
"""

from __future__ import annotations

import httpx

from .errors import UntrustedUrlError

AUTOTASK_DOMAIN = "autotask.net"
SERVICE = "autotask"


def shown(text: str, limit: int = 120) -> str:
    """Text from an answer made safe for one line of a terminal or log: printable ASCII stays,
    anything else becomes a visible escape; bounded."""
    out = []
    for ch in text[:limit]:
        if ch == "\\":
            out.append("\\\\")
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.append(ascii(ch)[1:-1])  # \x1b, \u202e, ...
    return "".join(out) + ("..." if len(text) > limit else "")


def _host(url: httpx.URL) -> str:
    """host[:port] as shown in messages (escaped: it comes from an answer)."""
    return shown(url.host + (f":{url.port}" if url.port else ""))


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    default = {"https": 443, "http": 80}.get(url.scheme, -1)
    return url.scheme, url.host, url.port or default


def _parse(raw: object, what: str) -> httpx.URL:
    if not isinstance(raw, str) or not raw.strip():
        raise UntrustedUrlError(SERVICE, "?", f"Autotask answered {what} that is not a URL; nothing was sent")
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError, TypeError):
        raise UntrustedUrlError(SERVICE, "?", f"Autotask answered {what} that is not a valid URL "
                                f"({shown(raw, 80)!s}); nothing was sent") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise UntrustedUrlError(SERVICE, _host(url) if url.host else "?",
                                f"Autotask answered {what} that is not an http(s) URL ({shown(raw, 80)}); "
                                "nothing was sent")
    return url


def on_autotask_domain(url: httpx.URL) -> bool:
    host = url.host.lower()
    return (url.scheme == "https" and (url.port in (None, 443))
            and (host == AUTOTASK_DOMAIN or host.endswith("." + AUTOTASK_DOMAIN)))


def check_zone_url(raw: object, lookup_base: str, username: str) -> str:
    """The zone's base URL from the lookup's answer, or UntrustedUrlError naming its host."""
    url = _parse(raw, "the zone lookup with a zone URL")
    lookup = httpx.URL(lookup_base)
    host = _host(url)
    trusted = not url.userinfo and not url.query and not url.fragment and (
        on_autotask_domain(url) or _origin(url) == _origin(lookup))
    if not trusted:
        raise UntrustedUrlError(
            SERVICE, host,
            f"Autotask's zone lookup for API user {shown(username)!r} named {url.scheme}://{host} as the "
            f"zone; atqbo sends the Autotask secret only to https hosts on {AUTOTASK_DOMAIN} or to the "
            f"zone-lookup host given with --zone-url ({_host(lookup)}), so nothing was sent there")
    return str(raw)


def check_page_url(raw: object, api_base: str, endpoint: str, field: str) -> str:
    """A page link that stays on the zone's host, or UntrustedUrlError naming its host."""
    url = _parse(raw, f"{endpoint} with a {field}")
    zone = httpx.URL(api_base)
    if url.userinfo or _origin(url) != _origin(zone):
        host = _host(url)
        raise UntrustedUrlError(
            SERVICE, host,
            f"Autotask answered {endpoint} with a {field} on another host ({url.scheme}://{host}, the "
            f"zone is {_host(zone)}); refused, nothing was sent there")
    return str(raw)
