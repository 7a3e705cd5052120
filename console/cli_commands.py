"""The `atqbo` commands that do one thing and exit (DESIGN §4): connect, settings, sync-one,
logs, retry. `console/cli.py` parses; this module runs. Nothing here imports Textual.

Each command returns the contract's exit code: 0 success; 3 finished but some POs failed;
2 usage or configuration error; 1 fatal (cannot connect or authenticate). Messages for people
go to stderr (errors) or stdout (results); with --json, stdout carries JSON only and its last
line is the summary object. Secrets are read from the environment or a hidden prompt, never
from argv, and are never printed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import threading
import time
from typing import Any

import anyio

from console.output import Printer, RunSummary, jsonable
from console.runtime_headless import (
    RuntimeProblem,
    intuit_endpoints,
    open_runtime,
    open_store,
    persist_tokens,
    zone_lookup_base,
)
from sync import events as ev
from sync.clients.errors import (
    ApiError,
    AutotaskAuthError,
    AutotaskPermissionError,
    AutotaskZoneError,
    OAuthError,
    QboAuthError,
    QboForbidden,
    SignInError,
    TransportError,
)
from sync.settings import SETTING_KEYS, SMTP_PASSWORD_SECRET, SettingsError, parse_value

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2, 3

ENV_AUTOTASK_SECRET = "ATQBO_AUTOTASK_SECRET"
ENV_QBO_CLIENT_SECRET = "ATQBO_QBO_CLIENT_SECRET"
ENV_QBO_REFRESH_TOKEN = "ATQBO_QBO_REFRESH_TOKEN"
ENV_SMTP_PASSWORD = "ATQBO_SMTP_PASSWORD"


class CommandError(Exception):
    """Stop the command with a message and an exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def run(args: argparse.Namespace) -> int:
    handler = {"connect": _connect, "settings": _settings, "sync-one": _sync_one,
               "logs": _logs, "retry": _retry}[args.command]
    as_json = bool(getattr(args, "json", False))
    try:
        return handler(args)
    except (CommandError, RuntimeProblem) as exc:
        _fail(str(exc), as_json, exc.exit_code)
        return exc.exit_code


def _fail(message: str, as_json: bool, code: int) -> None:
    print(f"atqbo: {message}", file=sys.stderr, flush=True)
    if as_json:
        print(json.dumps({"ok": False, "exit_code": code, "error": message}), flush=True)


def _out(as_json: bool, record: dict[str, Any], human: str) -> None:
    print(json.dumps(jsonable(record), ensure_ascii=False) if as_json else human, flush=True)


def _data_dir(args: argparse.Namespace) -> str | None:
    return getattr(args, "data_dir", None)


# ---------------------------------------------------------------- secrets in


def read_secret(env: str, prompt: str, what: str) -> str:
    """A secret from the environment, else a hidden prompt on the terminal; never argv."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CommandError(f"no {what}: set {env} in the environment, or run this in a terminal "
                           "to be asked for it (hidden)", EXIT_USAGE)
    try:
        value = getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        raise CommandError(f"no {what} entered; nothing was saved", EXIT_USAGE) from None
    if not value.strip():
        raise CommandError(f"the {what} is empty; nothing was saved", EXIT_USAGE)
    return value.strip()


def _api_problem(exc: BaseException, service: str) -> CommandError:
    """A client error as one sentence naming what is wrong; exit 1 (cannot connect/auth)."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return CommandError(f"{service}: {text}", EXIT_FATAL)


# ---------------------------------------------------------------- connect


def _connect(args: argparse.Namespace) -> int:
    if args.service == "autotask":
        return anyio.run(_connect_autotask, args)
    return anyio.run(_connect_quickbooks, args)


