"""Emulator of Intuit's OAuth 2.0 identity platform: the authorization page, the token endpoint
(authorization_code and refresh_token grants), revoke and the discovery document.

Behaviour follows reference/qbo-api.md §1: Basic (or client_secret_post) client auth, the
response JSON of Intuit's token endpoint, single-use short-lived codes, access tokens that expire,
refresh tokens that rotate on every refresh with a grace period for the previous one, and the
error bodies Intuit answers (`invalid_grant` 400, `invalid_client` 401, ...). The QBO emulator
asks `check_access` whether a Bearer token may act on a realm.
"""

from __future__ import annotations

import base64
import binascii
import html
import json
import secrets
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qs, urlencode, urlsplit

import authlib.deprecate  # noqa: F401 - first, so its "always" filter exists before ours goes in front
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .oauth_admin import admin_routes
from .oauth_keys import (
    DEVELOPMENT_REDIRECT_URIS,
    INVALID_REDIRECT,
    PRODUCTION_REDIRECT_URIS,
    KeyType,
    OAuthKeys,
    registrable,
)

with warnings.catch_warnings():  # authlib.jose announces its successor (joserfc); it still works
    warnings.simplefilter("ignore")
    from authlib.jose import JsonWebKey, jwt

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
PAYMENT_SCOPE = "com.intuit.quickbooks.payment"
KNOWN_SCOPES = frozenset({ACCOUNTING_SCOPE, PAYMENT_SCOPE, "openid", "profile", "email", "phone", "address"})

AUTH_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
JWKS_PATH = "/oauth2/v1/jwks"
DISCOVERY_PATHS = ("/.well-known/openid_configuration", "/.well-known/openid_sandbox_configuration")

# §1.4/§1.5: access token 1 h; refresh token 101 days (rolling); old RT valid 24 h after rotation.
DEFAULT_ACCESS_TTL = 3600
DEFAULT_REFRESH_TTL = 8726400
DEFAULT_GRACE = 86400
DEFAULT_CODE_TTL = 300  # [U] Intuit's code lifetime is not documented; "short-lived" (5 minutes).
HARD_EXPIRES_IN = 5 * 365 * 86400  # §1.5: the 5-year hard cap


@dataclass
class OAuthSeed:
    """The app registered with the emulated Intuit platform, and its connection to one realm."""

    realm_id: str
    client_id: str
    client_secret: str
    app_name: str = "atqbo"
    company_name: str = "Sandbox Company US"
    # The keys above are development keys (Intuit's sandbox companies) unless key_type says so.
    key_type: KeyType = "development"
    # Registered on the keys' Redirect URIs list; only these are accepted, character for character.
    redirect_uris: list[str] = field(default_factory=lambda: list(DEVELOPMENT_REDIRECT_URIS))
    # The same app's other pair of keys (Intuit gives every app both), when the seed has one.
    production: "OAuthKeys | None" = None
    # A refresh token already issued for realm_id, so a demo starts "already connected" (None: not connected).
    refresh_token: str | None = None
    access_ttl: int = DEFAULT_ACCESS_TTL
    refresh_ttl: int = DEFAULT_REFRESH_TTL
    grace_seconds: int = DEFAULT_GRACE
    code_ttl: int = DEFAULT_CODE_TTL


def empty_oauth_seed(realm_id: str) -> OAuthSeed:
    """A sandbox app connected to `realm_id`, with stable credentials so printed ones stay valid."""
    return OAuthSeed(
        realm_id=realm_id,
        client_id="ABsandboxAtqboClientId0000000000000000000000000",
        client_secret="sandboxSecret0000000000000000000000000000",
        refresh_token=f"AB11sandbox{realm_id}RefreshToken0000000000000",
        production=OAuthKeys("ABproductionAtqboClientId000000000000000000000",
                             "productionSecret000000000000000000000000", "production",
                             list(PRODUCTION_REDIRECT_URIS)),
    )


@dataclass
class _Grant:
    id: str
    client_id: str
    realm_id: str
    scopes: tuple[str, ...]
    created: float
    revoked: bool = False


@dataclass
class _RefreshToken:
    grant_id: str
    expires_at: float
    superseded_at: float | None = None  # when a newer RT replaced it (grace starts)
    dead: bool = False


@dataclass
class _AccessToken:
    grant_id: str
    expires_at: float


@dataclass
class _Code:
    client_id: str
    realm_id: str
    scopes: tuple[str, ...]
    redirect_uri: str
    expires_at: float
    used: bool = False


