"""Conformance: python-quickbooks (with Intuit's own intuitlib for OAuth), a client nobody here
wrote, works against the emulators as it does against Intuit: it discovers the OAuth endpoints,
refreshes its token, creates and queries records, reads QBO's faults and runs a batch."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

pytest.importorskip("quickbooks")
pytest.importorskip("intuitlib")

from intuitlib.client import AuthClient  # noqa: E402
from quickbooks import QuickBooks  # noqa: E402
from quickbooks.batch import batch_create  # noqa: E402
from quickbooks.exceptions import QuickbooksException  # noqa: E402
from quickbooks.objects.base import Ref  # noqa: E402
from quickbooks.objects.bill import Bill  # noqa: E402
from quickbooks.objects.customer import Customer  # noqa: E402
from quickbooks.objects.detailline import ItemBasedExpenseLine, ItemBasedExpenseLineDetail  # noqa: E402
from quickbooks.objects.item import Item  # noqa: E402
from quickbooks.objects.vendor import Vendor  # noqa: E402

from tests.sandbox.qbo_helpers import QboSandbox, rich_seed  # noqa: E402
from sync.sandbox.server import SandboxServer  # noqa: E402


@pytest.fixture
def qb(monkeypatch: pytest.MonkeyPatch) -> Iterator[QuickBooks]:
    # oauthlib (under requests-oauthlib) refuses plain http unless told this is a local test.
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    sandbox = QboSandbox(rich_seed())
    sandbox.knobs.limits_enabled = False
    with SandboxServer(sandbox) as server:
        creds = sandbox.credentials(server.url)
        oauth, api = creds["oauth"], creds["qbo"]
        # intuitlib takes a discovery document URL in place of "sandbox"/"production".
        auth = AuthClient(oauth["client_id"], oauth["client_secret"], "http://127.0.0.1:8000/callback",
                          environment=oauth["discovery_url"])
        assert auth.token_endpoint == oauth["token_url"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client = QuickBooks(auth_client=auth, refresh_token=oauth["refresh_token"], company_id=api["realm_id"],
                                minorversion=75)
        client.api_url_v3 = api["api_url"] + "/v3"  # the one base-URL knob: an instance attribute
        assert auth.refresh_token != oauth["refresh_token"]  # it refreshed, and the token rotated
        yield client


def test_create_vendor_and_query_a_name_with_an_apostrophe(qb):
    vendor = Vendor()
    vendor.DisplayName = "O'Brien Supplies"
    saved = vendor.save(qb=qb)
    assert vendor.Id and saved.SyncToken == "0" and saved.DisplayName == "O'Brien Supplies"
    found = Vendor.filter(DisplayName="O'Brien Supplies", qb=qb)
    assert [v.Id for v in found] == [vendor.Id]
    assert Vendor.get(vendor.Id, qb=qb).DisplayName == "O'Brien Supplies"
    assert Vendor.count("DisplayName LIKE 'O%'", qb=qb) == 1
    assert [v.DisplayName for v in Vendor.where("Active = True", order_by="DisplayName DESC", max_results=2,
                                                qb=qb)] == ["O'Brien Supplies", "Ingram Micro"]


def test_duplicate_name_raises_6240(qb):
    customer = Customer()
    customer.DisplayName = "Ingram Micro"  # a vendor has it
    with pytest.raises(QuickbooksException) as exc:
        customer.save(qb=qb)
    assert exc.value.error_code == 6240
    assert exc.value.message == "Duplicate Name Exists Error"


def test_create_bill(qb):
    laptop = Item.filter(Name="Laptop", qb=qb)[0]
    vendor = Vendor.filter(DisplayName="Bob's Burger Joint", qb=qb)[0]
    bill = Bill()
    bill.VendorRef = vendor.to_ref()
    bill.DocNumber = "PQB-1"
    line = ItemBasedExpenseLine()
    line.Amount = 1800
    line.ItemBasedExpenseLineDetail = ItemBasedExpenseLineDetail()
    line.ItemBasedExpenseLineDetail.ItemRef = laptop.to_ref()
    line.ItemBasedExpenseLineDetail.Qty = 2
    line.ItemBasedExpenseLineDetail.UnitPrice = 900
    bill.Line.append(line)
    saved = bill.save(qb=qb, request_id="pqb-bill-1")
    assert bill.Id and saved.TotalAmt == 1800 and saved.Balance == 1800
    again = Bill()
    again.VendorRef = vendor.to_ref()
    again.DocNumber = "PQB-1"
    again.Line.append(line)
    again.save(qb=qb, request_id="pqb-bill-1")  # same requestid: the original answer, no second bill
    assert again.Id == bill.Id
    assert Bill.count("DocNumber = 'PQB-1'", qb=qb) == 1


def test_unpurchasable_item_fault_reaches_the_client(qb):
    consulting = Item.filter(Name="Consulting", qb=qb)[0]
    bill = Bill()
    bill.VendorRef = Ref()
    bill.VendorRef.value = "101"
    line = ItemBasedExpenseLine()
    line.Amount = 10
    line.ItemBasedExpenseLineDetail = ItemBasedExpenseLineDetail()
    line.ItemBasedExpenseLineDetail.ItemRef = consulting.to_ref()
    bill.Line.append(line)
    with pytest.raises(QuickbooksException) as exc:
        bill.save(qb=qb)
    assert exc.value.error_code == 6000


def test_batch(qb):
    new, clash = Vendor(), Vendor()
    new.DisplayName = "Batch Supplier"
    clash.DisplayName = "Acme Dental"  # a customer has it
    result = batch_create([new, clash], qb=qb)
    assert [v.DisplayName for v in result.successes] == ["Batch Supplier"]
    assert result.successes[0].Id
    assert len(result.faults) == 1
    assert result.faults[0].Error[0].code == "6240"
    assert result.faults[0].original_object is clash


def test_item_all_asks_for_sku_and_gets_every_active_item(qb):
    # Item.all() sends "SELECT *, Sku FROM Item MAXRESULTS 100" (python-quickbooks 0.9.12+).
    widget = Item()
    widget.Name = "Widget"
    widget.Sku = "WID-1"
    widget.Type = "NonInventory"
    widget.ExpenseAccountRef = Ref()
    widget.ExpenseAccountRef.value = "21"
    widget.save(qb=qb)
    items = Item.all(qb=qb)
    assert sorted(i.Name for i in items) == ["Consulting", "Freight", "Laptop", "Widget"]
    assert next(i for i in items if i.Name == "Widget").Sku == "WID-1"
