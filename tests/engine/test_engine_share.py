"""The `autotask_hourly_share` setting (issue 17): the product's requests in any of Autotask's
rolling timeframes stay within its share of the threshold that ThresholdInformation names,
counted by the sandbox itself. The sandbox's "hour" is 3 s here, so the test waits it out."""

from __future__ import annotations

import time

import pytest

from engine_world import base_seed, days_ago

pytestmark = pytest.mark.anyio


def _seed(n: int):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    ids = [seed.autotask.add_po(vendor, "Submitted", items=[{"productID": p, "quantity": 1, "unitCost": 5}],
                                createDateTime=days_ago(1)) for _ in range(n)]
    return seed, ids


async def test_a_scan_keeps_within_its_share_of_the_hour_and_finishes_later(world_factory):
    seed, ids = _seed(30)
    w = await world_factory(seed, autotask_hourly_share=5)
    # 400 requests per 3-second "hour": a 5 % share is 20. The other integrations have used 300.
    w.at_admin("PATCH", "limits", {"hourly_threshold": 400, "timeframe_minutes": 0.05})
    w.at_admin("PUT", "usage", {"count": 300})

    started = time.monotonic()
    summary = await w.engine.scan_once()
    took = time.monotonic() - started
    # Read at once: the timeframe is 3 s, so on a loaded machine the checks below can outlast it.
    budget = w.engine.autotask_budget()

    assert summary.synced == 30 and all(w.po(i)["externalPONumber"] for i in ids)
    usage = w.at_admin("GET", "usage")
    # About 38 requests (30 write-backs and the reads) at 20 per 3 s: at least one wait.
    assert summary.api_calls["autotask"] > 20 and took > 3.0
    assert 0 < usage["peak_arrived"] <= 20
    assert (budget.share_percent, budget.cap, budget.threshold, budget.timeframe_minutes) == (5, 20, 400, 0.05)
    assert budget.database_used is not None and budget.database_used >= 300
    assert 0 < budget.used <= 20


async def test_the_default_share_is_half_the_threshold_read_before_the_scan(world_factory):
    seed, ids = _seed(2)
    w = await world_factory(seed)
    w.at_admin("PATCH", "limits", {"hourly_threshold": 1000})

    summary = await w.engine.scan_once()

    assert summary.synced == 2
    budget = w.engine.autotask_budget()
    assert (budget.share_percent, budget.cap, budget.threshold) == (50, 500, 1000)
    assert w.at_admin("GET", "usage")["peak_arrived"] == summary.api_calls["autotask"] - 1  # the zone lookup is not counted


def test_the_status_record_carries_the_budget_and_keeps_only_numbers():
    from sync.control.api import ControlStatus

    budget = {"share_percent": 5, "cap": 500, "used": 12, "threshold": 10000, "timeframe_minutes": 60.0,
              "database_used": 4321}
    status = ControlStatus(engine="idle", autotask_budget=budget)
    assert ControlStatus.from_record(status.to_record()).autotask_budget == budget
    hostile = {"share_percent": "5\x1b[2J", "cap": -1, "used": True, "threshold": 10000, "timeframe_minutes": 0}
    assert ControlStatus.from_record({"autotask_budget": hostile}).autotask_budget == {"threshold": 10000}
    assert ControlStatus.from_record({"autotask_budget": "x"}).autotask_budget == {}