async def _connect_autotask(args: argparse.Namespace) -> int:
    from sync.clients.autotask import AutotaskClient
    from sync.store import AutotaskConnection

    as_json = bool(getattr(args, "json", False))
    store = open_store(_data_dir(args))
    try:
        secret = read_secret(ENV_AUTOTASK_SECRET, "Autotask API user's secret (hidden): ",
                             "Autotask secret")
        base = zone_lookup_base(args.zone_url)
        client = AutotaskClient(args.username, args.integration_code, secret, zone_lookup_base=base,
                                timeout=20.0)
        # Fail fast: a connect check should not sit through a minute of backoff.
        client.retry.max_attempts = 2
        async with client:
            try:
                zone = await client.zone()
            except AutotaskZoneError as exc:
                raise CommandError(
                    f"Autotask does not know the API user {args.username!r} (zone lookup at {base}): "
                    f"{exc.message}. Check the user name.", EXIT_FATAL) from None
            except TransportError as exc:
                raise CommandError(f"cannot reach the Autotask zone lookup at {base}: {exc.message}",
                                   EXIT_FATAL) from None
            try:
                # One authenticated call that also proves the user may read purchase orders.
                await client.picklist("PurchaseOrders", "status")
            except AutotaskAuthError:
                raise CommandError(
                    f"Autotask refused the credentials of {args.username!r} (zone {zone.zone_name or zone.url}): "
                    "the secret or the integration code is wrong, or the API user is inactive",
                    EXIT_FATAL) from None
            except AutotaskPermissionError as exc:
                raise CommandError(f"the Autotask API user may not read purchase orders: {exc.message}",
                                   EXIT_FATAL) from None
            except TransportError as exc:
                raise CommandError(f"cannot reach Autotask at {zone.url}: {exc.message}", EXIT_FATAL) from None
            except ApiError as exc:
                raise _api_problem(exc, "Autotask") from None
        store.connection.set_autotask(AutotaskConnection(args.username, args.integration_code,
                                                         None if args.zone_url is None else base))
        store.secrets.set_autotask_secret(secret)
        _out(as_json, {"ok": True, "exit_code": 0, "service": "autotask", "username": args.username,
                       "zone": zone.zone_name, "zone_url": zone.url},
             f"Autotask connected: API user {args.username}, zone {zone.zone_name or '?'} ({zone.url}). "
             f"Saved in {store.locations.config_dir}.")
        return EXIT_OK
    finally:
        store.close()


