"""The "demo" seed: a small MSP, Northwind IT Services, in both systems.

Its data walks every path of DESIGN.md §1 so a first-time user sees the whole product working:
about forty purchase orders in every state, most of which sync cleanly, and a handful that fail
for a reason an operator can fix from the keyboard and retry:

- "Acme Corp" is an Autotask vendor, but QBO already has a *customer* of that name (name clash);
- "Managed Services Retainer" exists in QBO as a sales-only item (not purchasable);
- "Brightstar UK Ltd" bills in GBP in Autotask, but its QBO vendor is in USD (currency mismatch);
- "Northwind Traders" is a customer in Autotask and a *vendor* in QBO (the clash the other way);
- a purchase order whose Autotask number is already a QBO bill number (only fails when the
  number comes from Autotask);
- products QBO does not have yet (created, or a `missing_item` failure under the error policy).

Names that are hard for QBO's query language and name rules are there on purpose: an
apostrophe, an ampersand, a colon, non-ASCII letters. Both companies run multi-currency (USD at
home, EUR and GBP vendors), so the currency rules are exercised as well.

`DEMO_SETTINGS` are the settings under which `atqbo --demo` runs against this seed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .autotask.seed import AutotaskSeed, empty_autotask_seed
from .oauth import empty_oauth_seed
from .qbo.seed import (QboPrefs, QboSeed, ap_account, bill, company, customer, expense_account,
                       item, item_line, standard_accounts, vendor)
from .seed_data import SeedData

REALM_ID = "9341453050020002"

# Settings keys of DESIGN.md §1, with ids valid in this seed.
DEMO_SETTINGS: dict[str, object] = {
    "days_back": 30,
    "po_number_source": "quickbooks",
    "missing_item": "create",
    "new_item_expense_account": "60",  # Computer Equipment
    "ap_account": "33",  # Accounts Payable (A/P), USD
    "todo_action_type": 4,  # "Accounting follow-up" (a to-do action type)
    "todo_resource": 29682886,  # Pat Buyer
    "scan_interval_minutes": 15,
}

# Autotask company ids (vendors 100+, customers 200+).
INGRAM, SYNNEX, DELL, AMAZON, OREILLY, SMITH, MULLER, CDW, ACME, BRIGHTSTAR, EURO_NET = range(100, 111)
CONTOSO, FABRIKAM, TAILSPIN, NORTHWIND_TRADERS, WOODGROVE = range(200, 205)

# Autotask product ids; the first group exists in QBO, the second does not.
LATITUDE, MERAKI, M365, UPS, PATCH, RETAINER = range(300, 306)
U6PRO, YEALINK, DOCK, SSD, TONER, LONG_NAME = range(310, 316)

PRODUCTS: dict[int, tuple[str, float]] = {
    LATITUDE: ("Dell Latitude 5450", 1189.00),
    MERAKI: ("Cisco Meraki MR46", 899.99),
    M365: ("Microsoft 365 Business Premium", 22.00),
    UPS: ("APC Smart-UPS 1500", 649.50),
    PATCH: ("Cat6 Patch Cable 3ft", 2.35),
    RETAINER: ("Managed Services Retainer", 1500.00),
    U6PRO: ("Ubiquiti U6-Pro", 159.00),
    YEALINK: ("Yealink T54W", 189.95),
    DOCK: ("Dell WD19S Dock", 219.99),
    SSD: ("Samsung 990 PRO 2TB", 169.99),
    TONER: ("HP 26X Toner: Black", 178.49),
    LONG_NAME: ("Fortinet FortiGate 60F Unified Threat Protection Bundle with FortiCare Premium "
                "and FortiGuard Enterprise Protection, 3 Years", 2499.00),
}


def _autotask(now: datetime) -> AutotaskSeed:
    seed = empty_autotask_seed()
    seed.username = "northwind-api@demo.example"
    seed.integration_code = "DEMO-NORTHWIND-ATQBO-0001"
    seed.secret = "demo-secret-northwind-not-for-production"
    # The local organization (company 0) is the MSP itself.
    seed.entities["Companies"][0]["companyName"] = "Northwind IT Services"
    seed.add_action_type("Accounting follow-up", view=1, id=4)
    seed.add_resource("Sam", "Ledger", id=29682887, email="sam.ledger@demo.example")
    eur = seed.add_currency("EUR", 0.92, description="Euro", id=2)
    gbp = seed.add_currency("GBP", 0.79, description="British Pound", id=3)

    vendors = {
        INGRAM: ("Ingram Micro", 1), SYNNEX: ("TD Synnex", 1), DELL: ("Dell Technologies", 1),
        AMAZON: ("Amazon Business", 1), OREILLY: ("O'Reilly Supply Co.", 1), SMITH: ("Smith & Sons Cabling", 1),
        MULLER: ("Müller Elektronik GmbH", eur), CDW: ("CDW: Canada", 1), ACME: ("Acme Corp", 1),
        BRIGHTSTAR: ("Brightstar UK Ltd", gbp), EURO_NET: ("Euronet Distribution SARL", eur),
    }
    for cid, (name, currency) in vendors.items():
        seed.add_vendor(name, id=cid, currency_id=currency)
    for cid, name in {CONTOSO: "Contoso Dental", FABRIKAM: "Fabrikam Law Group", TAILSPIN: "Tailspin Toys",
                      NORTHWIND_TRADERS: "Northwind Traders", WOODGROVE: "Woodgrove Bank"}.items():
        seed.add_company(name, "Customer", id=cid, currency_id=1)
    for pid, (name, cost) in PRODUCTS.items():
        seed.add_product(name, cost, id=pid)

    def created(days_ago: float) -> str:
        return (now - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S.000Z")

    next_number = iter(range(4101, 4200))

    def po(vendor_id: int, lines: list[tuple[int, float]], *, status: str = "Submitted", days_ago: float = 2,
           customer_id: int | None = None, freight: float = 0.0, external: str | None = None,
           number: str | None = None) -> int:
        items = [{"productID": pid, "quantity": qty, "unitCost": PRODUCTS[pid][1], "memo": PRODUCTS[pid][0]}
                 for pid, qty in lines]
        fields: dict = {"createDateTime": created(days_ago), "freight": freight,
                        "purchaseOrderNumber": number or str(next(next_number))}
        if status != "New":
            fields["submitDateTime"] = created(days_ago - 0.01)
        if customer_id is not None:
            fields["purchaseForCompanyID"] = customer_id
        if external is not None:
            fields["externalPONumber"] = external
        return seed.add_po(vendor_id, status, items=items, **fields)

    def receive(po_id: int, *quantities: int) -> None:
        """Autotask's receiving records for the PO's items, in item order (0: nothing yet)."""
        items = sorted(i for i, r in seed.entities["PurchaseOrderItems"].items() if r["orderID"] == po_id)
        for item_id, qty in zip(items, quantities):
            if qty:
                seed.receive(item_id, qty)

    # Eligible and clean: vendors matched or created, customers on lines, freight, hard names.
    # Some goods have arrived already (Autotask receiving records): in purchase_order_then_bill
    # they become bills linked to the QBO purchase order; bill mode does not look at them.
    receive(po(INGRAM, [(LATITUDE, 3), (DOCK, 3)], customer_id=CONTOSO, days_ago=1), 3, 3)  # fully received
    receive(po(INGRAM, [(MERAKI, 2)], customer_id=FABRIKAM, freight=24.50, days_ago=1.5), 1)  # partly
    receive(po(SYNNEX, [(M365, 25)], customer_id=TAILSPIN, days_ago=2), 10)  # partly
    po(DELL, [(LATITUDE, 1)], days_ago=2.5)
    po(AMAZON, [(PATCH, 48), (SSD, 2)], freight=9.99, days_ago=3)
    po(OREILLY, [(TONER, 4)], customer_id=FABRIKAM, days_ago=3.5)
    po(SMITH, [(PATCH, 120)], customer_id=WOODGROVE, freight=35.00, days_ago=4)
    po(MULLER, [(UPS, 2)], days_ago=4.5)  # EUR vendor, created in EUR, bill on the EUR A/P account
    po(EURO_NET, [(U6PRO, 6)], days_ago=5)  # EUR vendor that QBO already has in EUR
    po(CDW, [(YEALINK, 10)], customer_id=CONTOSO, days_ago=5.5)  # ':' made valid by the name rule
    po(INGRAM, [(U6PRO, 4), (PATCH, 8)], customer_id=WOODGROVE, days_ago=6)
    po(SYNNEX, [(DOCK, 5), (SSD, 5), (YEALINK, 2)], days_ago=7)
    po(DELL, [(LATITUDE, 8)], customer_id=TAILSPIN, freight=120.00, days_ago=8)
    po(AMAZON, [(TONER, 1)], days_ago=9)
    po(INGRAM, [(LONG_NAME, 1)], customer_id=FABRIKAM, days_ago=10)  # over-long item name
    po(SMITH, [(PATCH, 30), (U6PRO, 2)], days_ago=11)
    po(OREILLY, [(TONER, 2), (PATCH, 10)], customer_id=CONTOSO, days_ago=12)
    po(SYNNEX, [(M365, 12)], customer_id=WOODGROVE, days_ago=14)
    po(DELL, [(DOCK, 2)], days_ago=16)
    po(AMAZON, [(SSD, 3)], customer_id=TAILSPIN, days_ago=18)
    po(INGRAM, [(MERAKI, 1), (UPS, 1)], customer_id=CONTOSO, freight=45.00, days_ago=20)
    po(SYNNEX, [(YEALINK, 6)], days_ago=25)
    po(INGRAM, [(LATITUDE, 2)], customer_id=WOODGROVE, days_ago=28, number="1007")  # collides under autotask numbering

    # Eligible, but failing for a cause an operator can fix and retry.
    po(ACME, [(PATCH, 20)], days_ago=2)  # vendor name is a QBO customer
    po(INGRAM, [(RETAINER, 1)], customer_id=FABRIKAM, days_ago=3)  # item not purchasable in QBO
    po(BRIGHTSTAR, [(UPS, 1)], days_ago=4)  # GBP in Autotask, USD in QBO
    po(SYNNEX, [(M365, 5)], customer_id=NORTHWIND_TRADERS, days_ago=6)  # customer name is a QBO vendor

    # Not eligible: outside the window, other statuses, already synced or marked.
    po(INGRAM, [(LATITUDE, 1)], days_ago=45)
    po(DELL, [(DOCK, 1)], days_ago=60)
    po(SYNNEX, [(M365, 3)], days_ago=90)
    po(INGRAM, [(MERAKI, 3)], status="New", days_ago=1)
    po(AMAZON, [(PATCH, 5)], status="New", days_ago=2)
    po(SMITH, [(PATCH, 50)], status="New", days_ago=5)
    receive(po(DELL, [(LATITUDE, 2)], status="Received Partial", days_ago=8), 1)
    receive(po(INGRAM, [(U6PRO, 3)], status="Received Partial", days_ago=9), 2)
    receive(po(SYNNEX, [(DOCK, 4)], status="Received Full", days_ago=10), 4)
    receive(po(AMAZON, [(SSD, 1)], status="Received Full", days_ago=12), 1)
    receive(po(OREILLY, [(TONER, 3)], status="Received Full", days_ago=15), 3)
    po(INGRAM, [(YEALINK, 1)], status="Canceled", days_ago=3)
    po(DELL, [(DOCK, 1)], status="Canceled", days_ago=6)
    po(INGRAM, [(LATITUDE, 1)], customer_id=CONTOSO, days_ago=5, external="1003")  # synced before
    po(SYNNEX, [(M365, 10)], days_ago=7, external="1008")  # synced before
    po(AMAZON, [(RETAINER, 1)], days_ago=8, external="ERROR")  # failed before: sync one PO retries it
    return seed


def _qbo() -> QboSeed:
    seed = QboSeed(
        realm_id=REALM_ID,
        company=company("Northwind IT Services"),
        prefs=QboPrefs(multi_currency=True, home_currency="USD", exchange_rates={"EUR": 1.09, "GBP": 1.27}),
        accounts=[
            *standard_accounts(),
            ap_account("34", "Accounts Payable (A/P) - EUR", currency="EUR"),
            ap_account("36", "Accounts Payable (A/P) - GBP", currency="GBP"),
            expense_account("60", "Computer Equipment", "EquipmentRental"),
            expense_account("61", "Freight & Delivery", "ShippingFreightDelivery"),
            expense_account("62", "Software Subscriptions", "OfficeGeneralAdministrativeExpenses"),
        ],
        vendors=[
            vendor("1", "Ingram Micro", currency="USD"),
            vendor("2", "TD Synnex", currency="USD"),
            vendor("3", "Dell Technologies", currency="USD"),
            vendor("4", "Euronet Distribution SARL", currency="EUR"),
            vendor("5", "Brightstar UK Ltd", currency="USD"),
            vendor("6", "Northwind Traders", currency="USD"),
        ],
        customers=[
            customer("50", "Contoso Dental", currency="USD"),
            customer("51", "Fabrikam Law Group", currency="USD"),
            customer("52", "Acme Corp", currency="USD"),
        ],
        items=[
            item("200", "Dell Latitude 5450", expense_account_id="60", purchase_cost=1189.00),
            item("201", "Cisco Meraki MR46", expense_account_id="60", purchase_cost=899.99),
            item("202", "Microsoft 365 Business Premium", expense_account_id="62", purchase_cost=22.00),
            item("203", "APC Smart-UPS 1500", expense_account_id="60", purchase_cost=649.50),
            item("204", "Cat6 Patch Cable 3ft", expense_account_id="21", purchase_cost=2.35),
            item("205", "Freight", expense_account_id="61"),
            # Sold, never bought: no expense account, so it cannot go on a bill.
            item("206", "Managed Services Retainer", income_account_id="79", type="Service"),
        ],
    )
    seed.bills = [
        bill(str(900 + n), "1" if n % 2 else "2", [item_line("204", 10, 2.35)], doc_number=str(1000 + n),
             ap_account_id="33", currency="USD", txn_date="2026-09-01", private_note=f"Earlier bill {1000 + n}")
        for n in range(1, 13)
    ]
    return seed


def demo_seed(now: datetime | None = None) -> SeedData:
    """The demo company; purchase orders are dated relative to `now` so they fall in the window."""
    qbo = _qbo()
    oauth = empty_oauth_seed(qbo.realm_id)
    oauth.company_name = qbo.company["CompanyName"]
    return SeedData(name="demo", autotask=_autotask(now or datetime.now(timezone.utc)), oauth=oauth, qbo=qbo)
