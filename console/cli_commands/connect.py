"""`atqbo connect autotask|quickbooks`: verify credentials against the live service, then save them."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
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


def run_connect(args: argparse.Namespace) -> int:
    if args.service == "autotask":
        return anyio.run(_connect_autotask, args)
    return anyio.run(_connect_quickbooks, args)


async def _connect_autotask(args: argparse.Namespace) -> int:
    from sync.clients.autotask_connect import AutotaskConnectFailed, check_autotask_connection, connect_client
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


async def _connect_quickbooks(args: argparse.Namespace) -> int:
    from sync.clients.oauth import IntuitOAuth, TokenSet
    from sync.clients.qbo import QBO_PRODUCTION, QboClient
    from sync.store import QboConnection

    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
    try:
        secret = read_secret(ENV_QBO_CLIENT_SECRET, "Intuit app's client secret (hidden): ",
                             "QuickBooks client secret")
        refresh = os.environ.get(ENV_QBO_REFRESH_TOKEN) or None
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
                tokens = await _sign_in(oauth, as_json)
            realm = args.realm_id or tokens.realm_id
            if not realm:
                raise CommandError("the sign-in did not say which company (realmId); give --realm-id",
                                   EXIT_USAGE)
            api_url = args.api_url or QBO_PRODUCTION
            async with QboClient(oauth, realm, api_url=api_url, timeout=30.0) as qbo:
                qbo.retry.max_attempts = 2
                try:
                    info = await qbo.company_info()
                except OAuthError as exc:
                    raise CommandError(f"Intuit refused: {exc.message}", EXIT_FATAL) from None
                except (QboAuthError, QboForbidden) as exc:
                    raise CommandError(
                        f"QuickBooks refused access to company {realm}: {exc.message}. Check --realm-id "
                        "and that this app is connected to that company", EXIT_FATAL) from None
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
        if issued:
            persist_tokens(store)(issued[-1])
        store.secrets.set_qbo_client_secret(secret)
        store.connection.set_qbo(QboConnection(args.client_id, str(realm), args.api_url,
                                               args.auth_url, args.token_url))
        name = str(info.get("CompanyName") or info.get("LegalName") or "?")
        out(as_json, {"ok": True, "exit_code": 0, "service": "quickbooks", "realm_id": str(realm),
                       "company": name},
             f"QuickBooks Online connected: company {name!r} (realm {realm}). "
             f"Saved in {store.locations.config_dir}.")
        return EXIT_OK
    finally:
        store.close()


async def _sign_in(oauth: Any, as_json: bool) -> Any:
    """The interactive OAuth flow: print the URL; the loopback listener catches the redirect,
    or the user pastes the address the browser landed on (SSH, another machine)."""
    from sync.clients.signin import start_sign_in

    attempt = await start_sign_in(oauth, listen=True)
    note = sys.stderr
    print("Open this address in a browser and connect atqbo to your QuickBooks company:\n\n"
          f"  {attempt.url}\n\n"
          "If the browser runs on this machine, that is all. If it runs elsewhere, it lands on an\n"
          f"address starting with {attempt.redirect_uri.rsplit('/', 1)[0]} that does not load: copy\n"
          "that whole address from the address bar and paste it here, then press Enter.",
          file=note, flush=True)
    if as_json:
        print(json.dumps({"event": "sign_in", "url": attempt.url, "redirect_uri": attempt.redirect_uri}),
              flush=True)
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
                            print(f"atqbo: {exc}. Paste again:", file=note, flush=True)
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
