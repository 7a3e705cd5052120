"""The doctor's checks of the connections, settings and QuickBooks preferences, each turned
into findings with a cause and a fix in plain words. Reads only (the one exception is the QBO
token refresh, whose rotated refresh token must be saved or the connection would be lost)."""

from __future__ import annotations

import time
from typing import Any

from sync.clients.errors import ApiError
from sync.engine import causes, documents
from sync.engine.causes import Cause
from sync.engine.halt import api_words, halt_for
from sync.engine.resolve import find_account
from sync.settings import MissingItem, PoNumberSource, Settings

from .report import Finding, Level, shown

REFRESH_WARN_DAYS = 30  # sign in again before the refresh token runs out
AP_TYPE = "Accounts Payable"
EXPENSE_TYPES = ("Expense", "Cost of Goods Sold", "Other Expense")
CONNECTION_QBO, CONNECTION_AT = "QuickBooks connection", "Autotask connection"


def document_words(settings: Settings) -> tuple[str, str]:
    """What a PO becomes under transfer_as, for the findings' words: (one, several)."""
    one = documents.label(documents.first_document(settings))
    return one, one + "s"


def api_cause(exc: ApiError) -> Cause:
    """The engine's own cause for a client error (a scan-level stop, or a refusal)."""
    halt = halt_for(exc)
    if halt is not None:
        return halt.cause
    code = "qbo_rejected" if exc.service in ("qbo", "oauth") else "autotask_rejected"
    return causes.make(code, api=api_words(exc))


def from_cause(area: str, cause: Cause, level: Level = Level.FAIL, title: str = "") -> Finding:
    # A cause quotes what a service said: made safe to show like every outside text.
    return Finding(area, cause.code, level, shown(title or cause.cause), shown(cause.cause), shown(cause.fix))


# ---------------------------------------------------------------- connections


