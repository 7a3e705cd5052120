"""Settings whose value names something in a live system (a QBO account, an Autotask action
type or resource) are checked there before they are saved: one copy for `atqbo settings set`
and the control socket's settings set.
"""

from __future__ import annotations

from typing import Any

# setting -> the service that must hold what it names
LIVE_CHECKED = {"ap_account": "qbo", "new_item_expense_account": "qbo",
                "todo_action_type": "autotask", "todo_resource": "autotask"}


async def check_live(key: str, value: Any, *, autotask: Any = None, qbo: Any = None) -> str | None:
    """What is wrong with `value` for `key` in the live system, or None. API errors (auth,
    transport) are the caller's to word."""
    if LIVE_CHECKED.get(key) == "qbo":
        return await _check_qbo_account(qbo, key, str(value))
    if LIVE_CHECKED.get(key) == "autotask":
        return await _check_autotask_id(autotask, key, int(value))
    return None


_EXPENSE_TYPES = ("Expense", "Cost of Goods Sold", "Other Expense")
_LISTED = 10  # choices named in a message before "and N more"


def person(r: dict) -> str:
    name = " ".join(str(p) for p in (r.get("firstName"), r.get("lastName")) if p) or f"resource {r.get('id')}"
    return name


def account_name(a: dict) -> str:
    return str(a.get("FullyQualifiedName") or a.get("Name") or f"account {a.get('Id')}")


def listing(rows: list[tuple[Any, str]]) -> str:
    """'3 (General), 4 (Follow up), ... and 7 more' (ids with names, bounded)."""
    shown = ", ".join(f"{key} ({name})" for key, name in rows[:_LISTED]) or "none"
    return shown + (f" and {len(rows) - _LISTED} more" if len(rows) > _LISTED else "")


async def active_choices(at: Any, key: str) -> list[tuple[int, str]]:
    """The active action types or resources, as (id, name), sorted by name."""
    from sync.clients.autotask_filters import F

    entity = "ActionTypes" if key == "todo_action_type" else "Resources"
    rows = await at.query(entity, F.eq("isActive", True))
    named = [(int(r["id"]), str(r.get("name") or f"action type {r['id']}") if key == "todo_action_type"
              else person(r)) for r in rows if r.get("id") is not None]
    return sorted(named, key=lambda pair: pair[1].casefold())


async def _check_qbo_account(qbo: Any, key: str, wanted: str) -> str | None:
    from sync.clients.qbo_query import Select
    from sync.engine.resolve import (
        find_account,  # the engine's own rule: Id, Name or full name
    )

    if key == "ap_account":
        accounts = await qbo.query_all(Select("Account").eq("AccountType", "Accounts Payable"))
        if find_account(accounts, wanted) is None:
            names = listing([(a.get("Id"), account_name(a)) for a in accounts])
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
    if record is not None and record.get("isActive") is not False:
        return None
    problem = (f"Autotask has no {what} with id {wanted}" if record is None
               else f"Autotask {what} {wanted} is inactive")
    # Like ap_account: say which ids would do.
    return f"{problem} (its active {what}s: {listing(await active_choices(at, key))})"
