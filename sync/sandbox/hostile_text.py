"""The "hostile" seed: every text field an attacker (or a careless tenant) can fill is hostile.

What it holds, so that running the whole product over it proves text from outside never
reaches a terminal, a log, a mail or QuickBooks raw (DESIGN §1 "Text from outside is hostile"):

- escape sequences: OSC (a terminal title rewrite `ESC ] 0 ; ... BEL`), CSI (colours, clear
  screen, cursor home, hidden text), a C1 CSI (U+009B), BEL, NUL, DEL, NEL;
- CR/LF in names and PO numbers (a header line in a mail subject, a forged log line);
- bidirectional overrides and isolates (U+202E, U+2066-U+2069, U+200F), line and paragraph
  separators (U+2028, U+2029);
- quotes, `&`, `:`, `[`/`]` (console markup), a trailing backslash, letters above U+00FF;
- names at the services' length limits (Autotask: 100 for company and product names, 4000 for
  a memo) and a PO number longer than a QBO DocNumber (21);
- a vendor whose name is nothing but control characters (empty once made valid: a failure);
- ids and numbers at their edges: a PO and a vendor at 2^31 - 1, a unit cost of 0.01, a
  quantity of 99,999, freight of 0.01.

The Autotask side holds any character (JSON carries them). QuickBooks serves its records as
XML too, which cannot hold C0 controls other than tab/LF/CR, so its own names here are hostile
with DEL, C1 and bidi characters only.

`HOSTILE_SETTINGS` are settings under which a scan runs against this seed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .autotask.seed import AutotaskSeed, empty_autotask_seed
from .oauth import empty_oauth_seed
from .qbo.seed import QboSeed, ap_account, company, expense_account, item, standard_accounts, vendor
from .seed_data import SeedData

REALM_ID = "9341453050020013"
INT32_MAX = 2**31 - 1

OSC_TITLE = "\x1b]0;PWNED\x07"
RED = "\x1b[31m"
RESET = "\x1b[0m"

MARKUP_ACCOUNT = "Supplies [@click=app.quit]quit[/] [/] [old]"
ACTION_TYPE = 40
RESOURCE = 29682890
NEW_ITEM_ACCOUNT = "61"

HOSTILE_SETTINGS: dict[str, object] = {
    "days_back": 30,
    "po_number_source": "quickbooks",
    "missing_item": "create",
    "new_item_expense_account": NEW_ITEM_ACCOUNT,
    "ap_account": "33",
    "todo_action_type": ACTION_TYPE,
    "todo_resource": RESOURCE,
    "scan_interval_minutes": 15,
}


def _fit(text: str, limit: int) -> str:
    return (text * (limit // max(1, len(text)) + 1))[:limit]


# Vendor (company) names, each within Autotask's 100 characters.
VENDORS: dict[str, str] = {
    "osc": f"Evil{OSC_TITLE}{RED}RED{RESET} Supplies",
    "crlf": "Line\r\nBreak: Vendor\tInc\x0b\x0c",
    "bidi": "Bidi \u202eylppuS\u202c \u2066Iso\u2069 \u200fMark\u200e \u061cArabic",
    "nul": "Nul\x00Byte \x7fDel \x9b31mC1 \x85Nel \x07Bell",
    "quotes": "O'Brien & \"Sons\": [b]Łódź[/b] 東京 Ω ✓ \\",
    "separators": "Para\u2028graph\u2029 Separators",
    "long": _fit(f"{RED}Very long name \x1b[5m", 100),
    "empty": "\x1b\x07\x00\u202e",  # nothing left once made valid: the PO fails, visibly
}

CUSTOMERS: dict[str, str] = {
    "clear": "Cust\x1b[2J\x1b[H Clear Screen",
    "hidden": "Hidden \x1b[8mtext\x1b[28m & more",
}

PRODUCTS: dict[str, str] = {
    "osc": f"Item{OSC_TITLE}Title",
    "crlf": "Tab\tNew\nLine: Item\r\n",
    "bidi": "\u202eBidi Item\u202c",
    "unicode": "Ü∞ 東京 Widget & 'Quote' \U0001f600",
    "long": _fit("\x1b[1mLong product ", 100),
}

MEMOS: tuple[str, ...] = (
    f"memo{RED} red\r\nsecond line\x00 nul",
    _fit(f"{OSC_TITLE}memo \u202e", 4000),
)

# PO numbers (Autotask's purchaseOrderNumber is text).
PO_NUMBERS: dict[str, str] = {
    "crlf": "PO\r\nBcc: evil@example.com",  # on the PO that fails: its alert mail must still go out
    "cr": "PO\rCR-only\n",
    "osc": f"PO{OSC_TITLE}-1",
    "bidi": "\u202e0001-OP",
    "markup": "[red]PO[/red]\\",
    "long": "PO-" + "9" * 30,  # over QBO's 21: fails when numbers come from Autotask
    "big": str(2**63),
}


def _autotask(now: datetime) -> AutotaskSeed:
    seed = empty_autotask_seed()
    seed.username = "hostile-api@sandbox.example"
    seed.integration_code = "HOSTILE-ATQBO-0001"
    seed.secret = "hostile-secret-not-for-production"
    seed.entities["Companies"][0]["companyName"] = f"Local{OSC_TITLE}{RED} MSP\r\n"
    seed.add_action_type(f"Follow{OSC_TITLE}up", view=1, id=ACTION_TYPE)
    seed.add_resource("Pat\x1b[8m", "Hidden\u202e", id=RESOURCE, email="pat.hidden@sandbox.example")

    vendor_ids = {key: seed.add_vendor(name, currency_id=1) for key, name in VENDORS.items() if key != "long"}
    vendor_ids["long"] = seed.add_vendor(VENDORS["long"], currency_id=1, id=INT32_MAX - 1)
    customer_ids = {key: seed.add_company(name, "Customer", currency_id=1) for key, name in CUSTOMERS.items()}
    product_ids = {key: seed.add_product(name, 10.0) for key, name in PRODUCTS.items()}

    def created(days_ago: float) -> str:
        return (now - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def po(vendor_key: str, lines: list[tuple[str, int, float, str | None]], *, number: str | None = None,
           customer_key: str | None = None, freight: float = 0.0, days_ago: float = 1, id: int | None = None) -> int:
        items = [{"productID": product_ids[p], "quantity": qty, "unitCost": cost,
                  **({"memo": memo} if memo is not None else {})} for p, qty, cost, memo in lines]
        fields: dict = {"createDateTime": created(days_ago), "submitDateTime": created(days_ago - 0.01),
                        "freight": freight, "shipToName": f"Dock{RED} 7", "generalMemo": MEMOS[0]}
        if number is not None:
            fields["purchaseOrderNumber"] = number
        if customer_key is not None:
            fields["purchaseForCompanyID"] = customer_ids[customer_key]
        if id is not None:
            fields["id"] = id
        return seed.add_po(vendor_ids[vendor_key], "Submitted", items=items, **fields)

    po("osc", [("osc", 2, 19.99, MEMOS[0])], number=PO_NUMBERS["osc"], customer_key="clear")
    po("crlf", [("crlf", 1, 0.01, None)], number=PO_NUMBERS["cr"], freight=0.01, days_ago=1.5)
    po("bidi", [("bidi", 3, 5.5, MEMOS[1])], number=PO_NUMBERS["bidi"], customer_key="hidden", days_ago=2)
    po("nul", [("unicode", 99_999, 0.01, None)], number=PO_NUMBERS["markup"], days_ago=2.5)
    po("quotes", [("unicode", 1, 1234.56, "quote ' \" & : [/] \\")], number=PO_NUMBERS["big"], days_ago=3)
    po("separators", [("long", 2, 7.25, None)], number=PO_NUMBERS["long"], days_ago=3.5)
    po("long", [("osc", 1, 99_999.99, None), ("long", 1, 0.01, None)], days_ago=4, id=INT32_MAX)
    po("empty", [("bidi", 1, 1.0, None)], number=PO_NUMBERS["crlf"], days_ago=4.5)
    return seed


def _qbo() -> QboSeed:
    # XML-holdable hostility only (see the module docstring).
    return QboSeed(
        realm_id=REALM_ID,
        company=company("Hostile \u202eSKOOB\u202c \x9b31m Books\x7f"),
        accounts=[
            *standard_accounts(),
            ap_account("34", "Payable \u2067(A/P)\u2069 \x85second"),
            expense_account(NEW_ITEM_ACCOUNT, "Hostile \x7f\x9b2J Expense \u202e", "SuppliesMaterials"),
            # Console markup in a name: an action link, a closing tag with nothing to close.
            expense_account("62", MARKUP_ACCOUNT, "OfficeGeneralAdministrativeExpenses"),
        ],
        vendors=[vendor("1", "Already \u202eThere\u202c Vendor")],
        items=[item("200", "Freight", expense_account_id=NEW_ITEM_ACCOUNT)],
    )


def hostile_seed(now: datetime | None = None) -> SeedData:
    qbo = _qbo()
    oauth = empty_oauth_seed(qbo.realm_id)
    oauth.company_name = qbo.company["CompanyName"]
    return SeedData(name="hostile", autotask=_autotask(now or datetime.now(timezone.utc)), oauth=oauth, qbo=qbo)
