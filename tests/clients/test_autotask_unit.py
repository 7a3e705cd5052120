"""Autotask client edge cases the sandbox does not produce, with respx."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from client_helpers import SleepLog, fast_retry
from sync.clients.autotask import AutotaskClient
from sync.clients.autotask_filters import F, and_, or_, query_body
from sync.clients.errors import (
    AutotaskAuthError,
    AutotaskCredentialsRefused,
    AutotaskThrottled,
    AutotaskUnavailable,
    AutotaskValidationError,
    AutotaskZoneError,
    PicklistError,
    TransportError,
)

pytestmark = pytest.mark.anyio

ZONE = "https://webservices.autotask.net/atservicesrest/v1.0/zoneInformation"
API = "https://webservices5.autotask.net/ATServicesRest/V1.0/"
SECRET = "s3cr3t-VALUE"


def zone_ok(router: respx.MockRouter, url: str = "https://webservices5.autotask.net/ATServicesRest/") -> respx.Route:
    return router.get(ZONE).mock(return_value=httpx.Response(
        200, json={"zoneName": "Z5", "url": url, "webUrl": "https://ww5.autotask.net/", "ci": 1}))


def client(**kw) -> AutotaskClient:
    kw.setdefault("retry", fast_retry())
    return AutotaskClient("api@tenant.example", "CODE123", SECRET, zone_lookup_base="https://webservices.autotask.net", **kw)


async def test_zone_is_looked_up_once_and_headers_sent_on_every_call() -> None:
    with respx.mock(assert_all_called=True) as router:
        zone = zone_ok(router)
        get = router.get(API + "Companies/0").mock(return_value=httpx.Response(200, json={"item": {"id": 0}}))
        async with client() as at:
            assert (await at.get("Companies", 0)) == {"id": 0}
            assert (await at.get("Companies", 0)) == {"id": 0}
            assert at.calls == 3
        assert zone.call_count == 1
        assert zone.calls[0].request.url.params["user"] == "api@tenant.example"
        for call in get.calls:
            h = call.request.headers
            assert (h["ApiIntegrationCode"], h["UserName"], h["Secret"]) == ("CODE123", "api@tenant.example", SECRET)
        assert "Secret" not in zone.calls[0].request.headers  # the zone lookup needs no auth


async def test_401_re_resolves_the_zone_then_succeeds_on_the_new_zone() -> None:
    with respx.mock() as router:
        router.get(ZONE).mock(side_effect=[
            httpx.Response(200, json={"zoneName": "old", "url": "https://webservices3.autotask.net/ATServicesRest/"}),
            httpx.Response(200, json={"zoneName": "new", "url": "https://webservices5.autotask.net/ATServicesRest/"}),
        ])
        router.get("https://webservices3.autotask.net/ATServicesRest/V1.0/Companies/4").mock(return_value=httpx.Response(401))
        router.get(API + "Companies/4").mock(return_value=httpx.Response(200, json={"item": {"id": 4}}))
        async with client() as at:
            assert (await at.get("Companies", 4)) == {"id": 4}
            assert (await at.zone()).zone_name == "new"


async def test_persistent_401_is_an_auth_error_without_the_secret() -> None:
    with respx.mock() as router:
        zone_ok(router)
        router.get(API + "Companies/4").mock(return_value=httpx.Response(401, json={"errors": ["Unauthorized"]}))
        async with client() as at:
            with pytest.raises(AutotaskAuthError) as info:
                await at.get("Companies", 4)
        assert info.value.status == 401
        assert SECRET not in str(info.value) and SECRET not in repr(at)


async def test_unknown_user_zone_lookup_error_carries_the_api_message() -> None:
    with respx.mock() as router:
        router.get(ZONE).mock(return_value=httpx.Response(500, json={"errors": ["Unable to find user"]}))
        async with client() as at:
            with pytest.raises(AutotaskZoneError, match="Unable to find user"):
                await at.zone()


async def test_validation_error_carries_the_api_messages_and_is_not_retried() -> None:
    with respx.mock() as router:
        zone_ok(router)
        post = router.post(API + "Companies").mock(return_value=httpx.Response(
            500, json={"errors": ["A Company already exists with Name [X].", "second"]}))
        # The credentials still work (a 500 can also mean a wrong integration code): a refusal.
        probe = router.get(API + "ThresholdInformation").mock(return_value=httpx.Response(
            200, json={"externalRequestThreshold": 10000, "requestThresholdTimeframe": 60,
                       "currentTimeframeRequestCount": 5}))
        async with client() as at:
            with pytest.raises(AutotaskValidationError) as info:
                await at.create("Companies", {"companyName": "X"})
        assert not isinstance(info.value, AutotaskCredentialsRefused)
        assert info.value.errors == ["A Company already exists with Name [X].", "second"]
        assert "already exists with Name [X]" in str(info.value)
        assert post.call_count == 1 and probe.call_count == 1


@pytest.mark.parametrize("probe_status, probe_body", [
    (500, {"errors": ["Object reference not set to an instance of an object."]}),  # any text: not read
    (401, {"errors": ["Authorization has been denied for this request."]}),
])
async def test_a_500_that_threshold_information_repeats_is_the_credentials(probe_status, probe_body) -> None:
    with respx.mock() as router:
        zone_ok(router)
        query = router.post(API + "PurchaseOrders/query").mock(return_value=httpx.Response(
            500, json={"errors": ["Something went wrong"]}))
        probe = router.get(API + "ThresholdInformation").mock(
            return_value=httpx.Response(probe_status, json=probe_body))
        async with client() as at:
            with pytest.raises(AutotaskCredentialsRefused) as info:
                await at.query("PurchaseOrders")
        assert info.value.errors == ["Something went wrong"] and "integration code" in info.value.message
        assert query.call_count == 1 and probe.call_count == 1  # no retries


async def test_a_probe_that_cannot_answer_leaves_the_refusal_as_it_was() -> None:
    with respx.mock() as router:
        zone_ok(router)
        router.post(API + "PurchaseOrders/query").mock(return_value=httpx.Response(
            500, json={"errors": ["Something went wrong"]}))
        router.get(API + "ThresholdInformation").mock(side_effect=httpx.ConnectError("reset"))
        async with client() as at:
            with pytest.raises(AutotaskValidationError) as info:
                await at.query("PurchaseOrders")
        assert not isinstance(info.value, AutotaskCredentialsRefused)


async def test_thread_threshold_429_is_absorbed_with_backoff() -> None:
    sleeps = SleepLog()
    with respx.mock() as router:
        zone_ok(router)
        msg = {"errors": ["Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded."]}
        post = router.post(API + "Companies").mock(side_effect=[
            httpx.Response(429, json=msg), httpx.Response(500, json=msg), httpx.Response(200, json={"itemId": 9})])
        reasons: list[str] = []
        async with client(sleep=sleeps, on_retry=lambda reason, delay: reasons.append(reason)) as at:
            assert await at.create("Companies", {"companyName": "X"}) == 9  # a refused create is safe to resend
        assert post.call_count == 3 and len(sleeps.waits) == 2 and reasons == ["429", "500"]


async def test_throttled_after_retries_run_out() -> None:
    with respx.mock() as router:
        zone_ok(router)
        router.get(API + "Companies/1").mock(return_value=httpx.Response(429, json={"errors": ["thread threshold"]}))
        async with client(retry=fast_retry(3)) as at:
            with pytest.raises(AutotaskThrottled):
                await at.get("Companies", 1)


async def test_create_is_not_repeated_after_a_5xx_or_a_lost_reply() -> None:
    with respx.mock() as router:
        zone_ok(router)
        post = router.post(API + "Companies").mock(side_effect=[
            httpx.Response(503, text="busy"), httpx.ReadTimeout("slow"), httpx.ReadError("reset")])
        async with client() as at:
            with pytest.raises(AutotaskUnavailable):
                await at.create("Companies", {"companyName": "X"})
            for _ in range(2):
                with pytest.raises(TransportError) as info:
                    await at.create("Companies", {"companyName": "X"})
                assert info.value.maybe_committed
        assert post.call_count == 3


async def test_reads_are_retried_after_timeouts_resets_and_5xx() -> None:
    with respx.mock() as router:
        zone_ok(router)
        q = router.post(API + "Companies/query").mock(side_effect=[
            httpx.ReadTimeout("slow"), httpx.ReadError("reset"), httpx.Response(502, text="<html>bad gateway</html>",
                                                                                  headers={"content-type": "text/html"}),
            httpx.ConnectError("refused"),
            httpx.Response(200, json={"items": [{"id": 1}], "pageDetails": {"count": 1, "nextPageUrl": None}})])
        async with client() as at:
            assert await at.query("Companies") == [{"id": 1}]
        assert q.call_count == 5


async def test_html_and_truncated_bodies_are_transport_errors() -> None:
    with respx.mock() as router:
        zone_ok(router)
        router.get(API + "Companies/1").mock(return_value=httpx.Response(
            200, text="<html><body>Maintenance</body></html>", headers={"content-type": "text/html"}))
        router.get(API + "Companies/2").mock(return_value=httpx.Response(
            200, text='{"item": {"id": 2, "compa', headers={"content-type": "application/json"}))
        async with client() as at:
            with pytest.raises(TransportError, match="HTML page"):
                await at.get("Companies", 1)
            with pytest.raises(TransportError, match="not valid JSON"):
                await at.get("Companies", 2)


async def test_get_missing_is_none_for_null_item_and_404() -> None:
    with respx.mock() as router:
        zone_ok(router)
        router.get(API + "Companies/7").mock(return_value=httpx.Response(200, json={"item": None}))
        router.get(API + "Companies/8").mock(return_value=httpx.Response(404, json={"errors": ["not found"]}))
        async with client() as at:
            assert await at.get("Companies", 7) is None
            assert await at.get("Companies", 8) is None


async def test_paging_follows_next_page_url_with_the_same_body_and_refuses_foreign_hosts() -> None:
    with respx.mock() as router:
        zone_ok(router)
        first = router.post(API + "Companies/query").mock(return_value=httpx.Response(200, json={
            "items": [{"id": 1}], "pageDetails": {"count": 1, "nextPageUrl": API + "Companies/query/next?paging=abc"}}))
        nxt = router.post(API + "Companies/query/next").mock(return_value=httpx.Response(200, json={
            "items": [{"id": 2}], "pageDetails": {"count": 1, "nextPageUrl": None}}))
        router.post(API + "Products/query").mock(return_value=httpx.Response(200, json={
            "items": [{"id": 1}], "pageDetails": {"nextPageUrl": "https://evil.example/V1.0/x"}}))
        async with client() as at:
            assert await at.query("Companies", [F.eq("companyType", 7)], page_size=1) == [{"id": 1}, {"id": 2}]
            assert json.loads(nxt.calls[0].request.content) == json.loads(first.calls[0].request.content)
            assert nxt.calls[0].request.url.params["paging"] == "abc"
            with pytest.raises(Exception, match="another host"):
                await at.query("Products")


async def test_slows_down_when_the_hourly_budget_runs_low() -> None:
    sleeps = SleepLog()
    with respx.mock() as router:
        zone_ok(router)
        th = router.get(API + "ThresholdInformation").mock(return_value=httpx.Response(200, json={
            "externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 9000}))
        router.get(API + "Companies/1").mock(return_value=httpx.Response(200, json={"item": {"id": 1}}))
        async with client(sleep=sleeps, threshold_every_calls=3) as at:
            for _ in range(6):
                await at.get("Companies", 1)
            assert th.call_count >= 1
            assert at.threshold is not None and at.threshold.usage == 0.9
            # 1,000 requests left in a rolling 60 minutes: one every 3.6 s.
            assert at.pace_interval == pytest.approx(3.6)
        assert any(w > 3.0 for w in sleeps.waits)


async def test_no_slowdown_with_a_comfortable_budget() -> None:
    with respx.mock() as router:
        zone_ok(router)
        router.get(API + "ThresholdInformation").mock(return_value=httpx.Response(200, json={
            "externalRequestThreshold": 10000, "requestThresholdTimeframe": 60, "currentTimeframeRequestCount": 124}))
        async with client() as at:
            info = await at.read_threshold()
            assert info.remaining == 9876 and at.pace_interval == 0


async def test_picklist_lookup_by_label_and_value() -> None:
    fields = {"fields": [{"name": "status", "dataType": "integer", "isPickList": True, "picklistValues": [
        {"value": "1", "label": "New", "isActive": True}, {"value": "2", "label": "Submitted", "isActive": True}]},
        {"name": "vendorID", "dataType": "integer", "isPickList": False}]}
    with respx.mock() as router:
        zone_ok(router)
        route = router.get(API + "PurchaseOrders/entityInformation/fields").mock(
            return_value=httpx.Response(200, json=fields))
        async with client() as at:
            status = await at.picklist("PurchaseOrders", "Status")
            assert status.value_for("submitted") == 2 and status.label_for(2) == "Submitted"
            with pytest.raises(PicklistError, match="'New', 'Submitted'"):
                status.value_for("Received Full")
            with pytest.raises(PicklistError, match="not a picklist"):
                await at.picklist("PurchaseOrders", "vendorID")
        assert route.call_count == 1  # cached


async def test_update_is_a_patch_with_id_and_children_go_through_the_parent() -> None:
    with respx.mock() as router:
        zone_ok(router)
        patch = router.patch(API + "PurchaseOrders").mock(return_value=httpx.Response(200, json={"itemId": 5}))
        child = router.post(API + "Companies/0/ToDos").mock(return_value=httpx.Response(200, json={"itemId": 77}))
        async with client() as at:
            assert await at.update("PurchaseOrders", 5, {"externalPONumber": "1001"}) == 5
            assert await at.create_child("Companies", 0, "ToDos", {"actionType": 3}) == 77
        assert json.loads(patch.calls[0].request.content) == {"externalPONumber": "1001", "id": 5}


def test_filters_cover_every_operator_and_groups() -> None:
    body = query_body([
        F.eq("a", 1), F.noteq("b", "x"), F.gt("c", 1), F.gte("d", 2), F.lt("e", 3), F.lte("f", 4),
        F.begins_with("g", "p"), F.ends_with("h", "q"), F.contains("i", "r"), F.exist("j"), F.not_exist("k"),
        F.in_("l", [1, 2]), F.not_in("m", [3]),
        or_(F.eq("n", "S"), and_(F.eq("o", True), F.eq("p", "C", udf=True)))],
        include_fields=["companyName"], max_records=50)
    ops = [f["op"] for f in body["filter"]]
    assert ops == ["eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains", "exist",
                   "notExist", "in", "notIn", "or"]
    assert body["filter"][9] == {"op": "exist", "field": "j"}
    assert body["filter"][11]["value"] == [1, 2]
    assert body["filter"][13]["items"][1] == {"op": "and", "items": [
        {"op": "eq", "field": "o", "value": True}, {"op": "eq", "field": "p", "value": "C", "udf": True}]}
    assert body["IncludeFields"] == ["id", "companyName"] and body["MaxRecords"] == 50
    assert query_body(None)["filter"] == [{"op": "exist", "field": "id"}]
    with pytest.raises(ValueError):
        query_body(None, max_records=501)
    with pytest.raises(ValueError):
        F.eq("a", None)  # type: ignore[arg-type]


TRANSIENT = {"errors": ["An unexpected error has occurred. Please try again."]}


async def test_a_transient_500_with_messages_on_a_read_is_retried() -> None:
    with respx.mock() as router:
        router.get(ZONE).mock(side_effect=[
            httpx.Response(500, json=TRANSIENT),
            httpx.Response(200, json={"zoneName": "Z5", "url": "https://webservices5.autotask.net/ATServicesRest/"}),
        ])
        query = router.post(API + "PurchaseOrders/query").mock(side_effect=[
            httpx.Response(500, json=TRANSIENT),
            httpx.Response(200, json={"items": [{"id": 7}], "pageDetails": {"count": 1, "nextPageUrl": None}}),
        ])
        async with client() as at:
            assert [po["id"] for po in await at.query("PurchaseOrders", [F.eq("status", 2)])] == [7]
        assert query.call_count == 2


async def test_a_refused_write_is_not_sent_again() -> None:
    with respx.mock() as router:
        zone_ok(router)
        patch = router.patch(API + "PurchaseOrders").mock(
            return_value=httpx.Response(500, json={"errors": ["externalPONumber: value too long"]}))
        router.get(API + "ThresholdInformation").mock(return_value=httpx.Response(200, json={}))
        async with client() as at:
            with pytest.raises(AutotaskValidationError) as info:
                await at.update("PurchaseOrders", 7, {"externalPONumber": "x" * 80})
        assert patch.call_count == 1
        assert "value too long" in str(info.value)


async def test_an_unknown_user_at_the_zone_lookup_is_not_retried() -> None:
    with respx.mock() as router:
        zone = router.get(ZONE).mock(return_value=httpx.Response(500, json={"errors": ["Unable to find user"]}))
        async with client() as at:
            with pytest.raises(AutotaskZoneError) as info:
                await at.zone()
        assert zone.call_count == 1
        assert "Unable to find user" in str(info.value)
