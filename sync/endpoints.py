"""Where the clients connect, from what an operator saved or pasted, and how rotated QBO
tokens are kept: one copy for the command line, the daemon and the console's connect screen.

Nothing here imports Textual; the clients load only when called.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.clients.oauth import IntuitEndpoints, TokenSet


_ZONE_SUFFIX = re.compile(r"/(atservicesrest(/v1\.0(/zoneinformation)?)?)?/*$", re.IGNORECASE)


def zone_lookup_base(url: str | None) -> str:
    """Where the zone lookup goes, from what an operator may paste: a host
    (https://webservices.autotask.net), the full zoneInformation URL, or a zone's own
    ATServicesRest URL (every zone answers the lookup)."""
    if not url:
        from sync.clients.autotask import DEFAULT_ZONE_LOOKUP_BASE

        return DEFAULT_ZONE_LOOKUP_BASE
    return _ZONE_SUFFIX.sub("", url.strip()) or url.strip()


def intuit_endpoints(auth_url: str | None, token_url: str | None) -> "IntuitEndpoints":
    """Intuit's OAuth endpoints, or the given ones. The revoke endpoint follows the token
    endpoint's host when that is not Intuit's (the local sandbox serves all three)."""
    from sync.clients.oauth import INTUIT_OAUTH, IntuitEndpoints

    if not auth_url and not token_url:
        return INTUIT_OAUTH
    revoke = INTUIT_OAUTH.revoke_url
    if token_url and "intuit.com" not in token_url:
        origin = re.match(r"^[a-z]+://[^/]+", token_url)
        if origin:
            revoke = IntuitEndpoints.local(origin.group(0)).revoke_url
    return IntuitEndpoints(auth_url=auth_url or INTUIT_OAUTH.auth_url,
                           token_url=token_url or INTUIT_OAUTH.token_url, revoke_url=revoke)


def _utc(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, timezone.utc) if epoch else None


def persist_tokens(store: Any):
    """The on_tokens callback: a rotated refresh token is durable before anything uses it."""

    def save(tokens: "TokenSet") -> None:
        store.secrets.save_qbo_tokens(
            tokens.refresh_token, tokens.access_token or None, _utc(tokens.expires_at),
            _utc(tokens.refresh_expires_at))

    return save


