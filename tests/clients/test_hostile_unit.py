"""Hostile answers the sandbox does not produce, with respx: URL tricks in a zone answer, gzip
bombs, encodings not asked for, JSON nested past Python's parser, link loops, odd Fault and
page bodies. Each ends in a named client error; nothing goes to a host that was refused."""

from __future__ import annotations

import gzip

import httpx
import pytest
import respx

from client_helpers import fast_retry
from sync.clients.autotask import DEFAULT_ZONE_LOOKUP_BASE, AutotaskClient
from sync.clients.bounded import BoundedTransport
from sync.clients.errors import (
    AnswerTooLargeError,
    QboValidationError,
    TransportError,
    UnexpectedAnswerError,
    UntrustedUrlError,
)
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient, parse_fault
from sync.clients.qbo_query import Select

pytestmark = pytest.mark.anyio

ZONE = DEFAULT_ZONE_LOOKUP_BASE + "/atservicesrest/v1.0/zoneInformation"
API = "https://webservices5.autotask.net/ATServicesRest/V1.0/"
SECRET = "s3cr3t-VALUE"


def client(**kw) -> AutotaskClient:
    kw.setdefault("retry", fast_retry(2))
    return AutotaskClient("api@tenant.example", "CODE123", SECRET, **kw)


def zone_answers(router: respx.MockRouter, url: str, lookup: str = ZONE) -> None:
    router.get(lookup).mock(return_value=httpx.Response(200, json={"zoneName": "Z", "url": url, "ci": 1}))


@pytest.mark.parametrize("zone_url", [
    "http://webservices2.autotask.net/ATServicesRest/",             # not https
    "https://webservices2.autotask.net.evil.example/ATServicesRest/",
    "https://evilautotask.net/ATServicesRest/",
    "https://webservices2.autotask.net@evil.example/ATServicesRest/",  # user name, host evil
    "https://evil.example\\@webservices2.autotask.net/ATServicesRest/",  # user name, however read
    "https://webservices2.autotask.net:8443/ATServicesRest/",      # not Autotask's port
    "https://webservices2.autotask.net/ATServicesRest/?next=https://evil.example",
    "http://127.0.0.1:8080/ATServicesRest/",                       # loopback is not trusted as such
    "javascript:alert(1)",
    42,
])
async def test_a_zone_answer_off_autotask_is_refused_before_any_request(zone_url) -> None:
    with respx.mock(assert_all_called=False) as router:
        router.get(ZONE).mock(return_value=httpx.Response(200, json={"zoneName": "Z", "url": zone_url}))
        anywhere = router.route().mock(return_value=httpx.Response(200, json={"item": {"id": 0}}))
        async with client() as at:
            with pytest.raises(UntrustedUrlError) as info:
                await at.get("Companies", 0)
        assert anywhere.call_count == 0  # not one request with the secret
    assert SECRET not in str(info.value) and "nothing was sent" in info.value.message


@pytest.mark.parametrize("zone_url", ["https://webservices24.autotask.net/ATServicesRest/",
                                      "https://WebServices2.AutoTask.NET/ATServicesRest/",
                                      "https://webservices2.autotask.net:443/ATServicesRest/"])
async def test_a_zone_on_autotask_net_is_accepted(zone_url) -> None:
    with respx.mock() as router:
        zone_answers(router, zone_url)
        get = router.get(url__regex=r"https://webservices(24|2)\.autotask\.net(:443)?/ATServicesRest/V1\.0/Companies/0",
                         ).mock(return_value=httpx.Response(200, json={"item": {"id": 0}}))
        async with client() as at:
            assert await at.get("Companies", 0) == {"id": 0}
        assert get.calls[0].request.headers["Secret"] == SECRET


async def test_a_user_named_zone_lookup_host_is_trusted_and_only_that_origin() -> None:
    with respx.mock() as router:
        zone_answers(router, "https://psa.internal.example/ATServicesRest/",
                     lookup="https://psa.internal.example/atservicesrest/v1.0/zoneInformation")
        router.get("https://psa.internal.example/ATServicesRest/V1.0/Companies/0").mock(
            return_value=httpx.Response(200, json={"item": {"id": 0}}))
        async with client(zone_lookup_base="https://psa.internal.example") as at:
            assert await at.get("Companies", 0) == {"id": 0}
    with respx.mock() as router:
        zone_answers(router, "https://psa.internal.example:8443/ATServicesRest/",
                     lookup="https://psa.internal.example/atservicesrest/v1.0/zoneInformation")
        async with client(zone_lookup_base="https://psa.internal.example") as at:
            with pytest.raises(UntrustedUrlError, match="psa.internal.example:8443"):
                await at.zone()


