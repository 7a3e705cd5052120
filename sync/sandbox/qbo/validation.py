"""Business rules of QBO creates and updates (reference/qbo-api.md §4, §5, §8): each builder
checks a request payload against the company and returns the record QBO would store, or raises
the Fault QBO answers. Read-only fields a client sends (TotalAmt, Balance, ...) are overwritten.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from . import faults, purchase_orders
from .faults import COMPANY_TZ, QboFault
from .seed import CURRENCY_NAMES
from .store import Store, currency_ref

ACCOUNT_TYPES: dict[str, str] = {  # AccountTypeEnum → Classification (XSD)
    "Bank": "Asset", "Accounts Receivable": "Asset", "Other Current Asset": "Asset", "Fixed Asset": "Asset",
    "Other Asset": "Asset", "Accounts Payable": "Liability", "Credit Card": "Liability",
    "Other Current Liability": "Liability", "Long Term Liability": "Liability", "Equity": "Equity",
    "Income": "Revenue", "Other Income": "Revenue", "Cost of Goods Sold": "Expense", "Expense": "Expense",
    "Other Expense": "Expense", "Non-Posting": "Asset",
}
# P-MC: only balance-sheet accounts of these types may hold a foreign currency.
FOREIGN_CURRENCY_ACCOUNT_TYPES = frozenset({"Bank", "Accounts Receivable", "Accounts Payable", "Credit Card"})
CREATABLE_ITEM_TYPES = frozenset({"Inventory", "NonInventory", "Service", "Category"})
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
NAME_FIELDS = ("DisplayName", *NAME_PARTS, "PrintOnCheckName")
NAME_LIMITS = {"DisplayName": 500, "Title": 16, "GivenName": 100, "MiddleName": 100, "FamilyName": 100,
               "Suffix": 16, "CompanyName": 100, "PrintOnCheckName": 100, "AcctNum": 100}
CENT = Decimal("0.01")


def _clean(payload: dict) -> dict:
    """Drop what clients send empty (python-quickbooks serialises every attribute: "", [], 0)."""
    return {k: v for k, v in payload.items() if v != "" and v is not None}


def _money(value: object, field: str) -> Decimal:
    if isinstance(value, bool):
        raise faults.invalid_value(field, f"{field} {value!r}")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise faults.invalid_value(field, f"{field} {value!r}") from None


def _num(d: Decimal) -> float | int:
    return int(d) if d == d.to_integral_value() and abs(d) < 10 ** 15 else float(d)


# XML 1.0 §2.2 Char: no C0 control character but tab, LF and CR.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _text(payload: dict, field: str, limit: int, forbidden: str = "") -> str | None:
    value = payload.get(field)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # JSON numbers where QBO expects strings (DocNumber 1001) are read as text
        payload[field] = value
    if not isinstance(value, str):
        raise faults.invalid_value(field, f"{field} must be a string")
    if len(value) > limit:
        raise faults.too_long(field, limit, len(value))
    if _NOT_XML.search(value):
        # QBO serves every entity as XML too (without Accept: application/json), and XML 1.0
        # cannot hold these characters at all: the stricter reading is to refuse them.
        raise faults.business(f"The {field} can't contain control characters.", element=field)
    bad = [c for c in forbidden if c in value]
    if bad:
        # [U] §5.5 documents the forbidden characters but not the code; QBO's generic business fault.
        shown = ", ".join({":": "colon (:)", "\t": "tab", "\n": "newline", '"': 'double quote (")'}[c] for c in bad)
        raise faults.business(f"The {field} can't contain {shown}.", element=field)
    return value


def _ref_id(payload: dict, field: str) -> str | None:
    ref = payload.get(field)
    if ref is None:
        return None
    if isinstance(ref, dict):
        value = ref.get("value")
    else:
        value = ref
    if value in (None, ""):
        return None
    return str(value)


def resolve_ref(store: Store, entity: str, payload: dict, field: str, required: bool = False) -> dict | None:
    """The referenced record: 2020 when required and missing, 2500 when unknown, 610 when inactive."""
    rid = _ref_id(payload, field)
    if rid is None:
        if required:
            raise faults.required(field)
        return None
    rec = store.get(entity, rid)
    if rec is None or (entity, rid) in store.hidden:
        raise faults.invalid_reference(field, rid)
    if rec.get("Active") is False:
        raise faults.inactive_reference(field)
    return rec


def _ref_of(rec: dict, name_field: str) -> dict:
    return {"value": rec["Id"], "name": rec.get(name_field, "")}


def _currency(store: Store, payload: dict, element: str = "CurrencyRef") -> str:
    """The currency of a new name-list record or account: the home currency unless MC allows another."""
    home = store.prefs.home_currency
    code = _ref_id(payload, "CurrencyRef")
    if code is None:
        return home
    code = code.upper()
    if code == home:
        return home
    if not store.prefs.multi_currency:
        raise faults.business(f"Multicurrency is not enabled for the company; currency {code} can't be used.",
                              element=element)
    if len(code) != 3 or not code.isalpha():
        raise faults.invalid_reference("CurrencyRef", code)
    return code


# ----- name lists ----------------------------------------------------------------------------


def build_party(entity: str, payload: dict, store: Store, existing: dict | None = None) -> dict:
    """Vendor or Customer (same name rules: §4.1, §4.2, §5.5)."""
    p = _clean(payload)
    for f in NAME_FIELDS:
        _text(p, f, NAME_LIMITS.get(f, 500), forbidden=":\t\n")
    for f in ("CompanyName", "AcctNum"):
        _text(p, f, NAME_LIMITS[f])
    display = p.get("DisplayName")
    if display is None:
        if existing is not None:
            display = existing["DisplayName"]
        else:
            parts = [p[f] for f in NAME_PARTS if p.get(f)]
            if not parts:
                raise faults.required("DisplayName")
            display = " ".join(parts)
            _text({"DisplayName": display}, "DisplayName", 500, forbidden=":\t\n")
    if not display.strip():
        raise faults.required("DisplayName")
    owner = store.name_owner(display, exclude=(entity, existing["Id"]) if existing else None)
    if owner is not None:
        raise faults.duplicate_name(owner[0].lower())
    rec = {k: v for k, v in p.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse", "Balance",
                                                   "FullyQualifiedName", "CurrencyRef")}
    rec["DisplayName"] = display
    rec.setdefault("PrintOnCheckName", display)
    rec["Active"] = bool(p.get("Active", True))
    if existing is not None:
        # CurrencyRef is read-only once set (§4.1); Balance moves only with transactions.
        rec["CurrencyRef"] = existing["CurrencyRef"]
        rec["Balance"] = existing.get("Balance", 0)
    else:
        rec["CurrencyRef"] = currency_ref(_currency(store, p))
        rec["Balance"] = 0
    if entity == "Vendor":
        rec["Vendor1099"] = bool(p.get("Vendor1099", False))
    if entity == "Customer":
        rec["FullyQualifiedName"] = display
        rec.setdefault("Job", False)
        rec.setdefault("BillWithParent", False)
        rec["Taxable"] = bool(p.get("Taxable", False))
    return rec


def build_employee(payload: dict, store: Store, existing: dict | None = None) -> dict:
    rec = build_party("Employee", payload, store, existing)
    rec.pop("CurrencyRef", None)
    rec.pop("Balance", None)
    rec.pop("PrintOnCheckName", None)
    return rec


def _unique_name(p: dict, store: Store, entity: str, what: str, *, forbidden: str,
                 existing: dict | None) -> str:
    """The record's Name (kept from `existing` on an update without one): valid, non-blank and
    unique among `entity` records, compared as QBO does (trimmed, case-insensitive)."""
    name = _text(p, "Name", 100, forbidden=forbidden)
    if name is None:
        if existing is None:
            raise faults.required("Name")
        name = existing["Name"]
    if not name.strip():
        raise faults.required("Name")
    for other in store.named(entity, "Name", name):
        if existing is not None and other["Id"] == existing["Id"]:
            continue
        if other["Name"].strip().casefold() == name.strip().casefold():
            raise faults.duplicate_name(what)
    return name


def build_account(payload: dict, store: Store, existing: dict | None = None) -> dict:
    p = _clean(payload)
    name = _unique_name(p, store, "Account", "account", forbidden='":', existing=existing)
    acct_num = _text(p, "AcctNum", 7 if store.company_info.get("Country", "US") in ("US", "UK", "IN") else 20,
                     forbidden=":")
    _text(p, "Description", 100)
    account_type = p.get("AccountType") or (existing or {}).get("AccountType")
    if account_type is None:
        raise faults.required("AccountType")
    if account_type not in ACCOUNT_TYPES:
        raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {account_type}", element="AccountType")
    rec = {k: v for k, v in p.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse",
                                                   "CurrentBalance", "CurrentBalanceWithSubAccounts",
                                                   "Classification", "FullyQualifiedName", "CurrencyRef")}
    rec.update(Name=name, AccountType=account_type, Classification=ACCOUNT_TYPES[account_type],
               FullyQualifiedName=name, Active=bool(p.get("Active", True)), SubAccount=False)
    if acct_num is not None:
        rec["AcctNum"] = acct_num
    if existing is not None:
        rec["CurrencyRef"] = existing["CurrencyRef"]
        rec["CurrentBalance"] = existing.get("CurrentBalance", 0)
    else:
        code = _currency(store, p)
        if code != store.prefs.home_currency and account_type not in FOREIGN_CURRENCY_ACCOUNT_TYPES:
            raise faults.business(f"{account_type} accounts always use the home currency.", element="CurrencyRef")
        rec["CurrencyRef"] = currency_ref(code)
        rec["CurrentBalance"] = 0
    rec["CurrentBalanceWithSubAccounts"] = rec["CurrentBalance"]
    rec.setdefault("AccountSubType", "")
    return rec


def build_item(payload: dict, store: Store, existing: dict | None = None) -> dict:
    p = _clean(payload)
    name = _unique_name(p, store, "Item", "product or service", forbidden=":\t\n", existing=existing)
    _text(p, "Sku", 100)
    _text(p, "Description", 4000)
    _text(p, "PurchaseDesc", 1000)
    item_type = p.get("Type") or (existing or {}).get("Type") or "NonInventory"
    if item_type not in CREATABLE_ITEM_TYPES:
        raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {item_type}", element="Type")
    refs: dict[str, dict] = {}
    for field in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
        acct = resolve_ref(store, "Account", p, field)
        if acct is not None:
            refs[field] = _ref_of(acct, "Name")
    if item_type == "Inventory":
        for field in ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef"):
            if field not in refs:
                raise faults.required(field)
    elif item_type in ("NonInventory", "Service"):
        if not refs.get("IncomeAccountRef") and not refs.get("ExpenseAccountRef"):
            raise faults.required("IncomeAccountRef")
    else:  # Category: no accounts, no prices (REF-item)
        refs = {}
    purchase_cost = p.get("PurchaseCost")
    if purchase_cost not in (None, 0) and "ExpenseAccountRef" not in refs and item_type != "Category":
        # XSD: "If the purchase order cost is specified ... you must specify the expense account."
        raise faults.required("ExpenseAccountRef")
    vendor = resolve_ref(store, "Vendor", p, "PrefVendorRef")
    rec = {k: v for k, v in p.items() if k not in ("Id", "SyncToken", "MetaData", "domain", "sparse",
                                                   "FullyQualifiedName", "IncomeAccountRef", "ExpenseAccountRef",
                                                   "AssetAccountRef", "PrefVendorRef")}
    rec.update(refs)
    rec.update(Name=name, Type=item_type, FullyQualifiedName=name, Active=bool(p.get("Active", True)))
    if vendor is not None:
        rec["PrefVendorRef"] = _ref_of(vendor, "DisplayName")
    if item_type != "Category":
        rec["UnitPrice"] = _num(_money(p.get("UnitPrice", 0), "UnitPrice"))
        rec["PurchaseCost"] = _num(_money(p.get("PurchaseCost", 0), "PurchaseCost"))
        rec.setdefault("Taxable", False)
        rec.setdefault("TrackQtyOnHand", item_type == "Inventory")
    return rec


def is_purchasable(item: dict) -> bool:
    """An item a bill line may use: one with an expense account (QBO's "I purchase this ...")."""
    return item.get("Type") != "Category" and bool(_ref_id(item, "ExpenseAccountRef"))


# ----- bills ---------------------------------------------------------------------------------


def _parse_date(value: object, field: str) -> date:
    if not isinstance(value, str):
        raise faults.invalid_value(field, f"{field} {value!r}")
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise faults.invalid_value(field, f"{field} {value!r}") from None


def build_bill(payload: dict, store: Store, include: frozenset[str] = frozenset(),
               existing: dict | None = None, linkable: bool = True) -> dict:
    """A Bill (or, `linkable=False`, the common part of a PurchaseOrder) from a create or update."""
    p = _clean(payload)
    prefs = store.prefs
    home = prefs.home_currency

    vendor = resolve_ref(store, "Vendor", p, "VendorRef", required=True)
    lines_in = p.get("Line")
    if not lines_in:
        raise faults.required("Line")
    if not isinstance(lines_in, list):
        raise faults.invalid_value("Line", "Line must be a list")

    doc = _text(p, "DocNumber", 21)
    _text(p, "PrivateNote", 4000)
    header_links = p.get("LinkedTxn") or []
    if any(isinstance(t, dict) and t.get("TxnType") == "PurchaseOrder" for t in header_links) and (
            existing is None or header_links != existing.get("LinkedTxn")):
        raise faults.business("Link a bill to a purchase order on its lines (Line.LinkedTxn with TxnLineId).",
                              element="LinkedTxn")

    # Currency (§8).
    vendor_currency = vendor["CurrencyRef"]["value"]
    given = _ref_id(p, "CurrencyRef")
    if not prefs.multi_currency:
        if given is not None and given.upper() != home:
            raise faults.business("You can only use one foreign currency per transaction. Multicurrency is not "
                                  "enabled for the company.", element="CurrencyRef")
        currency = home
    else:
        if given is None:
            raise faults.required("CurrencyRef")  # REF-bill: must be defined when multicurrency is enabled
        currency = given.upper()
        if currency != vendor_currency:
            raise faults.business("You can only use one foreign currency per transaction. The bill's currency "
                                  f"{currency} is not the vendor's currency {vendor_currency}.",
                                  element="CurrencyRef")

    # A/P account: explicit, or implied when the company has exactly one in the bill's currency.
    ap = resolve_ref(store, "Account", p, "APAccountRef")
    if ap is not None:
        if ap.get("AccountType") != "Accounts Payable":
            raise faults.business(f"The account {ap['Name']} is not an Accounts Payable account.",
                                  element="APAccountRef")
    else:
        candidates = [a for a in store.all("Account") if a.get("AccountType") == "Accounts Payable"
                      and a.get("Active", True) and a["CurrencyRef"]["value"] == currency]
        if len(candidates) != 1:
            raise faults.required("APAccountRef")
        ap = candidates[0]
    if ap["CurrencyRef"]["value"] != currency:
        raise faults.business("You can only use one foreign currency per transaction. The A/P account "
                              f"{ap['Name']} is in {ap['CurrencyRef']['value']}, the bill in {currency}.",
                              element="APAccountRef")

    # Lines.
    lines: list[dict] = []
    total = Decimal("0")
    for n, raw in enumerate(lines_in, start=1):
        if not isinstance(raw, dict):
            raise faults.invalid_value("Line", "Line entries must be objects")
        line = _clean(raw)
        detail_type = line.get("DetailType")
        if detail_type is None:
            raise faults.required("Line.DetailType")
        if detail_type not in ("ItemBasedExpenseLineDetail", "AccountBasedExpenseLineDetail"):
            raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {detail_type}",
                           element="Line.DetailType")
        if "Amount" not in line:
            raise faults.required("Line.Amount")
        amount = _money(line["Amount"], "Line.Amount")
        _text(line, "Description", 4000)
        detail = _clean(line.get(detail_type) or {})
        out_detail: dict = {k: v for k, v in detail.items()
                            if k not in ("ItemRef", "AccountRef", "CustomerRef", "Qty", "UnitPrice")}
        counts = True
        item = None
        if detail_type == "ItemBasedExpenseLineDetail":
            if _ref_id(detail, "ItemRef") is None:
                counts = False  # REF-bill: a line without ItemRef is documentation; its Amount is ignored
            else:
                item = resolve_ref(store, "Item", detail, "ItemRef")
                assert item is not None
                if not is_purchasable(item):
                    # [U] §4.3: the exact fault was not found; the emulator rejects with QBO's business fault.
                    raise faults.business(f"The item {item['Name']} can't be used on a bill: it has no expense "
                                          "account (it is not set up as purchased from a vendor).",
                                          element="Line.ItemBasedExpenseLineDetail.ItemRef")
                out_detail["ItemRef"] = _ref_of(item, "Name")
            qty = detail.get("Qty")
            price = detail.get("UnitPrice")
            if qty is not None:
                out_detail["Qty"] = _num(_money(qty, "Qty"))
            if price is not None:
                out_detail["UnitPrice"] = _num(_money(price, "UnitPrice"))
            # python-quickbooks sends Qty 0 and UnitPrice 0 when unset: only a real pair is checked.
            if (prefs.check_line_amounts and qty is not None and price is not None
                    and (_money(qty, "Qty") != 0 or _money(price, "UnitPrice") != 0)):
                expected = (_money(qty, "Qty") * _money(price, "UnitPrice")).quantize(CENT, rounding=ROUND_HALF_UP)
                if expected != amount.quantize(CENT, rounding=ROUND_HALF_UP):
                    raise faults.amount_mismatch(_num(amount))
        else:
            acct = resolve_ref(store, "Account", detail, "AccountRef", required=True)
            assert acct is not None
            out_detail["AccountRef"] = _ref_of(acct, "Name")
        cust = resolve_ref(store, "Customer", detail, "CustomerRef")
        if cust is not None:
            out_detail["CustomerRef"] = _ref_of(cust, "DisplayName")
        status = detail.get("BillableStatus", "NotBillable")
        if status not in ("Billable", "NotBillable", "HasBeenBilled"):
            raise QboFault("2170", "Invalid Enumeration", f"Invalid Enumeration : {status}",
                           element="BillableStatus")
        if status == "HasBeenBilled":
            raise QboFault("2170", "Invalid Enumeration", "Invalid Enumeration : HAS_BEEN_BILLED",
                           element="BillableStatus")
        out_detail["BillableStatus"] = status
        out_detail.setdefault("TaxCodeRef", {"value": "NON"})
        out_line = {k: v for k, v in line.items() if k not in ("Id", "Amount", "LineNum", detail_type,
                                                                "CustomField", "LinkedTxn")}
        out_line.update(Id=str(n), LineNum=n, Amount=float(amount), DetailType=detail_type)
        out_line[detail_type] = out_detail
        if linkable and line.get("LinkedTxn"):
            if existing is not None and line.get("LinkedTxn") == _line_links(existing, n):
                out_line["LinkedTxn"] = line["LinkedTxn"]  # an update keeps what it had
            else:
                out_line["LinkedTxn"] = purchase_orders.check_line_link(
                    store, line, vendor["Id"], item["Id"] if item else None,
                    Decimal(str(out_detail.get("Qty") or 0)))
        lines.append(out_line)
        if counts:
            total += amount

    # Duplicate DocNumber (§5.4): only behind WarnDuplicateBillNumber, bypassed by allowduplicatedocnum.
    if doc is not None and prefs.warn_duplicate_bill_number and "allowduplicatedocnum" not in include:
        for other in store.named("Bill", "DocNumber", doc) if isinstance(doc, str) else store.all("Bill"):
            if existing is not None and other["Id"] == existing["Id"]:
                continue
            if other.get("DocNumber") != doc:
                continue
            if prefs.duplicate_bill_scope == "vendor" and other["VendorRef"]["value"] != vendor["Id"]:
                continue
            raise faults.duplicate_doc_number(doc, other["Id"])

    today = datetime.now(COMPANY_TZ).date()
    txn_date = _parse_date(p["TxnDate"], "TxnDate") if "TxnDate" in p else today
    due_date = _parse_date(p["DueDate"], "DueDate") if "DueDate" in p else txn_date

    total = total.quantize(CENT, rounding=ROUND_HALF_UP)
    keep = {k: v for k, v in p.items() if k not in (
        "Id", "SyncToken", "MetaData", "domain", "sparse", "TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt",
        "Line", "VendorRef", "APAccountRef", "CurrencyRef", "ExchangeRate", "TxnDate", "DueDate", "LinkedTxn")}
    rec = {**keep,
           "VendorRef": _ref_of(vendor, "DisplayName"),
           "APAccountRef": _ref_of(ap, "Name"),
           "TxnDate": txn_date.isoformat(),
           "DueDate": due_date.isoformat(),
           "CurrencyRef": {"value": currency, "name": CURRENCY_NAMES.get(currency, currency)},
           "Line": lines,
           "TotalAmt": float(total),
           "Balance": float(total)}
    if p.get("LinkedTxn"):
        rec["LinkedTxn"] = p["LinkedTxn"]
    if prefs.multi_currency:
        # ExchangeRate: home units per foreign unit; 1 for the home currency (§8). 0 means "not given".
        if currency == home:
            rate = Decimal(1)
        elif p.get("ExchangeRate") not in (None, 0):
            rate = _money(p["ExchangeRate"], "ExchangeRate")
            if rate <= 0:
                raise faults.invalid_value("ExchangeRate", "ExchangeRate must be positive")
        else:
            rate = Decimal(str(prefs.exchange_rates.get(currency, 1)))
        rec["ExchangeRate"] = _num(rate)
        home_total = (total * rate).quantize(CENT, rounding=ROUND_HALF_UP)
        rec["HomeTotalAmt"] = float(home_total)
        rec["HomeBalance"] = float(home_total)
    return rec


