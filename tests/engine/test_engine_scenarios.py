"""Scenario tests of the engine against the sandbox over real sockets (DESIGN §1, issue 5).

Each test seeds both emulated systems, runs the engine through its public API, and reads back
what Autotask and QBO hold afterwards.
"""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from engine_world import AP, BUYER, COGS, ACTION_GENERAL, base_seed, days_ago, qs
from sync import events as ev
from sync.clients.http import RetryPolicy
from sync.sandbox.control import FaultRule

pytestmark = pytest.mark.anyio


def _po(seed, vendor: int, *, items, status="Submitted", created=1, **fields):
    return seed.autotask.add_po(vendor, status, items=items, createDateTime=days_ago(created), **fields)


def _line(product: int, qty: int, cost: float, **extra):
    return {"productID": product, "quantity": qty, "unitCost": cost, **extra}


async def test_happy_path_creates_vendor_items_bill_and_writes_back(world_factory):
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    p1 = at.add_product("Dell Latitude 5440", 900)
    p2 = at.add_product("USB-C Dock", 120)
    po = _po(seed, vendor, items=[_line(p1, 3, 899.995), _line(p2, 2, 19.99)], freight=25.5)
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert (summary.scanned, summary.synced, summary.failed) == (1, 1, 0)
    [bill] = w.bills()
    vendors = {v["DisplayName"]: v for v in w.qbo_list("Vendor")}
    assert bill["VendorRef"]["value"] == vendors["Ingram Micro"]["Id"]
    assert bill["APAccountRef"]["value"] == AP
    assert bill["DocNumber"] == "1"  # QBO had no bills: its sequence starts at 1
    assert f"(Autotask PO id {po})" in bill["PrivateNote"]
    items = {i["Id"]: i for i in w.qbo_list("Item")}
    lines = [(items[l["ItemBasedExpenseLineDetail"]["ItemRef"]["value"]]["Name"],
              l["ItemBasedExpenseLineDetail"]["Qty"], Decimal(str(l["Amount"]))) for l in bill["Line"]]
    assert lines == [("Dell Latitude 5440", 3, Decimal("2699.99")),  # 3 × 899.995 = 2699.985 → half-up
                     ("USB-C Dock", 2, Decimal("39.98")),
                     ("Freight", 1, Decimal("25.50"))]
    assert Decimal(str(bill["TotalAmt"])) == Decimal("2765.47")
    assert not any("TaxCodeRef" in l["ItemBasedExpenseLineDetail"] and l["ItemBasedExpenseLineDetail"]["TaxCodeRef"].get("value") not in (None, "NON") for l in bill["Line"])
    for name in ("Dell Latitude 5440", "USB-C Dock", "Freight"):
        item = next(i for i in items.values() if i["Name"] == name)
        assert item["Type"] == "NonInventory" and item["ExpenseAccountRef"]["value"] == COGS
    assert w.po(po)["externalPONumber"] == "1"
    assert w.todos() == []
    synced = w.of(ev.PoSynced)
    assert synced and synced[0].doc_number == "1" and synced[0].amount == Decimal("2765.47") and synced[0].lines == 3
    assert {e.name for e in w.of(ev.ItemCreated)} == {"Dell Latitude 5440", "USB-C Dock", "Freight"}
    assert [e.name for e in w.of(ev.VendorCreated)] == ["Ingram Micro"]
    finished = w.of(ev.ScanFinished)[-1]
    assert finished.synced == 1 and finished.api_calls["qbo"] > 0 and finished.api_calls["autotask"] > 0

    # A second scan finds nothing: the PO now carries its bill number.
    again = await w.engine.scan_once()
    assert again.scanned == 0 and len(w.bills()) == 1


def _failed_log(w, po_id):
    return w.store.errors.latest_open_for_po(po_id)