async def test_a_hostile_host_is_shown_escaped() -> None:
    with respx.mock() as router:
        zone_answers(router, "https://ev\u202eil.example/ATServicesRest/")
        async with client() as at:
            with pytest.raises(UntrustedUrlError) as info:
                await at.zone()
    assert "\u202e" not in info.value.message and "\u202e" not in info.value.host


async def test_a_next_page_link_seen_before_stops_the_paging() -> None:
    with respx.mock() as router:
        zone_answers(router, "https://webservices5.autotask.net/ATServicesRest/")
        loop = API + "Companies/query/next?paging=same"
        router.post(API + "Companies/query").mock(return_value=httpx.Response(200, json={
            "items": [{"id": 1}], "pageDetails": {"count": 1, "nextPageUrl": loop}}))
        nxt = router.post(API + "Companies/query/next").mock(return_value=httpx.Response(200, json={
            "items": [{"id": 2}], "pageDetails": {"count": 1, "nextPageUrl": loop}}))
        async with client() as at:
            with pytest.raises(UnexpectedAnswerError, match="already sent"):
                await at.query("Companies")
        assert nxt.call_count == 1


@pytest.mark.parametrize("path, answer, method", [
    ("Companies/0", {"items": []}, "get"),
    ("Companies/0", {"item": [1, 2]}, "get"),
    ("PurchaseOrders/7/Items", {"item": {}}, "children"),
    ("PurchaseOrders/7/Items", {"items": [1]}, "children"),
    ("PurchaseOrders/query/count", {"queryCount": "many"}, "count"),
    ("PurchaseOrders/query/count", {}, "count"),
    ("PurchaseOrders/entityInformation/fields", {"fields": [{"name": "status", "picklistValues": 3}]}, "fields"),
    ("PurchaseOrders/entityInformation/fields", {"fields": {"name": "status"}}, "fields"),
])
async def test_autotask_answers_of_the_wrong_shape_name_the_endpoint(path, answer, method) -> None:
    with respx.mock() as router:
        zone_answers(router, "https://webservices5.autotask.net/ATServicesRest/")
        router.route(url=API + path).mock(return_value=httpx.Response(200, json=answer))
        async with client() as at:
            call = {"get": lambda: at.get("Companies", 0), "children": lambda: at.children("PurchaseOrders", 7, "Items"),
                    "count": lambda: at.count("PurchaseOrders"), "fields": lambda: at.fields("PurchaseOrders")}[method]
            with pytest.raises(UnexpectedAnswerError) as info:
                await call()
    assert info.value.endpoint == path


# ------------------------------------------------------------------ transport limits


def bounded(handler, **kw) -> httpx.AsyncClient:
    kw.setdefault("deadline", 5.0)
    return httpx.AsyncClient(transport=BoundedTransport(httpx.MockTransport(handler), **kw))


async def test_a_gzip_bomb_is_refused_after_the_limit_not_inflated_whole() -> None:
    bomb = gzip.compress(b"[" + b" " * (20 * 1024 * 1024) + b"]")  # 20 MiB that gzip to ~20 KiB
    assert len(bomb) < 100 * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Accept-Encoding"] == "gzip"
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    async with bounded(handler, max_bytes=1024 * 1024) as http:
        with pytest.raises(httpx.TransportError, match="over the limit of 1048576"):
            await http.get("https://x.example/")


async def test_a_gzip_answer_under_the_limit_is_decoded() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=gzip.compress(b'{"ok": true}'), headers={"Content-Encoding": "gzip"})

    async with bounded(handler, max_bytes=1024) as http:
        resp = await http.get("https://x.example/")
    assert resp.json() == {"ok": True} and "content-encoding" not in resp.headers


@pytest.mark.parametrize("encoding, body", [("br", b"\x0b\x02\x80{}\x03"), ("gzip", b"not gzip at all")])
async def test_an_encoding_not_asked_for_or_broken_is_a_named_error(encoding, body) -> None:
    with respx.mock() as router:
        zone_answers(router, "https://webservices5.autotask.net/ATServicesRest/")
        # A stream, not content=: httpx would decode content= while building the mock.
        router.get(API + "Companies/0").mock(return_value=httpx.Response(
            200, stream=httpx.ByteStream(body), headers={"Content-Encoding": encoding}))
        async with client() as at:
            with pytest.raises(TransportError, match="autotask sent an answer") as info:
                await at.get("Companies", 0)
    assert type(info.value) is TransportError


async def test_a_declared_length_over_the_limit_is_refused_before_the_body() -> None:
    read = []

    class Body(httpx.AsyncByteStream):
        async def __aiter__(self):
            read.append(1)
            yield b"{}"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Body(), headers={"Content-Length": str(10 ** 12)})

    async with bounded(handler, max_bytes=1024) as http:
        with pytest.raises(httpx.TransportError, match="1000000000000 bytes"):
            await http.get("https://x.example/")
    assert read == []


