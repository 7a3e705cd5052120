"""QBO entities over real sockets: create and read, computed fields, and every documented Fault
(reference/qbo-api.md §4, §5)."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.qbo_helpers import Qbo, fault_of, qbo, qbo_server  # noqa: F401 - fixtures


def line(item: str, qty: float, price: float, amount: float | None = None, **detail: object) -> dict:
    return {"DetailType": "ItemBasedExpenseLineDetail", "Amount": qty * price if amount is None else amount,
            "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}, "Qty": qty, "UnitPrice": price, **detail}}


def test_create_and_read_each_entity(qbo):
    created = {
        "vendor": qbo.post("vendor", {"DisplayName": "New Vendor", "CompanyName": "New Vendor LLC"}),
        "customer": qbo.post("customer", {"DisplayName": "New Customer"}),
        "account": qbo.post("account", {"Name": "Hardware", "AccountType": "Expense",
                                        "AccountSubType": "SuppliesMaterials"}),
        "item": qbo.post("item", {"Name": "Router", "Type": "NonInventory", "ExpenseAccountRef": {"value": "21"}}),
    }
    for path, r in created.items():
        assert r.status_code == 200, r.text
        body = r.json()
        entity = next(k for k in body if k != "time")
        rec = body[entity]
        assert entity.lower() == path
        assert rec["SyncToken"] == "0" and rec["domain"] == "QBO" and rec["sparse"] is False and rec["Id"]
        again = qbo.get(f"{path}/{rec['Id']}")
        assert again.status_code == 200 and again.json()[entity] == rec
    item = created["item"].json()["Item"]
    assert item["ExpenseAccountRef"] == {"value": "21", "name": "Supplies"}
    assert item["FullyQualifiedName"] == "Router"
    account = created["account"].json()["Account"]
    assert account["Classification"] == "Expense" and account["CurrencyRef"]["value"] == "USD"


def test_vendor_display_name_generated_from_name_parts(qbo):
    r = qbo.post("vendor", {"GivenName": "Jane", "FamilyName": "Doe"})
    assert r.json()["Vendor"]["DisplayName"] == "Jane Doe"
    assert fault_of(qbo.post("vendor", {"CompanyName": "No Name Parts"}))["code"] == "2020"


def test_bill_with_computed_totals(qbo):
    r = qbo.post("bill", {"VendorRef": {"value": "101"}, "DocNumber": "PO-77", "APAccountRef": {"value": "33"},
                          "PrivateNote": "Autotask PO 77",
                          "Line": [line("301", 2, 10.125, 20.25, CustomerRef={"value": "201"},
                                        BillableStatus="Billable"),
                                   line("303", 1, 5.5),
                                   {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 4.25,
                                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "7"}}}],
                          "TotalAmt": 999, "Balance": 999})
    assert r.status_code == 200, r.text
    bill = r.json()["Bill"]
    assert bill["TotalAmt"] == 30.0 and bill["Balance"] == 30.0  # client values are overwritten
    assert bill["VendorRef"] == {"value": "101", "name": "Ingram Micro"}
    assert bill["APAccountRef"] == {"value": "33", "name": "Accounts Payable (A/P)"}
    assert bill["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    first = bill["Line"][0]
    assert first["Id"] == "1" and first["ItemBasedExpenseLineDetail"]["CustomerRef"]["name"] == "Acme Dental"
    assert first["ItemBasedExpenseLineDetail"]["BillableStatus"] == "Billable"
    assert bill["Line"][1]["ItemBasedExpenseLineDetail"]["BillableStatus"] == "NotBillable"
    assert bill["TxnDate"] == bill["DueDate"]
    assert "ExchangeRate" not in bill  # multi-currency is off
    vendor = qbo.get("vendor/101").json()["Vendor"]
    assert vendor["Balance"] == 1800 + 30  # the seeded bill plus this one


def test_ap_account_implied_when_there_is_one(qbo):
    r = qbo.post("bill", {"VendorRef": {"value": "102"}, "Line": [line("303", 1, 1)]})
    assert r.json()["Bill"]["APAccountRef"]["value"] == "33"


def test_read_missing_record(qbo):
    r = qbo.get("vendor/99999")
    assert r.status_code == 400 and fault_of(r)["code"] == "610"


@pytest.mark.parametrize("path, body, kind", [
    ("vendor", {"DisplayName": "Acme Dental"}, "customer"),  # a customer holds the name
    ("customer", {"DisplayName": "ingram micro"}, "vendor"),  # case-insensitive
    ("customer", {"DisplayName": "Old Supplier"}, "vendor"),  # inactive records count too
    ("vendor", {"DisplayName": "Emily Employee"}, "employee"),
])
def test_6240_duplicate_name_across_customers_vendors_employees(qbo, path, body, kind):
    r = qbo.post(path, body)
    assert r.status_code == 400
    err = fault_of(r)
    assert err["code"] == "6240" and err["Message"] == "Duplicate Name Exists Error"
    assert f"Another {kind} is already using this name" in err["Detail"]
    assert r.json()["Fault"]["type"] == "ValidationFault"


def test_items_and_accounts_have_their_own_namespaces(qbo):
    assert qbo.post("item", {"Name": "Acme Dental", "ExpenseAccountRef": {"value": "21"}}).status_code == 200
    assert fault_of(qbo.post("item", {"Name": "laptop", "ExpenseAccountRef": {"value": "21"}}))["code"] == "6240"
    assert fault_of(qbo.post("account", {"Name": "Supplies", "AccountType": "Expense"}))["code"] == "6240"


@pytest.mark.parametrize("path, body", [
    ("vendor", {"DisplayName": "Parent:Child"}),
    ("vendor", {"DisplayName": "Tab\tCo"}),
    ("customer", {"DisplayName": "New\nLine"}),
    ("vendor", {"DisplayName": "Fine", "GivenName": "A:B"}),
    ("item", {"Name": "Cable:Cat6", "ExpenseAccountRef": {"value": "21"}}),
    ("account", {"Name": 'Quote"d', "AccountType": "Expense"}),
])
def test_forbidden_characters(qbo, path, body):
    r = qbo.post(path, body)
    assert r.status_code == 400
    assert fault_of(r)["code"] == "6000"


@pytest.mark.parametrize("path, body, limit", [
    ("vendor", {"DisplayName": "V" * 501}, 500),
    ("item", {"Name": "I" * 101, "ExpenseAccountRef": {"value": "21"}}, 100),
    ("account", {"Name": "A" * 101, "AccountType": "Expense"}, 100),
    ("bill", {"VendorRef": {"value": "101"}, "DocNumber": "D" * 22, "Line": [line("301", 1, 1)]}, 21),
    ("bill", {"VendorRef": {"value": "101"}, "PrivateNote": "P" * 4001, "Line": [line("301", 1, 1)]}, 4000),
])
def test_lengths(qbo, path, body, limit):
    err = fault_of(qbo.post(path, body))
    assert err["code"] == "2050"
    assert f"Max:{limit:,} supported" in err["Detail"]


def test_lengths_at_the_limit_pass(qbo):
    assert qbo.post("vendor", {"DisplayName": "V" * 500}).status_code == 200
    assert qbo.post("item", {"Name": "I" * 100, "ExpenseAccountRef": {"value": "21"}}).status_code == 200
    r = qbo.post("bill", {"VendorRef": {"value": "101"}, "DocNumber": "D" * 21, "Line": [line("301", 1, 1)]})
    assert r.status_code == 200


def test_6140_duplicate_doc_number_only_behind_the_preference(qbo):
    bill = {"VendorRef": {"value": "101"}, "DocNumber": "1001", "Line": [line("301", 1, 1)]}
    assert qbo.post("bill", bill).status_code == 200  # warning off: duplicates allowed
    r = qbo.http.patch("/_sandbox/qbo/preferences", json={"warn_duplicate_bill_number": True})
    assert r.status_code == 200
    prefs = qbo.get("preferences").json()["Preferences"]
    assert {"Name": "WarnDuplicateBillNumber", "Value": "true"} in prefs["OtherPrefs"]["NameValue"]
    r = qbo.post("bill", bill)
    assert r.status_code == 400
    err = fault_of(r)
    assert err["code"] == "6140" and err["Message"] == "Duplicate Document Number Error"
    assert "DocNumber=1001 is assigned to TxnType=Bill with TxnId=401" in err["Detail"]
    # Same number for another vendor: allowed (scope is the vendor by default).
    assert qbo.post("bill", {**bill, "VendorRef": {"value": "102"}}).status_code == 200
    # The documented bypass.
    assert qbo.post("bill", bill, params={"include": "allowduplicatedocnum"}).status_code == 200


def test_6000_item_not_purchasable(qbo):
    r = qbo.post("bill", {"VendorRef": {"value": "101"}, "Line": [line("302", 1, 100)]})
    assert r.status_code == 400
    err = fault_of(r)
    assert err["code"] == "6000"
    assert err["Message"] == "A business validation error has occurred while processing your request"
    assert "Consulting" in err["Detail"]
    # The demo's "fix the cause": give the item an expense account, then the same bill goes through.
    fix = qbo.http.patch("/_sandbox/qbo/entities/Item/302", json={"ExpenseAccountRef": {"value": "22"}})
    assert fix.status_code == 200
    assert qbo.post("bill", {"VendorRef": {"value": "101"}, "Line": [line("302", 1, 100)]}).status_code == 200


def test_purchase_cost_needs_an_expense_account(qbo):
    r = qbo.post("item", {"Name": "Cost Only", "Type": "Service", "IncomeAccountRef": {"value": "79"},
                          "PurchaseCost": 5})
    assert fault_of(r)["code"] == "2020"


def test_6070_amount_must_equal_qty_times_price(qbo):
    r = qbo.post("bill", {"VendorRef": {"value": "101"}, "Line": [line("301", 3, 3.33, 10.0)]})
    err = fault_of(r)
    assert err["code"] == "6070" and err["Message"] == "Amount is not equal to UnitPrice * Qty"
    # round-half-up to cents: 3 × 3.335 = 10.005 → 10.01
    assert qbo.post("bill", {"VendorRef": {"value": "101"}, "Line": [line("301", 3, 3.335, 10.01)]}).status_code == 200
    # switchable, for a company where QBO does not check bill lines
    qbo.http.patch("/_sandbox/qbo/preferences", json={"check_line_amounts": False})
    assert qbo.post("bill", {"VendorRef": {"value": "101"}, "Line": [line("301", 8, 10, 100)]}).status_code == 200


@pytest.mark.parametrize("body, code", [
    ({"VendorRef": {"value": "9999"}, "Line": [line("301", 1, 1)]}, "2500"),
    ({"VendorRef": {"value": "103"}, "Line": [line("301", 1, 1)]}, "610"),  # inactive vendor
    ({"VendorRef": {"value": "101"}, "Line": [line("9999", 1, 1)]}, "2500"),
    ({"VendorRef": {"value": "101"}, "Line": [line("304", 1, 1)]}, "610"),  # inactive item
    ({"VendorRef": {"value": "101"}, "Line": [line("301", 1, 1, CustomerRef={"value": "777"})]}, "2500"),
    ({"VendorRef": {"value": "101"}, "APAccountRef": {"value": "4040"}, "Line": [line("301", 1, 1)]}, "2500"),
    ({"VendorRef": {"value": "101"}, "APAccountRef": {"value": "21"}, "Line": [line("301", 1, 1)]}, "6000"),
    ({"Line": [line("301", 1, 1)]}, "2020"),
    ({"VendorRef": {"value": "101"}}, "2020"),
    ({"VendorRef": {"value": "101"}, "Line": []}, "2020"),
    ({"VendorRef": {"value": "101"}, "Line": [{"DetailType": "ItemBasedExpenseLineDetail",
                                               "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "301"}}}]}, "2020"),
    ({"VendorRef": {"value": "101"}, "Line": [line("301", 1, 1, BillableStatus="HasBeenBilled")]}, "2170"),
])
def test_bill_reference_and_required_faults(qbo, body, code):
    r = qbo.post("bill", body)
    assert r.status_code == 400, r.text
    assert fault_of(r)["code"] == code
    assert qbo.rows("select count(*) from Bill", "Bill") == []  # nothing half-written
    assert qbo.query("select count(*) from Bill").json()["QueryResponse"]["totalCount"] == 1


def test_update_needs_current_sync_token(qbo):
    v = qbo.post("vendor", {"DisplayName": "Renamed Later"}).json()["Vendor"]
    r = qbo.post("vendor", {**v, "DisplayName": "Renamed Now"})
    assert r.status_code == 200 and r.json()["Vendor"]["SyncToken"] == "1"
    stale = qbo.post("vendor", {**v, "DisplayName": "Too Late"})
    assert fault_of(stale)["code"] == "5010"
    sparse = qbo.post("vendor", {"Id": v["Id"], "SyncToken": "1", "sparse": True, "CompanyName": "RN Inc"})
    assert sparse.json()["Vendor"]["DisplayName"] == "Renamed Now"
    assert sparse.json()["Vendor"]["CompanyName"] == "RN Inc"


def test_preferences_and_companyinfo(qbo):
    prefs = qbo.get("preferences").json()["Preferences"]
    assert prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}}
    info = qbo.get(f"companyinfo/{qbo.realm}").json()["CompanyInfo"]
    assert info["CompanyName"] == "Sandbox Company US" and info["Country"] == "US" and info["Id"] == "1"


def test_token_problems(qbo_server):
    client = Qbo(qbo_server)
    base = f"/v3/company/{client.realm}/companyinfo/{client.realm}"
    json_only = {"Accept": "application/json"}
    r = client.http.get(base, headers={"Authorization": "Bearer short", **json_only})
    assert r.status_code == 401
    body = r.json()
    assert body["fault"]["error"][0]["code"] == "3200"
    assert body["fault"]["error"][0]["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    assert body["fault"]["type"] == "AUTHENTICATION" and body["intuitObject"] is None and "Fault" not in body
    assert client.http.get(base, headers=json_only).json()["fault"]["error"][0]["code"] == "3200"
    # A live token used on another company: 403 code 3100.
    other = client.http.get("/v3/company/123/companyinfo/123",
                            headers={"Authorization": f"Bearer {client.token}", **json_only})
    assert other.status_code == 403
    assert other.json()["fault"]["error"][0]["code"] == "3100"
    client.close()


def test_injected_faults_answer_in_qbo_format(qbo):
    qbo.http.post("/_sandbox/faults", json={"kind": "503", "service": "qbo", "times": 1})
    r = qbo.get("preferences")
    assert r.status_code == 503 and fault_of(r)["code"] == "10000"
    qbo.http.post("/_sandbox/faults", json={"kind": "429", "service": "qbo", "times": 1})
    r = qbo.get("preferences")
    assert r.status_code == 429 and fault_of(r)["code"] == "3001"


def test_admin_routes(qbo):
    h: httpx.Client = qbo.http
    assert [v["DisplayName"] for v in h.get("/_sandbox/qbo/entities/vendor").json()][:2] == \
        ["Ingram Micro", "Bob's Burger Joint"]
    made = h.post("/_sandbox/qbo/entities/Customer", json={"Id": "777", "DisplayName": "Admin Made"})
    assert made.status_code == 201 and made.json()["Id"] == "777"
    dup = h.post("/_sandbox/qbo/entities/Customer", json={"DisplayName": "Admin Made"})
    assert dup.status_code == 400 and dup.json()["Fault"]["Error"][0]["code"] == "6240"
    renamed = h.patch("/_sandbox/qbo/entities/Customer/777", json={"DisplayName": "Admin Renamed"})
    assert renamed.json()["DisplayName"] == "Admin Renamed" and renamed.json()["SyncToken"] == "1"
    assert h.get("/_sandbox/qbo/entities/Customer/404").status_code == 404
    assert h.get("/_sandbox/qbo/entities/Widget").status_code == 404
    assert h.patch("/_sandbox/qbo/preferences", json={"colour": "red"}).status_code == 400
    assert h.patch("/_sandbox/qbo/limits", json={"per_second": 0}).status_code == 400
    state = h.get("/_sandbox/state").json()["qbo"]
    assert state["Customer"][-1]["DisplayName"] == "Admin Renamed"
    assert state["Preferences"]["CurrencyPrefs"]["HomeCurrency"] == {"value": "USD"}
    creds = h.get("/_sandbox/credentials").json()["qbo"]
    assert creds == {"realm_id": qbo.realm, "api_url": str(qbo.http.base_url).rstrip("/")}


def test_numbers_sent_for_strings_are_read_as_text(qbo):
    r = qbo.post("bill", {"VendorRef": {"value": "102"}, "DocNumber": 5005, "Line": [line("303", 1, 1)]})
    assert r.json()["Bill"]["DocNumber"] == "5005"
    assert fault_of(qbo.post("vendor", {"DisplayName": True}))["code"] == "2010"


def test_xml_when_accept_is_not_json(qbo):
    from xml.etree import ElementTree as ET

    ns = {"q": "http://schema.intuit.com/finance/v3"}
    r = qbo.get("vendor/102", headers={"Accept": "application/xml"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/xml")
    root = ET.fromstring(r.content)
    assert root.tag == "{http://schema.intuit.com/finance/v3}IntuitResponse" and root.get("time")
    vendor = root.find("q:Vendor", ns)
    assert vendor.get("domain") == "QBO" and vendor.find("q:DisplayName", ns).text == "Bob's Burger Joint"
    currency = vendor.find("q:CurrencyRef", ns)
    assert currency.text == "USD" and currency.get("name") == "United States Dollar"
    fault = ET.fromstring(qbo.post("vendor", {"DisplayName": "Acme Dental"}, headers={"Accept": "*/*"}).content)
    error = fault.find("q:Fault/q:Error", ns)
    assert fault.find("q:Fault", ns).get("type") == "ValidationFault" and error.get("code") == "6240"
    assert error.find("q:Message", ns).text == "Duplicate Name Exists Error"
    page = ET.fromstring(qbo.get("query", params={"query": "select * from Item"}, headers={"Accept": "text/xml"}).content)
    qr = page.find("q:QueryResponse", ns)
    assert qr.get("startPosition") == "1" and len(qr.findall("q:Item", ns)) == 3
    denied = qbo.http.get(qbo.url("preferences"), headers={"Authorization": "Bearer nope"})
    assert denied.status_code == 401
    assert ET.fromstring(denied.content).find("q:Fault/q:Error", ns).get("code") == "100"


def test_delete_bill_and_name_lists_only_inactivate(qbo):
    bill = qbo.post("bill", {"VendorRef": {"value": "102"}, "Line": [line("303", 1, 40)]}).json()["Bill"]
    assert qbo.get("vendor/102").json()["Vendor"]["Balance"] == 40
    stale = qbo.post("bill", {"Id": bill["Id"], "SyncToken": "7"}, params={"operation": "delete"})
    assert fault_of(stale)["code"] == "5010"
    r = qbo.post("bill", {"Id": bill["Id"], "SyncToken": "0"}, params={"operation": "delete"})
    assert r.json()["Bill"] == {"status": "Deleted", "domain": "QBO", "Id": bill["Id"]}
    assert fault_of(qbo.get(f"bill/{bill['Id']}"))["code"] == "610"
    assert qbo.get("vendor/102").json()["Vendor"]["Balance"] == 0
    assert fault_of(qbo.post("vendor", {"Id": "102", "SyncToken": "0"}, params={"operation": "delete"}))["code"] == "500"
    v = qbo.get("vendor/102").json()["Vendor"]
    gone = qbo.post("vendor", {**v, "Active": False}).json()["Vendor"]
    assert gone["Active"] is False
    assert qbo.rows("select * from Vendor where Id = '102'", "Vendor") == []
