"""Autotask limits over real sockets: the thread limit of 3 per (integration code, endpoint),
the hourly budget with its slow-down and refusal, ThresholdInformation, and the switch-off."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from sync.sandbox.autotask import empty_autotask_seed
from sync.sandbox.autotask.limits import THREAD_MESSAGE
from tests.sandbox.autotask_helpers import AT, error_of, serve


@pytest.fixture
def at() -> Iterator[AT]:
    with serve(latency_ms=300) as server:
        client = AT(server)
        yield client
        client.close()


async def _burst(at: AT, paths: list[str]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=20)) as client:
        return await asyncio.gather(*(client.get(at.base + p, headers=at.headers) for p in paths))


def test_fourth_concurrent_request_on_one_endpoint_gets_429(at: AT) -> None:
    responses = asyncio.run(_burst(at, ["Companies/0"] * 4))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 200, 429]
    refused = next(r for r in responses if r.status_code == 429)
    assert error_of(refused) == THREAD_MESSAGE
    stats = httpx.get(at.server.url + "/_sandbox/stats").json()["autotask"]
    assert stats["throttled"] == 1
    assert max(stats["peak_concurrency"].values()) == 4


def test_three_in_flight_per_endpoint_never_throttle(at: AT) -> None:
    paths = ["Companies/0"] * 3 + ["Products/query/count?search=" + '{"filter":[{"op":"exist","field":"id"}]}'] * 3
    for _ in range(2):
        responses = asyncio.run(_burst(at, paths))
        assert [r.status_code for r in responses] == [200] * 6


def test_threshold_information_is_limited_and_zone_lookup_is_not(at: AT) -> None:
    responses = asyncio.run(_burst(at, ["ThresholdInformation"] * 5))
    assert sum(r.status_code == 429 for r in responses) >= 1

    async def zones() -> list[httpx.Response]:
        async with httpx.AsyncClient(timeout=10) as client:
            url = at.server.url + "/atservicesrest/v1.0/zoneInformation?user=atqbo-api@sandbox.example"
            return await asyncio.gather(*(client.get(url) for _ in range(6)))

    assert [r.status_code for r in asyncio.run(zones())] == [200] * 6


def test_limits_switched_off_allow_any_concurrency(at: AT) -> None:
    httpx.patch(at.server.url + "/_sandbox/knobs", json={"limits_enabled": False})
    responses = asyncio.run(_burst(at, ["Companies/0"] * 6))
    assert [r.status_code for r in responses] == [200] * 6


def test_thread_limit_is_configurable(at: AT) -> None:
    assert at.admin("PATCH", "limits", {"thread_limit": 1}).json()["thread_limit"] == 1
    responses = asyncio.run(_burst(at, ["Companies/0"] * 2))
    assert sorted(r.status_code for r in responses) == [200, 429]
    assert "thread threshold of 1 threads" in error_of(next(r for r in responses if r.status_code == 429))


@pytest.fixture
def fast() -> Iterator[AT]:
    with serve() as server:
        client = AT(server)
        yield client
        client.close()


def test_threshold_information_counts_requests(fast: AT) -> None:
    first = fast.get("ThresholdInformation").json()
    assert set(first) == {"externalRequestThreshold", "requestThresholdTimeframe", "currentTimeframeRequestCount"}
    assert first["externalRequestThreshold"] == 10000 and first["requestThresholdTimeframe"] == 60
    fast.get("Companies/0")
    fast.get("Companies/0")
    assert fast.get("ThresholdInformation").json()["currentTimeframeRequestCount"] == first["currentTimeframeRequestCount"] + 3
    assert fast.admin("PUT", "usage", {"count": 6000}).json()["current_count"] == 6000
    assert fast.get("ThresholdInformation").json()["currentTimeframeRequestCount"] == 6001


def _timed(at: AT, path: str) -> tuple[httpx.Response, float]:
    start = time.perf_counter()
    r = at.get(path)
    return r, time.perf_counter() - start


def test_slow_down_from_half_usage_and_refusal_when_exhausted(fast: AT) -> None:
    fast.admin("PATCH", "limits", {"slowdown": [[0.5, 0.3], [0.75, 0.6]]})
    _, quick = _timed(fast, "Companies/0")
    fast.admin("PUT", "usage", {"count": 5000})
    _, half = _timed(fast, "Companies/0")
    fast.admin("PUT", "usage", {"count": 7600})
    _, three_quarters = _timed(fast, "Companies/0")
    assert quick < 0.25 and 0.3 <= half < 0.6 and three_quarters >= 0.6
    fast.admin("PUT", "usage", {"count": 10000})
    r = fast.get("Companies/0")
    assert r.status_code == 429 and "10000 requests per 60 minutes" in error_of(r)
    assert fast.admin("GET", "usage").json()["current_count"] == 10000  # refusals are not counted
    # switched off: served again (and still counted)
    httpx.patch(fast.server.url + "/_sandbox/knobs", json={"limits_enabled": False})
    assert fast.get("Companies/0").status_code == 200


def test_budget_is_configurable_and_rolls(fast: AT) -> None:
    fast.admin("PATCH", "limits", {"hourly_threshold": 5, "slowdown": []})
    fast.admin("PUT", "usage", {"count": 0})
    assert [fast.get("Companies/0").status_code for _ in range(6)] == [200] * 5 + [429]
    assert fast.admin("PATCH", "limits", {"hourly_threshold": 0}).status_code == 400
    assert fast.admin("PATCH", "limits", {"bogus": 1}).status_code == 400


def test_hourly_window_rolls() -> None:
    from sync.sandbox.autotask.limits import HourlyBudget
    from sync.sandbox.autotask.seed import AutotaskLimits

    now = [1000.0]
    budget = HourlyBudget(AutotaskLimits(hourly_threshold=2, timeframe_minutes=60), clock=lambda: now[0])
    assert budget.admit() == 1 and budget.admit() == 2 and budget.admit() is None
    now[0] += 3599
    assert budget.admit() is None
    now[0] += 2
    assert budget.admit() == 1
