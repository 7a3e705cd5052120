"""What a QBO sandbox company starts with: plain dataclasses of entity dicts in QBO's own JSON
shape (field names as Intuit's XSDs), plus small constructors so richer seeds (the demo) are
easy to write. Seed records carry explicit string Ids so they can reference each other; the
emulator loads them through the same validation as API creates, so a bad seed fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

CURRENCY_NAMES = {
    "USD": "United States Dollar", "CAD": "Canadian Dollar", "EUR": "Euro", "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar", "NZD": "New Zealand Dollar", "JPY": "Japanese Yen", "CHF": "Swiss Franc",
    "MXN": "Mexican Peso", "INR": "Indian Rupee", "ZAR": "South African Rand", "SEK": "Swedish Krona",
}


@dataclass
class QboPrefs:
    """The Preferences that change the emulator's behaviour."""

    multi_currency: bool = False
    home_currency: str = "USD"
    warn_duplicate_bill_number: bool = False  # OtherPrefs WarnDuplicateBillNumber (§5.4)
    # [U] §5.4: scope of the duplicate bill number check: "vendor" (same vendor, the default) or "all".
    duplicate_bill_scope: str = "vendor"
    # [U] §4.5: reject an item line whose Amount ≠ round-half-up(Qty × UnitPrice, 2) with 6070.
    check_line_amounts: bool = True
    # Home-currency units per foreign unit, used when a bill omits ExchangeRate (§8).
    exchange_rates: dict[str, float] = field(default_factory=dict)


@dataclass
class QboSeed:
    realm_id: str
    company: dict
    prefs: QboPrefs = field(default_factory=QboPrefs)
    accounts: list[dict] = field(default_factory=list)
    vendors: list[dict] = field(default_factory=list)
    customers: list[dict] = field(default_factory=list)
    employees: list[dict] = field(default_factory=list)
    items: list[dict] = field(default_factory=list)
    bills: list[dict] = field(default_factory=list)


def ref(value: str, name: str | None = None) -> dict:
    return {"value": str(value)} if name is None else {"value": str(value), "name": name}


def company(name: str, country: str = "US", legal_name: str | None = None) -> dict:
    return {"CompanyName": name, "LegalName": legal_name or name, "Country": country}


def account(id: str, name: str, account_type: str, sub_type: str, currency: str | None = None,
            active: bool = True, **extra: object) -> dict:
    rec: dict = {"Id": str(id), "Name": name, "AccountType": account_type, "AccountSubType": sub_type,
                 "Active": active, **extra}
    if currency:
        rec["CurrencyRef"] = ref(currency)
    return rec


def ap_account(id: str, name: str = "Accounts Payable (A/P)", currency: str | None = None) -> dict:
    return account(id, name, "Accounts Payable", "AccountsPayable", currency)


def expense_account(id: str, name: str, sub_type: str = "SuppliesMaterials") -> dict:
    return account(id, name, "Expense", sub_type)


def cogs_account(id: str, name: str = "Cost of Goods Sold", sub_type: str = "SuppliesMaterialsCogs") -> dict:
    return account(id, name, "Cost of Goods Sold", sub_type)


def income_account(id: str, name: str = "Sales of Product Income", sub_type: str = "SalesOfProductIncome") -> dict:
    return account(id, name, "Income", sub_type)


def vendor(id: str, display_name: str, currency: str | None = None, active: bool = True, **extra: object) -> dict:
    rec: dict = {"Id": str(id), "DisplayName": display_name, "Active": active, **extra}
    if currency:
        rec["CurrencyRef"] = ref(currency)
    return rec


def customer(id: str, display_name: str, currency: str | None = None, active: bool = True, **extra: object) -> dict:
    rec: dict = {"Id": str(id), "DisplayName": display_name, "Active": active, **extra}
    if currency:
        rec["CurrencyRef"] = ref(currency)
    return rec


def employee(id: str, display_name: str, active: bool = True) -> dict:
    return {"Id": str(id), "DisplayName": display_name, "Active": active}


def item(id: str, name: str, expense_account_id: str | None = None, income_account_id: str | None = None,
         type: str = "NonInventory", purchase_cost: float | None = None, active: bool = True,
         **extra: object) -> dict:
    """A purchasable item when it has an expense account; without one it is sales-only."""
    rec: dict = {"Id": str(id), "Name": name, "Type": type, "Active": active, **extra}
    if expense_account_id:
        rec["ExpenseAccountRef"] = ref(expense_account_id)
    if income_account_id:
        rec["IncomeAccountRef"] = ref(income_account_id)
    if purchase_cost is not None:
        rec["PurchaseCost"] = purchase_cost
    return rec


def item_line(item_id: str, qty: float, unit_price: float, customer_id: str | None = None,
              description: str | None = None, billable: bool = False) -> dict:
    amount = (Decimal(str(qty)) * Decimal(str(unit_price))).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    detail: dict = {"ItemRef": ref(item_id), "Qty": qty, "UnitPrice": unit_price}
    if customer_id:
        detail["CustomerRef"] = ref(customer_id)
        detail["BillableStatus"] = "Billable" if billable else "NotBillable"
    line: dict = {"DetailType": "ItemBasedExpenseLineDetail", "Amount": float(amount),
                  "ItemBasedExpenseLineDetail": detail}
    if description:
        line["Description"] = description
    return line


def account_line(account_id: str, amount: float, description: str | None = None) -> dict:
    line: dict = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": amount,
                  "AccountBasedExpenseLineDetail": {"AccountRef": ref(account_id)}}
    if description:
        line["Description"] = description
    return line


def bill(id: str, vendor_id: str, lines: list[dict], doc_number: str | None = None,
         ap_account_id: str | None = None, currency: str | None = None, txn_date: str | None = None,
         private_note: str | None = None, **extra: object) -> dict:
    rec: dict = {"Id": str(id), "VendorRef": ref(vendor_id), "Line": lines, **extra}
    if doc_number is not None:
        rec["DocNumber"] = doc_number
    if ap_account_id:
        rec["APAccountRef"] = ref(ap_account_id)
    if currency:
        rec["CurrencyRef"] = ref(currency)
    if txn_date:
        rec["TxnDate"] = txn_date
    if private_note:
        rec["PrivateNote"] = private_note
    return rec


def standard_accounts() -> list[dict]:
    """The chart of accounts a fresh US QBO company starts with, trimmed to what bills touch."""
    return [
        ap_account("33"),
        expense_account("7", "Advertising", "AdvertisingPromotional"),
        expense_account("20", "Office Expenses", "OfficeGeneralAdministrativeExpenses"),
        expense_account("21", "Supplies", "SuppliesMaterials"),
        expense_account("22", "Subcontractors", "OtherMiscellaneousServiceCost"),
        cogs_account("80"),
        income_account("79"),
        account("35", "Checking", "Bank", "Checking"),
    ]


def empty_qbo_seed(realm_id: str = "9341453050010001") -> QboSeed:
    """A fresh US company: home currency USD, multi-currency off, standard accounts, nothing else."""
    return QboSeed(realm_id=realm_id, company=company("Sandbox Company US"), accounts=standard_accounts())
