"""`atqbo connect autotask|quickbooks`: verify credentials against the live service, then save them."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio

from console.cli_commands.common import (
    ENV_AUTOTASK_SECRET,
    ENV_QBO_CLIENT_SECRET,
    ENV_QBO_REFRESH_TOKEN,
    EXIT_FATAL,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    api_problem,
    data_dir,
    out,
    read_secret,
)
from console.runtime_headless import (
    intuit_endpoints,
    open_store,
    persist_tokens,
    zone_lookup_base,
)
from sync.clients.errors import (
    ApiError,
    OAuthError,
    QboAuthError,
    QboForbidden,
    SignInError,
    TransportError,
)
from sync.store.faults import StorageFault
from sync.text import shown


def run_connect(args: argparse.Namespace) -> int:
    if args.service == "autotask":
        return anyio.run(_connect_autotask, args)
    return anyio.run(_connect_quickbooks, args)


async def _connect_autotask(args: argparse.Namespace) -> int:
    from sync.clients.autotask_connect import (
        AutotaskConnectFailed,
        check_autotask_connection,
        connect_client,
    )
    from sync.store import AutotaskConnection

    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
    try:
        secret = read_secret(ENV_AUTOTASK_SECRET, "Autotask API user's secret (hidden): ",
                             "Autotask secret")
        base = zone_lookup_base(args.zone_url)
        try:
            client = connect_client(args.username, args.integration_code, secret, base)
            async with client:
                connected = await check_autotask_connection(client)
        except AutotaskConnectFailed as failed:
            raise CommandError(failed.message, EXIT_USAGE if failed.kind == "input" else EXIT_FATAL) from None
        zone = connected.zone
        with _saving("autotask"):
            store.connection.set_autotask(AutotaskConnection(args.username, args.integration_code,
                                                             None if args.zone_url is None else base))
            store.secrets.set_autotask_secret(secret)
        out(as_json, {"ok": True, "exit_code": 0, "service": "autotask", "username": args.username,
                       "zone": zone.zone_name, "zone_url": zone.url,
                       "local_organization": connected.local_organization},
             f"Autotask connected: API user {args.username}, zone {zone.zone_name or '?'} ({zone.url}), "
             f"local organization {connected.local_organization}. Saved in {store.locations.config_dir}.")
        return EXIT_OK
    finally:
        store.close()


def _redirect_for(args: argparse.Namespace, saved: Any, signing_in: bool) -> tuple[Any, str]:
    """The redirect URI (checked against Intuit's rules) and the environment: from the options,
    else from the saved connection. Without a refresh token a redirect URI is required."""
    from sync.clients.redirect_uri import RedirectUriError, check_redirect_uri

    environment = args.environment or getattr(saved, "environment", None) or "production"
    uri = args.redirect_uri if args.redirect_uri is not None else getattr(saved, "redirect_uri", None)
    if uri is None and not signing_in:
        return None, environment
    if uri is None:
        raise CommandError(
            "give --redirect-uri: the redirect URI registered on your Intuit app (Keys & credentials > "
            "Redirect URIs), character for character; e.g. --environment sandbox --redirect-uri "
            "http://localhost:8765/callback with development keys, or an https address on your domain "
            "with production keys (see docs/connect.md)", EXIT_USAGE)
    try:
        return check_redirect_uri(uri, environment), environment
    except RedirectUriError as exc:
        raise CommandError(f"--redirect-uri {_shown(uri)} cannot work with {environment} keys: {exc}",
                           EXIT_USAGE) from None


def _shown(text: str) -> str:
    # repr shows control characters as visible escapes: a pasted URI is text from outside
    return repr(text[:200]) + ("…" if len(text) > 200 else "")


async def _connect_quickbooks(args: argparse.Namespace) -> int:
    from sync.clients.oauth import IntuitOAuth, TokenSet
    from sync.clients.qbo import QboClient
    from sync.clients.redirect_uri import default_api_url
    from sync.store import QboConnection

    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
    try:
        refresh = os.environ.get(ENV_QBO_REFRESH_TOKEN) or None
        saved = store.connection.get_qbo()
        if saved is not None and saved.client_id != args.client_id:
            saved = None  # another app's redirect URI would not be registered on this one
        # Checked before anything is asked or sent: a URI Intuit refuses cannot be fixed later.
        redirect, environment = _redirect_for(args, saved, signing_in=not refresh)
        secret = read_secret(ENV_QBO_CLIENT_SECRET, "Intuit app's client secret (hidden): ",
                             "QuickBooks client secret")
        if refresh and not args.realm_id:
            raise CommandError(f"with {ENV_QBO_REFRESH_TOKEN} set, also give --realm-id (the company id "
                               "the token belongs to)", EXIT_USAGE)
        endpoints = intuit_endpoints(args.auth_url, args.token_url)
        tokens = TokenSet.from_refresh_token(refresh, args.realm_id) if refresh else None
        # Tokens stay in memory until CompanyInfo proves the connection: a failed attempt must
        # not replace the tokens of a connection that works (they are saved right after).
        issued: list[TokenSet] = []
        oauth = IntuitOAuth(args.client_id, secret, endpoints=endpoints, tokens=tokens,
                            on_tokens=issued.append)
        try:
            if tokens is None:
                tokens = await _sign_in(oauth, redirect, as_json)
            realm = args.realm_id or tokens.realm_id
            if not realm:
                raise CommandError("the sign-in did not say which company (realmId); give --realm-id",
                                   EXIT_USAGE)
            api_url = args.api_url or default_api_url(environment)
            async with QboClient(oauth, realm, api_url=api_url, timeout=30.0) as qbo:
                qbo.retry.max_attempts = 2
                try:
                    info = await qbo.company_info()
                except OAuthError as exc:
                    raise CommandError(f"Intuit refused: {exc.message}", EXIT_FATAL) from None
                except (QboAuthError, QboForbidden) as exc:
                    raise CommandError(
                        f"QuickBooks refused access to company {realm}: {exc.message}. Check --realm-id "
                        "and that this app is connected to that company (production keys reach "
                        "production companies, development keys only sandbox companies: check "
                        "--environment)", EXIT_FATAL) from None
                except TransportError as exc:
                    where = (f"the Intuit token endpoint at {endpoints.token_url}" if exc.service == "oauth"
                             else f"QuickBooks Online at {api_url}")
                    raise CommandError(f"cannot reach {where}: {exc.message}", EXIT_FATAL) from None
                except ApiError as exc:
                    raise api_problem(exc, "QuickBooks Online") from None
        except CommandError as exc:
            if refresh and issued:
                raise CommandError(
                    f"{str(exc).rstrip('.')}. (Intuit issued a new refresh token during this attempt, so the one in "
                    f"{ENV_QBO_REFRESH_TOKEN} may no longer work; if so, connect again without it "
                    "to sign in.) Nothing was saved", exc.exit_code) from None
            raise CommandError(f"{str(exc).rstrip('.')}. Nothing was saved", exc.exit_code) from None
        finally:
            await oauth.aclose()
        with _saving("quickbooks"):
            if issued:
                persist_tokens(store)(issued[-1])
            store.secrets.set_qbo_client_secret(secret)
            store.connection.set_qbo(QboConnection(args.client_id, str(realm), args.api_url,
                                                   args.auth_url, args.token_url,
                                                   redirect.uri if redirect else None, environment))
        name = str(info.get("CompanyName") or info.get("LegalName") or "?")
        out(as_json, {"ok": True, "exit_code": 0, "service": "quickbooks", "realm_id": str(realm),
                       "company": name, "environment": environment},
             f"QuickBooks Online connected: company {name!r} (realm {realm}, {environment} keys). "
             f"Saved in {store.locations.config_dir}.")
        return EXIT_OK
    finally:
        store.close()


async def _sign_in(oauth: Any, redirect: Any, as_json: bool) -> Any:
    """The interactive OAuth flow: print the URL; the localhost listener catches the redirect,
    or the user pastes the address the browser was sent to (any other URI, SSH, another machine)."""
    from sync.clients.signin import start_sign_in

    note = sys.stderr
    try:
        attempt = await start_sign_in(oauth, redirect)
    except SignInError as exc:
        raise CommandError(f"QuickBooks sign-in cannot start: {exc.message}", EXIT_FATAL) from None
    if attempt.listening:
        how = (f"atqbo listens on {redirect.uri} (this machine). If the browser runs on another machine,\n"
               f"forward the port first (ssh -L {redirect.listen_port}:localhost:{redirect.listen_port} ...), "
               "or copy the\naddress it was sent to from its address bar and paste it here, then press Enter.")
    else:
        how = (f"Intuit then sends the browser to {redirect.uri}?code=...&state=...&realmId=...;\n"
               "copy that whole address from the address bar (the page itself need not load) and\n"
               "paste it here, then press Enter.")
    print("Open this address in a browser and connect atqbo to your QuickBooks company:\n\n"
          f"{attempt.url}\n\n{how}\n"
          "If Intuit shows \"The redirect_uri query parameter value is invalid\", register that URI "
          "exactly\non the Intuit app (Keys & credentials) and try again.",
          file=note, flush=True)
    if as_json:
        print(json.dumps({"event": "sign_in", "url": attempt.url, "redirect_uri": attempt.redirect_uri,
                          "listening": attempt.listening}), flush=True)
    lines = _stdin_lines()
    try:
        with anyio.fail_after(900):
            while True:
                async with anyio.create_task_group() as tg:
                    pasted: list[str] = []

                    async def from_paste() -> None:
                        line = await lines.next()
                        pasted.append(line)
                        tg.cancel_scope.cancel()

                    async def from_listener() -> None:
                        await attempt.redirect()
                        tg.cancel_scope.cancel()

                    tg.start_soon(from_paste)
                    tg.start_soon(from_listener)
                if pasted:
                    if pasted[0] is None:  # stdin closed: only the listener can finish now
                        if not attempt.listening:
                            raise CommandError("input closed before the redirected address was pasted",
                                               EXIT_FATAL)
                        print("atqbo: nothing can be pasted here (input is closed); waiting up to 15 "
                              f"minutes for the browser to reach {attempt.redirect_uri}",
                              file=note, flush=True)
                        await attempt.redirect()
                    else:
                        try:
                            attempt.paste(pasted[0])
                        except SignInError as exc:
                            if "access_denied" in str(exc):
                                raise
                            print(f"atqbo: {shown(str(exc))}. Paste again:", file=note, flush=True)
                            continue
                break
            return await attempt.result()
    except TimeoutError:
        raise CommandError("no sign-in within 15 minutes", EXIT_FATAL) from None
    except SignInError as exc:
        raise CommandError(f"QuickBooks sign-in failed: {exc.message}", EXIT_FATAL) from None
    except OAuthError as exc:
        raise CommandError(f"Intuit refused the sign-in: {exc.message}", EXIT_FATAL) from None
    finally:
        await attempt.aclose()


class _stdin_lines:
    """Lines from stdin read by a daemon thread (input() cannot be cancelled; a daemon thread
    does not keep the process alive when the listener wins). None = end of input."""

    def __init__(self) -> None:
        import asyncio

        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            line = sys.stdin.readline()
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line.strip() if line else None)
            if not line:
                return

    async def next(self) -> str | None:
        line = await self._queue.get()
        while line == "":
            line = await self._queue.get()
        return line


@contextmanager
def _saving(service: str) -> Iterator[None]:
    """A connection is two files (details, secrets): a machine fault between them leaves it
    half-saved, which the message says, with the way out."""
    try:
        yield
    except StorageFault as fault:
        raise CommandError(f"{fault} The {service} connection is not (completely) saved: run the same "
                           f"atqbo connect {service} again once that is fixed.", EXIT_USAGE) from None
