"""QBO seeds: the empty company, and the rule that seeds pass the API's own validation."""

from __future__ import annotations

import json

import pytest

from tests.sandbox.qbo_helpers import QboSandbox, rich_seed
from sync.sandbox.oauth import OAuthEmulator, empty_oauth_seed
from sync.sandbox.qbo import QboEmulator, empty_qbo_seed
from sync.sandbox.qbo import seed as qs


def emulator(seed: qs.QboSeed) -> QboEmulator:
    return QboEmulator(seed, None, OAuthEmulator(empty_oauth_seed(seed.realm_id)))


def test_empty_company_is_a_fresh_us_company():
    emu = emulator(empty_qbo_seed())
    snap = emu.snapshot()
    json.dumps(snap)  # JSON-able for GET /_sandbox/state
    assert snap["Preferences"]["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    assert snap["CompanyInfo"]["Country"] == "US"
    types = [a["AccountType"] for a in snap["Account"]]
    assert types.count("Accounts Payable") == 1 and types.count("Expense") >= 3
    assert snap["Vendor"] == snap["Customer"] == snap["Item"] == snap["Bill"] == []


def test_seeded_records_are_complete_and_computed():
    emu = emulator(rich_seed())
    bill = emu.store.get("Bill", "401")
    assert bill["TotalAmt"] == 1800.0 and bill["VendorRef"]["name"] == "Ingram Micro"
    assert emu.store.get("Vendor", "101")["Balance"] == 1800
    assert emu.store.get("Vendor", "103")["Active"] is False
    assert emu.store.get("Item", "301")["ExpenseAccountRef"] == {"value": "21", "name": "Supplies"}


@pytest.mark.parametrize("mutate", [
    lambda s: s.vendors.append(qs.vendor("900", "Acme Dental")),  # clashes with a customer
    lambda s: s.items.append(qs.item("901", "Bad:Name", expense_account_id="21")),
    lambda s: s.bills.append(qs.bill("902", "999", [qs.item_line("301", 1, 1)])),
    lambda s: s.vendors.append(qs.vendor("101", "Same Id")),
])
def test_a_bad_seed_fails_loudly(mutate):
    seed = rich_seed()
    mutate(seed)
    with pytest.raises(ValueError, match="seed|already exists"):
        emulator(seed)


def test_new_ids_follow_the_seeded_ones():
    emu = emulator(rich_seed())
    from sync.sandbox.qbo import validation

    rec = validation.create(emu.store, "Vendor", {"DisplayName": "Next"})
    assert int(rec["Id"]) > 401


def test_real_seed_path_builds_both_emulators():
    sandbox = QboSandbox()
    assert set(sandbox.emulators) == {"oauth", "qbo"}
    creds = sandbox.credentials("http://127.0.0.1:1")
    assert creds["oauth"]["realm_id"] == creds["qbo"]["realm_id"] == empty_qbo_seed().realm_id
