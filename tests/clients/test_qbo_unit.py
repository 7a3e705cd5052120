"""QBO client and Intuit OAuth edge cases the sandbox does not produce, with respx."""

from __future__ import annotations

import json
import time

import anyio
import httpx
import pytest
import respx

from client_helpers import SleepLog, fast_retry
from sync.clients.errors import (
    OAuthError,
    QboAuthError,
    QboThrottled,
    QboValidationError,
    TokenPersistError,
    TransportError,
)
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import BatchItem, QboClient
from sync.clients.qbo_query import Select

pytestmark = pytest.mark.anyio

API = "https://qbo.example"
REALM = "123"
CO = f"{API}/v3/company/{REALM}"
ENDPOINTS = IntuitEndpoints.local("https://oauth.example")
SECRET = "client-SECRET-xyz"


def tokens(access: str = "AT1", refresh: str = "RT1", ttl: float = 3600) -> TokenSet:
    return TokenSet(access_token=access, refresh_token=refresh, expires_at=time.time() + ttl, realm_id=REALM)


def make(ts: TokenSet | None = None, on_tokens=None, **kw) -> QboClient:
    oauth = IntuitOAuth("client-id", SECRET, endpoints=ENDPOINTS, tokens=ts or tokens(), on_tokens=on_tokens)
    kw.setdefault("retry", fast_retry())
    return QboClient(oauth, api_url=API, **kw)


def token_response(access: str, refresh: str) -> httpx.Response:
    return httpx.Response(200, json={"access_token": access, "refresh_token": refresh, "token_type": "bearer",
                                     "expires_in": 3600, "x_refresh_token_expires_in": 8726400})


VENDOR = {"Vendor": {"Id": "56", "DisplayName": "Bob's", "SyncToken": "0"}, "time": "2024-01-01T00:00:00Z"}


async def test_a_200_carrying_a_fault_is_an_error_with_code_message_detail_element() -> None:
    fault = {"Fault": {"Error": [{"Message": "Duplicate Name Exists Error", "Detail": "The name supplied already exists.",
                                  "code": "6240", "element": "DisplayName"}], "type": "ValidationFault"}}
    with respx.mock() as router:
        router.post(f"{CO}/vendor").mock(return_value=httpx.Response(200, json=fault))
        async with make() as qbo:
            with pytest.raises(QboValidationError) as info:
                await qbo.create("Vendor", {"DisplayName": "Bob's"})
    e = info.value
    assert (e.code, e.api_message, e.detail, e.element) == ("6240", "Duplicate Name Exists Error",
                                                          "The name supplied already exists.", "DisplayName")
    assert "Duplicate Name Exists Error" in str(e) and e.fault_type == "ValidationFault"


async def test_lower_case_401_body_refreshes_once_then_is_an_auth_error() -> None:
    body = {"warnings": None, "intuitObject": None, "fault": {"error": [{
        "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
        "detail": "Malformed bearer token: too short or too long", "code": "3200", "element": None}],
        "type": "AUTHENTICATION"}, "report": None, "batchItemResponse": [], "time": 1633520295688}
    with respx.mock() as router:
        api = router.get(f"{CO}/preferences").mock(return_value=httpx.Response(401, json=body))
        tok = router.post(ENDPOINTS.token_url).mock(return_value=token_response("AT2", "RT2"))
        async with make() as qbo:
            with pytest.raises(QboAuthError) as info:
                await qbo.preferences()
    assert info.value.code == "3200" and "Malformed bearer token" in info.value.detail
    assert tok.call_count == 1 and api.call_count == 2
    assert api.calls[1].request.headers["Authorization"] == "Bearer AT2"


