"""`atqbo settings show|set`: the settings as stored, and a change checked against the live services before it is saved."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import anyio

from console.cli_commands.common import (
    ENV_SMTP_PASSWORD,
    EXIT_FATAL,
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    data_dir,
    out,
    read_secret,
    through_service,
)
from console.output import dumps, jsonable
from console.runtime_headless import (
    RuntimeProblem,
    open_store,
)
from sync.clients.errors import (
    ApiError,
    AutotaskAuthError,
    AutotaskZoneError,
    OAuthError,
    QboAuthError,
    QboForbidden,
    TransportError,
)
from sync.settings import SETTING_KEYS, SMTP_PASSWORD_SECRET, SettingsError, parse_value
from sync.settings_check import LIVE_CHECKED, check_live
from sync.text import shown_lines

from .settings_names import NAMED, live_names


def run_settings(args: argparse.Namespace) -> int:
    if args.action == "show":
        return _settings_show(args)
    return anyio.run(_settings_set, args)


def _settings_show(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
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
        names, unavailable = anyio.run(live_names, store, values)
        record = {
            "settings": values,
            "names": names,  # what each id names in the live service
            "names_unavailable": unavailable,  # service → why (not connected, unreachable)
            "missing_for_scan": missing,
            "problems": problems,
            "connections": {
                "autotask": None if at is None else {
                    "username": at.username, "integration_code": at.integration_code,
                    "zone_url": at.zone_url, "secret_set": "autotask_secret" in secrets_set},
                "quickbooks": None if qb is None else {
                    "client_id": qb.client_id, "realm_id": qb.realm_id, "api_url": qb.api_url,
                    "environment": qb.environment, "redirect_uri": qb.redirect_uri,
                    "client_secret_set": "qbo_client_secret" in secrets_set,
                    "refresh_token_set": "qbo_refresh_token" in secrets_set},
            },
            "smtp_password_set": SMTP_PASSWORD_SECRET in secrets_set,
            "data_dir": str(store.locations.data_dir),
        }
        if as_json:
            print(dumps(jsonable(record)), flush=True)
        else:
            width = max(len(k) for k in SETTING_KEYS)
            lines = [f"settings ({store.locations.settings_file}):"]
            for key in SETTING_KEYS:
                value = values.get(key)
                lines.append(f"  {key:<{width}}  {'(not set)' if value is None else value}"
                             + _name_note(key, value, names, unavailable))
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
                                             + (f", {qb.environment} keys" if qb.environment else "")
                                             + (f", redirect URI {qb.redirect_uri!r}" if qb.redirect_uri else "")
                                             if qb else "not connected (atqbo connect quickbooks)"))
            print(shown_lines("\n".join(lines)), flush=True)  # values a user typed: never raw
        return EXIT_USAGE if problems else EXIT_OK
    finally:
        store.close()


def _name_note(key: str, value: Any, names: dict[str, str], unavailable: dict[str, str]) -> str:
    if value is None or key not in NAMED:
        return ""
    if key in names:
        return f" ({names[key]})"
    why = unavailable.get(NAMED[key])
    return f" (name unavailable: {why})" if why else ""



async def _settings_set(args: argparse.Namespace) -> int:
    from console.startup import attach_to_service

    as_json = bool(getattr(args, "json", False))
    key, raw = args.key, args.value
    attached = await attach_to_service(data_dir(args))
    if attached is not None:
        return await _set_through_service(attached.control, key, raw, as_json)
    store = open_store(data_dir(args))
    try:
        if key == SMTP_PASSWORD_SECRET:
            return _set_smtp_password(store, raw, as_json)
        try:
            value = parse_value(key, raw)
        except SettingsError as exc:
            raise CommandError(f"{exc.problems[0]}; nothing was saved", EXIT_USAGE) from None
        note = ""
        if key in LIVE_CHECKED and value is not None:
            note = await _check_live(store, key, value)
        try:
            settings = store.set_setting(key, raw)
        except SettingsError as exc:
            raise CommandError(f"{exc.problems[0]}; nothing was saved", EXIT_USAGE) from None
        shown = settings.to_values().get(key)
        missing = [str(p) for p in settings.missing_for_scan()]
        if note:
            print(f"atqbo: {shown_lines(note)}", file=sys.stderr, flush=True)
        out(as_json, {"ok": True, "exit_code": 0, "key": key, "value": shown,
                       "missing_for_scan": missing, **({"note": note} if note else {})},
             f"{key} = {'(not set)' if shown is None else shown}"
             + ("" if not missing else f"\nstill needed for a scan: {', '.join(m.split(':')[0] for m in missing)}"))
        return EXIT_OK
    finally:
        store.close()


async def _set_through_service(remote: Any, key: str, raw: str, as_json: bool) -> int:
    """The running service saves it (and checks it against the live services): the same
    checks, output and exit codes as without a service."""

    values: dict[str, Any] = {}
    password: str | None = None
    if key == SMTP_PASSWORD_SECRET:
        if raw not in ("", "-"):
            _set_smtp_password(None, raw, as_json)  # refuses a password on the command line
        password = "" if raw == "" else read_secret(ENV_SMTP_PASSWORD, "SMTP password (hidden): ",
                                                    "SMTP password")
    else:
        try:
            parse_value(key, raw)
        except SettingsError as exc:
            raise CommandError(f"{exc.problems[0]}; nothing was saved", EXIT_USAGE) from None
        values = {key: raw}
    async def work() -> Any:
        await remote.settings_set(values, password)
        return await remote.settings_get()

    settings = await through_service(remote, work, nothing_saved=True)
    if key == SMTP_PASSWORD_SECRET:
        shown_password = None if password == "" else "(set, hidden)"
        out(as_json, {"ok": True, "exit_code": 0, "key": SMTP_PASSWORD_SECRET, "value": shown_password},
            "smtp_password cleared" if password == "" else "smtp_password saved (hidden)")
        return EXIT_OK
    shown = settings.to_values().get(key)
    missing = [str(p) for p in settings.missing_for_scan()]
    out(as_json, {"ok": True, "exit_code": 0, "key": key, "value": shown,
                  "missing_for_scan": missing},
        f"{key} = {'(not set)' if shown is None else shown}"
        + ("" if not missing else f"\nstill needed for a scan: {', '.join(m.split(':')[0] for m in missing)}"))
    return EXIT_OK


def _set_smtp_password(store: Any, raw: str, as_json: bool) -> int:
    if raw == "":
        store.secrets.set_smtp_password(None)
        out(as_json, {"ok": True, "exit_code": 0, "key": SMTP_PASSWORD_SECRET, "value": None},
             "smtp_password cleared")
        return EXIT_OK
    if raw != "-":
        raise CommandError("the SMTP password never goes on the command line: use "
                           f"`atqbo settings set smtp_password -` and give it in {ENV_SMTP_PASSWORD} "
                           "or at the hidden prompt; nothing was saved", EXIT_USAGE)
    password = read_secret(ENV_SMTP_PASSWORD, "SMTP password (hidden): ", "SMTP password")
    store.secrets.set_smtp_password(password)
    out(as_json, {"ok": True, "exit_code": 0, "key": SMTP_PASSWORD_SECRET, "value": "(set, hidden)"},
         "smtp_password saved (hidden)")
    return EXIT_OK


async def _check_live(store: Any, key: str, value: Any) -> str:
    """Refuse a value that names nothing in the live system. Returns a note when the check
    could not be made because that service is not connected yet."""
    from console.runtime_headless import autotask_from_store, qbo_from_store

    service = LIVE_CHECKED[key]
    label = "QuickBooks Online" if service == "qbo" else "Autotask"
    try:
        client = qbo_from_store(store) if service == "qbo" else autotask_from_store(store)
    except RuntimeProblem:
        return f"{key} not checked against {label}: it is not connected yet"
    try:
        client.retry.max_attempts = 2
        problem = await check_live(key, value, autotask=client if service == "autotask" else None,
                                   qbo=client if service == "qbo" else None)
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