def _assert_failed(w, po_id, code):
    """The four marks of a failed PO: ERROR, a to-do on org 0, an open log entry, a notice."""
    assert w.po(po_id)["externalPONumber"] == "ERROR"
    entry = _failed_log(w, po_id)
    assert entry is not None and entry.cause_code == code and entry.cause and entry.fix
    todo = next(t for t in w.todos() if t["id"] == entry.todo_id)
    assert todo["companyID"] == 0 and todo["assignedToResourceID"] == BUYER and todo["actionType"] == ACTION_GENERAL
    assert str(po_id) in todo["activityDescription"] and entry.cause.split(":")[0][:40] in todo["activityDescription"]
    assert "What to fix" in todo["activityDescription"]
    assert any(n.po_id == po_id and n.cause_code == code for n in w.notifier.sent)
    [failed] = [e for e in w.of(ev.PoFailed) if e.po_id == po_id][-1:]
    assert failed.cause_code == code and failed.log_id == str(entry.id)
    return entry


async def test_each_eligibility_condition(world_factory):
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("Tech Data")
    p = at.add_product("Cable", 5)
    ok = _po(seed, vendor, items=[_line(p, 1, 5)])
    new = _po(seed, vendor, items=[_line(p, 1, 5)], status="New")
    old = _po(seed, vendor, items=[_line(p, 1, 5)], created=45)  # window is 30 days
    marked = _po(seed, vendor, items=[_line(p, 1, 5)], externalPONumber="ERROR")
    numbered = _po(seed, vendor, items=[_line(p, 1, 5)], externalPONumber="777")
    edge = _po(seed, vendor, items=[_line(p, 1, 5)], created=29.5)
    w = await world_factory(seed, days_back=30)

    summary = await w.engine.scan_once()

    assert summary.scanned == 2 and summary.synced == 2
    assert sorted(o.po_id for o in summary.outcomes) == [ok, edge]
    assert w.po(new)["externalPONumber"] in (None, "")
    assert w.po(old)["externalPONumber"] in (None, "")
    assert w.po(marked)["externalPONumber"] == "ERROR" and w.po(numbered)["externalPONumber"] == "777"
    assert len(w.bills()) == 2


async def test_days_back_zero_pauses_the_transfer(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Tech Data")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)], created=0)
    w = await world_factory(seed, days_back=0)

    summary = await w.engine.scan_once()

    assert summary.paused and summary.synced == 0
    assert w.of(ev.TransferPaused) and w.of(ev.ScanFinished)[-1].paused
    assert w.bills() == [] and w.po(po)["externalPONumber"] in (None, "")
    w.set(days_back=1)  # un-pausing applies from the next scan
    assert (await w.engine.scan_once()).synced == 1
    assert w.of(ev.SettingsReloaded)[-1].changed == ("days_back",)


async def test_match_existing_vendor_customer_item_and_create_missing_customer(world_factory):
    seed = base_seed()
    at, q = seed.autotask, seed.qbo
    q.vendors.append(qs.vendor("200", "Ingram Micro"))
    q.customers.append(qs.customer("300", "Contoso Ltd"))
    q.items.append(qs.item("400", "Firewall", expense_account_id=COGS))
    vendor = at.add_vendor("Ingram Micro")
    contoso = at.add_company("Contoso Ltd")
    fabrikam = at.add_company("Fabrikam Inc")
    fw = at.add_product("Firewall", 500)
    po1 = _po(seed, vendor, items=[_line(fw, 1, 500)], purchaseForCompanyID=contoso)
    po2 = _po(seed, vendor, items=[_line(fw, 2, 500)], purchaseForCompanyID=fabrikam)
    po3 = _po(seed, vendor, items=[_line(fw, 1, 500)], purchaseForCompanyID=0)
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert summary.synced == 3
    assert [v["DisplayName"] for v in w.qbo_list("Vendor")] == ["Ingram Micro"]  # matched, not created
    assert [i["Name"] for i in w.qbo_list("Item")] == ["Firewall"]
    customers = {c["DisplayName"]: c["Id"] for c in w.qbo_list("Customer")}
    assert set(customers) == {"Contoso Ltd", "Fabrikam Inc"}
    assert [e.name for e in w.of(ev.CustomerCreated)] == ["Fabrikam Inc"]
    assert not w.of(ev.VendorCreated) and not w.of(ev.ItemCreated)
    by_note = {int(b["PrivateNote"].split("PO id ")[1].split(")")[0]): b for b in w.bills()}
    for po, cust in ((po1, customers["Contoso Ltd"]), (po2, customers["Fabrikam Inc"])):
        for line in by_note[po]["Line"]:
            d = line["ItemBasedExpenseLineDetail"]
            assert d["CustomerRef"]["value"] == cust and d["BillableStatus"] == "Billable"
            assert d["ItemRef"]["value"] == "400"
    assert all("CustomerRef" not in l["ItemBasedExpenseLineDetail"] for l in by_note[po3]["Line"])
    assert all(b["VendorRef"]["value"] == "200" for b in w.bills())


async def test_vendor_name_taken_by_a_customer_is_reported_as_a_clash(world_factory):
    seed = base_seed()
    seed.qbo.customers.append(qs.customer("300", "Acme"))
    vendor = seed.autotask.add_vendor("Acme")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)])
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert summary.failed == 1 and w.bills() == []
    entry = _assert_failed(w, po, "name_clash_vendor_is_customer")
    assert "customer" in entry.cause and "Acme" in entry.cause
    assert [v for v in w.qbo_list("Vendor")] == []


