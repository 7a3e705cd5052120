"""Multi-currency rules (reference/qbo-api.md §8): a bill is in its vendor's currency, on an A/P
account of that currency; a foreign currency needs multi-currency on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.sandbox.qbo_helpers import Qbo, QboSandbox, fault_of, qbo, qbo_server, rich_seed  # noqa: F401 - fixtures
from sync.sandbox.server import SandboxServer


def line(item: str = "303", qty: float = 2, price: float = 50) -> dict:
    return {"DetailType": "ItemBasedExpenseLineDetail", "Amount": qty * price,
            "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price}}


@pytest.fixture
def mc() -> Iterator[Qbo]:
    sandbox = QboSandbox(rich_seed(multi_currency=True))
    sandbox.knobs.limits_enabled = False
    with SandboxServer(sandbox) as server:
        client = Qbo(server)
        yield client
        client.close()


def test_mc_off_refuses_foreign_currencies(qbo):
    r = qbo.post("bill", {"VendorRef": {"value": "101"}, "CurrencyRef": {"value": "CAD"}, "Line": [line()]})
    assert r.status_code == 400 and fault_of(r)["code"] == "6000"
    assert fault_of(qbo.post("vendor", {"DisplayName": "Loonie", "CurrencyRef": {"value": "CAD"}}))["code"] == "6000"
    ok = qbo.post("bill", {"VendorRef": {"value": "101"}, "CurrencyRef": {"value": "USD"}, "ExchangeRate": 0,
                           "Line": [line()]})
    assert ok.status_code == 200
    assert "HomeTotalAmt" not in ok.json()["Bill"]


def test_preferences_show_multi_currency(mc):
    prefs = mc.get("preferences").json()["Preferences"]["CurrencyPrefs"]
    assert prefs == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "USD"}}


def test_foreign_bill_in_vendor_currency_on_matching_ap(mc):
    r = mc.post("bill", {"VendorRef": {"value": "104"}, "CurrencyRef": {"value": "CAD"},
                         "APAccountRef": {"value": "34"}, "Line": [line()]})
    assert r.status_code == 200, r.text
    bill = r.json()["Bill"]
    assert bill["CurrencyRef"] == {"value": "CAD", "name": "Canadian Dollar"}
    assert bill["TotalAmt"] == 100.0 and bill["ExchangeRate"] == 0.75 and bill["HomeTotalAmt"] == 75.0
    implied = mc.post("bill", {"VendorRef": {"value": "104"}, "CurrencyRef": {"value": "CAD"}, "ExchangeRate": 0.8,
                               "Line": [line()]}).json()["Bill"]
    assert implied["APAccountRef"]["value"] == "34" and implied["HomeTotalAmt"] == 80.0
    home = mc.post("bill", {"VendorRef": {"value": "101"}, "CurrencyRef": {"value": "USD"}, "Line": [line()]})
    assert home.json()["Bill"]["ExchangeRate"] == 1 and home.json()["Bill"]["APAccountRef"]["value"] == "33"


@pytest.mark.parametrize("body, code", [
    ({"VendorRef": {"value": "104"}, "CurrencyRef": {"value": "USD"}}, "6000"),  # bill ≠ vendor currency
    ({"VendorRef": {"value": "101"}, "CurrencyRef": {"value": "CAD"}}, "6000"),
    ({"VendorRef": {"value": "104"}, "CurrencyRef": {"value": "CAD"}, "APAccountRef": {"value": "33"}}, "6000"),
    ({"VendorRef": {"value": "101"}, "CurrencyRef": {"value": "USD"}, "APAccountRef": {"value": "34"}}, "6000"),
    ({"VendorRef": {"value": "104"}}, "2020"),  # CurrencyRef required when multi-currency is on
])
def test_currency_mismatches(mc, body, code):
    r = mc.post("bill", {**body, "Line": [line()]})
    assert r.status_code == 400, r.text
    assert fault_of(r)["code"] == code


def test_name_lists_and_accounts_take_currencies_when_mc_on(mc):
    v = mc.post("vendor", {"DisplayName": "Euro Parts", "CurrencyRef": {"value": "EUR"}}).json()["Vendor"]
    assert v["CurrencyRef"] == {"value": "EUR", "name": "Euro"}
    assert mc.post("vendor", {"DisplayName": "Home Parts"}).json()["Vendor"]["CurrencyRef"]["value"] == "USD"
    ap = mc.post("account", {"Name": "A/P EUR", "AccountType": "Accounts Payable", "CurrencyRef": {"value": "EUR"}})
    assert ap.status_code == 200
    expense = mc.post("account", {"Name": "EUR costs", "AccountType": "Expense", "CurrencyRef": {"value": "EUR"}})
    assert fault_of(expense)["code"] == "6000"  # income and expense accounts stay in the home currency
    # The vendor's currency cannot change.
    updated = mc.post("vendor", {**v, "CurrencyRef": {"value": "USD"}}).json()["Vendor"]
    assert updated["CurrencyRef"]["value"] == "EUR"


def test_switching_mc_on_through_admin(qbo):
    qbo.http.patch("/_sandbox/qbo/preferences", json={"multi_currency": True})
    assert qbo.get("preferences").json()["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] is True
    assert qbo.post("vendor", {"DisplayName": "Loonie", "CurrencyRef": {"value": "CAD"}}).status_code == 200
