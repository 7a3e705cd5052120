"""Shape conformance: every emulator response uses only field names (and JSON types) that the
Autotask swagger defines, per tests/fixtures/autotask_fields.json (made from the swagger by
tests/fixtures/make_autotask_fields.py), and required fields are present."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sync.sandbox.autotask import empty_autotask_seed
from tests.sandbox.autotask_helpers import AT, serve

FIXTURE = json.loads((Path(__file__).parents[1] / "fixtures" / "autotask_fields.json").read_text(encoding="utf-8"))
ENTITIES = FIXTURE["entities"]
MODELS = FIXTURE["models"]
# "object" marks the swagger's untyped $refs (System.Object, RestUserAccessLevel): any JSON value.
JSON_TYPES = {"integer": (int,), "number": (int, float), "string": (str,), "boolean": (bool,), "array": (list,),
              "object": (dict, list, str, int, float, bool)}


def check(obj: dict, spec: dict[str, dict], where: str, required: list[str] = ()) -> None:
    for name in required:
        assert name in obj and obj[name] is not None, f"{where}: required {name} missing"
    for name, value in obj.items():
        assert name in spec, f"{where}: field {name!r} is not in the swagger"
        if value is None:
            continue
        kind = spec[name]["type"]
        ok = JSON_TYPES[kind]
        assert isinstance(value, ok) and not (kind in ("integer", "number") and isinstance(value, bool)), \
            f"{where}.{name}: {value!r} is not a swagger {kind}"
        if spec[name].get("format") == "date-time":
            assert value.endswith("Z") and "T" in value, f"{where}.{name}: {value!r} is not a UTC date-time"
        if name == "userDefinedFields":
            for udf in value:
                check(udf, MODELS["UserDefinedField"], f"{where}.userDefinedFields")


@pytest.fixture(scope="module")
def at() -> Iterator[AT]:
    seed = empty_autotask_seed()
    vendor = seed.add_vendor("Ingram Micro", currency_id=1, userDefinedFields=[{"name": "CustomerRanking", "value": "A"}])
    product = seed.add_product("Switch 24p", 199.0, sku="SW-24", defaultVendorID=vendor)
    seed.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": 4, "unitCost": 199.0, "memo": "rack"}],
                submitDateTime="2024-03-01T10:00:00Z", vendorInvoiceNumber="INV-1")
    seed.add_todo(0, 3, 29682886, "2024-03-02T09:00:00Z", "2024-03-02T09:15:00Z", "check bill")
    with serve(seed) as server:
        client = AT(server, seed)
        yield client
        client.close()


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_items_and_item_use_swagger_fields(at: AT, entity: str) -> None:
    spec = ENTITIES[entity]["fields"]
    for via in ("GET", "POST"):
        r = at.query(entity, {"filter": [{"op": "exist", "field": "id"}]}, via=via)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"items", "pageDetails"}
        check(body["pageDetails"], MODELS["PagingModel"], f"{entity} pageDetails")
        assert body["items"], f"the seed has no {entity}"
        for item in body["items"]:
            check(item, spec, entity, FIXTURE["required"])
            # every swagger field (but the SOAP artefact) is present, null when empty
            assert set(spec) - {"soapParentPropertyId"} == set(item)
    one = body["items"][0]["id"]
    item = at.get(f"{entity}/{one}").json()
    assert set(item) == {"item"}
    check(item["item"], spec, entity, FIXTURE["required"])


@pytest.mark.parametrize("entity", list(ENTITIES))
def test_entity_information_uses_swagger_models(at: AT, entity: str) -> None:
    info = at.get(f"{entity}/entityInformation").json()
    assert set(info) == {"info"}
    check(info["info"], MODELS["EntityInformationModel"], f"{entity} info")
    fields = at.get(f"{entity}/entityInformation/fields").json()["fields"]
    spec = ENTITIES[entity]["fields"]
    assert {f["name"] for f in fields} == set(spec) - {"soapParentPropertyId", "userDefinedFields"}
    for field in fields:
        check(field, MODELS["FieldInformationModel"], f"{entity}.{field['name']}")
        for pv in field["picklistValues"] or []:
            check(pv, MODELS["PickListValue"], f"{entity}.{field['name']} picklist")
            assert isinstance(pv["value"], str)


def test_other_envelopes(at: AT) -> None:
    zone = at.http.get(at.server.url + "/atservicesrest/v1.0/zoneInformation",
                       params={"user": empty_autotask_seed().username}).json()
    check(zone, MODELS["ZoneInformationResultModel"], "zone", ["zoneName", "url", "webUrl", "ci"])
    threshold = at.get("ThresholdInformation").json()
    check(threshold, MODELS["ThresholdStatusResultModel"], "threshold", list(MODELS["ThresholdStatusResultModel"]))
    count = at.post("Companies/query/count", {"filter": [{"op": "exist", "field": "id"}]}).json()
    check(count, MODELS["QueryCountResultModel"], "count", ["queryCount"])
    created = at.post("Products", {"name": "Cable"}).json()
    assert set(created) == set(MODELS["OperationResultModel"]) and isinstance(created["itemId"], int)


def test_records_written_through_the_api_conform(at: AT) -> None:
    po = at.post("PurchaseOrders", {"vendorID": 1, "shipToName": "A", "shipToAddress1": "B", "freight": "12.5"}).json()
    item = at.get(f"PurchaseOrders/{po['itemId']}").json()["item"]
    check(item, ENTITIES["PurchaseOrders"]["fields"], "created PO", FIXTURE["required"])
    assert item["freight"] == 12.5