async def test_customer_name_taken_by_a_vendor_is_reported_as_a_clash(world_factory):
    seed = base_seed()
    seed.qbo.vendors.append(qs.vendor("200", "Northwind"))
    vendor = seed.autotask.add_vendor("Ingram Micro")
    cust = seed.autotask.add_company("Northwind")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)], purchaseForCompanyID=cust)
    w = await world_factory(seed)
    await w.engine.scan_once()
    _assert_failed(w, po, "name_clash_customer_is_vendor")
    assert w.bills() == []


async def test_missing_item_with_error_policy_fails_the_po(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Mystery Box", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)])
    w = await world_factory(seed, missing_item="error", new_item_expense_account=None)

    summary = await w.engine.scan_once()

    assert summary.failed == 1 and summary.todos_created == 1
    entry = _assert_failed(w, po, "missing_item")
    assert "Mystery Box" in entry.cause
    assert w.qbo_list("Item") == [] and w.bills() == []


async def test_existing_item_that_is_not_purchasable_fails_the_po(world_factory):
    seed = base_seed()
    seed.qbo.items.append(qs.item("400", "Consulting", income_account_id="79", type="Service"))
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Consulting", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)])
    w = await world_factory(seed)

    await w.engine.scan_once()

    _assert_failed(w, po, "item_not_purchasable")
    assert w.bills() == [] and len(w.qbo_list("Item")) == 1


async def test_numbers_continue_the_quickbooks_sequence(world_factory):
    seed = base_seed()
    seed.qbo.vendors.append(qs.vendor("200", "Old Vendor"))
    seed.qbo.items.append(qs.item("400", "Cable", expense_account_id=COGS))
    for i, number in enumerate(["0998", "1005", "PO-99999", "17"]):
        seed.qbo.bills.append(qs.bill(str(500 + i), "200", [qs.item_line("400", 1, 1.0)], doc_number=number))
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    a = _po(seed, vendor, items=[_line(p, 1, 5)])
    b = _po(seed, vendor, items=[_line(p, 2, 5)])
    w = await world_factory(seed, po_number_source="quickbooks")

    await w.engine.scan_once()

    assert (w.po(a)["externalPONumber"], w.po(b)["externalPONumber"]) == ("1006", "1007")
    assert sorted(b["DocNumber"] for b in w.bills()) == ["0998", "1005", "1006", "1007", "17", "PO-99999"]


async def test_numbers_from_autotask_and_a_collision(world_factory):
    seed = base_seed()
    seed.qbo.vendors.append(qs.vendor("200", "Someone Else"))
    seed.qbo.items.append(qs.item("400", "Cable", expense_account_id=COGS))
    seed.qbo.bills.append(qs.bill("500", "200", [qs.item_line("400", 1, 1.0)], doc_number="PO-2002"))
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    fine = _po(seed, vendor, items=[_line(p, 1, 5)], purchaseOrderNumber="PO-2001")
    taken = _po(seed, vendor, items=[_line(p, 1, 5)], purchaseOrderNumber="PO-2002")
    w = await world_factory(seed, po_number_source="autotask")

    summary = await w.engine.scan_once()

    assert (summary.synced, summary.failed) == (1, 1)
    assert w.po(fine)["externalPONumber"] == "PO-2001"
    entry = _assert_failed(w, taken, "doc_number_taken")
    assert "PO-2002" in entry.cause
    assert sorted(b["DocNumber"] for b in w.bills()) == ["PO-2001", "PO-2002"]


async def test_names_quotes_ampersands_colons_and_non_ascii(world_factory):
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("O'Brien & Söhne: Nord")
    cust = at.add_company('Zoë\'s "Best"\tCafé')
    p1 = at.add_product("Cable: Cat6 3m", 5)
    p2 = at.add_product("Ærø 'Deluxe' & Co", 7)
    po = _po(seed, vendor, items=[_line(p1, 1, 5), _line(p2, 1, 7)], purchaseForCompanyID=cust)
    po2 = _po(seed, vendor, items=[_line(p2, 1, 7)], purchaseForCompanyID=cust)
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert summary.synced == 2, [o.cause for o in summary.outcomes]
    assert [v["DisplayName"] for v in w.qbo_list("Vendor")] == ["O'Brien & Söhne- Nord"]
    assert [c["DisplayName"] for c in w.qbo_list("Customer")] == ['Zoë\'s "Best" Café']
    assert sorted(i["Name"] for i in w.qbo_list("Item")) == ["Cable- Cat6 3m", "Ærø 'Deluxe' & Co"]
    assert {(e.kind, e.adjusted) for e in w.of(ev.NameAdjusted)} == {
        ("vendor", "O'Brien & Söhne- Nord"), ("customer", 'Zoë\'s "Best" Café'), ("item", "Cable- Cat6 3m")}
    # A later scan matches the adjusted names instead of creating duplicates.
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po2}", {"externalPONumber": None})
    again = await w.engine.scan_once()
    assert again.synced == 1 and len(w.qbo_list("Vendor")) == 1 and len(w.qbo_list("Item")) == 2
    assert len(w.bills()) == 2  # po2's bill existed: written back again, never created twice


