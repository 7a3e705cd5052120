"""QBO throttles (reference/qbo-api.md §6): 10/s per realm and app, 500/min per realm, 40 batch
requests/min; over → 429 code 3001. A hand-driven clock keeps the sliding windows deterministic."""

from __future__ import annotations

from tests.sandbox.qbo_helpers import fault_of, qbo, qbo_server  # noqa: F401 - fixtures


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def setup_limits(qbo_server, qbo) -> Clock:
    clock = Clock()
    qbo_server.sandbox.qbo.limiter.clock = clock
    qbo_server.sandbox.knobs.limits_enabled = True
    return clock


def test_burst_over_10_per_second_is_throttled(qbo_server, qbo):
    clock = setup_limits(qbo_server, qbo)
    statuses = [qbo.get("preferences").status_code for _ in range(10)]
    assert statuses == [200] * 10  # nothing at or under the limit
    r = qbo.get("preferences")
    assert r.status_code == 429
    err = fault_of(r)
    assert err["code"] == "3001"
    assert err["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    assert r.json()["Fault"]["type"] == "SERVICE"
    clock.now += 1.0  # the window slides
    assert qbo.get("preferences").status_code == 200
    stats = qbo.http.get("/_sandbox/stats").json()["qbo"]
    assert stats["throttled"] == 1 and stats["statuses"]["429"] == 1


def test_real_time_burst(qbo_server, qbo):
    qbo_server.sandbox.knobs.limits_enabled = True
    statuses = [qbo.get("preferences").status_code for _ in range(11)]
    assert statuses.count(429) >= 1 and statuses[:10] == [200] * 10


def test_500_per_minute(qbo_server, qbo):
    clock = setup_limits(qbo_server, qbo)
    for i in range(500):
        if i and i % 10 == 0:
            clock.now += 1.0
        assert qbo.get("preferences").status_code == 200
    clock.now += 1.0
    assert qbo.get("preferences").status_code == 429  # the per-second window has room; the minute has not
    clock.now += 60.0
    assert qbo.get("preferences").status_code == 200


def test_40_batches_per_minute(qbo_server, qbo):
    clock = setup_limits(qbo_server, qbo)
    batch = {"BatchItemRequest": [{"bId": "q", "Query": "select count(*) from Vendor"}]}
    for i in range(40):
        if i % 10 == 0:
            clock.now += 1.0
        assert qbo.post("batch", batch).status_code == 200
    clock.now += 1.0
    r = qbo.post("batch", batch)
    assert r.status_code == 429 and fault_of(r)["code"] == "3001"
    assert qbo.get("preferences").status_code == 200  # other calls are still under their limits


def test_limits_are_configurable_and_switchable(qbo_server, qbo):
    setup_limits(qbo_server, qbo)
    assert qbo.http.patch("/_sandbox/qbo/limits", json={"per_second": 3}).json()["per_second"] == 3
    assert [qbo.get("preferences").status_code for _ in range(4)] == [200, 200, 200, 429]
    qbo.http.patch("/_sandbox/knobs", json={"limits_enabled": False})
    assert all(qbo.get("preferences").status_code == 200 for _ in range(20))


def test_stats_bucket_is_the_realm(qbo_server, qbo):
    qbo.get("preferences")
    peaks = qbo.http.get("/_sandbox/stats").json()["qbo"]["peak_concurrency"]
    assert list(peaks) == [qbo.realm]


def test_concurrent_burst_admits_exactly_the_limit(qbo_server, qbo):
    from concurrent.futures import ThreadPoolExecutor

    import httpx

    setup_limits(qbo_server, qbo)  # the clock stands still: every request falls in one second
    headers = {"Authorization": f"Bearer {qbo.token}", "Accept": "application/json"}
    url = qbo_server.url + qbo.url("preferences")
    with httpx.Client(timeout=10) as http, ThreadPoolExecutor(15) as pool:
        statuses = list(pool.map(lambda _: http.get(url, headers=headers).status_code, range(15)))
    assert statuses.count(200) == 10 and statuses.count(429) == 5