def _line_links(bill: dict, n: int) -> list | None:
    for line in bill.get("Line") or []:
        if line.get("LineNum") == n:
            return line.get("LinkedTxn")
    return None


def apply_bill_to_balances(store: Store, bill: dict, sign: int = 1) -> None:
    """A bill raises what the company owes its vendor and the A/P account's balance."""
    amount = Decimal(str(bill["TotalAmt"])) * sign
    vendor = store.get("Vendor", bill["VendorRef"]["value"])
    if vendor is not None:
        vendor["Balance"] = _num(Decimal(str(vendor.get("Balance", 0))) + amount)
    ap = store.get("Account", bill["APAccountRef"]["value"])
    if ap is not None:
        ap["CurrentBalance"] = _num(Decimal(str(ap.get("CurrentBalance", 0))) + amount)
        ap["CurrentBalanceWithSubAccounts"] = ap["CurrentBalance"]


BUILDERS = {
    "Vendor": lambda payload, store, include=frozenset(), existing=None: build_party("Vendor", payload, store, existing),
    "Customer": lambda payload, store, include=frozenset(), existing=None: build_party("Customer", payload, store, existing),
    "Employee": lambda payload, store, include=frozenset(), existing=None: build_employee(payload, store, existing),
    "Account": lambda payload, store, include=frozenset(), existing=None: build_account(payload, store, existing),
    "Item": lambda payload, store, include=frozenset(), existing=None: build_item(payload, store, existing),
    "Bill": lambda payload, store, include=frozenset(), existing=None: build_bill(payload, store, include, existing),
    "PurchaseOrder": lambda payload, store, include=frozenset(), existing=None: purchase_orders.build_purchase_order(
        payload, store, include, existing, build_bill),
}