async def qbo_connection(qbo: Any, findings: list[Finding], *, now: float | None = None,
                         document: str = "bill") -> bool:
    """Refresh the token (proves the refresh works), say how long the refresh token lasts,
    read CompanyInfo."""
    try:
        tokens = await qbo.oauth.refresh()
    except ApiError as exc:
        findings.append(from_cause(CONNECTION_QBO, api_cause(exc), title="the QuickBooks token could not be refreshed"))
        return False
    now = time.time() if now is None else now
    if tokens.refresh_expires_at:
        days = int((tokens.refresh_expires_at - now) // 86400)
        if days < REFRESH_WARN_DAYS:
            findings.append(Finding(CONNECTION_QBO, "qbo_refresh_expiring", Level.ATTENTION,
                                    f"the QuickBooks refresh token expires in {days} days",
                                    f"Intuit ends the connection in {days} days; after that no {document} can be sent.",
                                    "Sign in to QuickBooks again (atqbo connect quickbooks, or the console's "
                                    "Connect screen) before then."))
        else:
            findings.append(Finding(CONNECTION_QBO, "qbo_refresh_ok", Level.OK,
                                    f"token refresh works; the refresh token lasts {days} more days"))
    else:
        findings.append(Finding(CONNECTION_QBO, "qbo_refresh_ok", Level.OK,
                                "token refresh works (Intuit did not say when the refresh token expires)"))
    try:
        info = await qbo.company_info()
    except ApiError as exc:
        findings.append(from_cause(CONNECTION_QBO, api_cause(exc), title="CompanyInfo could not be read"))
        return False
    name = shown(info.get("CompanyName") or info.get("LegalName") or "")
    findings.append(Finding(CONNECTION_QBO, "qbo_company", Level.OK,
                            f"connected to company {name!r} (realm {shown(qbo.realm_id)})"))
    return True


def _denied(value: object) -> bool:
    # userAccessFor* is an untyped object in Autotask's swagger: only a clear "no" counts.
    return value is False or (isinstance(value, str) and value.strip().casefold() in ("none", "false", "no"))


async def autotask_connection(at: Any, findings: list[Finding], document: str = "bill") -> Any:
    """The zone, the request budget (ThresholdInformation) and the API user's rights on the
    entities a scan writes. Returns the threshold information, or None when Autotask fails."""
    try:
        zone = await at.zone()
        threshold = await at.read_threshold()
    except ApiError as exc:
        findings.append(from_cause(CONNECTION_AT, api_cause(exc), title="Autotask could not be reached with the saved API user"))
        return None
    findings.append(Finding(CONNECTION_AT, "autotask_zone", Level.OK,
                            f"API user {shown(at.username)!r} works in zone {shown(zone.zone_name) or '?'} "
                            f"({shown(zone.url)})"))
    rights = (("PurchaseOrders", "userAccessForUpdate", "canUpdate", "write the bill number to purchase orders" if document == "bill"
               else f"write the QuickBooks {document} number back to purchase orders"),
              ("CompanyToDos", "userAccessForCreate", "canCreate", "create to-dos for failed purchase orders"))
    for entity, access, can, what in rights:
        try:
            info = await at.entity_info(entity)
        except ApiError as exc:
            findings.append(from_cause(CONNECTION_AT, api_cause(exc), title=f"the API user's rights on {entity} could not be read"))
            continue
        if _denied(info.get(can)) or _denied(info.get(access)):
            findings.append(Finding(CONNECTION_AT, "autotask_rights", Level.FAIL,
                                    f"the API user may not {what}",
                                    f"Autotask says the API user cannot {what} ({entity}).",
                                    "Give the API user's security level permission to edit purchase orders and "
                                    "create to-dos (Admin > Resources > Security Levels), then run atqbo doctor again."))
        else:
            findings.append(Finding(CONNECTION_AT, "autotask_rights", Level.OK, f"the API user may {what}"))
    return threshold


# ---------------------------------------------------------------- settings against live data


def _account_words(acct: dict) -> str:
    return f"{shown(acct.get('Name') or '')} (id {shown(acct.get('Id') or '?')})"


def accounts(settings: Settings, all_accounts: list[dict], home: str, multi: bool, findings: list[Finding]) -> None:
    """The A/P account and, when items are created, the expense account: they exist, are
    active, have the right type (and the A/P account's currency)."""
    area = "QuickBooks accounts"
    one, many = document_words(settings)
    ap = find_account(all_accounts, settings.ap_account)
    if ap is None:
        findings.append(from_cause(area, causes.make("ap_account_missing", account=settings.ap_account,
                                                     document=document_words(settings)[0])))
    elif ap.get("AccountType") != AP_TYPE:
        findings.append(Finding(area, "ap_account_type", Level.FAIL,
                                f"ap_account {_account_words(ap)} is not an Accounts Payable account",
                                f"The account set as ap_account is a {shown(ap.get('AccountType'))} account; a {one} "
                                "needs an Accounts Payable account.",
                                "Choose an Accounts Payable account: atqbo settings set ap_account ID."))
    elif ap.get("Active") is False:
        findings.append(Finding(area, "ap_account_inactive", Level.FAIL, f"ap_account {_account_words(ap)} is inactive",
                                "The Accounts Payable account in the settings is inactive in QuickBooks, so no "
                                f"{one} can be recorded on it.",
                                "Make it active in QuickBooks (Chart of accounts), or choose another one."))
    else:
        cur = shown((ap.get("CurrencyRef") or {}).get("value") or home)
        home = shown(home)
        words = f" in {cur}" if multi and cur else ""
        findings.append(Finding(area, "ap_account_ok", Level.OK, f"ap_account {_account_words(ap)} is an active "
                                                                 f"Accounts Payable account{words}"))
        if multi and home and cur != home:
            findings.append(Finding(area, "ap_account_currency", Level.ATTENTION,
                                    f"ap_account is in {cur}, not the home currency {home}",
                                    f"{many.capitalize()} in {home} need an Accounts Payable account in {home}; the one in the "
                                    f"settings is in {cur}, so such {many} go to another A/P account in {home}, "
                                    "or fail when there is none.",
                                    f"Set ap_account to the Accounts Payable account in {home}."))
    if settings.missing_item is not MissingItem.CREATE:
        findings.append(Finding(area, "missing_item_error", Level.NOTE,
                                "missing_item is error: a PO whose product QuickBooks does not have fails"))
        return
    wanted = settings.new_item_expense_account
    acct = find_account(all_accounts, wanted)
    if acct is None:
        findings.append(from_cause(area, causes.make("expense_account_missing", account=wanted)))
    elif acct.get("AccountType") not in EXPENSE_TYPES:
        findings.append(Finding(area, "expense_account_type", Level.FAIL,
                                f"new_item_expense_account {_account_words(acct)} is not an expense account",
                                f"It is a {shown(acct.get('AccountType'))} account; new items need an expense "
                                f"account ({', '.join(EXPENSE_TYPES)}).",
                                "Choose an expense account: atqbo settings set new_item_expense_account ID."))
    elif acct.get("Active") is False:
        findings.append(Finding(area, "expense_account_inactive", Level.FAIL,
                                f"new_item_expense_account {_account_words(acct)} is inactive",
                                "QuickBooks refuses new items on an inactive account.",
                                "Make it active in QuickBooks, or choose another expense account."))
    else:
        findings.append(Finding(area, "expense_account_ok", Level.OK,
                                f"new items go on {_account_words(acct)}, an active {shown(acct.get('AccountType'))} account"))


def numbering(settings: Settings, prefs: dict, findings: list[Finding]) -> None:
    """With Autotask numbers, what QuickBooks does with a bill number it already has."""
    area = "QuickBooks preferences"
    one, many = document_words(settings)
    if settings.po_number_source is not PoNumberSource.AUTOTASK:
        findings.append(Finding(area, "numbers_quickbooks", Level.OK,
                                f"{one} numbers continue QuickBooks' own sequence of {many}"
                                if one != "bill" else "bill numbers continue QuickBooks' own sequence"))
        return
    custom = bool((prefs.get("SalesFormsPrefs") or {}).get("CustomTxnNumbers"))
    warn = next((str(p.get("Value")) for p in (prefs.get("OtherPrefs") or {}).get("NameValue") or []
                 if p.get("Name") == "WarnDuplicateBillNumber"), "")
    findings.append(Finding(area, "custom_txn_numbers", Level.NOTE,
                            f"custom transaction numbers are {'on' if custom else 'off'} in QuickBooks; {many} keep "
                            "the number they are sent, so the Autotask PO numbers are used as they are"))
    if warn.casefold() != "true":
        findings.append(Finding(area, "duplicate_bill_numbers", Level.NOTE,
                                f"QuickBooks does not warn about duplicate {one} numbers; atqbo checks each number "
                                f"itself and does not send a {one} whose number another {one} has"))


async def todo_targets(at: Any, settings: Settings, findings: list[Finding]) -> None:
    """The to-do action type and the resource it is assigned to exist and are active."""
    area = "Autotask to-dos"
    for entity, key, what in (("ActionTypes", "todo_action_type", "action type"),
                              ("Resources", "todo_resource", "resource")):
        wanted = getattr(settings, key)
        try:
            record = await at.get(entity, int(wanted))
        except ApiError as exc:
            findings.append(from_cause(area, api_cause(exc), title=f"the to-do {what} could not be read"))
            continue
        if record is None or record.get("isActive") is False:
            state = "does not exist" if record is None else "is inactive"
            findings.append(Finding(area, f"{key}_unusable", Level.FAIL, f"{key} {wanted}: the {what} {state}",
                                    f"Autotask {what} {wanted} {state}, so failed purchase orders would get no to-do.",
                                    f"Choose an active {what}: atqbo settings set {key} ID."))
            continue
        label = record.get("name") or " ".join(str(record.get(k) or "") for k in ("firstName", "lastName")).strip()
        findings.append(Finding(area, f"{key}_ok", Level.OK, f"to-dos use {what} {shown(label)!r} (id {wanted}), active"))
