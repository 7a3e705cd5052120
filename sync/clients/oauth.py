"""Intuit OAuth 2.0 for QuickBooks Online, with authlib's httpx client
(facts: reference/qbo-api.md §1).

The one rule that matters most: a refresh may rotate the refresh token, and Intuit keeps the
old one alive for a limited grace (possibly none). So a new TokenSet is handed to `on_tokens`
(the store) and only once that returned is it used. If the store fails, the new tokens are not
used and the error surfaces: better to stop now than to run on a token nobody has saved.
Concurrent callers needing a refresh share one (a lock, keyed on the token they saw).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import anyio
import httpx
from authlib.integrations.base_client.errors import OAuthError as AuthlibOAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client

from .bounded import BadEncoding, BoundedTransport, DeadlineExceeded, ResponseTooLarge
from .errors import AnswerTooLargeError, OAuthError, TokenPersistError, TransportError, UnexpectedAnswerError
from .http import RetryPolicy, Sleep

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
# A token answer is a few kilobytes; anything near this is not one.
TOKEN_MAX_BYTES = 1024 * 1024
TOKEN_ENDPOINT = "the Intuit token endpoint"


def _seconds(value: Any) -> float | None:
    """A lifetime in seconds from a JSON value (number or numeric string), None if it is not one."""
    if isinstance(value, bool):
        return None
    try:
        seconds = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    # Under a second is no lifetime either; NaN and inf fail the comparison.
    return seconds if 1 <= seconds < 10 ** 10 else None


@dataclass(frozen=True)
class IntuitEndpoints:
    auth_url: str
    token_url: str
    revoke_url: str

    @classmethod
    def local(cls, base_url: str) -> "IntuitEndpoints":
        """The paths of Intuit's hosts on one base URL (the local sandbox serves them so)."""
        base = base_url.rstrip("/")
        return cls(auth_url=f"{base}/connect/oauth2", token_url=f"{base}/oauth2/v1/tokens/bearer",
                   revoke_url=f"{base}/v2/oauth2/tokens/revoke")


# Intuit's production and developer-sandbox companies share the same OAuth hosts (§1.1).
INTUIT_OAUTH = IntuitEndpoints(
    auth_url="https://appcenter.intuit.com/connect/oauth2",
    token_url="https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer",
    revoke_url="https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
)