def create(store: Store, entity: str, payload: dict, include: frozenset[str] = frozenset(),
           keep_id: bool = False) -> dict:
    """Validate and store a new record (keep_id: seeds and admin may choose the Id)."""
    if not isinstance(payload, dict):
        raise faults.invalid_value(entity, f"{entity} must be an object")
    with store.lock:
        rec = BUILDERS[entity](payload, store, include)
        if keep_id and payload.get("Id"):
            rec["Id"] = str(payload["Id"])
        saved = store.insert(entity, rec)
        if entity == "Bill":
            apply_bill_to_balances(store, saved)
            purchase_orders.refresh(store, purchase_orders.linked_pos(saved))
        return saved


def update(store: Store, entity: str, payload: dict, include: frozenset[str] = frozenset(),
           check_sync_token: bool = True) -> dict:
    """Full or sparse update: the stored record merged with the payload (sparse) or replaced by it."""
    if not isinstance(payload, dict):
        raise faults.invalid_value(entity, f"{entity} must be an object")
    rid = payload.get("Id")
    if rid in (None, ""):
        raise faults.required("Id")
    with store.lock:
        existing = store.get(entity, rid)
        if existing is None:
            raise faults.not_found(entity, str(rid))
        if check_sync_token:
            token = payload.get("SyncToken")
            if token is None or token == "":
                raise faults.required("SyncToken")
            if str(token) != existing["SyncToken"]:
                raise QboFault("5010", "Stale Object Error",
                               "Stale Object Error : You and sandbox were working on this at the same time. "
                               f"sandbox finished before you did, so your work was not saved. Entity={entity}")
        merged = {**existing, **payload} if payload.get("sparse") is True or not check_sync_token else dict(payload)
        rec = BUILDERS[entity](merged, store, include, existing)
        rec["Id"] = existing["Id"]
        if entity == "Bill":
            apply_bill_to_balances(store, existing, -1)
        saved = store.replace(entity, {**rec, "MetaData": existing["MetaData"]})
        if entity == "Bill":
            apply_bill_to_balances(store, saved)
            purchase_orders.refresh(store, purchase_orders.linked_pos(existing) | purchase_orders.linked_pos(saved))
        return saved

