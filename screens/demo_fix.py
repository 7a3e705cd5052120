"""Demo only: fix the cause of a failed PO in the emulated QuickBooks, through the sandbox's
admin API (the same change an operator would make in QBO by hand), so a retry succeeds.

The error log keeps a cause code and plain words; the names a fix needs are the quoted ones in
the cause (the engine's cause catalogue quotes them).
"""

from __future__ import annotations

import re
from typing import Any

import httpx

ADMIN = "/_sandbox/qbo/entities"

FIXABLE = {
    "item_not_purchasable": "make the item purchasable (give it an expense account)",
    "missing_item": "create the missing item",
    "name_clash_vendor_is_customer": "rename the QuickBooks customer that holds the vendor's name",
    "name_clash_customer_is_vendor": "rename the QuickBooks vendor that holds the customer's name",
    "doc_number_taken": "renumber the existing bill",
    "currency_no_ap_account": "create an Accounts Payable account in that currency",
    "currency_mismatch": "rename the QuickBooks vendor in the other currency, so one in the PO's currency is made",
}


class DemoFixError(Exception):
    pass


def _quoted(text: str) -> str:
    found = re.search(r'"([^"]+)"', text)
    if not found:
        raise DemoFixError("the cause names no record to fix")
    return found.group(1)


async def fix_cause(runtime: Any, entry: Any) -> str:
    """Apply the fix for `entry`'s cause in the sandbox; returns what was done (plain words).
    Raises DemoFixError when this cause has no automatic fix."""
    server = getattr(runtime, "sandbox_server", None)
    if server is None:
        raise DemoFixError("there is no sandbox: demo fixes exist only with --demo")
    code = entry.cause_code
    if code not in FIXABLE:
        raise DemoFixError(f"no automatic demo fix for this cause ({code or 'unknown'}); "
                           f"what to fix: {entry.fix}")
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        async def all_of(entity: str) -> list[dict]:
            r = await http.get(f"{ADMIN}/{entity}")
            r.raise_for_status()
            return r.json()

        async def patch(entity: str, rid: str, body: dict) -> dict:
            r = await http.patch(f"{ADMIN}/{entity}/{rid}", json=body)
            if r.status_code >= 400:
                raise DemoFixError(f"the sandbox refused the fix: {r.text[:300]}")
            return r.json()

        async def create(entity: str, body: dict) -> dict:
            r = await http.post(f"{ADMIN}/{entity}", json=body)
            if r.status_code >= 400:
                raise DemoFixError(f"the sandbox refused the fix: {r.text[:300]}")
            return r.json()

        async def expense_account() -> dict:
            for acct in await all_of("Account"):
                if acct.get("AccountType") in ("Expense", "Cost of Goods Sold") and acct.get("Active", True):
                    return acct
            raise DemoFixError("the emulated QuickBooks has no expense account")

        if code == "item_not_purchasable":
            name = _quoted(entry.cause)
            item = next((i for i in await all_of("Item") if i.get("Name") == name), None)
            if item is None:
                raise DemoFixError(f"no QuickBooks item named {name!r}")
            acct = await expense_account()
            await patch("Item", item["Id"], {"ExpenseAccountRef": {"value": acct["Id"], "name": acct["Name"]}})
            return f"Item \"{name}\" now has the expense account \"{acct['Name']}\"."
        if code == "missing_item":
            name = _quoted(entry.cause)
            acct = await expense_account()
            await create("Item", {"Name": name, "Type": "NonInventory",
                                  "ExpenseAccountRef": {"value": acct["Id"], "name": acct["Name"]}})
            return f"Item \"{name}\" created (expense account \"{acct['Name']}\")."
        if code in ("name_clash_vendor_is_customer", "name_clash_customer_is_vendor"):
            name = _quoted(entry.cause)
            entity = "Customer" if code == "name_clash_vendor_is_customer" else "Vendor"
            record = next((r for r in await all_of(entity) if r.get("DisplayName") == name), None)
            if record is None:
                raise DemoFixError(f"no QuickBooks {entity.lower()} named {name!r}")
            new_name = f"{name} ({entity.lower()})"
            await patch(entity, record["Id"], {"DisplayName": new_name})
            return f"QuickBooks {entity.lower()} \"{name}\" renamed to \"{new_name}\"."
        if code == "doc_number_taken":
            number = re.search(r"numbered (\S+)", entry.cause)
            if not number:
                raise DemoFixError("the cause names no bill number")
            doc = number.group(1)
            bill = next((b for b in await all_of("Bill") if b.get("DocNumber") == doc), None)
            if bill is None:
                raise DemoFixError(f"no QuickBooks bill numbered {doc}")
            new_doc = (doc + "-OLD")[:21]
            await patch("Bill", bill["Id"], {"DocNumber": new_doc})
            return f"The existing bill {doc} was renumbered {new_doc}."
        if code == "currency_mismatch":
            found = re.search(r'"([^"]+)" uses ([A-Z]{3}) in QuickBooks but the PO is in ([A-Z]{3})', entry.cause)
            if not found:
                raise DemoFixError("the cause names no vendor and currencies")
            name, qbo_cur, po_cur = found.groups()
            vendor = next((v for v in await all_of("Vendor") if v.get("DisplayName") == name), None)
            if vendor is None:
                raise DemoFixError(f"no QuickBooks vendor named {name!r}")
            new_name = f"{name} ({qbo_cur})"
            await patch("Vendor", vendor["Id"], {"DisplayName": new_name})
            done = f"QuickBooks vendor \"{name}\" renamed to \"{new_name}\"; a {po_cur} vendor is made on retry."
            has_ap = any(a.get("AccountType") == "Accounts Payable" and (a.get("CurrencyRef") or {}).get("value") == po_cur
                         for a in await all_of("Account"))
            if not has_ap:
                await create("Account", {"Name": f"Accounts Payable ({po_cur})", "AccountType": "Accounts Payable",
                                         "CurrencyRef": {"value": po_cur}})
                done += f" Accounts Payable ({po_cur}) created."
            return done
        if code == "currency_no_ap_account":
            currency = re.search(r"in ([A-Z]{3})", entry.cause)
            if not currency:
                raise DemoFixError("the cause names no currency")
            cur = currency.group(1)
            await create("Account", {"Name": f"Accounts Payable ({cur})", "AccountType": "Accounts Payable",
                                     "CurrencyRef": {"value": cur}})
            return f"Accounts Payable ({cur}) created."
    raise DemoFixError(f"no automatic demo fix for {code}")