@dataclass(frozen=True)
class TokenSet:
    """An access/refresh token pair and when they expire (epoch seconds). Tokens never show in
    repr; `to_dict()` is for the 0600 secrets store only."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    refresh_expires_at: float | None = None
    realm_id: str | None = None
    token_type: str = "bearer"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TokenSet":
        try:
            return cls(access_token=str(data["access_token"]), refresh_token=str(data["refresh_token"]),
                       expires_at=float(data["expires_at"]),
                       refresh_expires_at=(None if data.get("refresh_expires_at") is None
                                           else float(data["refresh_expires_at"])),
                       realm_id=(None if data.get("realm_id") is None else str(data["realm_id"])),
                       token_type=str(data.get("token_type") or "bearer"))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"stored QuickBooks tokens are incomplete ({type(exc).__name__})") from None

    @classmethod
    def from_refresh_token(cls, refresh_token: str, realm_id: str | None = None) -> "TokenSet":
        """Only a refresh token (e.g. from ATQBO_QBO_REFRESH_TOKEN): the first call refreshes."""
        return cls(access_token="", refresh_token=refresh_token, expires_at=0.0, realm_id=realm_id)

    @classmethod
    def from_response(cls, body: dict[str, Any], *, now: float, realm_id: str | None,
                      previous_refresh_token: str | None = None) -> "TokenSet":
        access = body.get("access_token")
        refresh = body.get("refresh_token") or previous_refresh_token
        if not access or not refresh:
            raise OAuthError("the Intuit token endpoint answered without an access or refresh token")
        if not isinstance(access, str) or not isinstance(refresh, str):
            raise UnexpectedAnswerError("oauth", TOKEN_ENDPOINT,
                                        "the Intuit token endpoint answered with a token that is not text")
        # A garbled lifetime must not cost the (possibly rotated) refresh token: the access
        # token's is taken as Intuit's one hour, the refresh token's as unknown.
        expires_in = _seconds(body.get("expires_in")) or 3600.0
        rt_in = _seconds(body.get("x_refresh_token_expires_in"))
        token_type = body.get("token_type")
        return cls(access_token=access, refresh_token=refresh, expires_at=now + expires_in,
                   refresh_expires_at=None if rt_in is None else now + rt_in,
                   realm_id=realm_id, token_type=token_type if isinstance(token_type, str) and token_type
                   else "bearer")

    def expires_within(self, seconds: float, now: float) -> bool:
        return not self.access_token or self.expires_at - seconds <= now


OnTokens = Callable[[TokenSet], Awaitable[None] | None]


class IntuitOAuth:
    """The token side of a QBO connection: authorization URL, code exchange, refresh, revoke.

    `tokens` is the current TokenSet (None before sign-in). `refreshes` counts refreshes done.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        redirect_uri: str | None = None,  # the one registered on the Intuit app; never made up
        endpoints: IntuitEndpoints = INTUIT_OAUTH,
        scope: str = ACCOUNTING_SCOPE,
        tokens: TokenSet | None = None,
        on_tokens: OnTokens | None = None,
        load_tokens: Callable[[], TokenSet | None] | None = None,
        refresh_margin: float = 120.0,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("the QuickBooks client id and client secret are both required")
        self.client_id = client_id
        self.endpoints = endpoints
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.refresh_margin = refresh_margin
        self.on_tokens = on_tokens
        # Another process on the same data folder (a CLI command beside the daemon) may rotate
        # the refresh token; reading the saved tokens before each refresh keeps ours current.
        self.load_tokens = load_tokens
        self.refreshes = 0
        self._tokens = tokens
        self._clock = clock
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._lock = anyio.Lock()
        # Intuit wants client_secret_basic and JSON answers (§1.4).
        self._oauth = AsyncOAuth2Client(
            client_id=client_id, client_secret=client_secret, scope=scope,
            redirect_uri=redirect_uri, token_endpoint_auth_method="client_secret_basic",
            timeout=timeout, headers={"Accept": "application/json"},
            transport=BoundedTransport(deadline=max(timeout * 2, 1.0), max_bytes=TOKEN_MAX_BYTES))
        self._basic = httpx.BasicAuth(client_id, client_secret)

    def __repr__(self) -> str:
        return f"IntuitOAuth(client_id={self.client_id!r}, tokens={self._tokens!r})"

    async def aclose(self) -> None:
        await self._oauth.aclose()

    @property
    def tokens(self) -> TokenSet | None:
        return self._tokens

    # ------------------------------------------------------------ sign-in

    def authorization_url(self, state: str | None = None, *, redirect_uri: str | None = None
                          ) -> tuple[str, str]:
        """(URL to open in a browser, the state to expect back)."""
        return self._oauth.create_authorization_url(
            self.endpoints.auth_url, state=state, redirect_uri=self._redirect(redirect_uri))

    def _redirect(self, redirect_uri: str | None) -> str:
        uri = redirect_uri or self.redirect_uri
        if not uri:
            raise ValueError("a redirect URI registered on the Intuit app is required to sign in")
        return uri

    async def exchange_code(self, code: str, realm_id: str | None, *,
                            redirect_uri: str | None = None) -> TokenSet:
        """Trade the authorization code for tokens; persists them through on_tokens first."""
        async with self._lock:
            now = self._clock()
            body = await self._token_call(lambda: self._oauth.fetch_token(
                self.endpoints.token_url, grant_type="authorization_code", code=code,
                redirect_uri=self._redirect(redirect_uri)), retry_lost=False)
            tokens = TokenSet.from_response(body, now=now, realm_id=realm_id)
            await self._adopt(tokens)
            return tokens

    # ------------------------------------------------------------ refresh

    async def access_token(self) -> str:
        """A valid access token, refreshed first when it expires within `refresh_margin`."""
        tokens = self._tokens
        if tokens is None:
            raise OAuthError("QuickBooks is not connected: sign in first")
        if tokens.expires_within(self.refresh_margin, self._clock()):
            tokens = await self.refresh(stale_access_token=tokens.access_token)
        return tokens.access_token

    async def refresh(self, *, stale_access_token: str | None = None) -> TokenSet:
        """Refresh now. With `stale_access_token`, a refresh another task finished meanwhile
        (the current access token differs) is reused instead of doing a second one."""
        async with self._lock:
            current = self._saved_if_newer(self._tokens)
            if current is None:
                raise OAuthError("QuickBooks is not connected: sign in first")
            if stale_access_token is not None and current.access_token != stale_access_token \
                    and not current.expires_within(self.refresh_margin, self._clock()):
                return current
            now = self._clock()
            body = await self._token_call(lambda: self._oauth.refresh_token(
                self.endpoints.token_url, refresh_token=current.refresh_token), retry_lost=True)
            tokens = TokenSet.from_response(body, now=now, realm_id=current.realm_id,
                                            previous_refresh_token=current.refresh_token)
            await self._adopt(tokens)
            self.refreshes += 1
            return tokens

    def _saved_if_newer(self, current: TokenSet | None) -> TokenSet | None:
        """The saved tokens when they hold a different refresh token than ours (rotated elsewhere)."""
        if self.load_tokens is None:
            return current
        saved = self.load_tokens()
        if saved is None or (current is not None and saved.refresh_token == current.refresh_token):
            return current
        if current is not None and saved.realm_id is None:
            saved = replace(saved, realm_id=current.realm_id)
        self._tokens = saved
        return saved

    async def _adopt(self, tokens: TokenSet) -> None:
        if self.on_tokens is not None:
            try:
                result = self.on_tokens(tokens)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:
                raise TokenPersistError(
                    "could not save the new QuickBooks tokens, so they were not used "
                    f"({type(exc).__name__}: {exc})") from exc
        self._tokens = tokens

    async def _token_call(self, call: Callable[[], Awaitable[dict]], *, retry_lost: bool) -> dict:
        """One token-endpoint exchange, with the shared backoff for what is safe to repeat:
        a request that never got out, a 429/5xx, and, for a refresh, a lost reply (Intuit
        honours the previous refresh token for a grace period after rotating it; a code is
        single-use, so a code exchange is not repeated after a lost reply)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return dict(await call())
            except AuthlibOAuthError as exc:
                error = str(getattr(exc, "error", "") or "oauth_error")
                desc = str(getattr(exc, "description", "") or "")
                hint = {
                    "invalid_grant": "the refresh token or code is expired, used or revoked: "
                                     "sign in to QuickBooks again",
                    "invalid_client": "the client id or client secret is wrong",
                }.get(error, "")
                raise OAuthError(f"Intuit refused the token request: {error}"
                                 + (f" ({desc})" if desc else "") + (f"; {hint}" if hint else ""),
                                 error=error, description=desc) from None
            except (ResponseTooLarge, BadEncoding) as exc:
                cls = AnswerTooLargeError if isinstance(exc, ResponseTooLarge) else TransportError
                raise cls("oauth", f"{TOKEN_ENDPOINT} sent {exc}; refused",
                          maybe_committed=not retry_lost) from None
            except httpx.HTTPStatusError as exc:
                status = exc.response.status_code
                if (status == 429 or status >= 500) and attempt < self.retry.max_attempts:
                    await self._sleep(self.retry.backoff(attempt))
                    continue
                raise OAuthError(f"the Intuit token endpoint answered HTTP {status}", status=status,
                                 error="http_error") from None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                not_sent = isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))
                if (not_sent or retry_lost) and attempt < self.retry.max_attempts:
                    await self._sleep(self.retry.backoff(attempt))
                    continue
                why = str(exc) if isinstance(exc, DeadlineExceeded) else type(exc).__name__
                raise TransportError("oauth", f"cannot reach the Intuit token endpoint ({why})",
                                     maybe_committed=not not_sent) from None
            except (ValueError, TypeError, OverflowError, RecursionError, AttributeError):
                # authlib's own reading of the answer (a body that is not a JSON object, an
                # expires_in that is not a number) fails with these: the answer is unusable.
                raise UnexpectedAnswerError("oauth", TOKEN_ENDPOINT, f"{TOKEN_ENDPOINT} answered with a "
                                            "body that is not a token answer") from None

    # ------------------------------------------------------------ revoke

    async def revoke(self, token: str | None = None) -> None:
        """Revoke the refresh token (default) or the given token; forgets the current tokens.
        The caller removes them from its store."""
        if token is None:
            if self._tokens is None:
                return
            token = self._tokens.refresh_token
        try:
            resp = await self._oauth.request("POST", self.endpoints.revoke_url, json={"token": token},
                                             auth=self._basic, withhold_token=True,
                                             headers={"Accept": "application/json"})
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            raise TransportError("oauth", f"cannot reach the Intuit revoke endpoint ({type(exc).__name__})") from None
        if resp.status_code != 200:
            try:
                body = resp.json()
            except ValueError:
                body = {}
            error = str(body.get("error", "")) if isinstance(body, dict) else ""
            raise OAuthError(f"Intuit refused to revoke the token (HTTP {resp.status_code}"
                             + (f", {error}" if error else "") + ")", status=resp.status_code, error=error)
        if self._tokens is not None and token in (self._tokens.refresh_token, self._tokens.access_token):
            self._tokens = None
