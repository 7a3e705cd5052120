"""The three multi-currency cases of the retired app, decided in one place.

Inputs: QBO `Preferences.CurrencyPrefs` (MultiCurrencyEnabled, HomeCurrency) and whether
Autotask is multi-currency (its Currencies can be queried and more than one is active).

- both off: single currency; the bill carries no CurrencyRef.
- Autotask off, QBO on: the bill is in QBO's home currency with ExchangeRate 1; a QBO vendor
  kept in another currency cannot take it (cause `currency_mismatch`).
- both on: the vendor's Autotask currency must equal its QBO currency (a vendor created by
  atqbo is created in the Autotask currency); the bill is in that currency, on an A/P
  account of that currency.
- Autotask on, QBO off: nothing is transferred; the scan says why, once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class CurrencyMode(Enum):
    SINGLE = "single"  # both off
    HOME_ONLY = "home_only"  # Autotask off, QBO on
    MATCH_VENDOR = "match_vendor"  # both on
    BLOCKED = "blocked"  # Autotask on, QBO off


@dataclass(frozen=True)
class CurrencyContext:
    mode: CurrencyMode
    home: str  # QBO home currency code ("USD"); "" when unknown
    autotask_codes: dict[int, str]  # Autotask currency id → ISO code (active currencies)
    autotask_internal: str = ""  # Autotask's internal currency code, when known


def decide_mode(qbo_multicurrency: bool, autotask_multicurrency: bool) -> CurrencyMode:
    if autotask_multicurrency and not qbo_multicurrency:
        return CurrencyMode.BLOCKED
    if autotask_multicurrency:
        return CurrencyMode.MATCH_VENDOR
    if qbo_multicurrency:
        return CurrencyMode.HOME_ONLY
    return CurrencyMode.SINGLE


def autotask_is_multicurrency(currencies: list[dict] | None) -> bool:
    """`currencies` is the Currencies query result, or None when the entity cannot be queried."""
    if currencies is None:
        return False
    return sum(1 for c in currencies if c.get("isActive", True)) > 1


class CurrencyProblem(Exception):
    """A currency rule fails for one PO. `code` is a cause code of sync.engine.causes."""

    def __init__(self, code: str, **details: str) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


def vendor_currency_in_autotask(ctx: CurrencyContext, company: dict) -> str:
    """The ISO code of an Autotask vendor's currency (MATCH_VENDOR only): the company's
    `currencyID`, or the internal currency when the company has none."""
    cid = company.get("currencyID")
    if cid in (None, 0, ""):
        code = ctx.autotask_internal or ctx.home
    else:
        code = ctx.autotask_codes.get(int(cid), "")
    if not code:
        raise CurrencyProblem("currency_unknown", vendor=str(company.get("companyName", "")),
                              currency_id=str(cid))
    return code


def bill_currency(ctx: CurrencyContext, autotask_code: str, qbo_vendor_code: str, vendor: str) -> str:
    """The bill's currency ("" = none sent) for a vendor whose QBO currency is `qbo_vendor_code`
    ("" when QBO did not say; it then holds the home currency)."""
    if ctx.mode is CurrencyMode.SINGLE:
        return ""
    qbo_code = qbo_vendor_code or ctx.home
    if ctx.mode is CurrencyMode.HOME_ONLY:
        if qbo_code != ctx.home:
            raise CurrencyProblem("currency_mismatch", vendor=vendor, autotask=ctx.home, qbo=qbo_code,
                                  why="Autotask is single-currency, so its amounts are in QBO's home currency")
        return ctx.home
    if ctx.mode is CurrencyMode.MATCH_VENDOR:
        if qbo_code != autotask_code:
            raise CurrencyProblem("currency_mismatch", vendor=vendor, autotask=autotask_code, qbo=qbo_code,
                                  why="the vendor must use the same currency in both systems")
        return autotask_code
    raise CurrencyProblem("multicurrency_qbo_off")


def pick_ap_account(ap_setting: dict, ap_accounts: list[dict], currency: str, home: str) -> dict:
    """The A/P account for a bill in `currency`: the configured one when it is in that currency
    (or currencies are not in play), else the first active A/P account in that currency."""
    def code(acct: dict) -> str:
        return ((acct.get("CurrencyRef") or {}).get("value")) or home

    if not currency or code(ap_setting) == currency:
        return ap_setting
    for acct in ap_accounts:
        if acct.get("Active", True) and code(acct) == currency:
            return acct
    raise CurrencyProblem("currency_no_ap_account", currency=currency)
