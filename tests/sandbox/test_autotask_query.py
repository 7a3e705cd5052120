"""The Autotask query engine over real sockets: the 13 operators, and/or groups, udf, MaxRecords,
IncludeFields, count, paging by nextPageUrl/prevPageUrl with GET and POST, date filters, and
refusal of invented query features (reference §2, §9)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from sync.sandbox.autotask import empty_autotask_seed
from tests.sandbox.autotask_helpers import AT, error_of, serve

NAMES = ["Alpha Supply", "Beta Parts", "Gamma Tech", "Delta Distribution", "Alpine Networks"]


@pytest.fixture(scope="module")
def at() -> Iterator[AT]:
    seed = empty_autotask_seed()
    for i, name in enumerate(NAMES):
        seed.add_company(name, "Vendor" if i % 2 == 0 else "Customer", id=10 + i, currency_id=1 if i < 3 else None,
                         isActive=i != 3, createDate=f"2024-0{i + 1}-15T12:00:00.000Z",
                         userDefinedFields=[{"name": "CustomerRanking", "value": "Golden" if i == 1 else "Silver"}])
    for n in range(1, 1208):  # 1207 products: 3 pages of 500 and a short one
        seed.add_product(f"Product {n:04d}", float(n), id=n, isActive=n % 10 != 0)
    with serve(seed) as server:
        client = AT(server, seed)
        yield client
        client.close()


def f(op: str, field: str, value: object = None) -> dict:
    cond = {"op": op, "field": field}
    if value is not None:
        cond["value"] = value
    return cond


def company_ids(at: AT, *filters: dict) -> list[int]:
    return at.ids("Companies", *filters)


@pytest.mark.parametrize("cond, expected", [
    (f("eq", "companyName", "beta parts"), [11]),  # case-insensitive comparison
    (f("noteq", "companyType", 7), [0, 11, 13]),
    (f("gt", "id", 12), [13, 14]),
    (f("gte", "id", 12), [12, 13, 14]),
    (f("lt", "id", 11), [0, 10]),
    (f("lte", "id", 11), [0, 10, 11]),
    (f("beginsWith", "companyName", "Alp"), [10, 14]),
    (f("endsWith", "companyName", "TECH"), [12]),
    (f("contains", "companyName", "istri"), [13]),
    (f("exist", "currencyID"), [0, 10, 11, 12]),
    (f("notExist", "currencyID"), [13, 14]),
    (f("in", "CompanyType", [1, 3]), [0, 11, 13]),
    (f("notIn", "id", [0, 10, 11]), [12, 13, 14]),
    (f("eq", "isActive", False), [13]),
    (f("eq", "IsActive", "true"), [0, 10, 11, 12, 14]),
])
def test_each_operator(at: AT, cond: dict, expected: list[int]) -> None:
    assert company_ids(at, cond) == expected


def test_dates_compare_as_utc_iso_strings(at: AT) -> None:
    assert company_ids(at, f("gt", "createDate", "2024-03-01T00:00:00"), f("lt", "createDate", "2024-05-01T00:00:00Z")) == [12, 13]
    assert company_ids(at, f("gte", "createDate", "2024-02-15T12:00:00.000Z"), f("lte", "createDate", "2024-02-15T12:00:00Z")) == [11]


def test_top_level_and_with_nested_or_and_groups(at: AT) -> None:
    body = [f("eq", "companyType", 7),
            {"op": "or", "items": [f("eq", "companyName", "Alpha Supply"),
                                   {"op": "and", "items": [f("beginsWith", "companyName", "Alp"), f("gt", "id", 12)]},
                                   f("eq", "companyName", "Beta Parts")]}]
    assert company_ids(at, *body) == [10, 14]
    grouped = {"op": "or", "items": [f("eq", "id", 0), {"op": "and", "items": [f("eq", "isActive", False)]}]}
    assert company_ids(at, grouped) == [0, 13]


def test_udf_filter(at: AT) -> None:
    assert company_ids(at, {"op": "eq", "field": "CustomerRanking", "udf": True, "value": "Golden"}) == [11]
    r = at.query("Companies", {"filter": [{"op": "eq", "field": "CustomerRanking", "udf": True, "value": "a"},
                                          {"op": "eq", "field": "customerranking", "udf": True, "value": "b"}]})
    assert r.status_code == 500 and "one user-defined field" in error_of(r)
    r = at.query("Companies", {"filter": [{"op": "eq", "field": "NoSuchUdf", "udf": True, "value": "a"}]})
    assert r.status_code == 500
    r = at.query("PurchaseOrders", {"filter": [{"op": "eq", "field": "x", "udf": True, "value": "a"}]})
    assert r.status_code == 500


def test_get_and_post_give_the_same_answer(at: AT) -> None:
    body = {"filter": [f("in", "id", [10, 12, 14])], "IncludeFields": ["companyName"]}
    assert at.query("Companies", body, via="GET").json() == at.query("Companies", body).json()


def test_include_fields_always_include_id(at: AT) -> None:
    r = at.query("Companies", {"IncludeFields": ["CompanyName", "isactive"], "filter": [f("eq", "id", 10)]})
    assert r.json()["items"] == [{"id": 10, "companyName": "Alpha Supply", "isActive": True}]
    r = at.query("Companies", {"IncludeFields": ["Company.companyName"], "filter": [f("eq", "id", 10)]})
    assert r.status_code == 500


def test_count(at: AT) -> None:
    body = {"filter": [f("eq", "isActive", True)]}
    assert at.post("Products/query/count", body).json() == {"queryCount": 1207 - 120}
    r = at.get("Products/query/count", params={"search": json.dumps(body)})
    assert r.json() == {"queryCount": 1087}


def test_max_records_bounds_and_default(at: AT) -> None:
    everything = [f("exist", "id")]
    r = at.query("Products", {"filter": everything})
    assert r.json()["pageDetails"]["requestCount"] == 500 and r.json()["pageDetails"]["count"] == 500
    r = at.query("Products", {"MaxRecords": 7, "filter": everything})
    assert len(r.json()["items"]) == 7 and r.json()["pageDetails"]["requestCount"] == 7
    for bad in (0, 501, -1, "ten"):
        r = at.query("Products", {"MaxRecords": bad, "filter": everything})
        assert r.status_code == 500, bad
        error_of(r)


def _walk(at: AT, first: dict, via: str) -> tuple[list[int], list[dict]]:
    r = at.query("Products", first, via=via)
    ids, details = [], []
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [i["id"] for i in body["items"]]
        details.append(body["pageDetails"])
        nxt = body["pageDetails"]["nextPageUrl"]
        if nxt is None:
            return ids, details
        assert nxt.startswith(at.server.url + "/")  # absolute
        r = at.request(via, nxt, **({"content": json.dumps(first)} if via == "POST" else {}))


@pytest.mark.parametrize("via", ["GET", "POST"])
def test_paging_follows_next_page_url(at: AT, via: str) -> None:
    query = {"filter": [f("exist", "id")], "IncludeFields": ["name"]}
    ids, details = _walk(at, query, via)
    assert ids == list(range(1, 1208))
    assert [d["count"] for d in details] == [500, 500, 207]
    assert details[0]["prevPageUrl"] is None and details[1]["prevPageUrl"] is not None
    assert all(set(d) == {"count", "requestCount", "prevPageUrl", "nextPageUrl"} for d in details)


def test_paging_keeps_filter_page_size_and_include_fields_and_accepts_an_empty_post(at: AT) -> None:
    query = {"MaxRecords": 100, "filter": [f("eq", "isActive", True)], "IncludeFields": ["sku"]}
    first = at.query("Products", query).json()
    nxt = first["pageDetails"]["nextPageUrl"]
    second = at.request("POST", nxt).json()  # no body: the URL carries the query
    assert second["pageDetails"]["requestCount"] == 100 and len(second["items"]) == 100
    assert all(set(i) == {"id", "sku"} for i in second["items"])
    assert all(i["id"] % 10 != 0 for i in second["items"])
    assert second["items"][0]["id"] > first["items"][-1]["id"]
    back = at.get(second["pageDetails"]["prevPageUrl"]).json()
    assert back["items"] == first["items"]


def test_next_page_url_is_opaque_but_tampering_is_refused(at: AT) -> None:
    nxt = at.query("Products", {"filter": [f("exist", "id")]}).json()["pageDetails"]["nextPageUrl"]
    parts = urlsplit(nxt)
    assert "paging" in parse_qs(parts.query)
    r = at.get(f"{parts.scheme}://{parts.netloc}{parts.path}?paging=garbage")
    assert r.status_code == 500


@pytest.mark.parametrize("body", [
    {"filter": [f("exist", "id")], "pageNumber": 2},
    {"filter": [f("isNull", "currencyID")]},
    {"filter": [f("isNotNull", "currencyID")]},
    {"filter": [f("startsWith", "companyName", "A")]},
    {"filter": [f("ne", "id", 1)]},
    {"filter": [{"op": "between", "field": "id", "value": [1, 5]}]},
    {"filter": [f("eq", "Company.companyName", "x")]},
    {"filter": [f("eq", "noSuchField", 1)]},
    {"filter": []},
    {"filter": [f("eq", "isActive", "yes")]},
    {"filter": [f("eq", "id", "abc")]},
    {"filter": [f("in", "id", 5)]},
    {"filter": [{"op": "or", "items": []}]},
    {"filter": [f("gt", "isActive", True)]},
    {"filter": [f("contains", "id", 1)]},
])
def test_invented_or_malformed_queries_are_refused(at: AT, body: dict) -> None:
    r = at.query("Companies", body)
    assert r.status_code == 500
    error_of(r)


def test_or_conditions_are_limited_to_500(at: AT) -> None:
    many = {"op": "or", "items": [f("eq", "id", i) for i in range(501)]}
    r = at.query("Companies", {"filter": [many]})
    assert r.status_code == 500 and "500 or fewer" in error_of(r)
    ok = {"op": "or", "items": [f("eq", "id", i) for i in range(500)]}
    assert at.query("Companies", {"filter": [ok]}).status_code == 200


def test_bad_search_json_is_an_error(at: AT) -> None:
    r = at.get("Companies/query", params={"search": "{not json"})
    assert r.status_code == 500
    error_of(r)


def test_queries_by_id_answer_as_the_scan_does(at: AT) -> None:
    """`id eq`/`id in` look at those records only (issue 17); the answer is the scan's: the other
    conditions still apply, unknown ids are ignored, order is by id, paging and count unchanged."""
    wanted = [1207, 5, 3, 3, 999_999, 10, 700, 20]
    assert at.ids("Products", {"op": "in", "field": "id", "value": wanted}) == [3, 5, 10, 20, 700, 1207]
    assert at.ids("Products", {"op": "in", "field": "id", "value": wanted},
                  {"op": "eq", "field": "isActive", "value": True}) == [3, 5, 1207]
    assert at.ids("Products", {"op": "in", "field": "id", "value": [str(i) for i in wanted]}) == [3, 5, 10, 20, 700, 1207]
    assert at.ids("Products", {"op": "eq", "field": "id", "value": 700}) == [700]
    assert at.ids("Products", {"op": "eq", "field": "id", "value": 999_999}) == []
    assert at.ids("Products", {"op": "or", "items": [{"op": "eq", "field": "id", "value": 7},
                                                     {"op": "in", "field": "id", "value": [9, 8]}]}) == [7, 8, 9]
    assert at.ids("Products", {"op": "notIn", "field": "id", "value": list(range(2, 1208))}) == [1]
    page = at.query("Products", {"MaxRecords": 2, "filter": [{"op": "in", "field": "id", "value": wanted}]}).json()
    assert [i["id"] for i in page["items"]] == [3, 5] and page["pageDetails"]["nextPageUrl"]
    following = at.get(page["pageDetails"]["nextPageUrl"].split("/V1.0/", 1)[1]).json()
    assert [i["id"] for i in following["items"]] == [10, 20]
    count = at.post("Products/query/count", {"filter": [{"op": "in", "field": "id", "value": wanted}]}).json()
    assert count == {"queryCount": 6}
