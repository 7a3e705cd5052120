"""How a scan groups its bills and overlaps its write-backs (issue 17 "Throughput at the floor").
Against the sandbox over real sockets; the clients are wrapped only to note when calls happen."""

from __future__ import annotations

import pytest

from engine_world import base_seed, days_ago
from sync.clients.autotask import AutotaskClient
from sync.clients.qbo import QboClient
from sync.engine.planner import BatchPlanner

pytestmark = pytest.mark.anyio

BATCH = "POST /v3/company/{id}/batch"
BILL = "POST /v3/company/{id}/bill"


def _seed(n: int):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    ids = [seed.autotask.add_po(vendor, "Submitted", items=[{"productID": p, "quantity": 1, "unitCost": 5}],
                                createDateTime=days_ago(1)) for _ in range(n)]
    return seed, ids


def test_the_planner_sends_one_po_then_full_batches_after_the_first_success():
    planner = BatchPlanner(30)
    assert planner.next_size() == 1
    planner.record(1)
    assert [planner.next_size() for _ in range(3)] == [30, 30, 30]
    planner.record(0)  # a later group that made no bill does not shrink the next ones
    assert planner.next_size() == 30


def test_the_planner_doubles_while_no_group_has_made_a_bill():
    planner = BatchPlanner(30)
    sizes = []
    for _ in range(7):
        sizes.append(planner.next_size())
        planner.record(0)
    assert sizes == [1, 2, 4, 8, 16, 30, 30]
    planner.record(3)
    assert planner.next_size() == 30
    with pytest.raises(ValueError):
        BatchPlanner(31)


async def test_a_scan_sends_full_batches_once_the_first_bill_is_made(world_factory, monkeypatch):
    seed, ids = _seed(61)
    w = await world_factory(seed)
    sizes: list[int] = []
    real_batch = QboClient.batch

    async def batch(self, items, **kw):
        sizes.append(len(items))
        return await real_batch(self, items, **kw)

    monkeypatch.setattr(QboClient, "batch", batch)

    summary = await w.engine.scan_once()

    assert summary.synced == 61 and len(w.bills()) == 61
    routes = w.server.sandbox.stats.snapshot()["qbo"]["routes"]
    # One bill alone (a plain create), then two full batches: before, 1, 2, 4, 8, 16, 30 (6 requests).
    assert routes.get(BILL) == 1 and routes.get(BATCH) == 2 and sizes == [30, 30]


async def test_write_backs_of_a_group_overlap_the_next_groups_bills(world_factory, monkeypatch):
    seed, ids = _seed(61)
    w = await world_factory(seed)
    w.server.sandbox.knobs.latency_ms = 40  # 30 write-backs at 3 in flight: about 0.4 s a group
    written = 0
    at_batch: list[int] = []
    real_update, real_batch = AutotaskClient.update, QboClient.batch

    async def update(self, *a, **kw):
        nonlocal written
        out = await real_update(self, *a, **kw)
        written += 1
        return out

    async def batch(self, items, **kw):
        at_batch.append(written)
        return await real_batch(self, items, **kw)

    monkeypatch.setattr(AutotaskClient, "update", update)
    monkeypatch.setattr(QboClient, "batch", batch)

    summary = await w.engine.scan_once()

    assert summary.synced == 61 and written == 61
    # The second batch (POs 32-61) goes while the first batch's 30 numbers are still being
    # written: one after another, it would wait for all 31 write-backs before it.
    assert len(at_batch) == 2 and at_batch[1] < 31
    assert all(w.po(i)["externalPONumber"] for i in ids)


async def test_a_group_is_started_only_when_qbo_can_take_its_batch(world_factory):
    """Once QBO's batches a minute are spent, the next group's POs are not announced (and their
    clock not started) until a batch could go: a PO's latency is its own work, not the wait."""
    from sync import events as ev
    from sync.clients.http import SlidingWindowLimiter

    seed, ids = _seed(7)
    w = await world_factory(seed)
    w.engine.bill_batch_size = 2  # groups of 1, 2, 2, 2: four batches
    limiter = SlidingWindowLimiter(1, 0.4)  # one batch per 0.4 s stands for 40 a minute
    w.qbo._batch_per_minute = limiter
    spent_at_start: list[int] = []

    def on_event(event) -> None:
        if isinstance(event, ev.PoStarted):
            spent_at_start.append(limiter.in_window())

    w.engine.subscribe(on_event)
    summary = await w.engine.scan_once()

    assert summary.synced == 7 and len(spent_at_start) == 7
    assert spent_at_start == [0] * 7, spent_at_start  # each group started with a batch free
