"""The control socket's commands (docs/control-protocol.md): each checks its arguments (a bad
one is refused with why, never passed on) and calls the engine-control interface."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sync.settings import parse_value

from .local import LocalEngineControl

MAX_PO_ID = 2**31 - 1


class BadArgs(ValueError):
    """The arguments do not fit the command: refused, the connection stays."""


class CommandHost(Protocol):
    """What a command may use of the server (server.py's ControlServer)."""

    control: LocalEngineControl

    def hello(self) -> dict[str, Any]: ...

    def snapshot(self) -> dict[str, Any]: ...


class Subscriber(Protocol):
    subscribed: bool


Handler = Callable[[CommandHost, Subscriber, dict[str, Any]], Awaitable[Any]]


def _whole(args: dict[str, Any], key: str, low: int = 0, high: int = MAX_PO_ID) -> int:
    value = args.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadArgs(f"{key} must be a whole number from {low} to {high}")
    return value


async def _hello(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    return server.hello()


async def _status(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    return (await server.control.refresh_status()).to_record()


async def _snapshot(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    await server.control.refresh_status()
    return server.snapshot()


async def _subscribe(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    await server.control.refresh_status()
    # The snapshot is taken in the same step as the subscription: no event falls between.
    client.subscribed = True
    return server.snapshot()


async def _unsubscribe(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    client.subscribed = False
    return None


async def _scan_now(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    await server.control.scan_now()


async def _pause(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    await server.control.pause()


async def _resume(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    await server.control.resume()


async def _sync_one(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    po_id = _whole(args, "po_id", 1)
    email = args.get("email")
    if email is not None:
        if not isinstance(email, str):
            raise BadArgs("email must be a string")
        email = parse_value("notify_email", email) or None  # SettingsError: refused, with why
    return (await server.control.sync_one(po_id, email)).to_record()


async def _retry(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    return (await server.control.retry(_whole(args, "log_id", 1, 2**63 - 1))).to_record()


async def _retry_all(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    return [o.to_record() for o in await server.control.retry_all()]


async def _settings_get(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    return (await server.control.settings_get()).to_values()


async def _settings_set(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    values = args.get("values")
    password = args.get("smtp_password")
    if not isinstance(values, dict) or not all(isinstance(k, str) for k in values):
        raise BadArgs("values must be an object of setting names")
    if password is not None and not isinstance(password, str):
        raise BadArgs("smtp_password must be a string")
    changed = await server.control.settings_set(values, password)
    return {"changed": list(changed), "applies": "from the next scan"}


async def _log_window(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    status = args.get("status")
    text = args.get("text") or ""
    if status not in (None, "open", "retrying", "resolved") or not isinstance(text, str) or len(text) > 200:
        raise BadArgs("status is open, retrying, resolved or null; text at most 200 characters")
    total, entries = await server.control.log_window(status, text, _whole(args, "offset", 0),
                                                     _whole(args, "limit", 1, 500))
    return {"total": total, "entries": [e.to_record() for e in entries]}


async def _log_entry(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    entry = await server.control.log_entry(str(_whole(args, "log_id", 1, 2**63 - 1)))
    return None if entry is None else entry.to_record()


async def _options(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    options, problems = await server.control.options()
    return {"options": {k: [list(pair) for pair in v] for k, v in options.items()}, "problems": problems}


def _kind(args: dict[str, Any], optional: bool = False) -> str | None:
    kind = args.get("kind")
    if (kind is None and optional) or kind in ("vendor", "customer", "item"):
        return kind
    raise BadArgs("kind is vendor, customer or item" + (" (or null)" if optional else ""))


async def _links_list(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    return [v.to_record() for v in await server.control.links_list(_kind(args, optional=True))]


async def _link(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    qbo_id = str(_whole(args, "qbo_id", 1, 2**63 - 1))
    view = await server.control.link(_kind(args) or "", _whole(args, "autotask_id", 1, 2**63 - 1), qbo_id)
    return view.to_record()


async def _unlink(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    return (await server.control.unlink(_kind(args) or "", _whole(args, "autotask_id", 1, 2**63 - 1))).to_record()


def _po_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or len(value) > 10_000:
        raise BadArgs("po_ids must be a list of at most 10000 PO ids")
    return [_whole({"po_id": v}, "po_id", 1) for v in value]


async def _plan(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    po_ids = args.get("po_ids")
    report = await server.control.plan(None if po_ids is None else _po_ids(po_ids))
    return report.to_record()


async def _approve(server: CommandHost, client: Subscriber, args: dict[str, Any]) -> Any:
    shown = args.get("plans")
    if not isinstance(shown, list) or not shown or len(shown) > 10_000:
        raise BadArgs("plans must be a list of {po_id, fingerprint}")
    pairs = []
    for item in shown:
        fingerprint = item.get("fingerprint") if isinstance(item, dict) else None
        if not isinstance(fingerprint, str) or not fingerprint.isalnum() or len(fingerprint) > 64:
            raise BadArgs("each plan needs a po_id and the fingerprint of the plan shown")
        pairs.append((_whole(item, "po_id", 1), fingerprint))
    approved, refused = await server.control.approve_shown(pairs)
    return {"approved": [p.to_record() for p in approved],
            "refused": [{"plan": p.to_record(), "reason": why} for p, why in refused]}


COMMANDS: dict[str, Handler] = {
    "hello": _hello, "status": _status, "snapshot": _snapshot, "subscribe": _subscribe, "unsubscribe": _unsubscribe,
    "scan_now": _scan_now, "pause": _pause, "resume": _resume, "sync_one": _sync_one,
    "retry": _retry, "retry_all": _retry_all, "settings_get": _settings_get,
    "settings_set": _settings_set, "log_window": _log_window, "log_entry": _log_entry,
    "options": _options, "plan": _plan, "approve": _approve,
    "links_list": _links_list, "link": _link, "unlink": _unlink,
}
