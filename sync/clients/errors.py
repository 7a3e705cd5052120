"""Typed errors raised by the Autotask and QuickBooks Online clients.

Every error carries what the API itself said (its message, code, detail and offending
element) so the engine can show the operator the real cause. Messages are built only from
response bodies and our own words, never from request headers or tokens, so they are safe to
log and show.
"""

from __future__ import annotations

from dataclasses import dataclass


class ApiError(Exception):
    """Base of every client error. `service` is "autotask", "qbo" or "oauth"."""

    service: str = ""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class TransportError(ApiError):
    """The request did not get a usable answer: connection refused or reset, timeout, a body
    that is not the JSON the API speaks (an HTML error page, truncated JSON).

    `maybe_committed` is True when the request may have reached the server and been carried
    out (a write whose reply was lost): the caller must look before it re-creates anything.
    """

    def __init__(self, service: str, message: str, *, status: int | None = None,
                 maybe_committed: bool = False) -> None:
        super().__init__(message, status=status)
        self.service = service
        self.maybe_committed = maybe_committed


class AnswerTooLargeError(TransportError):
    """The answer was larger than the client's limit and was refused before it was read whole.
    Not retried: the same request brings the same answer."""


class DeadlineError(TransportError):
    """No complete answer arrived within the request's overall deadline (a server trickling
    its reply), after the retries the request's safety allows."""


class UnexpectedAnswerError(TransportError):
    """A 200 whose body has the wrong shape for its endpoint (no list of items, no
    QueryResponse, a count that disagrees with what came): never taken as an empty answer.
    `endpoint` names what was asked, e.g. "PurchaseOrders/query" or "the Bill query"."""

    def __init__(self, service: str, endpoint: str, message: str, *, status: int | None = None) -> None:
        super().__init__(service, message, status=status)
        self.endpoint = endpoint


class UntrustedUrlError(TransportError):
    """An answer named a URL the client will not send credentials to (a zone or a page link
    on another host). `host` is that URL's host, escaped for display; nothing was sent there."""

    def __init__(self, service: str, host: str, message: str) -> None:
        super().__init__(service, message)
        self.host = host


class ThrottledError(ApiError):
    """Marker base: the service refused the request because of a rate or thread limit, and
    our retries ran out."""


class UnavailableError(ApiError):
    """Marker base: the service answered 5xx and our retries ran out (or a retry was unsafe)."""


class AuthError(ApiError):
    """Marker base: credentials or tokens were rejected."""


# ---------------------------------------------------------------- Autotask


class AutotaskError(ApiError):
    service = "autotask"

    def __init__(self, message: str, *, status: int | None = None,
                 errors: list[str] | None = None) -> None:
        super().__init__(message, status=status)
        self.errors: list[str] = list(errors or [])


class AutotaskAuthError(AutotaskError, AuthError):
    """HTTP 401: user name, integration code or secret rejected (after a zone re-lookup)."""


class AutotaskCredentialsRefused(AutotaskAuthError):
    """HTTP 500 that is the credentials, not an outage: Autotask answers an unknown API user or a
    wrong integration code with 500 (not 401), so a refusal is confirmed by a request only the
    credentials can make fail (ThresholdInformation) answering the same way."""


class AutotaskZoneError(AutotaskError):
    """The zone lookup failed: the API user name is unknown, or the answer was unusable."""


class AutotaskPermissionError(AutotaskError):
    """HTTP 403, or the API's "does not have the adequate permissions" message."""


class AutotaskNotFound(AutotaskError):
    """HTTP 404 (a GET by id answers None instead)."""


class AutotaskValidationError(AutotaskError):
    """The API refused the request: HTTP 500 (or 4xx) with `{"errors": [...]}`."""


class AutotaskThrottled(AutotaskError, ThrottledError):
    """Thread limit (HTTP 429, "thread threshold of 3 threads has been exceeded") or hourly
    request limit, still refused after our retries."""


class AutotaskUnavailable(AutotaskError, UnavailableError):
    """HTTP 502/503/504 (or another 5xx without an errors body) after our retries."""


class PicklistError(AutotaskError):
    """A picklist field or label does not exist in this tenant."""


# ---------------------------------------------------------------- QuickBooks Online


@dataclass(frozen=True)
class QboErrorDetail:
    """One entry of a Fault's Error array, as QBO sent it."""

    code: str
    message: str
    detail: str = ""
    element: str = ""


class QboError(ApiError):
    """A QBO Fault (or an HTTP error without one). `code`, `message`, `detail`, `element` are
    those of the first Error entry; `errors` holds them all; `fault_type` is Fault.type."""

    service = "qbo"

    def __init__(self, message: str, *, status: int | None = None,
                 errors: list[QboErrorDetail] | None = None, fault_type: str = "",
                 intuit_tid: str | None = None) -> None:
        super().__init__(message, status=status)
        self.errors: list[QboErrorDetail] = list(errors or [])
        self.fault_type = fault_type
        self.intuit_tid = intuit_tid
        first = self.errors[0] if self.errors else None
        self.code: str = first.code if first else ""
        self.detail: str = first.detail if first else ""
        self.element: str = first.element if first else ""
        self.api_message: str = first.message if first else ""


class QboAuthError(QboError, AuthError):
    """HTTP 401 / AuthenticationFault (code 3200, 100, 120) even after a token refresh."""


class QboForbidden(QboError):
    """HTTP 403 / AuthorizationFault (code 3100): the app is not authorised for this company."""


class QboValidationError(QboError):
    """ValidationFault (HTTP 400, or a 200 carrying a Fault): duplicate name (6240), invalid
    reference (2500), query errors (4000-4002), stale object (5010), ..."""


class QboNotFound(QboError):
    """The object does not exist (HTTP 404, or code 610 on a read)."""


class QboThrottled(QboError, ThrottledError):
    """HTTP 429 (code 3001) after our retries."""


class QboUnavailable(QboError, UnavailableError):
    """HTTP 5xx / SystemFault after our retries (or a retry was unsafe)."""


# ---------------------------------------------------------------- Intuit OAuth


class OAuthError(AuthError):
    """The Intuit token endpoint refused: `error` is the OAuth error code (invalid_grant,
    invalid_client, ...), `description` its error_description."""

    service = "oauth"

    def __init__(self, message: str, *, status: int | None = None, error: str = "",
                 description: str = "") -> None:
        super().__init__(message, status=status)
        self.error = error
        self.description = description


class TokenPersistError(ApiError):
    """The on_tokens callback failed while saving a new token set; the new tokens were not
    used. The original exception is the __cause__."""

    service = "oauth"


class SignInError(ApiError):
    """The interactive sign-in failed: state mismatch, access denied, malformed redirect."""

    service = "oauth"
