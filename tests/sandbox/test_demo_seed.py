"""The demo seed must be coherent across both systems and set up every path it promises."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from sync.sandbox.demo import DEMO_SETTINGS, demo_seed
from sync.sandbox.server import Sandbox, SandboxServer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def state():
    with SandboxServer(Sandbox(demo_seed(NOW))) as server:
        yield httpx.get(server.url + "/_sandbox/state").json()


def _by_id(records) -> dict:
    if isinstance(records, dict):
        return {int(k) if str(k).lstrip("-").isdigit() else k: v for k, v in records.items()}
    return {r.get("id", r.get("Id")): r for r in records}


def _label(state, entity, field, label) -> int:
    for pv in state["autotask"]["picklists"][entity][field]:
        if pv["label"] == label:
            return int(pv["value"])
    raise KeyError(label)


def test_about_forty_purchase_orders_in_every_state(state):
    pos = _by_id(state["autotask"]["entities"]["PurchaseOrders"]).values()
    assert 35 <= len(pos) <= 50
    statuses = {p["status"] for p in pos}
    for label in ("New", "Submitted", "Received Partial", "Received Full", "Canceled"):
        assert _label(state, "PurchaseOrders", "status", label) in statuses, label
    submitted = _label(state, "PurchaseOrders", "status", "Submitted")
    window = NOW - timedelta(days=int(DEMO_SETTINGS["days_back"]))
    created = lambda p: datetime.strptime(p["createDateTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    eligible = [p for p in pos if p["status"] == submitted and created(p) >= window and not p.get("externalPONumber")]
    assert len(eligible) >= 20
    assert any(p["status"] == submitted and created(p) < window for p in pos), "one outside the window"
    assert any(p.get("externalPONumber") == "ERROR" for p in pos), "one marked ERROR before"
    assert any((p.get("externalPONumber") or "").isdigit() for p in pos), "one synced before"
    assert any(p.get("freight", 0) > 0 for p in eligible), "freight"


def test_failure_causes_are_set_up_in_qbo(state):
    qbo = state["qbo"]
    customers = {c["DisplayName"] for c in qbo["Customer"]}
    vendors = {v["DisplayName"]: v for v in qbo["Vendor"]}
    assert "Acme Corp" in customers, "vendor/customer name clash"
    assert "Northwind Traders" in vendors, "customer/vendor name clash"
    assert vendors["Brightstar UK Ltd"]["CurrencyRef"]["value"] == "USD", "currency mismatch (GBP in Autotask)"
    retainer = next(i for i in qbo["Item"] if i["Name"] == "Managed Services Retainer")
    assert "ExpenseAccountRef" not in retainer, "not purchasable"
    assert qbo["Preferences"]["CurrencyPrefs"]["MultiCurrencyEnabled"] is True


def test_hard_names_are_present(state):
    names = {c["companyName"] for c in _by_id(state["autotask"]["entities"]["Companies"]).values()}
    assert {"O'Reilly Supply Co.", "Smith & Sons Cabling", "Müller Elektronik GmbH", "CDW: Canada"} <= names
    products = {p["name"] for p in _by_id(state["autotask"]["entities"]["Products"]).values()}
    assert any(len(n) > 100 for n in products), "an item name over QBO's 100 characters"


def test_demo_settings_point_at_records_that_exist(state):
    accounts = {a["Id"]: a for a in state["qbo"]["Account"]}
    assert accounts[DEMO_SETTINGS["ap_account"]]["AccountType"] == "Accounts Payable"
    assert accounts[DEMO_SETTINGS["new_item_expense_account"]]["AccountType"] == "Expense"
    entities = state["autotask"]["entities"]
    assert int(DEMO_SETTINGS["todo_action_type"]) in _by_id(entities["ActionTypes"])
    assert int(DEMO_SETTINGS["todo_resource"]) in _by_id(entities["Resources"])