async def test_json_nested_past_the_parser_is_a_transport_error_not_a_recursion_error() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    with respx.mock() as router:
        zone_answers(router, "https://webservices5.autotask.net/ATServicesRest/")
        router.get(API + "Companies/0").mock(return_value=httpx.Response(200, content=deep))
        async with client() as at:
            with pytest.raises(TransportError, match="not valid JSON"):
                await at.get("Companies", 0)


# ------------------------------------------------------------------ QBO and OAuth bodies


@pytest.mark.parametrize("body", [
    {"Fault": {"Error": {"Message": "one error, not a list", "code": "6000"}, "type": "ValidationFault"}},
    {"Fault": {"Error": 7, "type": "ValidationFault"}},
    {"fault": {"error": [None, "x", {"code": 5}], "type": ["odd"]}},
])
def test_odd_fault_bodies_parse(body) -> None:
    fault_type, errors = parse_fault(body)
    assert isinstance(fault_type, str) and all(isinstance(e.code, str) for e in errors)


async def test_a_qbo_fault_whose_error_is_one_object_is_still_a_typed_error() -> None:
    oauth = IntuitOAuth("id", "secret", endpoints=IntuitEndpoints.local("https://oauth.example"),
                        tokens=TokenSet("tok", "ref", expires_at=10 ** 11, realm_id="1"))
    with respx.mock() as router:
        router.post(url__startswith="https://qbo.example/v3/company/1/query").mock(return_value=httpx.Response(
            400, json={"Fault": {"Error": {"Message": "Invalid query", "code": "4000"}, "type": "ValidationFault"}}))
        async with QboClient(oauth, api_url="https://qbo.example", retry=fast_retry(2)) as q:
            with pytest.raises(QboValidationError, match="Invalid query"):
                await q.query(Select("Bill"))
    await oauth.aclose()


@pytest.mark.parametrize("answer", [
    [1, 2, 3],
    {"access_token": {"a": 1}, "refresh_token": "r"},
    {"access_token": "a", "refresh_token": "r", "expires_in": "soon"},
    {"access_token": "a", "refresh_token": "r", "expires_in": [1]},
])
async def test_odd_token_answers_are_typed(answer) -> None:
    oauth = IntuitOAuth("id", "secret", endpoints=IntuitEndpoints.local("https://oauth.example"),
                        tokens=TokenSet("", "old-refresh", expires_at=0, realm_id="1"), retry=fast_retry(2))
    with respx.mock() as router:
        router.post("https://oauth.example/oauth2/v1/tokens/bearer").mock(
            return_value=httpx.Response(200, json=answer))
        try:
            tokens = await oauth.refresh()
        except UnexpectedAnswerError as exc:
            assert exc.service == "oauth"
        else:
            assert isinstance(tokens.access_token, str) and tokens.expires_at > 0
    await oauth.aclose()


async def test_an_oversized_token_answer_is_refused() -> None:
    oauth = IntuitOAuth("id", "secret", endpoints=IntuitEndpoints.local("https://oauth.example"),
                        tokens=TokenSet("", "old-refresh", expires_at=0, realm_id="1"), retry=fast_retry(2))
    with respx.mock() as router:
        route = router.post("https://oauth.example/oauth2/v1/tokens/bearer").mock(
            return_value=httpx.Response(200, content=b" " * (2 * 1024 * 1024) + b"{}"))
        with pytest.raises(AnswerTooLargeError):
            await oauth.refresh()
        assert route.call_count == 1
    await oauth.aclose()


async def test_the_connect_test_says_the_zone_was_refused_not_unreachable() -> None:
    # The one connection test behind `atqbo connect autotask` and the Connect screen.
    from sync.clients.autotask_connect import AutotaskConnectFailed, check_autotask_connection, connect_client

    with respx.mock(assert_all_called=False) as router:
        router.get(ZONE).mock(return_value=httpx.Response(
            200, json={"zoneName": "Z", "url": "https://evil.example/ATServicesRest/"}))
        anywhere = router.route().mock(return_value=httpx.Response(200, json={"item": {"id": 0}}))
        async with connect_client("api@tenant.example", "CODE123", SECRET, DEFAULT_ZONE_LOOKUP_BASE) as at:
            with pytest.raises(AutotaskConnectFailed) as failed:
                await check_autotask_connection(at)
        assert anywhere.call_count == 0
    said = failed.value.message
    assert failed.value.kind == "untrusted"
    assert "evil.example" in said and "Nothing was saved" in said and "cannot reach" not in said
    assert SECRET not in said
