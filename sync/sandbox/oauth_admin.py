"""The sandbox's admin API for the Intuit OAuth emulator (under /_sandbox/oauth): its TTLs, its
grants, expiring or revoking tokens, issuing a refresh token, and the keys' Redirect URIs list
(as a user edits it on the app's Keys & credentials page)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .oauth_keys import RedirectUriRefused

ADMIN = "/_sandbox/oauth"


def admin_routes(emulator: Any) -> list[Route]:
    """Routes acting on `emulator` (an OAuthEmulator)."""

    async def _settings(request: Request) -> Response:
        if request.method == "PATCH":
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                return JSONResponse({"error": "body is not JSON"}, status_code=400)
            if not isinstance(body, dict):
                return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
            unknown = set(body) - {"access_ttl", "refresh_ttl", "grace_seconds", "code_ttl"}
            if unknown:
                return JSONResponse({"error": f"unknown settings: {', '.join(sorted(unknown))}"}, status_code=400)
            for key, value in body.items():
                if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                    return JSONResponse({"error": f"{key} must be an integer >= 0"}, status_code=400)
            emulator.update_settings(body)
        return JSONResponse(emulator.settings())

    async def _grants(request: Request) -> Response:
        return JSONResponse(emulator.grants())

    async def _expire(request: Request) -> Response:
        return JSONResponse({"expired": emulator.expire_access_tokens()})

    async def _revoke_all(request: Request) -> Response:
        emulator.revoke_all()
        return JSONResponse({"ok": True})

    async def _redirect_uris(request: Request) -> Response:
        """The Redirect URIs list of a pair of keys (default: the seeded development keys)."""
        if request.method == "GET":
            return JSONResponse({k.client_id: list(k.redirect_uris) for k in emulator.apps.values()})
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        uri = body.get("uri") if isinstance(body, dict) else None
        client_id = body.get("client_id") if isinstance(body, dict) else None
        if not isinstance(uri, str) or (client_id is not None and client_id not in emulator.apps):
            return JSONResponse({"error": "give uri (a string) and optionally client_id of known keys"},
                                status_code=400)
        if request.method == "DELETE":
            return JSONResponse({"removed": emulator.unregister_redirect_uri(uri, client_id)})
        try:
            emulator.register_redirect_uri(uri, client_id)
        except RedirectUriRefused as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"client_id": client_id or emulator.client_id,
                             "redirect_uris": emulator.apps[client_id or emulator.client_id].redirect_uris}, status_code=201)

    async def _issue(request: Request) -> Response:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        realm = body.get("realm_id") if isinstance(body, dict) else None
        token = emulator.issue_refresh_token(str(realm) if realm else None)
        return JSONResponse({"refresh_token": token, "realm_id": realm or emulator.seed.realm_id}, status_code=201)

    return [
        Route(ADMIN + "/settings", _settings, methods=["GET", "PATCH"]),
        Route(ADMIN + "/grants", _grants, methods=["GET"]),
        Route(ADMIN + "/expire-access-tokens", _expire, methods=["POST"]),
        Route(ADMIN + "/revoke-all", _revoke_all, methods=["POST"]),
        Route(ADMIN + "/refresh-tokens", _issue, methods=["POST"]),
        Route(ADMIN + "/redirect-uris", _redirect_uris, methods=["GET", "POST", "DELETE"]),
    ]