async def _connect_quickbooks(args: argparse.Namespace) -> int:
    from sync.clients.oauth import IntuitOAuth, TokenSet
    from sync.clients.qbo import QBO_PRODUCTION, QboClient
    from sync.store import QboConnection

    as_json = bool(getattr(args, "json", False))
    store = open_store(_data_dir(args))
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
                    raise _api_problem(exc, "QuickBooks Online") from None
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
        _out(as_json, {"ok": True, "exit_code": 0, "service": "quickbooks", "realm_id": str(realm),
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


# ---------------------------------------------------------------- settings


def _settings(args: argparse.Namespace) -> int:
    if args.action == "show":
        return _settings_show(args)
    return anyio.run(_settings_set, args)


def _settings_show(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    store = open_store(_data_dir(args))
    try:
        problems: list[str] = []
        try:
            values = store.settings.load().to_values()
            missing = [{"key": p.key, "message": p.message}
                       for p in store.settings.load().missing_for_scan()]
        except SettingsError as exc:
            # Show the file as it is, and what is wrong with it.
            values = store.settings.raw_values()
            problems = [str(p) for p in exc.problems]
            missing = []
        at = store.connection.get_autotask()
        qb = store.connection.get_qbo()
        secrets_set = set(store.secrets.names_set())
        record = {
            "settings": values,
            "missing_for_scan": missing,
            "problems": problems,
            "connections": {
                "autotask": None if at is None else {
                    "username": at.username, "integration_code": at.integration_code,
                    "zone_url": at.zone_url, "secret_set": "autotask_secret" in secrets_set},
                "quickbooks": None if qb is None else {
                    "client_id": qb.client_id, "realm_id": qb.realm_id, "api_url": qb.api_url,
                    "client_secret_set": "qbo_client_secret" in secrets_set,
                    "refresh_token_set": "qbo_refresh_token" in secrets_set},
            },
            "smtp_password_set": SMTP_PASSWORD_SECRET in secrets_set,
            "data_dir": str(store.locations.data_dir),
        }
        if as_json:
            print(json.dumps(jsonable(record), ensure_ascii=False), flush=True)
        else:
            width = max(len(k) for k in SETTING_KEYS)
            lines = [f"settings ({store.locations.settings_file}):"]
            for key in SETTING_KEYS:
                value = values.get(key)
                lines.append(f"  {key:<{width}}  {'(not set)' if value is None else value}")
            lines.append(f"  {'smtp_password':<{width}}  {'(set, hidden)' if record['smtp_password_set'] else '(not set)'}")
            if problems:
                lines.append("problems in the settings file:")
                lines += [f"  {p}" for p in problems]
            if missing:
                lines.append("a scan still needs:")
                lines += [f"  {m['key']}: {m['message']}" for m in missing]
            elif not problems:
                lines.append("ready to scan: every required setting is set")
            lines.append("connections:")
            lines.append("  autotask:   " + (f"{at.username} (integration code {at.integration_code})"
                                             if at else "not connected (atqbo connect autotask)"))
            lines.append("  quickbooks: " + (f"client {qb.client_id}, company {qb.realm_id}"
                                             if qb else "not connected (atqbo connect quickbooks)"))
            print("\n".join(lines), flush=True)
        return EXIT_USAGE if problems else EXIT_OK
    finally:
        store.close()


# Settings whose value names something in a live system: checked there before saving.
_LIVE_CHECKED = {"ap_account": "qbo", "new_item_expense_account": "qbo",
                 "todo_action_type": "autotask", "todo_resource": "autotask"}


async def _settings_set(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    key, raw = args.key, args.value
    store = open_store(_data_dir(args))
    try:
        if key == SMTP_PASSWORD_SECRET:
            return _set_smtp_password(store, raw, as_json)
        try:
            value = parse_value(key, raw)
        except SettingsError as exc:
            raise CommandError(f"{exc.problems[0]}; nothing was saved", EXIT_USAGE) from None
        note = ""
        if key in _LIVE_CHECKED and value is not None:
            note = await _check_live(store, key, value)
        try:
            settings = store.set_setting(key, raw)
        except SettingsError as exc:
            raise CommandError(f"{exc.problems[0]}; nothing was saved", EXIT_USAGE) from None
        shown = settings.to_values().get(key)
        missing = [str(p) for p in settings.missing_for_scan()]
        if note:
            print(f"atqbo: {note}", file=sys.stderr, flush=True)
        _out(as_json, {"ok": True, "exit_code": 0, "key": key, "value": shown,
                       "missing_for_scan": missing, **({"note": note} if note else {})},
             f"{key} = {'(not set)' if shown is None else shown}"
             + ("" if not missing else f"\nstill needed for a scan: {', '.join(m.split(':')[0] for m in missing)}"))
        return EXIT_OK
    finally:
        store.close()


def _set_smtp_password(store: Any, raw: str, as_json: bool) -> int:
    if raw == "":
        store.secrets.set_smtp_password(None)
        _out(as_json, {"ok": True, "exit_code": 0, "key": SMTP_PASSWORD_SECRET, "value": None},
             "smtp_password cleared")
        return EXIT_OK
    if raw != "-":
        raise CommandError("the SMTP password never goes on the command line: use "
                           f"`atqbo settings set smtp_password -` and give it in {ENV_SMTP_PASSWORD} "
                           "or at the hidden prompt; nothing was saved", EXIT_USAGE)
    password = read_secret(ENV_SMTP_PASSWORD, "SMTP password (hidden): ", "SMTP password")
    store.secrets.set_smtp_password(password)
    _out(as_json, {"ok": True, "exit_code": 0, "key": SMTP_PASSWORD_SECRET, "value": "(set, hidden)"},
         "smtp_password saved (hidden)")
    return EXIT_OK


async def _check_live(store: Any, key: str, value: Any) -> str:
    """Refuse a value that names nothing in the live system. Returns a note when the check
    could not be made because that service is not connected yet."""
    from console.runtime_headless import autotask_from_store, qbo_from_store

    service = _LIVE_CHECKED[key]
    label = "QuickBooks Online" if service == "qbo" else "Autotask"
    try:
        client = qbo_from_store(store) if service == "qbo" else autotask_from_store(store)
    except RuntimeProblem:
        return f"{key} not checked against {label}: it is not connected yet"
    try:
        client.retry.max_attempts = 2
        if service == "qbo":
            problem = await _check_qbo_account(client, key, str(value))
        else:
            problem = await _check_autotask_id(client, key, int(value))
    except (AutotaskAuthError, AutotaskZoneError, OAuthError, QboAuthError, QboForbidden) as exc:
        raise CommandError(f"cannot check {key}: {label} refused the saved credentials ({exc.message}); "
                           "nothing was saved. Reconnect with atqbo connect", EXIT_FATAL) from None
    except TransportError as exc:
        raise CommandError(f"cannot check {key}: cannot reach {label} ({exc.message}); nothing was saved",
                           EXIT_FATAL) from None
    except ApiError as exc:
        raise CommandError(f"cannot check {key}: {label} answered: {exc.message}; nothing was saved",
                           EXIT_FATAL) from None
    finally:
        await client.aclose()
        if service == "qbo":
            await client.oauth.aclose()
    if problem:
        raise CommandError(f"{key}: {problem}; nothing was saved", EXIT_USAGE)
    return ""


_EXPENSE_TYPES = ("Expense", "Cost of Goods Sold", "Other Expense")


async def _check_qbo_account(qbo: Any, key: str, wanted: str) -> str | None:
    from sync.clients.qbo_query import Select
    from sync.engine.resolve import find_account  # the engine's own rule: Id, Name or full name

    if key == "ap_account":
        accounts = await qbo.query_all(Select("Account").eq("AccountType", "Accounts Payable"))
        if find_account(accounts, wanted) is None:
            names = ", ".join(f"{a.get('Id')} ({a.get('Name')})" for a in accounts[:10]) or "none"
            return (f"QuickBooks has no accounts-payable account {wanted!r} "
                    f"(its A/P accounts: {names})")
        return None
    accounts = await qbo.query_all(Select("Account"))
    found = find_account(accounts, wanted)
    if found is None:
        return f"QuickBooks has no account {wanted!r} (give its Id or exact name)"
    if found.get("AccountType") not in _EXPENSE_TYPES:
        return (f"QuickBooks account {wanted!r} is a {found.get('AccountType')} account; new items "
                f"need an expense account ({', '.join(_EXPENSE_TYPES)})")
    return None


async def _check_autotask_id(at: Any, key: str, wanted: int) -> str | None:
    entity, what = (("ActionTypes", "action type") if key == "todo_action_type"
                    else ("Resources", "resource"))
    record = await at.get(entity, wanted)
    if record is None:
        return f"Autotask has no {what} with id {wanted}"
    if record.get("isActive") is False:
        return f"Autotask {what} {wanted} is inactive"
    return None


# ---------------------------------------------------------------- logs


def _logs(args: argparse.Namespace) -> int:
    from sync.store import ErrorStatus

    as_json = bool(getattr(args, "json", False))
    store = open_store(_data_dir(args))
    try:
        log = store.errors
        if args.errors:
            entries = log.open_errors(limit=args.limit)
        else:
            entries = log.page(limit=args.limit)
        counts = {status.value: n for status, n in log.count_by_status().items()}
        if as_json:
            for entry in entries:
                print(json.dumps(jsonable(entry), ensure_ascii=False))
            print(json.dumps({"ok": True, "exit_code": 0, "shown": len(entries),
                              "open": counts.get(ErrorStatus.OPEN.value, 0),
                              "retrying": counts.get(ErrorStatus.RETRYING.value, 0),
                              "resolved": counts.get(ErrorStatus.RESOLVED.value, 0)}), flush=True)
            return EXIT_OK
        if not entries:
            print("no open errors" if args.errors else "the error log is empty", flush=True)
            return EXIT_OK
        for e in entries:
            when = e.updated_at[:19].replace("T", " ")
            po = e.po_number or "?"
            line = (f"[{e.id}] {when}Z {e.status.value:<8} PO {po} (id {e.po_id}): {e.cause}"
                    f" (attempts {e.attempts}, {e.cause_code})")
            if e.status is not ErrorStatus.RESOLVED and e.fix:
                line += f"\n      what to fix: {e.fix}"
            print(line)
        open_n = counts.get(ErrorStatus.OPEN.value, 0) + counts.get(ErrorStatus.RETRYING.value, 0)
        print(f"{len(entries)} shown; {open_n} open. Retry one with `atqbo retry ID`, all with "
              "`atqbo retry --all-failed`.", flush=True)
        return EXIT_OK
    finally:
        store.close()


# ---------------------------------------------------------------- sync-one and retry


def _sync_one(args: argparse.Namespace) -> int:
    return anyio.run(_engine_command, args, "sync-one")


def _retry(args: argparse.Namespace) -> int:
    return anyio.run(_engine_command, args, "retry")


# Outcomes that say the request itself cannot be done (a usage/configuration matter, exit 2).
_REFUSALS = frozenset({"po_not_found", "po_already_synced", "po_not_submitted"})
_CONFIG_STOPS = frozenset({"settings_incomplete", "multicurrency_qbo_off", "status_picklist"})


def exit_code_for_outcomes(outcomes: list[Any]) -> int:
    """0 all synced; 2 refused or a configuration stop; 1 cannot connect/authenticate;
    3 some POs failed."""
    codes = set()
    for o in outcomes:
        if o.ok:
            continue
        code = o.cause.code if o.cause else ""
        if code in _REFUSALS or code in _CONFIG_STOPS:
            codes.add(EXIT_USAGE)
        elif o.cause is not None and o.cause.scan_level:
            codes.add(EXIT_FATAL)
        else:
            codes.add(EXIT_SOME_FAILED)
    for code in (EXIT_FATAL, EXIT_USAGE, EXIT_SOME_FAILED):
        if code in codes:
            return code
    return EXIT_OK


async def _engine_command(args: argparse.Namespace, which: str) -> int:
    """Run the engine for one PO, or for the failed ones; print its events; the last line is
    the summary (JSON with --json)."""
    from sync.store.errors import UnknownEntryError

    as_json = bool(getattr(args, "json", False))
    printer = Printer(as_json)
    started = time.monotonic()
    if which == "retry" and not args.all_failed:
        # Check the id before anything else: a typo is a usage error, not a connection attempt.
        store = open_store(_data_dir(args))
        try:
            entry = store.errors.get(args.log_id)
        finally:
            store.close()
        if entry is None:
            raise CommandError(f"no error-log entry with id {args.log_id}; list them with atqbo logs",
                               EXIT_USAGE)
    runtime = await open_runtime(_data_dir(args), engine=True, printer=printer)
    if which == "sync-one" and args.email and runtime.notifier.config is None:
        missing = ", ".join(p.key for p in runtime.settings.missing_for_email()) or "smtp settings"
        print(f"atqbo: mail is not configured (set {missing}), so no result mail goes to {args.email}",
              file=sys.stderr, flush=True)
    summary = RunSummary()
    todos = 0

    def on_event(event: ev.Event) -> None:
        nonlocal todos
        printer.event(event)
        if isinstance(event, ev.TodoCreated):
            todos += 1

    unsubscribe = runtime.engine.subscribe(on_event)
    try:
        if which == "sync-one":
            outcomes = [await runtime.engine.sync_one(args.po_id, alt_email=args.email)]
        elif args.all_failed:
            outcomes = list(await runtime.engine.retry_all())
        else:
            try:
                outcomes = [await runtime.engine.retry(args.log_id)]
            except UnknownEntryError as exc:
                raise CommandError(str(exc), EXIT_USAGE) from None
        ok = [o for o in outcomes if o.ok]
        if which == "sync-one" and ok:
            # Like the retired app: a single-PO sync's result goes to its alternate address, else
            # to notify_email. A failure gets there through the engine's notifier; a success is
            # this command's own result mail (a mail failure is logged, never fatal).
            from sync.mail import PoResult

            o = ok[0]
            await runtime.notifier.po_result(PoResult(o.po_id, o.po_number, bill_number=o.doc_number),
                                             to=args.email)
        summary.api_calls = {"autotask": runtime.autotask.calls, "qbo": runtime.qbo.calls}
    finally:
        unsubscribe()
        await runtime.aclose()
    code = exit_code_for_outcomes(outcomes)
    summary.scanned = len(outcomes)
    summary.synced = len([o for o in outcomes if o.ok])
    summary.failed = len([o for o in outcomes if not o.ok and o.cause is not None
                          and o.cause.code not in _REFUSALS and not o.cause.scan_level])
    summary.todos_created = todos
    summary.duration_s = time.monotonic() - started
    record = summary.as_record(command=which, exit_code=code, outcomes=[_outcome_record(o) for o in outcomes])
    printer.summary(record, human=_outcomes_text(which, outcomes, code))
    return code


def _outcome_record(o: Any) -> dict[str, Any]:
    return {"po_id": o.po_id, "po_number": o.po_number, "ok": o.ok, "doc_number": o.doc_number,
            "log_id": o.log_id, "cause_code": o.cause.code if o.cause else None,
            "cause": o.cause.cause if o.cause else None, "fix": o.cause.fix if o.cause else None}


def _outcomes_text(which: str, outcomes: list[Any], code: int) -> str:
    if not outcomes:
        return "no open errors to retry"
    lines = []
    for o in outcomes:
        if o.ok:
            lines.append(f"PO {o.po_number} (id {o.po_id}): synced as bill {o.doc_number}")
        else:
            c = o.cause
            text = f"PO {o.po_number} (id {o.po_id}): not synced: {c.cause if c else 'unknown cause'}"
            if c is not None and c.fix:
                text += f" What to do: {c.fix}"
            if o.log_id is not None:
                text += f" [log {o.log_id}]"
            lines.append(text)
    if which == "retry" and len(outcomes) > 1:
        n_ok = sum(1 for o in outcomes if o.ok)
        lines.append(f"retried {len(outcomes)}: {n_ok} synced, {len(outcomes) - n_ok} not")
    return "\n".join(lines)
