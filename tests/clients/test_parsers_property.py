"""Properties of the clients' parsers: whatever a service answers (arbitrary JSON, arbitrary
bytes, any status), the client returns well-typed data or raises one of its own typed errors
(ApiError) — never KeyError, TypeError, AttributeError, ValueError, RecursionError, ...

The answers go through the real client code path (status handling, JSON parsing, shape checks),
served by an in-memory transport behind the real BoundedTransport; the token endpoint through
authlib as in production, with respx underneath.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import respx
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from client_helpers import SleepLog, fast_retry
from sync.clients import autotask_answers, qbo_answers
from sync.clients.autotask import AutotaskClient, FieldInfo
from sync.clients.bounded import BoundedTransport
from sync.clients.errors import ApiError, QboError
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient, fault_error, parse_fault
from sync.clients.qbo_query import Select

ZONE_BASE = "https://webservices.autotask.net"
API = "https://webservices5.autotask.net/ATServicesRest/V1.0/"
QBO = "https://quickbooks.example"
TOKEN_URL = "https://oauth.example/oauth2/v1/tokens/bearer"

# ------------------------------------------------------------------ strategies

scalars = (st.none() | st.booleans() | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
           | st.floats(allow_nan=False) | st.text(max_size=12))
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=16)
links = st.none() | st.text(max_size=20) | st.sampled_from([
    API + "Companies/query/next?paging=1", "https://evil.example/V1.0/x", "http://webservices5.autotask.net/x",
    "https://user@webservices5.autotask.net/x", "not a url", ""]) | json_values
counts = st.integers(min_value=-2, max_value=5) | json_values


def mostly(good: st.SearchStrategy, noise: st.SearchStrategy) -> st.SearchStrategy:
    """`good` three times in four, `noise` otherwise (`a | b` would weigh every branch of a
    nested one_of alike, drowning the well-formed answers that reach the deeper code)."""
    return st.integers(0, 3).flatmap(lambda n: good if n else noise)


def shaped(required: dict[str, Any]) -> st.SearchStrategy:
    """Objects with these keys each maybe present, each value maybe well-formed, plus noise."""
    return mostly(st.fixed_dictionaries({}, optional=required), json_values)


records = st.lists(st.fixed_dictionaries({"id": st.integers(0, 99)}, optional={"name": json_values}), max_size=3)
# Near-valid pages (the count usually right) reach the link checks and the paging loop.
good_pages = records.flatmap(lambda items: st.fixed_dictionaries({
    "items": st.just(items),
    "pageDetails": st.fixed_dictionaries({"count": mostly(st.just(len(items)), counts)},
                                         optional={"nextPageUrl": links, "prevPageUrl": links})}))
good_queries = st.lists(st.fixed_dictionaries({"Id": st.text(max_size=3)}), max_size=3).flatmap(
    lambda found: st.fixed_dictionaries({"QueryResponse": st.fixed_dictionaries({}, optional={
        "Vendor": st.just(found), "startPosition": mostly(st.just(1), counts),
        "maxResults": mostly(st.just(len(found)), counts), "totalCount": mostly(st.integers(0, 9), counts)})}))
autotask_pages_noisy = shaped({
    "items": st.lists(st.dictionaries(st.sampled_from(["id", "name", "x"]), json_values, max_size=3)
                      | json_values, max_size=4) | json_values,
    "pageDetails": shaped({"count": counts, "requestCount": counts, "nextPageUrl": links, "prevPageUrl": links}),
})
autotask_pages = mostly(good_pages, autotask_pages_noisy)
qbo_bodies_noisy = shaped({
    "QueryResponse": shaped({
        "Vendor": st.lists(st.dictionaries(st.sampled_from(["Id", "DisplayName"]), json_values, max_size=2)
                           | json_values, max_size=3) | json_values,
        "Bill": st.lists(json_values, max_size=2),
        "startPosition": counts, "maxResults": counts, "totalCount": counts}),
    "Fault": shaped({"Error": st.lists(shaped({"Message": json_values, "code": json_values,
                                              "Detail": json_values, "element": json_values}), max_size=2)
                     | json_values, "type": json_values}),
    "time": json_values,
})
qbo_bodies = mostly(good_queries, qbo_bodies_noisy)
token_answers = shaped({
    "access_token": st.text(max_size=8) | json_values, "refresh_token": st.text(max_size=8) | json_values,
    "expires_in": st.integers(-5, 10 ** 12) | st.floats() | st.text(max_size=5) | json_values,
    "x_refresh_token_expires_in": st.integers(-5, 10 ** 6) | json_values,
    "token_type": json_values, "error": json_values, "error_description": json_values,
})
statuses = mostly(st.just(200), st.sampled_from([400, 401, 403, 404, 429, 500, 502, 503]))


def as_bytes(values: st.SearchStrategy) -> st.SearchStrategy:
    return mostly(values.map(lambda v: json.dumps(v).encode()), st.binary(max_size=64) | st.sampled_from(
        [b"", b"<html>502</html>", b"[" * 5000 + b"]" * 5000, b'{"items": [', b"\xff\xfe{}", b"NaN"]))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THROUGH = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ the pure parsers


@FAST
@given(autotask_pages)
def test_autotask_page_parser_is_total(body) -> None:
    try:
        page = autotask_answers.query_page(body, "Companies/query")
    except ApiError:
        return
    assert all(isinstance(i, dict) for i in page.items)
    assert page.next_url is None or isinstance(page.next_url, str)
    assert isinstance(body, dict) and isinstance(body["items"], list)  # never an empty page by default


@FAST
@given(qbo_bodies, st.sampled_from(["Vendor", "Bill", None]))
def test_qbo_query_response_parser_is_total(body, entity) -> None:
    try:
        page = qbo_answers.query_page(qbo_answers.query_response(body, "the query"), "the query", entity)
    except ApiError:
        return
    assert all(isinstance(e, dict) for e in page.entities)
    for n in (page.start_position, page.max_results, page.total_count):
        assert n is None or (isinstance(n, int) and n >= 0)


@FAST
@given(json_values | qbo_bodies, st.sampled_from([None, 200, 400, 401, 403, 404, 429, 500]))
def test_a_fault_body_parses_to_a_typed_error(body, status) -> None:
    fault = parse_fault(body)
    if fault is None:
        return
    fault_type, errors = fault
    assert isinstance(fault_type, str)
    assert isinstance(fault_error(status, fault_type, errors, context="x"), QboError)


@FAST
@given(token_answers)
def test_a_token_answer_parses_to_a_token_set_or_a_typed_error(body) -> None:
    if not isinstance(body, dict):
        return  # authlib refuses a non-object before this parser (covered through the client below)
    try:
        tokens = TokenSet.from_response(body, now=1000.0, realm_id="1", previous_refresh_token="old")
    except ApiError:
        return
    assert isinstance(tokens.access_token, str) and tokens.access_token
    assert isinstance(tokens.refresh_token, str) and tokens.refresh_token
    assert tokens.expires_at > 1000.0
    assert tokens.refresh_expires_at is None or tokens.refresh_expires_at > 1000.0


# ------------------------------------------------------------------ through the clients


def serving(answers: dict[str, tuple[int, bytes]]) -> httpx.AsyncClient:
    """An httpx client whose answers come from `answers` (first key found in the URL wins),
    behind the production BoundedTransport."""

    def handler(request: httpx.Request) -> httpx.Response:
        for key, (status, body) in answers.items():
            if key in str(request.url):
                return httpx.Response(status, content=body)
        return httpx.Response(404, json={"errors": ["no such route"]})

    return httpx.AsyncClient(transport=BoundedTransport(httpx.MockTransport(handler), deadline=5))


ZONE_OK = (200, json.dumps({"zoneName": "Z", "url": "https://webservices5.autotask.net/ATServicesRest/"}).encode())


def run_autotask(answers: dict[str, tuple[int, bytes]], call) -> Any:
    async def go() -> Any:
        http = serving({"zoneInformation": ZONE_OK, **answers})
        at = AutotaskClient("api@tenant.example", "CODE", "SECRET", zone_lookup_base=ZONE_BASE, http=http,
                            retry=fast_retry(2), sleep=SleepLog())
        try:
            return await call(at)
        finally:
            await http.aclose()

    return anyio.run(go)


@THROUGH
@given(statuses, as_bytes(autotask_pages))
@example(200, b'{"items": [{"id": 1}], "pageDetails": {"count": 1, "nextPageUrl": "' +
         (API + "Companies/query/next?p=1").encode() + b'"}}')
def test_an_autotask_query_answer_is_rows_or_a_typed_error(status, body) -> None:
    try:
        rows = run_autotask({"Companies/query": (status, body)}, lambda at: at.query("Companies"))
    except ApiError as exc:
        event(type(exc).__name__)
        return
    event("rows")
    assert isinstance(rows, list) and all(isinstance(r, dict) for r in rows)


@THROUGH
@given(st.sampled_from(["get", "children", "count", "fields", "create", "threshold"]), statuses,
       as_bytes(shaped({"item": json_values, "items": json_values, "queryCount": counts, "itemId": json_values,
                        "fields": st.lists(shaped({"name": json_values, "isPickList": json_values,
                                                   "picklistValues": st.lists(json_values, max_size=2)
                                                   | json_values, "length": json_values}), max_size=2),
                        "externalRequestThreshold": json_values, "currentTimeframeRequestCount": counts,
                        "errors": json_values})))
def test_every_autotask_read_and_write_answer_is_typed_or_a_typed_error(method, status, body) -> None:
    calls = {
        "get": ("Companies/0", lambda at: at.get("Companies", 0), (dict, type(None))),
        "children": ("Items", lambda at: at.children("PurchaseOrders", 7, "Items"), list),
        "count": ("query/count", lambda at: at.count("PurchaseOrders"), int),
        "fields": ("entityInformation/fields", lambda at: at.fields("PurchaseOrders"), list),
        "create": ("ToDos", lambda at: at.create_child("Companies", 0, "ToDos", {"x": 1}), int),
        "threshold": ("ThresholdInformation", lambda at: at.read_threshold(), object),
    }
    key, call, kind = calls[method]
    try:
        result = run_autotask({key: (status, body)}, call)
    except ApiError as exc:
        event(f"{method}: {type(exc).__name__}")
        return
    event(f"{method}: answered")
    assert isinstance(result, kind)
    if method == "fields":
        assert all(isinstance(f, FieldInfo) for f in result)


@THROUGH
@given(as_bytes(shaped({"url": mostly(st.sampled_from(["https://webservices2.autotask.net/ATServicesRest/",
                                                       "https://webservices2.autotask.net.evil.example/"]), links),
                         "zoneName": json_values, "ci": json_values, "errors": json_values})), statuses)
def test_a_zone_answer_is_a_zone_or_a_typed_error(body, status) -> None:
    async def go() -> Any:
        http = serving({"zoneInformation": (status, body)})
        at = AutotaskClient("api@tenant.example", "CODE", "SECRET", zone_lookup_base=ZONE_BASE, http=http,
                            retry=fast_retry(2), sleep=SleepLog())
        try:
            return await at.zone()
        finally:
            await http.aclose()

    try:
        zone = anyio.run(go)
    except ApiError as exc:
        event(type(exc).__name__)
        return
    event("zone")
    assert isinstance(zone.url, str) and ".autotask.net" in zone.url.lower()
    assert zone.ci is None or isinstance(zone.ci, int)


@THROUGH
@given(mostly(st.just(200), st.sampled_from([400, 403, 404, 429, 500, 503])), as_bytes(qbo_bodies),
       st.sampled_from(["query", "count", "get", "create"]))
def test_a_qbo_answer_is_typed_or_a_typed_error(status, body, method) -> None:
    async def go() -> Any:
        http = serving({"/v3/company/1/": (status, body)})
        oauth = IntuitOAuth("id", "secret", endpoints=IntuitEndpoints.local("http://127.0.0.1:1"),
                            tokens=TokenSet("tok", "ref", expires_at=10 ** 11, realm_id="1"), retry=fast_retry(1))
        q = QboClient(oauth, api_url=QBO, http=http, retry=fast_retry(2), sleep=SleepLog())
        try:
            if method == "query":
                return await q.query_all(Select("Vendor"))
            if method == "count":
                return await q.count(Select("Vendor"))
            if method == "get":
                return await q.get("Vendor", 1)
            return await q.create("Vendor", {"DisplayName": "x"})
        finally:
            await http.aclose()
            await oauth.aclose()

    try:
        result = anyio.run(go)
    except ApiError as exc:
        event(f"{method}: {type(exc).__name__}")
        return
    event(f"{method}: answered")
    expected = {"query": list, "count": int, "get": (dict, type(None)), "create": dict}[method]
    assert isinstance(result, expected)
    if method == "query":
        assert all(isinstance(e, dict) for e in result)


@THROUGH
@given(mostly(st.just(200), st.sampled_from([400, 401, 429, 500])), as_bytes(token_answers))
def test_a_token_answer_through_authlib_is_tokens_or_a_typed_error(status, body) -> None:
    async def go() -> TokenSet:
        oauth = IntuitOAuth("id", "secret", endpoints=IntuitEndpoints.local("https://oauth.example"),
                            tokens=TokenSet("", "old-refresh", expires_at=0, realm_id="1"),
                            retry=fast_retry(2), sleep=SleepLog())
        try:
            with respx.mock() as router:
                router.post(TOKEN_URL).mock(return_value=httpx.Response(status, stream=httpx.ByteStream(body)))
                return await oauth.refresh()
        finally:
            await oauth.aclose()

    try:
        tokens = anyio.run(go)
    except ApiError as exc:
        event(type(exc).__name__)
        return
    event("tokens")
    assert isinstance(tokens.access_token, str) and tokens.access_token
    assert isinstance(tokens.refresh_token, str) and tokens.refresh_token
