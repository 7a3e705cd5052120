"""A scan with nothing eligible stays cheap (issue 17 "Idle cost"): at most 3 API calls, as the
sandbox counts them, and under a second."""

from __future__ import annotations

import time

import pytest

from engine_world import base_seed, days_ago

pytestmark = pytest.mark.anyio


async def test_a_scan_with_nothing_eligible_costs_at_most_3_calls_and_under_a_second(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    line = [{"productID": p, "quantity": 1, "unitCost": 5}]
    for n in range(200):  # billed already: in the window, but with a number
        seed.autotask.add_po(vendor, "Submitted", items=line, createDateTime=days_ago(2), externalPONumber=str(n + 1))
    for _ in range(20):  # outside the window, or not Submitted
        seed.autotask.add_po(vendor, "Submitted", items=line, createDateTime=days_ago(90))
        seed.autotask.add_po(vendor, "New", items=line, createDateTime=days_ago(1))
    w = await world_factory(seed)
    w.server.sandbox.stats.reset()

    started = time.monotonic()
    summary = await w.engine.scan_once()
    took = time.monotonic() - started

    stats = w.server.sandbox.stats.snapshot()
    calls = {service: stats[service]["total"] for service in stats}
    assert summary.scanned == 0 and summary.stopped is None
    # The zone, the status picklist and the eligible query; nothing from QBO or Intuit.
    assert sum(calls.values()) <= 3 and calls["autotask"] == sum(calls.values()), calls
    assert took < 1.0