async def test_tenant_whose_submitted_value_is_not_2(world_factory):
    seed = base_seed()
    at = seed.autotask
    at.set_picklist("PurchaseOrders", "status", [(1, "New"), (2, "Received Full"), (7, "Submitted")], default=1)
    vendor = at.add_vendor("Ingram Micro")
    p = at.add_product("Cable", 5)
    submitted = _po(seed, vendor, items=[_line(p, 1, 5)], status=7)
    received = _po(seed, vendor, items=[_line(p, 1, 5)], status=2)
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert [o.po_id for o in summary.outcomes] == [submitted]
    assert w.po(received)["externalPONumber"] in (None, "") and len(w.bills()) == 1


def _multicurrency_autotask(seed):
    seed.autotask.add("Currencies", {"id": 2, "name": "EUR", "description": "Euro", "displaySymbol": 2,
                                     "exchangeRate": 1.1, "isActive": True, "isInternalCurrency": False,
                                     "currencyPositiveFormat": "<Symbol><Amount>",
                                     "currencyNegativeFormat": "(<Symbol><Amount>)",
                                     "lastModifiedDateTime": "2024-01-01T00:00:00.000Z"})


async def test_currency_on_in_both_bills_in_the_vendor_currency(world_factory):
    seed = base_seed()
    _multicurrency_autotask(seed)
    seed.qbo.prefs.multi_currency = True
    seed.qbo.prefs.exchange_rates = {"EUR": 1.1}
    seed.qbo.accounts.append(qs.ap_account("34", "Accounts Payable (A/P) - EUR", currency="EUR"))
    seed.qbo.vendors.append(qs.vendor("200", "Euro Parts GmbH", currency="EUR"))
    at = seed.autotask
    known = at.add_vendor("Euro Parts GmbH", currency_id=2)
    new = at.add_vendor("Neue Teile AG", currency_id=2)
    home = at.add_vendor("Dollar Supply", currency_id=1)
    p = at.add_product("Cable", 5)
    a = _po(seed, known, items=[_line(p, 2, 10)])
    b = _po(seed, new, items=[_line(p, 1, 10)])
    c = _po(seed, home, items=[_line(p, 1, 10)])
    w = await world_factory(seed)

    summary = await w.engine.scan_once()

    assert summary.synced == 3, [o.cause for o in summary.outcomes]
    bills = {b["VendorRef"]["value"]: b for b in w.bills()}
    vendors = {v["DisplayName"]: v for v in w.qbo_list("Vendor")}
    assert vendors["Neue Teile AG"]["CurrencyRef"]["value"] == "EUR"  # created in the Autotask currency
    for name in ("Euro Parts GmbH", "Neue Teile AG"):
        bill = bills[vendors[name]["Id"]]
        assert bill["CurrencyRef"]["value"] == "EUR" and bill["APAccountRef"]["value"] == "34"
    usd = bills[vendors["Dollar Supply"]["Id"]]
    assert usd["CurrencyRef"]["value"] == "USD" and usd["APAccountRef"]["value"] == AP
    assert [e.currency for e in w.of(ev.VendorCreated)] == ["EUR", "USD"]
    assert all(w.po(x)["externalPONumber"] for x in (a, b, c))


