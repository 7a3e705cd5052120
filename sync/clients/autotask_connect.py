"""The Autotask connection test: one operation, one set of words, for `atqbo connect autotask`
and the console's Connect screen.

It reads what a scan needs first, so a pass means a scan can start: the zone (from the API user
name), the purchase order status picklist (proves the credentials and the right to read
purchase orders) and the local organization, company 0 (named back to the user; the to-dos
go there). It fails fast: a test should not sit through a minute of backoff.

Autotask answers a wrong integration code or an unknown API user with HTTP 500, not 401; the
client tells that apart from an outage (AutotaskCredentialsRefused), and so do the words here.
"""

from __future__ import annotations

from dataclasses import dataclass

from .autotask import AutotaskClient, ZoneInfo
from .errors import (
    ApiError,
    AutotaskAuthError,
    AutotaskPermissionError,
    AutotaskZoneError,
    ThrottledError,
    TransportError,
    UnavailableError,
    UntrustedUrlError,
)

TEST_TIMEOUT = 20.0
TEST_ATTEMPTS = 2


@dataclass(frozen=True)
class AutotaskConnected:
    zone: ZoneInfo
    local_organization: str  # company 0's name


class AutotaskConnectFailed(Exception):
    """The test failed; the message says what is wrong and what to do (never a secret)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind  # unknown_user | credentials | permission | untrusted | unreachable | unavailable | refused | input


def connect_client(username: str, integration_code: str, secret: str, zone_lookup_base: str) -> AutotaskClient:
    """A client set up for the test (short timeout, one resend). Raises AutotaskConnectFailed
    when a field is missing."""
    try:
        client = AutotaskClient(username, integration_code, secret, zone_lookup_base=zone_lookup_base,
                                timeout=TEST_TIMEOUT)
    except ValueError as exc:
        raise AutotaskConnectFailed(str(exc), "input") from None
    client.retry.max_attempts = TEST_ATTEMPTS
    return client


async def check_autotask_connection(client: AutotaskClient) -> AutotaskConnected:
    """Run the test on `client` (see the module docstring); raises AutotaskConnectFailed."""
    user, base = client.username, client.zone_lookup_base
    try:
        zone = await client.zone()
    except AutotaskZoneError as exc:
        raise AutotaskConnectFailed(
            f"Autotask does not know the API user {user!r} (zone lookup at {base}): {exc.message}. "
            "Check the user name: it is the API user's e-mail-like name (its Username (Key)).",
            "unknown_user") from None
    except UntrustedUrlError as exc:
        raise AutotaskConnectFailed(f"{exc.message}. Nothing was saved.", "untrusted") from None
    except TransportError as exc:
        raise AutotaskConnectFailed(f"cannot reach the Autotask zone lookup at {base}: {exc.message}",
                                    "unreachable") from None
    except ApiError as exc:
        raise _failed(exc, user, zone=None) from None
    try:
        await client.picklist("PurchaseOrders", "status")
        local = await client.get("Companies", 0)
    except ApiError as exc:
        raise _failed(exc, user, zone) from None
    name = str((local or {}).get("companyName") or "") or "your local organization"
    return AutotaskConnected(zone=zone, local_organization=name)


def _failed(exc: ApiError, user: str, zone: ZoneInfo | None) -> AutotaskConnectFailed:
    where = f"zone {zone.zone_name or zone.url}" if zone else "the zone lookup"
    url = zone.url if zone else "its zone lookup"
    said = exc.message
    if isinstance(exc, AutotaskAuthError):
        return AutotaskConnectFailed(
            f"Autotask refused the credentials of {user!r} ({where}): the secret or the integration code "
            "is wrong, or the API user is inactive or locked (an API user's password can expire). "
            f"({said})", "credentials")
    if isinstance(exc, AutotaskPermissionError):
        return AutotaskConnectFailed(
            "the Autotask API user may not read what atqbo needs (purchase orders and companies): give it "
            f"a security level that can, such as API User (system). ({said})", "permission")
    if isinstance(exc, UntrustedUrlError):
        return AutotaskConnectFailed(f"{said}. Nothing was saved.", "untrusted")
    if isinstance(exc, TransportError):
        return AutotaskConnectFailed(f"cannot reach Autotask at {url}: {said}", "unreachable")
    if isinstance(exc, (UnavailableError, ThrottledError)):
        return AutotaskConnectFailed(
            f"Autotask is not answering properly at {url} (an outage or a limit, not the credentials): "
            f"{said}. Try again in a few minutes.", "unavailable")
    return AutotaskConnectFailed(f"Autotask: {said}", "refused")
