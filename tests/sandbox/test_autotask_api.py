"""Autotask emulator over real sockets: zone lookup, auth, reads, writes, child writes,
picklists from the seed, and refusal of invented features (reference §9)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from sync.sandbox.autotask import empty_autotask_seed
from sync.sandbox.autotask.seed import AutotaskSeed
from tests.sandbox.autotask_helpers import AT, error_of, serve


def tenant() -> AutotaskSeed:
    seed = empty_autotask_seed()
    usd = 1
    seed.add_currency("EUR", 0.5, description="Euro", id=2, displaySymbol=2)
    v1 = seed.add_vendor("Ingram Micro", id=100, currency_id=usd)
    v2 = seed.add_vendor("Euro Parts GmbH", id=101, currency_id=2)
    seed.add_company("Acme Dental", "Customer", id=200)
    p = seed.add_product("Laptop 14", 800.0, id=300, sku="LT-14")
    seed.add_po(v1, "New", id=1000, items=[{"productID": p, "quantity": 2, "unitCost": 800.0}])
    seed.add_po(v1, "Submitted", id=1001, items=[{"productID": p, "quantity": 1, "unitCost": 790.0}])
    seed.add_po(v2, "Received Full", id=1002, freight=10.0)
    return seed


@pytest.fixture
def at() -> Iterator[AT]:
    seed = tenant()
    with serve(seed) as server:
        client = AT(server, seed)
        yield client
        client.close()


def test_zone_lookup_answers_this_server_without_auth_and_any_path_casing(at: AT) -> None:
    url = at.server.url
    for path in ("/atservicesrest/v1.0/zoneInformation", "/ATServicesRest/V1.0/ZoneInformation"):
        r = httpx.get(url + path, params={"user": "ATQBO-API@sandbox.example"})
        assert r.status_code == 200
        body = r.json()
        assert set(body) == {"zoneName", "url", "webUrl", "ci"}
        assert body["url"] == url + "/ATServicesRest/"
    r = httpx.get(url + "/atservicesrest/v1.0/zoneInformation", params={"user": "nobody@example.com"})
    assert r.status_code == 500 and "Unable to find user" in error_of(r)


@pytest.mark.parametrize("override, status", [
    ({"Secret": "wrong"}, 401),
    ({"UserName": "someone@else"}, 500), ({"UserName": ""}, 500),
    ({"ApiIntegrationCode": "OTHER"}, 500), ({"ApiIntegrationCode": "OTHER", "Secret": "wrong"}, 500),
])
def test_wrong_credentials(at: AT, override: dict, status: int) -> None:
    # Real Autotask: an unknown user or a wrong integration code is HTTP 500, a wrong secret 401
    # (apigrate/autotask-restapi#19). The 500 keeps Autotask's {"errors": [...]} shape and does not
    # ask to be retried.
    at.headers.update(override)
    for path in ("Companies/0", "ThresholdInformation", "PurchaseOrders/entityInformation/fields"):
        r = at.get(path)
        assert r.status_code == status
        assert error_of(r) and "try again" not in error_of(r).lower()
        assert "sandbox-secret" not in r.text and "OTHER" not in r.text


def test_missing_headers_and_basic_auth_are_refused(at: AT) -> None:
    # No UserName header is no known user: 500, as for an unknown one.
    r = httpx.get(at.base + "Companies/0", auth=("atqbo-api@sandbox.example", "sandbox-secret-not-for-production"))
    assert r.status_code == 500 and r.json()["errors"]


def test_header_names_and_path_are_case_insensitive(at: AT) -> None:
    seed = empty_autotask_seed()
    headers = {"apiintegrationcode": seed.integration_code, "USERNAME": seed.username, "secret": seed.secret}
    r = httpx.get(at.server.url + "/atservicesrest/v1.0/companies/200", headers=headers)
    assert r.status_code == 200 and r.json()["item"]["companyName"] == "Acme Dental"


def test_get_by_id_and_not_found(at: AT) -> None:
    item = at.get("PurchaseOrders/1000").json()["item"]
    assert item["vendorID"] == 100 and item["status"] == 1 and item["purchaseOrderNumber"] == "1000"
    r = at.get("PurchaseOrders/999999")
    assert r.status_code == 200 and r.json() == {"item": None}
    assert at.get("Companies/0").json()["item"]["companyName"] == "Sandbox Local Organization"


def test_create_and_patch_purchase_order(at: AT) -> None:
    r = at.post("PurchaseOrders", {"VendorID": 101, "shipToName": "Dock", "shipToAddress1": "2 Quay", "freight": 20})
    assert r.status_code == 200
    po_id = r.json()["itemId"]
    po = at.get(f"PurchaseOrders/{po_id}").json()["item"]
    assert po["status"] == 1  # the picklist default (New)
    assert po["freight"] == 20.0 and po["internalCurrencyFreight"] == 40.0  # EUR at 0.5 per internal unit
    assert po["createDateTime"].endswith("Z") and po["creatorResourceID"] == 29682885
    r = at.patch("PurchaseOrders", {"id": po_id, "status": 2, "vendorInvoiceNumber": "INV-9"})
    assert r.status_code == 200 and r.json() == {"itemId": po_id}
    po = at.get(f"PurchaseOrders/{po_id}").json()["item"]
    assert po["status"] == 2 and po["vendorInvoiceNumber"] == "INV-9" and po["submitDateTime"]


def test_writes_validate_like_the_api(at: AT) -> None:
    r = at.post("PurchaseOrders", {"vendorID": 100})
    assert r.status_code == 500 and "shipToName" in error_of(r)
    r = at.patch("PurchaseOrders", {"status": 2})
    assert r.status_code == 500 and "id" in error_of(r)
    r = at.patch("PurchaseOrders", {"id": 1000, "purchaseOrderNumber": "X-1"})
    assert r.status_code == 500 and "read-only" in error_of(r)
    r = at.patch("PurchaseOrders", {"id": 1000, "vendorID": 101})
    assert r.status_code == 500 and "read-only" in error_of(r)
    r = at.patch("PurchaseOrders", {"id": 1000, "status": 42})
    assert r.status_code == 500 and "picklist" in error_of(r)
    r = at.post("PurchaseOrders", {"vendorID": 9999, "shipToName": "a", "shipToAddress1": "b"})
    assert r.status_code == 500 and "vendorID" in error_of(r)
    r = at.patch("PurchaseOrders", {"id": 1000, "frieght": 1})
    assert r.status_code == 500 and "frieght" in error_of(r)
    r = at.patch("PurchaseOrders", {"id": 424242, "freight": 1})
    assert r.status_code == 500 and "No matching records" in error_of(r)
    assert at.get("PurchaseOrders/1000").json()["item"]["status"] == 1  # nothing changed


def test_items_only_through_the_parent_and_only_while_new(at: AT) -> None:
    r = at.post("PurchaseOrders/1000/Items", {"productID": 300, "quantity": 3, "unitCost": 10.5, "inventoryLocationID": 1})
    assert r.status_code == 200
    item_id = r.json()["itemId"]
    item = at.get(f"PurchaseOrderItems/{item_id}").json()["item"]
    assert item["orderID"] == 1000 and item["quantity"] == 3
    listed = at.get("PurchaseOrders/1000/Items").json()["items"]
    assert item_id in [i["id"] for i in listed] and all(i["orderID"] == 1000 for i in listed)
    # no direct create of the child entity (the swagger has no /PurchaseOrderItems root)
    assert at.post("PurchaseOrderItems", {"orderID": 1000, "quantity": 1, "unitCost": 1}).status_code in (404, 405)
    # "PurchaseOrderItems can only be created for PurchaseOrders with a status of New."
    r = at.post("PurchaseOrders/1001/Items", {"quantity": 1, "unitCost": 1, "inventoryLocationID": 1})
    assert r.status_code == 500 and "status of New" in error_of(r)
    # updates allowed while New/Submitted/Received Partial, refused once Received Full
    submitted_item = at.get("PurchaseOrders/1001/Items").json()["items"][0]["id"]
    assert at.patch("PurchaseOrders/1001/Items", {"id": submitted_item, "memo": "ok"}).status_code == 200
    r = at.patch("PurchaseOrders/1000/Items", {"id": submitted_item, "memo": "wrong parent"})
    assert r.status_code == 500
    r = at.post("PurchaseOrders/1000/Items", {"orderID": 1001, "quantity": 1, "unitCost": 1, "inventoryLocationID": 1})
    assert r.status_code == 500 and "orderID" in error_of(r)


def test_todos_through_companies_including_local_org(at: AT) -> None:
    body = {"actionType": 3, "assignedToResourceID": 29682886, "activityDescription": "PO 1002 failed to sync",
            "startDateTime": "2024-05-01T09:00:00Z", "endDateTime": "2024-05-01T09:30:00Z"}
    r = at.post("Companies/0/ToDos", body)
    assert r.status_code == 200, r.text
    todo_id = r.json()["itemId"]
    todo = at.get(f"CompanyToDos/{todo_id}").json()["item"]
    assert todo["companyID"] == 0 and todo["startDateTime"] == "2024-05-01T09:00:00.000Z"
    assert at.patch("Companies/0/ToDos", {"id": todo_id, "completedDate": "2024-05-02T00:00:00Z"}).status_code == 200
    hits = at.ids("CompanyToDos", {"op": "exist", "field": "completedDate"})
    assert hits == [todo_id]
    # the child entity has no root writes, and the field is assignedToResourceID, not assignedResourceID
    assert at.post("CompanyToDos", body).status_code in (404, 405)
    bad = {**body, "assignedResourceID": 29682886}
    del bad["assignedToResourceID"]
    assert at.post("Companies/0/ToDos", bad).status_code == 500
    assert at.post("Companies/0/ToDos", {**body, "actionType": 77}).status_code == 500


def test_verbs_follow_the_swagger(at: AT) -> None:
    assert at.post("Resources", {"firstName": "X"}).status_code == 405  # no create for Resources
    assert at.post("Currencies", {"name": "GBP"}).status_code == 405
    assert at.request("PUT", "PurchaseOrders/1000", content=json.dumps({"freight": 1})).status_code == 405
    assert at.request("DELETE", "PurchaseOrders/1000").status_code == 405
    assert at.request("DELETE", "Companies/200").status_code == 405
    r = at.post("ActionTypes", {"name": "Sync failure", "view": 1})
    new_id = r.json()["itemId"]
    assert at.request("DELETE", f"ActionTypes/{new_id}").json() == {"itemId": new_id}
    assert at.get(f"ActionTypes/{new_id}").json() == {"item": None}
    assert at.request("DELETE", "ActionTypes/1").status_code == 500  # system action type
    assert at.get("Tickets/1").status_code == 404  # not an entity this emulator serves


def test_put_replaces_the_record(at: AT) -> None:
    r = at.request("PUT", "Products", content=json.dumps({"id": 300, "name": "Laptop 15"}))
    assert r.status_code == 200
    product = at.get("Products/300").json()["item"]
    assert product["name"] == "Laptop 15" and product["sku"] is None and product["unitCost"] is None


def test_entity_information_and_picklists_as_strings(at: AT) -> None:
    info = at.get("PurchaseOrders/entityInformation").json()["info"]
    assert info["canCreate"] and info["canUpdate"] and info["canQuery"] and not info["canDelete"]
    fields = {f["name"]: f for f in at.get("PurchaseOrders/entityInformation/fields").json()["fields"]}
    status = fields["status"]
    assert status["isPickList"] is True
    labels = {pv["label"]: pv["value"] for pv in status["picklistValues"]}
    assert labels["New"] == "1" and labels["Submitted"] == "2"
    assert all(isinstance(pv["value"], str) for pv in status["picklistValues"])
    assert fields["purchaseOrderNumber"]["isReadOnly"] is True
    types = {pv["label"]: pv["value"] for pv in
             next(f for f in at.get("Companies/entityInformation/fields").json()["fields"]
                  if f["name"] == "companyType")["picklistValues"]}
    assert types["Vendor"] == "7" and types["Customer"] == "1"
    udfs = at.get("Companies/entityInformation/userDefinedFields").json()["fields"]
    assert [u["name"] for u in udfs] == ["CustomerRanking"]


def test_picklist_values_come_from_the_seed() -> None:
    seed = empty_autotask_seed()
    seed.set_picklist("PurchaseOrders", "status",
                      [(3, "New"), (7, "Submitted"), (8, "Received Partial"), (9, "Received Full"), (11, "Canceled")],
                      default=3)
    vendor = seed.add_vendor("Odd Tenant Supply")
    po_new = seed.add_po(vendor, "New")
    po_sub = seed.add_po(vendor, "Submitted")
    with serve(seed) as server:
        at = AT(server, seed)
        fields = at.get("PurchaseOrders/entityInformation/fields").json()["fields"]
        status = next(f for f in fields if f["name"] == "status")
        assert {pv["label"]: pv["value"] for pv in status["picklistValues"]}["Submitted"] == "7"
        assert at.ids("PurchaseOrders", {"op": "eq", "field": "status", "value": 7}) == [po_sub]
        # the rules follow the labels, not hard-coded numbers: items only while "New" (= 3 here)
        assert at.post(f"PurchaseOrders/{po_new}/Items",
                       {"quantity": 1, "unitCost": 2, "inventoryLocationID": 1}).status_code == 200
        assert at.post(f"PurchaseOrders/{po_sub}/Items",
                       {"quantity": 1, "unitCost": 2, "inventoryLocationID": 1}).status_code == 500
        assert at.patch("PurchaseOrders", {"id": po_new, "status": 2}).status_code == 500  # 2 is no value here
        assert at.patch("PurchaseOrders", {"id": po_new, "status": 7}).status_code == 200
        at.close()


def test_admin_routes_change_state_and_picklists(at: AT) -> None:
    r = at.admin("PATCH", "entities/PurchaseOrders/1002", {"status": 2})
    assert r.status_code == 200 and r.json()["status"] == 2
    assert at.get("PurchaseOrders/1002").json()["item"]["status"] == 2
    r = at.admin("POST", "entities/Companies", {"companyName": "Direct Co", "companyType": 7})
    assert r.status_code == 201
    assert at.get(f"Companies/{r.json()['id']}").json()["item"]["companyName"] == "Direct Co"
    assert at.admin("DELETE", "entities/Companies/200").status_code == 200
    assert at.get("Companies/200").json() == {"item": None}
    assert at.admin("PATCH", "entities/Companies/0", {"noSuchField": 1}).status_code == 400
    r = at.admin("PUT", "picklists/PurchaseOrders/status", [{"value": 1, "label": "New"}, {"value": 7, "label": "Submitted"}])
    assert [pv["value"] for pv in r.json()] == ["1", "7"]
    assert at.patch("PurchaseOrders", {"id": 1000, "status": 2}).status_code == 500
    assert at.admin("GET", "entities").json()["PurchaseOrders"] == 3
    state = httpx.get(at.server.url + "/_sandbox/state").json()["autotask"]
    assert [po["id"] for po in state["entities"]["PurchaseOrders"]] == [1000, 1001, 1002]
    json.dumps(state)


def test_credentials_and_fault_body(at: AT) -> None:
    creds = httpx.get(at.server.url + "/_sandbox/credentials").json()["autotask"]
    assert creds["zone_lookup_url"] == at.server.url + "/atservicesrest/v1.0/zoneInformation"
    assert creds["zone_url"] == at.server.url + "/ATServicesRest/"
    assert creds["username"] == "atqbo-api@sandbox.example" and creds["secret"]
    httpx.post(at.server.url + "/_sandbox/faults", json={"kind": "429", "service": "autotask", "times": 1})
    r = at.get("Companies/0")
    assert r.status_code == 429 and "thread threshold of 3 threads has been exceeded" in error_of(r)
    assert at.get("Companies/0").status_code == 200


def test_impersonation_attributes_the_write(at: AT) -> None:
    body = {"actionType": 3, "assignedToResourceID": 29682886, "activityDescription": "as Pat",
            "startDateTime": "2024-05-01T09:00:00Z", "endDateTime": "2024-05-01T09:30:00Z"}
    at.headers["ImpersonationResourceId"] = "29682886"
    todo_id = at.post("Companies/200/ToDos", body).json()["itemId"]
    todo = at.get(f"CompanyToDos/{todo_id}").json()["item"]
    assert todo["creatorResourceID"] == 29682886 and todo["impersonatorCreatorResourceID"] == 29682885
    at.headers["ImpersonationResourceId"] = "5"
    r = at.post("Companies/200/ToDos", body)
    assert r.status_code == 500 and "adequate permissions" in error_of(r)


def test_child_entity_information_through_the_parent(at: AT) -> None:
    fields = at.get("PurchaseOrders/1000/Items/entityInformation/fields").json()["fields"]
    assert "inventoryLocationID" in {f["name"] for f in fields}
    assert at.get("Companies/0/ToDos/entityInformation").json()["info"]["canCreate"] is True


def test_injected_gateway_faults_are_not_json(at: AT) -> None:
    httpx.post(at.server.url + "/_sandbox/faults", json={"kind": "503", "service": "autotask", "times": 1})
    r = at.get("Companies/0")
    assert r.status_code == 503 and r.headers["content-type"].startswith("text/html")
    httpx.post(at.server.url + "/_sandbox/faults", json={"kind": "500", "service": "autotask", "times": 1})
    r = at.get("Companies/0")
    assert r.status_code == 500
    error_of(r)


def test_an_api_user_without_a_permission_is_told_so_by_entity_information_and_refused(at: AT) -> None:
    """A security level that does not allow a write: entityInformation's userAccessFor* says so
    (the entity still supports it: can*), and the write gets Autotask's permissions error as a
    500 (reference §6.1: returned as 500 'even though the docs state that HTTP 403 should be')."""
    assert at.admin("PUT", "rights", {"PurchaseOrders": ["update"], "CompanyToDos": ["create"]}).status_code == 200
    info = at.get("PurchaseOrders/entityInformation").json()["info"]
    assert info["canUpdate"] is True and info["userAccessForUpdate"] == "None"
    assert at.get("Companies/0/ToDos/entityInformation").json()["info"]["userAccessForCreate"] == "None"
    r = at.patch("PurchaseOrders", {"id": 1000, "externalPONumber": "B-1"})
    assert r.status_code == 500 and "adequate permissions to update" in error_of(r)
    assert at.get("PurchaseOrders/1000").json()["item"]["externalPONumber"] in (None, "")
    body = {"actionType": 3, "assignedToResourceID": 29682886, "activityDescription": "x",
            "startDateTime": "2024-05-01T09:00:00Z", "endDateTime": "2024-05-01T09:30:00Z"}
    assert "adequate permissions to create" in error_of(at.post("Companies/200/ToDos", body))
    assert at.admin("PUT", "rights", {"PurchaseOrders": ["delete"]}).status_code == 400  # only create / update
    assert at.admin("PUT", "rights", {}).json() == {}
    assert at.patch("PurchaseOrders", {"id": 1000, "externalPONumber": "B-1"}).status_code == 200
