"""What the ids in the settings name in the live services: `settings show` prints each id with
its name, and `settings set` lists the valid choices when an id names nothing. Read-only, a
few calls, never retried at length: a service that is down makes the names "unavailable", it
never makes `settings show` fail or hang."""

from __future__ import annotations

from typing import Any

import anyio

# The names shown are the ones the check of a new value uses (one copy, below the CLI).
from sync.settings_check import account_name, person

# The ids shown with a name, and the service that has the name.
NAMED = {"ap_account": "qbo", "new_item_expense_account": "qbo",
         "todo_action_type": "autotask", "todo_resource": "autotask"}
LABELS = {"qbo": "QuickBooks Online", "autotask": "Autotask"}
_DEADLINE_S = 15.0  # for all the look-ups of one service


async def live_names(store: Any, values: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """({key: name} for every set id found, {service: why its names are unavailable})."""
    from console.runtime_headless import (
        RuntimeProblem,
        autotask_from_store,
        qbo_from_store,
    )

    names: dict[str, str] = {}
    unavailable: dict[str, str] = {}
    for service in ("qbo", "autotask"):
        keys = [k for k, s in NAMED.items() if s == service and values.get(k) not in (None, "")]
        if not keys:
            continue
        try:
            client = qbo_from_store(store) if service == "qbo" else autotask_from_store(store)
        except RuntimeProblem:
            unavailable[service] = f"{LABELS[service]} is not connected"
            continue
        client.retry.max_attempts = 1
        try:
            with anyio.fail_after(_DEADLINE_S):
                found = await (_qbo_names(client, keys, values) if service == "qbo"
                               else _autotask_names(client, keys, values))
            names.update(found)
        except TimeoutError:
            unavailable[service] = f"{LABELS[service]} did not answer within {_DEADLINE_S:.0f} s"
        except Exception as exc:  # noqa: BLE001 (an API or transport error: told, never fatal here)
            text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
            unavailable[service] = f"{LABELS[service]}: {' '.join(str(text).split())}"
        finally:
            await client.aclose()
            if service == "qbo":
                await client.oauth.aclose()
    return names, unavailable


async def _qbo_names(qbo: Any, keys: list[str], values: dict[str, Any]) -> dict[str, str]:
    from sync.clients.qbo_query import Select
    from sync.engine.resolve import (
        find_account,  # the engine's own rule: Id, Name or full name
    )

    accounts = await qbo.query_all(Select("Account"))
    found = {}
    for key in keys:
        account = find_account(accounts, str(values[key]))
        found[key] = account_name(account) if account else "no such account in QuickBooks"
    return found


async def _autotask_names(at: Any, keys: list[str], values: dict[str, Any]) -> dict[str, str]:
    found = {}
    for key in keys:
        entity = "ActionTypes" if key == "todo_action_type" else "Resources"
        record = await at.get(entity, int(values[key]))
        if record is None:
            found[key] = f"no such {'action type' if entity == 'ActionTypes' else 'resource'} in Autotask"
        else:
            name = str(record.get("name") or "") if entity == "ActionTypes" else person(record)
            found[key] = name + (" (inactive)" if record.get("isActive") is False else "")
    return found
