"""Choices for the settings form, read from the live services (no UI here).

QBO accounts (A/P accounts for bills, expense accounts for created items), Autotask to-do action
types and resources. Each list is read on its own: one service being down still fills the
others, and what failed is named. Labels are names from the services, shown by sync.text's
rule (control characters as escapes).
"""

from __future__ import annotations

from typing import Any

from sync.text import shown

Options = dict[str, list[tuple[str, str]]]

EXPENSE_TYPES = ("Expense", "Cost of Goods Sold", "Other Expense")


async def load_options(autotask: Any, qbo: Any) -> tuple[Options, dict[str, str]]:
    from sync.clients.autotask_filters import F
    from sync.clients.qbo_query import Select

    options: Options = {}
    problems: dict[str, str] = {}

    async def attempt(keys: tuple[str, ...], read) -> None:
        try:
            await read()
        except Exception as exc:  # shown to the operator next to the field, in plain words
            for key in keys:
                problems[key] = _plain(exc)

    async def ap() -> None:
        rows = await qbo.query_all(Select("Account").eq("AccountType", "Accounts Payable"))
        options["ap_account"] = [_account(a) for a in rows if a.get("Active", True)]

    async def expense() -> None:
        rows: list[dict] = []
        for kind in EXPENSE_TYPES:
            rows += await qbo.query_all(Select("Account").eq("AccountType", kind))
        options["new_item_expense_account"] = sorted(
            (_account(a) for a in rows if a.get("Active", True)), key=lambda o: o[0].casefold())

    async def action_types() -> None:
        rows = await autotask.query("ActionTypes", F.eq("isActive", True))
        options["todo_action_type"] = sorted(
            ((shown(r.get("name") or f"Action type {r['id']}"), str(r["id"])) for r in rows),
            key=lambda o: o[0].casefold())

    async def resources() -> None:
        rows = await autotask.query("Resources", F.eq("isActive", True))
        options["todo_resource"] = sorted(
            ((_person(r), str(r["id"])) for r in rows), key=lambda o: o[0].casefold())

    await attempt(("ap_account",), ap)
    await attempt(("new_item_expense_account",), expense)
    await attempt(("todo_action_type",), action_types)
    await attempt(("todo_resource",), resources)
    return options, problems


def _account(a: dict) -> tuple[str, str]:
    name = a.get("FullyQualifiedName") or a.get("Name") or f"Account {a.get('Id')}"
    currency = (a.get("CurrencyRef") or {}).get("value")
    label = f"{name} ({currency})" if currency else str(name)
    return shown(label), str(a.get("Id"))


def _person(r: dict) -> str:
    name = " ".join(p for p in (r.get("firstName"), r.get("lastName")) if p) or f"Resource {r['id']}"
    email = r.get("email")
    return shown(f"{name} <{email}>" if email else name)


def _plain(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return f"could not read the choices: {shown(text)}"
