"""Hostile services end to end: the sandbox's hostile fault kinds over real sockets, against
the real clients. A zone or page link on another host, a trickling body, an oversized body and
a page of the wrong shape each end in a named error; the secret never leaves for a host the
user did not name (a recording server is the witness)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from client_helpers import fast_retry
from recorder import Recorder
from sync.clients.autotask import AutotaskClient
from sync.clients.errors import (
    AnswerTooLargeError,
    DeadlineError,
    UnexpectedAnswerError,
    UntrustedUrlError,
)
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient
from sync.clients.qbo_query import Select
from sync.sandbox.server import Sandbox, SandboxServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox("empty")) as server:
        yield server


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    with Recorder() as rec:
        # The witness works: a request sent to it is recorded, secret and all.
        httpx.get(rec.url + "/probe", headers={"Secret": "probe"}, timeout=5)
        assert len(rec.requests) == 1 and b"probe" in rec.requests[0]
        rec.requests.clear()
        yield rec


def fault(server: SandboxServer, **rule) -> None:
    resp = httpx.post(server.url + "/_sandbox/faults", json=rule, timeout=10)
    assert resp.status_code == 201, resp.text


def requests_to(server: SandboxServer, service: str, route: str) -> int:
    stats = httpx.get(server.url + "/_sandbox/stats", timeout=10).json()[service]
    return sum(n for r, n in stats["routes"].items() if route.lower() in r.lower())


def autotask(server: SandboxServer, **kw) -> AutotaskClient:
    creds = server.sandbox.credentials(server.url)["autotask"]
    kw.setdefault("retry", fast_retry(3))
    return AutotaskClient(creds["username"], creds["integration_code"], creds["secret"],
                          zone_lookup_base=server.url, **kw)


def qbo(server: SandboxServer, **kw) -> QboClient:
    o = server.sandbox.credentials(server.url)["oauth"]
    oauth = IntuitOAuth(o["client_id"], o["client_secret"], endpoints=IntuitEndpoints.local(server.url),
                        tokens=TokenSet.from_refresh_token(o["refresh_token"], o["realm_id"]))
    kw.setdefault("retry", fast_retry(3))
    return QboClient(oauth, o["realm_id"], api_url=server.url, **kw)


def secret_of(server: SandboxServer) -> str:
    return server.sandbox.credentials(server.url)["autotask"]["secret"]


# ------------------------------------------------------------------ where the secret goes


async def test_an_evil_zone_url_is_refused_and_the_secret_never_sent(sandbox, recorder) -> None:
    fault(sandbox, kind="zone_url", service="autotask", path="zoneInformation",
          url=recorder.url + "/ATServicesRest/")
    async with autotask(sandbox) as at:
        with pytest.raises(UntrustedUrlError) as info:
            await at.get("Companies", 0)
    assert info.value.host == f"127.0.0.1:{recorder.port}"
    assert f"127.0.0.1:{recorder.port}" in info.value.message and "nothing was sent" in info.value.message
    assert secret_of(sandbox) not in info.value.message
    assert recorder.requests == []


@pytest.mark.parametrize("kind", ["next_page_url", "prev_page_url"])
async def test_a_page_link_to_another_host_is_refused_and_never_followed(sandbox, recorder, kind) -> None:
    fault(sandbox, kind=kind, service="autotask", path="Companies/query",
          url=recorder.url + "/ATServicesRest/V1.0/Companies/query/next?paging=x")
    async with autotask(sandbox) as at:
        with pytest.raises(UntrustedUrlError) as info:
            await at.query("Companies")
    assert info.value.host == f"127.0.0.1:{recorder.port}"
    assert "Companies/query" in info.value.message and "another host" in info.value.message
    assert recorder.requests == []


async def test_the_sandbox_is_trusted_only_as_the_zone_lookup_host_the_user_named(sandbox, recorder) -> None:
    # The user named the sandbox: its own zone answer (http://127.0.0.1:PORT) is accepted ...
    async with autotask(sandbox) as at:
        assert (await at.get("Companies", 0))["id"] == 0
    # ... but loopback as such is not: the recorder is on 127.0.0.1 too, on another port.
    fault(sandbox, kind="zone_url", service="autotask", url=recorder.url + "/ATServicesRest/")
    async with autotask(sandbox) as at:
        with pytest.raises(UntrustedUrlError):
            await at.zone()
    assert recorder.requests == []


# ------------------------------------------------------------------ deadline and size


async def test_a_trickling_answer_hits_the_deadline_and_a_read_is_retried_per_the_policy(sandbox) -> None:
    fault(sandbox, kind="trickle", service="autotask", path="Companies/0", delay_ms=100)
    started = time.monotonic()
    async with autotask(sandbox, deadline=0.6, retry=fast_retry(2)) as at:
        with pytest.raises(DeadlineError) as info:
            await at.get("Companies", 0)
    elapsed = time.monotonic() - started
    assert "0.6 s" in info.value.message and not info.value.maybe_committed
    assert elapsed < 4, elapsed  # two attempts of 0.6 s, not the ~20 s the trickle would take
    assert requests_to(sandbox, "autotask", "GET /atservicesrest/v1.0/companies/{id}") == 2


async def test_a_trickling_answer_to_a_write_is_not_repeated_and_may_have_committed(sandbox) -> None:
    fault(sandbox, kind="trickle", service="autotask", method="POST", path="ToDos", delay_ms=100)
    async with autotask(sandbox, deadline=0.6) as at:
        with pytest.raises(DeadlineError) as info:
            await at.create_child("Companies", 0, "ToDos", {
                "actionType": 3, "assignedToResourceID": 29682885, "activityDescription": "x",
                "startDateTime": "2026-01-01T00:00:00Z", "endDateTime": "2026-01-01T01:00:00Z"})
    assert info.value.maybe_committed
    assert requests_to(sandbox, "autotask", "POST /atservicesrest/v1.0/companies/{id}/todos") == 1


@pytest.mark.parametrize("declare_length", [True, False])
async def test_an_oversized_answer_is_refused_unread_and_not_retried(sandbox, declare_length) -> None:
    fault(sandbox, kind="oversized", service="autotask", path="Companies/query", size=4 * 1024 * 1024,
          declare_length=declare_length)
    async with autotask(sandbox, max_bytes=256 * 1024) as at:
        with pytest.raises(AnswerTooLargeError) as info:
            await at.query("Companies")
    assert "limit of 262144" in info.value.message
    assert requests_to(sandbox, "autotask", "POST /atservicesrest/v1.0/companies/query") == 1


async def test_an_oversized_qbo_answer_is_refused(sandbox) -> None:
    fault(sandbox, kind="oversized", service="qbo", path="/query", size=2 * 1024 * 1024, declare_length=False)
    async with qbo(sandbox, max_bytes=512 * 1024) as q:
        with pytest.raises(AnswerTooLargeError):
            await q.query_all(Select("Vendor"))
        await q.oauth.aclose()


# ------------------------------------------------------------------ wrong shapes


async def test_an_autotask_page_without_items_names_the_endpoint(sandbox) -> None:
    fault(sandbox, kind="wrong_shape", service="autotask", path="PurchaseOrders/query")
    async with autotask(sandbox) as at:
        with pytest.raises(UnexpectedAnswerError) as info:
            await at.query("PurchaseOrders")
    assert info.value.endpoint == "PurchaseOrders/query" and "no list of items" in info.value.message


async def test_an_autotask_page_whose_count_disagrees_is_refused(sandbox) -> None:
    fault(sandbox, kind="wrong_shape", service="autotask", path="Companies/query",
          body={"items": [{"id": 1}], "pageDetails": {"count": 3, "nextPageUrl": None}})
    async with autotask(sandbox) as at:
        with pytest.raises(UnexpectedAnswerError, match=r"pageDetails.count 3 for 1 items"):
            await at.query("Companies")


@pytest.mark.parametrize("body, said", [
    (None, "neither a QueryResponse nor a Fault"),
    ({"QueryResponse": {"Vendor": {"Id": "1"}}}, "'Vendor' entry that is not a list"),
    ({"QueryResponse": {"Vendor": [{"Id": "1"}], "maxResults": 5}}, "maxResults 5 for 1 entities"),
    ({"QueryResponse": {"Customer": [{"Id": "1"}]}}, "'Customer' entities where Vendor was asked for"),
    ({"time": "2026-01-01T00:00:00Z"}, "neither a QueryResponse nor a Fault"),
])
async def test_a_qbo_query_answer_of_the_wrong_shape_names_the_query(sandbox, body, said) -> None:
    fault(sandbox, kind="wrong_shape", service="qbo", path="/query", body=body)
    async with qbo(sandbox) as q:
        with pytest.raises(UnexpectedAnswerError) as info:
            await q.query_all(Select("Vendor"))
        await q.oauth.aclose()
    assert info.value.endpoint == "the Vendor query" and said in info.value.message


async def test_a_count_query_without_a_total_is_refused(sandbox) -> None:
    fault(sandbox, kind="wrong_shape", service="qbo", path="/query", body={"QueryResponse": {}})
    async with qbo(sandbox) as q:
        with pytest.raises(UnexpectedAnswerError, match="without a totalCount"):
            await q.count(Select("Bill"))
        await q.oauth.aclose()


async def test_a_page_that_is_not_the_one_asked_for_stops_the_paging(sandbox) -> None:
    # Every page says it is page 1: followed blindly, a full page would repeat forever.
    fault(sandbox, kind="wrong_shape", service="qbo", path="/query",
          body={"QueryResponse": {"Vendor": [{"Id": "1"}], "startPosition": 1, "maxResults": 1}})
    async with qbo(sandbox) as q:
        with pytest.raises(UnexpectedAnswerError, match="startPosition 1 where 2 was asked for"):
            await q.query_all(Select("Vendor"), page_size=1)
        await q.oauth.aclose()


# ------------------------------------------------------------------ the knobs themselves


@pytest.mark.parametrize("rule, said", [
    ({"kind": "zone_url"}, "needs a url"),
    ({"kind": "oversized", "size": 0}, "size must be"),
    ({"kind": "trickle", "delay_ms": -1}, "delay_ms must be"),
    ({"kind": "oversized", "declare_length": "no"}, "declare_length must be"),
    ({"kind": "wrong_shape", "colour": "red"}, "unknown fault fields: colour"),
])
async def test_a_bad_hostile_knob_is_refused_with_its_reason(sandbox, rule, said) -> None:
    resp = httpx.post(sandbox.url + "/_sandbox/faults", json=rule, timeout=10)
    assert resp.status_code == 400 and said in resp.json()["error"]


async def test_the_command_line_takes_the_hostile_knobs() -> None:
    import argparse

    from console.cli_args import fault_spec as _fault_spec

    assert _fault_spec("oversized,size=100,declare_length=no") == {
        "kind": "oversized", "size": 100, "declare_length": False}
    assert _fault_spec("zone_url,url=https://x.example/")["url"] == "https://x.example/"
    with pytest.raises(argparse.ArgumentTypeError, match="needs a url"):
        _fault_spec("next_page_url")