async def test_429_retry_after_is_honoured_and_writes_keep_their_requestid() -> None:
    sleeps = SleepLog()
    throttle = {"Fault": {"Error": [{"Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                                     "Detail": "The request limit was reached.", "code": "3001"}], "type": "SERVICE"}}
    with respx.mock() as router:
        route = router.post(f"{CO}/vendor").mock(side_effect=[
            httpx.Response(429, json=throttle, headers={"Retry-After": "3"}), httpx.ReadTimeout("lost"),
            httpx.Response(200, json=VENDOR)])
        async with make(sleep=sleeps) as qbo:
            created = await qbo.create("Vendor", {"DisplayName": "Bob's"}, requestid="po-17-vendor")
    assert created["Id"] == "56"
    assert sleeps.waits[0] >= 3
    assert [c.request.url.params["requestid"] for c in route.calls] == ["po-17-vendor"] * 3


async def test_throttled_when_retries_run_out_and_default_requestid_is_uuid_hex() -> None:
    with respx.mock() as router:
        route = router.post(f"{CO}/bill").mock(return_value=httpx.Response(429, json={}))
        async with make(retry=fast_retry(3)) as qbo:
            with pytest.raises(QboThrottled):
                await qbo.create("Bill", {})
    rids = {c.request.url.params["requestid"] for c in route.calls}
    assert len(rids) == 1 and len(rids.pop()) == 32


async def test_html_pages_truncated_json_and_resets() -> None:
    with respx.mock() as router:
        router.get(f"{CO}/companyinfo/{REALM}").mock(return_value=httpx.Response(
            503, text="<html>Service Unavailable</html>", headers={"content-type": "text/html"}))
        router.get(f"{CO}/preferences").mock(return_value=httpx.Response(
            200, text='{"Preferences": {"CurrencyPrefs": {', headers={"content-type": "application/json"}))
        reset = router.post(f"{CO}/query").mock(side_effect=[httpx.ReadError("reset by peer"), httpx.Response(
            200, json={"QueryResponse": {"Vendor": [{"Id": "1"}], "startPosition": 1, "maxResults": 1}})])
        async with make(retry=fast_retry(2)) as qbo:
            with pytest.raises(TransportError, match="HTML page"):
                await qbo.company_info()
            with pytest.raises(TransportError, match="not valid JSON"):
                await qbo.preferences()
            page = await qbo.query(Select("Vendor"))
    assert page.entities == [{"Id": "1"}] and reset.call_count == 2


async def test_timeouts_exhaust_into_a_transport_error() -> None:
    with respx.mock() as router:
        router.post(f"{CO}/query").mock(side_effect=httpx.ReadTimeout("slow"))
        async with make(retry=fast_retry(3)) as qbo:
            with pytest.raises(TransportError, match="read timeout"):
                await qbo.query("select * from Vendor")


async def test_query_is_posted_as_utf8_application_text() -> None:
    with respx.mock() as router:
        route = router.post(f"{CO}/query").mock(return_value=httpx.Response(200, json={"QueryResponse": {}}))
        async with make() as qbo:
            page = await qbo.query(Select("Vendor").eq("DisplayName", "Zoë's ÷ \\ shop"))
    assert page.entities == []
    req = route.calls[0].request
    assert req.headers["content-type"] == "application/text"
    assert req.content.decode("utf-8") == "SELECT * FROM Vendor WHERE DisplayName = 'Zoë\\'s ÷ \\\\ shop'"
    assert req.url.params["minorversion"] == "75"


async def test_batch_is_split_in_chunks_of_ten_with_typed_per_item_results() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        items = json.loads(request.content)["BatchItemRequest"]
        out = []
        for it in items:
            if it["bId"] == "3":
                out.append({"bId": "3", "Fault": {"type": "ValidationFault", "Error": [
                    {"Message": "Duplicate Name Exists Error", "code": "6240", "Detail": "d", "element": ""}]}})
            elif "Query" in it:
                out.append({"bId": it["bId"], "QueryResponse": {"Bill": [{"Id": "9"}], "maxResults": 1}})
            else:
                out.append({"bId": it["bId"], "Vendor": {"Id": "v" + it["bId"]}})
        return httpx.Response(200, json={"BatchItemResponse": list(reversed(out))})

    with respx.mock() as router:
        route = router.post(f"{CO}/batch").mock(side_effect=answer)
        async with make() as qbo:
            items = [BatchItem.create("Vendor", {"DisplayName": f"V{i}"}) for i in range(24)]
            items.append(BatchItem.select(Select("Bill").eq("DocNumber", "PO-1"), bid="q"))
            results = await qbo.batch(items, requestid="run-42")
    assert [len(json.loads(c.request.content)["BatchItemRequest"]) for c in route.calls] == [10, 10, 5]
    assert [c.request.url.params["requestid"] for c in route.calls] == ["run-42-0", "run-42-1", "run-42-2"]
    assert [r.bid for r in results] == [str(i) for i in range(24)] + ["q"]
    assert results[0].ok and results[0].entity_name == "Vendor" and results[0].entity == {"Id": "v0"}
    assert not results[3].ok and isinstance(results[3].fault, QboValidationError) and results[3].fault.code == "6240"
    assert results[24].query is not None and results[24].query.entities == [{"Id": "9"}]
    with pytest.raises(ValueError):
        await make().batch(items, chunk_size=31)


async def test_paging_uses_startposition_and_maxresults() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        sql = request.content.decode()
        start = int(sql.split("STARTPOSITION ")[1].split()[0])
        rows = [{"Id": str(i)} for i in range(start, min(start + 4, 11))]
        return httpx.Response(200, json={"QueryResponse": {"Item": rows, "startPosition": start,
                                                           "maxResults": len(rows)} if rows else {}})

    with respx.mock() as router:
        route = router.post(f"{CO}/query").mock(side_effect=answer)
        async with make() as qbo:
            ids = [e["Id"] async for e in qbo.query_iter(Select("Item"), page_size=4)]
    assert ids == [str(i) for i in range(1, 11)]
    assert [c.request.content.decode().split("STARTPOSITION ")[1] for c in route.calls] == [
        "1 MAXRESULTS 4", "5 MAXRESULTS 4", "9 MAXRESULTS 4"]


async def test_rotated_token_is_persisted_before_the_next_request_goes_out() -> None:
    events: list[str] = []

    async def on_tokens(ts: TokenSet) -> None:
        await anyio.sleep(0.01)  # a slow disk: nothing may overtake the save
        events.append(f"saved {ts.refresh_token}")

    def api(request: httpx.Request) -> httpx.Response:
        events.append(f"request with {request.headers['Authorization']}")
        return httpx.Response(200, json={"Preferences": {"Id": "1"}})

    with respx.mock() as router:
        router.post(ENDPOINTS.token_url).mock(return_value=token_response("AT2", "RT2"))
        router.get(f"{CO}/preferences").mock(side_effect=api)
        async with make(tokens(ttl=10), on_tokens=on_tokens) as qbo:  # expires within the margin
            await qbo.preferences()
    assert events == ["saved RT2", "request with Bearer AT2"]


async def test_a_failing_store_keeps_the_new_token_out_of_use() -> None:
    def on_tokens(ts: TokenSet) -> None:
        raise OSError("disk full")

    with respx.mock(assert_all_called=False) as router:
        router.post(ENDPOINTS.token_url).mock(return_value=token_response("AT2", "RT2"))
        api = router.get(f"{CO}/preferences").mock(return_value=httpx.Response(200, json={"Preferences": {}}))
        qbo = make(tokens(ttl=10), on_tokens=on_tokens)
        with pytest.raises(TokenPersistError, match="disk full") as info:
            await qbo.preferences()
        assert isinstance(info.value.__cause__, OSError)
        assert api.call_count == 0
        assert qbo.oauth.tokens is not None and qbo.oauth.tokens.refresh_token == "RT1"
        await qbo.aclose()


async def test_concurrent_requests_share_one_refresh() -> None:
    saved: list[str] = []
    with respx.mock() as router:
        tok = router.post(ENDPOINTS.token_url).mock(return_value=token_response("AT2", "RT2"))
        api = router.get(f"{CO}/preferences").mock(return_value=httpx.Response(200, json={"Preferences": {}}))
        async with make(tokens(ttl=0), on_tokens=lambda ts: saved.append(ts.refresh_token)) as qbo:
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(qbo.preferences)
    assert tok.call_count == 1 and saved == ["RT2"]
    assert {c.request.headers["Authorization"] for c in api.calls} == {"Bearer AT2"}


async def test_oauth_errors_and_secrets_never_in_messages() -> None:
    with respx.mock() as router:
        router.post(ENDPOINTS.token_url).mock(return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "Token invalid"}))
        oauth = IntuitOAuth("client-id", SECRET, endpoints=ENDPOINTS, tokens=tokens(ttl=0))
        with pytest.raises(OAuthError) as info:
            await oauth.access_token()
        await oauth.aclose()
    assert info.value.error == "invalid_grant" and "sign in to QuickBooks again" in str(info.value)
    for text in (str(info.value), repr(oauth), repr(tokens())):
        assert SECRET not in text and "AT1" not in text and "RT1" not in text


async def test_code_exchange_uses_basic_auth_and_revoke_sends_json() -> None:
    with respx.mock() as router:
        tok = router.post(ENDPOINTS.token_url).mock(return_value=token_response("AT9", "RT9"))
        rev = router.post(ENDPOINTS.revoke_url).mock(return_value=httpx.Response(200))
        oauth = IntuitOAuth("client-id", SECRET, endpoints=ENDPOINTS, redirect_uri="http://127.0.0.1:5/callback")
        url, state = oauth.authorization_url()
        assert "state=" + state in url and "scope=com.intuit.quickbooks.accounting" in url
        ts = await oauth.exchange_code("CODE1", "777")
        assert (ts.access_token, ts.refresh_token, ts.realm_id) == ("AT9", "RT9", "777")
        assert ts.refresh_expires_at is not None and ts.refresh_expires_at > time.time() + 8_000_000
        form = dict(x.split("=") for x in tok.calls[0].request.content.decode().split("&"))
        assert form["grant_type"] == "authorization_code" and form["code"] == "CODE1"
        assert tok.calls[0].request.headers["Authorization"].startswith("Basic ")
        await oauth.revoke()
        assert json.loads(rev.calls[0].request.content) == {"token": "RT9"}
        assert oauth.tokens is None
        await oauth.aclose()


def test_tokenset_round_trips_and_rejects_incomplete_data() -> None:
    ts = tokens()
    assert TokenSet.from_dict(ts.to_dict()) == ts
    with pytest.raises(ValueError, match="incomplete"):
        TokenSet.from_dict({"access_token": "x"})


async def test_token_refresh_rides_out_a_5xx_and_a_refused_connection() -> None:
    with respx.mock() as router:
        tok = router.post(ENDPOINTS.token_url).mock(side_effect=[
            httpx.Response(503, text="<html>down</html>"), httpx.ConnectError("refused"), token_response("AT2", "RT2")])
        oauth = IntuitOAuth("client-id", SECRET, endpoints=ENDPOINTS, tokens=tokens(ttl=0), retry=fast_retry(),
                            on_tokens=lambda ts: None)
        assert await oauth.access_token() == "AT2"
        await oauth.aclose()
    assert tok.call_count == 3


async def test_code_exchange_is_not_repeated_after_a_lost_reply() -> None:
    with respx.mock() as router:
        tok = router.post(ENDPOINTS.token_url).mock(side_effect=httpx.ReadTimeout("lost"))
        oauth = IntuitOAuth("client-id", SECRET, endpoints=ENDPOINTS, retry=fast_retry())
        with pytest.raises(TransportError) as info:
            await oauth.exchange_code("CODE", "1", redirect_uri="http://localhost:8765/callback")
        await oauth.aclose()
    assert tok.call_count == 1 and info.value.maybe_committed