AccessCheck = Literal["ok", "invalid", "forbidden"]


def _oauth_error(error: str, status: int, description: str | None = None) -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status, headers=_tid())


def _tid() -> dict[str, str]:
    return {"intuit_tid": f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"}


def _error_page(message: str, status: int = 400) -> HTMLResponse:
    # Intuit shows an error page (no redirect) when the client or the redirect URI cannot be trusted.
    body = (f"<!doctype html><html><head><title>Intuit - Error</title></head><body>"
            f"<h1>Something went wrong</h1><p class=\"error\">{html.escape(message)}</p></body></html>")
    return HTMLResponse(body, status_code=status, headers=_tid())


class OAuthEmulator:
    name = "oauth"

    def __init__(self, seed: OAuthSeed, sandbox: object | None = None, clock: Callable[[], float] = time.time) -> None:
        self.seed = seed
        self.sandbox = sandbox
        self.clock = clock
        self.client_id = seed.client_id
        self.client_secret = seed.client_secret
        self.access_ttl = seed.access_ttl
        self.refresh_ttl = seed.refresh_ttl
        self.grace_seconds = seed.grace_seconds
        self.code_ttl = seed.code_ttl
        self._lock = threading.RLock()
        self._grants: dict[str, _Grant] = {}
        self._refresh: dict[str, _RefreshToken] = {}
        self._access: dict[str, _AccessToken] = {}
        self._codes: dict[str, _Code] = {}
        self._signing_key = None  # generated on the first openid grant (RSA takes a moment)
        self.apps: dict[str, OAuthKeys] = {}
        for keys in (OAuthKeys(seed.client_id, seed.client_secret, seed.key_type, []), seed.production):
            if keys is not None:
                self.apps[keys.client_id] = OAuthKeys(keys.client_id, keys.client_secret, keys.key_type, [])
        for uri in seed.redirect_uris:
            self.register_redirect_uri(uri)
        if seed.production is not None:
            for uri in seed.production.redirect_uris:
                self.register_redirect_uri(uri, seed.production.client_id)
        if seed.refresh_token:
            grant = self._new_grant(seed.client_id, seed.realm_id, (ACCOUNTING_SCOPE,))
            self._refresh[seed.refresh_token] = _RefreshToken(grant.id, self.clock() + self.refresh_ttl)
        self._app = Starlette(routes=[
            Route(AUTH_PATH, self._authorize, methods=["GET", "POST"]),
            Route(TOKEN_PATH, self._token, methods=["POST"]),
            Route(REVOKE_PATH, self._revoke, methods=["POST"]),
            Route(JWKS_PATH, self._jwks, methods=["GET"]),
            *[Route(p, self._discovery, methods=["GET"]) for p in DISCOVERY_PATHS],
            *[Route(p + "/", self._discovery, methods=["GET"]) for p in DISCOVERY_PATHS],
        ])

    # ----- the Emulator protocol -------------------------------------------------------------

    def owns(self, path: str) -> bool:
        return (path == AUTH_PATH or path.startswith("/oauth2/v1/") or path.startswith("/v2/oauth2/")
                or path.startswith("/.well-known/openid_"))

    def endpoint(self, scope: Scope) -> str:
        path = scope["path"]
        if path == AUTH_PATH:
            return "authorize"
        if path == TOKEN_PATH:
            return "token"
        if path == REVOKE_PATH:
            return "revoke"
        return "discovery"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)

    def fault_response(self, kind: str) -> Response:
        # [U] Intuit's OAuth host behind a throttle or outage: answer in OAuth's own error shape.
        if kind == "429":
            return _oauth_error("rate_limit_exceeded", 429)
        status = int(kind) if kind.isdigit() else 500
        return _oauth_error("server_error" if status == 500 else "temporarily_unavailable", status)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "client_id": self.client_id,
                "apps": [{"client_id": k.client_id, "key_type": k.key_type, "redirect_uris": list(k.redirect_uris)}
                         for k in self.apps.values()],
                "settings": self.settings(),
                "grants": self.grants(),
            }

    def credentials(self, base_url: str) -> dict:
        base = base_url.rstrip("/")
        main = self.apps[self.client_id]
        out = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.seed.refresh_token,
            "realm_id": self.seed.realm_id,
            # What `atqbo connect quickbooks --environment --redirect-uri` takes for these keys.
            "environment": "production" if main.key_type == "production" else "sandbox",
            "redirect_uri": main.redirect_uris[0] if main.redirect_uris else None,
            "redirect_uris": list(main.redirect_uris),
            "auth_url": base + AUTH_PATH,
            "token_url": base + TOKEN_PATH,
            "revoke_url": base + REVOKE_PATH,
            "discovery_url": base + DISCOVERY_PATHS[0],
        }
        other = next((k for k in self.apps.values() if k.client_id != self.client_id), None)
        if other is not None:
            out[other.key_type] = {"client_id": other.client_id, "client_secret": other.client_secret,
                                   "environment": "production" if other.key_type == "production" else "sandbox",
                                   "redirect_uris": list(other.redirect_uris)}
        return out

    def admin_routes(self) -> list[Route]:
        return admin_routes(self)

    # ----- used by the QBO emulator and by tests ----------------------------------------------

    def check_access(self, token: str, realm_id: str) -> AccessCheck:
        """May this Bearer token act on realm_id? "invalid": unknown, expired or revoked (401);
        "forbidden": a live token of another realm (403)."""
        with self._lock:
            at = self._access.get(token)
            if at is None or at.expires_at <= self.clock():
                return "invalid"
            grant = self._grants[at.grant_id]
            if grant.revoked:
                return "invalid"
            if grant.realm_id != realm_id or ACCOUNTING_SCOPE not in grant.scopes:
                return "forbidden"
            return "ok"

    def issue_refresh_token(self, realm_id: str | None = None, scopes: tuple[str, ...] = (ACCOUNTING_SCOPE,)) -> str:
        """A fresh grant for the app on a realm, as if the user had just connected it."""
        with self._lock:
            grant = self._new_grant(self.client_id, realm_id or self.seed.realm_id, scopes)
            token = self._token_value("RT")
            self._refresh[token] = _RefreshToken(grant.id, self.clock() + self.refresh_ttl)
            return token

    def register_redirect_uri(self, uri: str, client_id: str | None = None) -> None:
        """Add a redirect URI to the keys' list, as on the app's Keys & credentials page; raises
        RedirectUriRefused when the portal would not take it (or KeyError for unknown keys)."""
        with self._lock:
            keys = self.apps[client_id or self.client_id]
            registrable(uri, keys.key_type)
            if uri not in keys.redirect_uris:
                keys.redirect_uris.append(uri)

    def unregister_redirect_uri(self, uri: str, client_id: str | None = None) -> bool:
        with self._lock:
            keys = self.apps[client_id or self.client_id]
            if uri in keys.redirect_uris:
                keys.redirect_uris.remove(uri)
                return True
            return False

    def update_settings(self, values: dict[str, int]) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self, key, value)

    def settings(self) -> dict:
        return {"access_ttl": self.access_ttl, "refresh_ttl": self.refresh_ttl,
                "grace_seconds": self.grace_seconds, "code_ttl": self.code_ttl}

    def grants(self) -> list[dict]:
        now = self.clock()
        with self._lock:
            out = []
            for g in self._grants.values():
                live_rt = sum(1 for t in self._refresh.values() if t.grant_id == g.id and self._rt_alive(t, now))
                live_at = sum(1 for t in self._access.values() if t.grant_id == g.id and t.expires_at > now)
                out.append({"id": g.id, "client_id": g.client_id, "realm_id": g.realm_id, "scopes": list(g.scopes),
                            "revoked": g.revoked, "live_refresh_tokens": live_rt, "live_access_tokens": live_at})
            return out

    def expire_access_tokens(self) -> int:
        with self._lock:
            now = self.clock()
            n = 0
            for at in self._access.values():
                if at.expires_at > now:
                    at.expires_at = now
                    n += 1
            return n

    def revoke_all(self) -> None:
        """The customer disconnected the app: every grant, and so every token, dies."""
        with self._lock:
            for g in self._grants.values():
                g.revoked = True

    # ----- internals -------------------------------------------------------------------------

    def _new_grant(self, client_id: str, realm_id: str, scopes: tuple[str, ...]) -> _Grant:
        grant = _Grant(id=uuid.uuid4().hex[:12], client_id=client_id, realm_id=realm_id, scopes=scopes,
                       created=self.clock())
        self._grants[grant.id] = grant
        return grant

    @staticmethod
    def _token_value(kind: str) -> str:
        # Opaque values shaped like Intuit's (refresh tokens start "AB11"); nothing can be decoded from them.
        if kind == "RT":
            return "AB11" + secrets.token_urlsafe(36)
        if kind == "AT":
            return "eyJ" + secrets.token_urlsafe(96)
        return "AB11" + secrets.token_urlsafe(24)  # authorization code

    def _rt_alive(self, rt: _RefreshToken, now: float) -> bool:
        if rt.dead or rt.expires_at <= now or self._grants[rt.grant_id].revoked:
            return False
        if rt.superseded_at is not None and now >= rt.superseded_at + self.grace_seconds:
            return False
        return True

    def _issue_tokens(self, grant: _Grant, request: Request) -> dict:
        now = self.clock()
        access = self._token_value("AT")
        refresh = self._token_value("RT")
        self._access[access] = _AccessToken(grant.id, now + self.access_ttl)
        self._refresh[refresh] = _RefreshToken(grant.id, now + self.refresh_ttl)
        body: dict = {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": self.access_ttl,
            "x_refresh_token_expires_in": self.refresh_ttl,
        }
        if request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true":
            body["x_refresh_token_hard_expires_in"] = HARD_EXPIRES_IN - int(now - grant.created)
        if "openid" in grant.scopes:
            body["id_token"] = self._id_token(grant, str(request.base_url).rstrip("/"))
        return body

    def _client_from(self, request: Request, form: dict[str, str]) -> tuple[str, str] | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return None
            if ":" not in decoded:
                return None
            cid, secret = decoded.split(":", 1)
            return cid, secret
        if "client_id" in form and "client_secret" in form:
            return form["client_id"], form["client_secret"]  # client_secret_post (discovery document)
        return None

    def _client_ok(self, client: tuple[str, str] | None) -> bool:
        keys = self.apps.get(client[0]) if client is not None else None
        return keys is not None and secrets.compare_digest(client[1], keys.client_secret)

    def _redirect_allowed(self, client_id: str, uri: str) -> bool:
        # Character for character against the keys' own list; the list only ever holds URIs the
        # portal's rules allow (registrable), so an IP address or a production localhost never passes.
        keys = self.apps[client_id]
        return uri in keys.redirect_uris

    def _company_name(self) -> str:
        """The connected company's name as QBO knows it (the seed's when no QBO emulator runs)."""
        emulators = getattr(self.sandbox, "emulators", None) or {}
        qbo = emulators.get("qbo")
        store = getattr(qbo, "store", None)
        if store is not None and store.realm_id == self.seed.realm_id:
            return str(store.company_info.get("CompanyName") or self.seed.company_name)
        return self.seed.company_name

    # ----- routes ----------------------------------------------------------------------------

    async def _authorize(self, request: Request) -> Response:
        if request.method == "POST":
            # Parsed here: Starlette's form parser needs python-multipart, which the sandbox does not.
            raw = (await request.body()).decode("utf-8", "replace")
            params = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        else:
            params = dict(request.query_params)
        client_id = params.get("client_id", "")
        if client_id not in self.apps:
            return _error_page("The client_id is not valid for any app.")
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri or not self._redirect_allowed(client_id, redirect_uri):
            return _error_page(INVALID_REDIRECT)
        if params.get("response_type") != "code":
            return _error_page("The response_type parameter must be 'code'.")
        scopes = tuple(params.get("scope", "").split())
        if not scopes or any(s not in KNOWN_SCOPES for s in scopes):
            return _error_page("The scope parameter is missing or invalid.")
        if ACCOUNTING_SCOPE not in scopes:
            # Intuit allows openid-only grants, but a QBO company cannot be connected without this scope.
            return _error_page(f"This app requires the {ACCOUNTING_SCOPE} scope.")
        state = params.get("state", "")
        if not state:
            return _error_page("The state parameter is required.")

        if request.method == "GET":
            hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(params[k])}">'
                             for k in ("client_id", "response_type", "scope", "redirect_uri", "state"))
            app, company = html.escape(self.seed.app_name), html.escape(self._company_name())
            page = (f"<!doctype html><html><head><title>Connect {app} to {company}</title></head><body>"
                    f"<h1>Connect {app} to {company}</h1>"
                    f"<p>{app} wants to access your QuickBooks Online company {company}.</p>"
                    f'<p class="redirect">You will be sent to {html.escape(redirect_uri)}</p>'
                    f'<form method="post" action="{AUTH_PATH}">{hidden}'
                    f'<button type="submit" name="decision" value="approve">Connect</button> '
                    f'<button type="submit" name="decision" value="deny">Cancel</button></form></body></html>')
            return HTMLResponse(page, headers=_tid())

        sep = "&" if urlsplit(redirect_uri).query else "?"
        if params.get("decision") != "approve":
            return RedirectResponse(redirect_uri + sep + urlencode({"error": "access_denied", "state": state}),
                                    status_code=302)
        code = self._token_value("CODE")
        with self._lock:
            self._codes[code] = _Code(client_id, self.seed.realm_id, scopes, redirect_uri,
                                      self.clock() + self.code_ttl)
        query = {"code": code, "state": state}
        if ACCOUNTING_SCOPE in scopes or PAYMENT_SCOPE in scopes:
            query["realmId"] = self.seed.realm_id  # §1.3: realmId only for Accounting and Payments scopes
        return RedirectResponse(redirect_uri + sep + urlencode(query), status_code=302)

    async def _token(self, request: Request) -> Response:
        raw = (await request.body()).decode("utf-8", "replace")
        form = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
        client = self._client_from(request, form)
        if not self._client_ok(client):
            return _oauth_error("invalid_client", 401)
        grant_type = form.get("grant_type")
        if not grant_type:
            return _oauth_error("invalid_request", 400)
        now = self.clock()
        with self._lock:
            if grant_type == "authorization_code":
                code = self._codes.get(form.get("code", ""))
                if (code is None or code.used or code.expires_at <= now or code.client_id != client[0]
                        or code.redirect_uri != form.get("redirect_uri")):
                    return _oauth_error("invalid_grant", 400)
                code.used = True
                grant = self._new_grant(code.client_id, code.realm_id, code.scopes)
                body = self._issue_tokens(grant, request)
            elif grant_type == "refresh_token":
                token = form.get("refresh_token", "")
                rt = self._refresh.get(token)
                if rt is None or not self._rt_alive(rt, now):
                    return _oauth_error("invalid_grant", 400)
                grant = self._grants[rt.grant_id]
                if grant.client_id != client[0]:
                    return _oauth_error("invalid_grant", 400)
                # Rotation: a new RT every time; the presented one lives on for the grace period.
                if rt.superseded_at is None:
                    rt.superseded_at = now
                body = self._issue_tokens(grant, request)
            else:
                return _oauth_error("unsupported_grant_type", 400)
        return JSONResponse(body, headers={**_tid(), "Cache-Control": "no-store", "Pragma": "no-cache"})

    async def _revoke(self, request: Request) -> Response:
        raw = await request.body()
        token = None
        form: dict[str, str] = {}
        if raw.strip().startswith(b"{"):
            try:
                data = json.loads(raw)
            except ValueError:
                return _oauth_error("invalid_request", 400)
            token = data.get("token") if isinstance(data, dict) else None
        else:
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}  # the Java SDK form-encodes
            token = form.get("token")
        if not self._client_ok(self._client_from(request, form)):
            return _oauth_error("invalid_client", 401)
        if not isinstance(token, str) or not token:
            return _oauth_error("invalid_request", 400)
        with self._lock:
            holder = self._refresh.get(token) or self._access.get(token)
            if holder is not None:
                self._grants[holder.grant_id].revoked = True
        # An unknown token also answers 200 (RFC 7009 §2.2) [U] for Intuit.
        return Response(b"", status_code=200, headers=_tid())

    async def _discovery(self, request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        return JSONResponse({
            "issuer": base + "/op/v1",
            "authorization_endpoint": base + AUTH_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "userinfo_endpoint": base + "/oauth2/v1/openid_connect/userinfo",
            "revocation_endpoint": base + REVOKE_PATH,
            "jwks_uri": base + JWKS_PATH,
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
        })

    def _key(self):
        if self._signing_key is None:
            self._signing_key = JsonWebKey.generate_key("RSA", 2048, is_private=True,
                                                        options={"kid": "sandbox-1"})
        return self._signing_key

    def _id_token(self, grant: _Grant, base: str) -> str:
        now = int(self.clock())
        claims = {"iss": base + "/op/v1", "aud": [grant.client_id], "sub": uuid.uuid5(uuid.NAMESPACE_URL, grant.realm_id).hex,
                  "realmid": grant.realm_id, "iat": now, "exp": now + self.access_ttl, "auth_time": now}
        key = self._key()
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key).decode("ascii")

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self._key().as_dict(is_private=False)]})