async def test_currency_mismatch_fails_the_po(world_factory):
    seed = base_seed()
    _multicurrency_autotask(seed)
    seed.qbo.prefs.multi_currency = True
    seed.qbo.vendors.append(qs.vendor("200", "Euro Parts GmbH", currency="USD"))
    vendor = seed.autotask.add_vendor("Euro Parts GmbH", currency_id=2)
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 10)])
    w = await world_factory(seed)

    await w.engine.scan_once()

    entry = _assert_failed(w, po, "currency_mismatch")
    assert "EUR" in entry.cause and "USD" in entry.cause
    assert w.bills() == []


async def test_currency_off_in_autotask_on_in_qbo_bills_in_home_currency_at_rate_1(world_factory):
    seed = base_seed()
    seed.qbo.prefs.multi_currency = True
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    _po(seed, vendor, items=[_line(p, 3, 10)])
    w = await world_factory(seed)

    assert (await w.engine.scan_once()).synced == 1

    [bill] = w.bills()
    assert bill["CurrencyRef"]["value"] == "USD" and float(bill["ExchangeRate"]) == 1.0
    assert bill["APAccountRef"]["value"] == AP and float(bill["TotalAmt"]) == 30.0


async def test_currency_on_in_autotask_off_in_qbo_transfers_nothing_and_says_why_once(world_factory):
    seed = base_seed()
    _multicurrency_autotask(seed)
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    pos = [_po(seed, vendor, items=[_line(p, 1, 10)]) for _ in range(3)]
    w = await world_factory(seed)

    first = await w.engine.scan_once()
    second = await w.engine.scan_once()

    assert first.stopped is not None and first.stopped.code == "multicurrency_qbo_off"
    assert first.synced == first.failed == 0 and first.skipped == 3
    stops = w.of(ev.ScanStopped)
    assert len(stops) == 2 and all(s.cause_code == "multicurrency_qbo_off" for s in stops)  # one per scan
    assert [n.cause_code for n in w.notifier.sent] == ["multicurrency_qbo_off"]  # told once, not every scan
    assert not w.of(ev.PoFailed) and w.todos() == [] and w.bills() == []
    assert all(w.po(x)["externalPONumber"] in (None, "") for x in pos)
    assert second.stopped is not None


async def test_retry_after_a_fix_resolves_the_entry_and_replaces_error(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Mystery Box", 5)
    po = _po(seed, vendor, items=[_line(p, 2, 5)])
    w = await world_factory(seed, missing_item="error", new_item_expense_account=None)
    await w.engine.scan_once()
    entry = _assert_failed(w, po, "missing_item")
    todo_id = entry.todo_id

    # Retrying before the fix fails again: same entry (attempts 2), same to-do, no new one.
    again = await w.engine.retry(entry.id)
    assert not again.ok and again.cause.code == "missing_item"
    same = w.store.errors.get(entry.id)
    assert same.attempts == 2 and same.todo_id == todo_id and same.status.value == "open"
    assert len(w.todos()) == 1 and len(w.store.errors) == 1

    # The operator fixes QBO (creates the item), then retries.
    w.qbo_admin("POST", "entities/Item", {"Name": "Mystery Box", "Type": "NonInventory",
                                          "ExpenseAccountRef": {"value": COGS}})
    fixed = await w.engine.retry(entry.id)

    assert fixed.ok and fixed.doc_number == "1"
    assert w.store.errors.get(entry.id).status.value == "resolved"
    assert w.todos()[0]["completedDate"]  # the operator's to-do is completed with the fix
    assert w.po(po)["externalPONumber"] == "1"
    assert len(w.bills()) == 1 and len(w.todos()) == 1
    finished = w.of(ev.RetryFinished)
    assert [(f.ok, f.cause_code) for f in finished] == [(False, "missing_item"), (True, None)]
    assert [e.log_id for e in w.of(ev.RetryStarted)] == [str(entry.id)] * 2


async def test_retry_all_after_changing_a_setting(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p1 = seed.autotask.add_product("Part A", 5)
    p2 = seed.autotask.add_product("Part B", 5)
    a = _po(seed, vendor, items=[_line(p1, 1, 5)])
    b = _po(seed, vendor, items=[_line(p2, 1, 5)])
    w = await world_factory(seed, missing_item="error", new_item_expense_account=None)
    await w.engine.scan_once()
    assert len(w.store.errors.open_errors()) == 2

    w.set(missing_item="create", new_item_expense_account=COGS)  # retries use the current settings
    outcomes = await w.engine.retry_all()

    assert [o.ok for o in outcomes] == [True, True]
    assert w.store.errors.open_errors() == []
    assert {w.po(a)["externalPONumber"], w.po(b)["externalPONumber"]} == {"1", "2"}


async def test_sync_one_ignores_window_and_error_marker_but_not_a_real_number(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    clash = seed.autotask.add_vendor("Acme")
    seed.qbo.customers.append(qs.customer("300", "Acme"))
    p = seed.autotask.add_product("Cable", 5)
    old_error = _po(seed, vendor, items=[_line(p, 1, 5)], created=400, externalPONumber="ERROR")
    done = _po(seed, vendor, items=[_line(p, 1, 5)], externalPONumber="1001")
    bad = _po(seed, clash, items=[_line(p, 1, 5)], created=400)
    w = await world_factory(seed, days_back=5)

    ok = await w.engine.sync_one(old_error)
    refused = await w.engine.sync_one(done)
    missing = await w.engine.sync_one(99999)
    failed = await w.engine.sync_one(bad, alt_email="buyer@example.com")

    assert ok.ok and w.po(old_error)["externalPONumber"] == ok.doc_number == "1"
    assert not refused.ok and refused.cause.code == "po_already_synced" and w.po(done)["externalPONumber"] == "1001"
    assert not missing.ok and missing.cause.code == "po_not_found"
    assert not failed.ok and failed.cause.code == "name_clash_vendor_is_customer"
    _assert_failed(w, bad, "name_clash_vendor_is_customer")
    notice = next(n for n in w.notifier.sent if n.po_id == bad)
    assert notice.recipient == "buyer@example.com"  # the alternate address of this sync
    assert w.store.errors.latest_open_for_po(bad).alt_email == "buyer@example.com"
    assert len(w.bills()) == 1


async def test_auth_failure_mid_scan_stops_with_one_message(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    pos = [_po(seed, vendor, items=[_line(p, 1, 5)]) for _ in range(4)]
    w = await world_factory(seed)

    def revoke_after_first_bill(event):
        if isinstance(event, ev.PoSynced) and len(w.of(ev.PoSynced)) == 1:
            # The QBO connection is revoked (e.g. from Intuit's app management page).
            r = httpx.post(w.server.url + "/_sandbox/oauth/revoke-all", timeout=10)
            assert r.status_code < 300, r.text

    w.engine.subscribe(revoke_after_first_bill)
    summary = await w.engine.scan_once()

    assert summary.synced == 1 and summary.failed == 0 and summary.skipped == 3
    assert summary.stopped is not None and summary.stopped.code == "qbo_auth"
    [stop] = w.of(ev.ScanStopped)
    assert stop.service == "qbo" and "Reconnect QuickBooks" in stop.fix
    assert not w.of(ev.PoFailed) and w.todos() == []
    assert [w.po(x)["externalPONumber"] for x in pos] == ["1", None, None, None]
    assert len(w.bills()) == 1
    assert [n.cause_code for n in w.notifier.sent] == ["qbo_auth"]


async def test_autotask_down_stops_the_scan_without_failing_pos(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)])
    w = await world_factory(seed)
    # Every Autotask call answers 503 (the client retries, then gives up).
    w.server.sandbox.faults.add(FaultRule(kind="503", service="autotask", path="PurchaseOrders"))
    w.at.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)  # give up fast

    summary = await w.engine.scan_once()

    assert summary.stopped is not None and summary.stopped.code == "autotask_down"
    assert w.of(ev.ScanStopped)[0].service == "autotask"
    assert [e.service for e in w.of(ev.RateLimited)] == ["autotask"]  # the one resend before giving up
    assert w.bills() == [] and w.todos() == [] and len(w.store.errors) == 0
    w.server.sandbox.faults.clear()
    assert (await w.engine.scan_once()).synced == 1 and w.po(po)["externalPONumber"] == "1"


@pytest.mark.parametrize("wrong", [
    {"secret": "expired-secret"},  # the API user's password has expired: Autotask answers 401
    {"integration_code": "WRONG-CODE"},  # Autotask answers 500, as for a refused request
])
async def test_autotask_credentials_refused_stop_the_scan_with_one_message(world_factory, wrong):
    from sync.clients.autotask import AutotaskClient
    from sync.engine import Engine

    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    pos = [_po(seed, vendor, items=[_line(p, 1, 5)]) for _ in range(2)]
    w = await world_factory(seed)
    creds = {**w.server.sandbox.credentials(w.server.url)["autotask"], **wrong}
    expired = AutotaskClient(creds["username"], creds["integration_code"], creds["secret"],
                             zone_lookup_base=w.server.url)
    engine = Engine(w.store, expired, w.qbo, notifier=w.notifier)
    seen = []
    engine.subscribe(seen.append)
    try:
        summary = await engine.scan_once()
    finally:
        await expired.aclose()

    assert summary.stopped is not None and summary.stopped.code == "autotask_auth"
    stops = [e for e in seen if isinstance(e, ev.ScanStopped)]
    assert len(stops) == 1 and stops[0].service == "autotask" and "secret" in stops[0].fix
    assert "expired-secret" not in stops[0].cause and "WRONG-CODE" not in stops[0].cause  # never a credential
    assert not [e for e in seen if isinstance(e, (ev.PoFailed, ev.RateLimited))]  # a stop, not retries
    assert w.bills() == [] and w.todos() == [] and all(w.po(x)["externalPONumber"] in (None, "") for x in pos)


async def test_settings_problems_stop_the_scan_once_without_touching_pos(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)])
    w = await world_factory(seed, ap_account="Nonexistent A/P")

    summary = await w.engine.scan_once()
    assert summary.stopped is not None and summary.stopped.code == "ap_account_missing"
    assert "Nonexistent A/P" in summary.stopped.cause

    w.set(ap_account="Accounts Payable (A/P)")  # by name works as well as by id
    w.set(todo_resource=None)
    summary = await w.engine.scan_once()
    assert summary.stopped is not None and summary.stopped.code == "settings_incomplete"
    assert "todo_resource" in summary.stopped.cause
    assert w.todos() == [] and w.bills() == [] and w.po(po)["externalPONumber"] in (None, "")

    w.set(todo_resource=BUYER)
    assert (await w.engine.scan_once()).synced == 1


async def test_a_cleared_number_gets_the_same_bill_back_never_a_second_one(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    po = _po(seed, vendor, items=[_line(p, 1, 5)])
    w = await world_factory(seed)
    await w.engine.scan_once()
    [bill] = w.bills()

    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"externalPONumber": ""})
    assert (await w.engine.scan_once()).synced == 1
    assert w.bills() == [bill] and w.po(po)["externalPONumber"] == bill["DocNumber"]

    # The bill is deleted in QBO, then the number cleared again: no silent second bill.
    await w.qbo.delete("Bill", bill["Id"], bill["SyncToken"])
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"externalPONumber": None})
    summary = await w.engine.scan_once()
    assert summary.failed == 1 and w.bills() == []
    _assert_failed(w, po, "bill_deleted")
