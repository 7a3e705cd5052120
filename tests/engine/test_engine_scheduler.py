"""The scheduler and the event bus: run(), scan_now(), pause()/resume(), stop(), subscribers;
and the basic exactly-once path (journal, requestid, look-up before re-create)."""

from __future__ import annotations

import anyio
import pytest

from engine_world import base_seed, days_ago
from sync import events as ev
from sync.clients.http import RetryPolicy
from sync.sandbox.control import FaultRule
from sync.store import JournalState

pytestmark = pytest.mark.anyio


def _seed_with_pos(n: int):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Cable", 5)
    ids = [seed.autotask.add_po(vendor, "Submitted", items=[{"productID": p, "quantity": 1, "unitCost": 5}],
                                createDateTime=days_ago(1)) for _ in range(n)]
    return seed, ids


async def _wait_for(w, kind, count=1, timeout=10.0):
    with anyio.fail_after(timeout):
        while len(w.of(kind)) < count:
            await anyio.sleep(0.01)


async def test_run_scans_at_once_then_waits_the_interval_and_scan_now_wakes_it(world_factory):
    seed, ids = _seed_with_pos(1)
    w = await world_factory(seed, scan_interval_minutes=60)
    async with anyio.create_task_group() as tg:
        tg.start_soon(w.engine.run)
        await _wait_for(w, ev.NextScanScheduled)
        [first] = w.of(ev.ScanFinished)
        assert first.synced == 1
        nxt = w.of(ev.NextScanScheduled)[0]
        assert nxt.interval_minutes == 60 and (nxt.next_at - first.at).total_seconds() > 3500
        await anyio.sleep(0.1)
        assert len(w.of(ev.ScanStarted)) == 1  # still waiting for the interval
        w.engine.scan_now()
        await _wait_for(w, ev.ScanFinished, 2)
        assert w.of(ev.ScanStarted)[1].trigger == "manual"
        await w.engine.stop()
    assert isinstance(w.events[0], ev.EngineStarted) and isinstance(w.events[-1], ev.EngineStopped)


async def test_pause_holds_scheduled_scans_until_resume(world_factory):
    seed, _ = _seed_with_pos(0)
    w = await world_factory(seed, scan_interval_minutes=1)
    w.engine.pause()
    async with anyio.create_task_group() as tg:
        tg.start_soon(w.engine.run)
        await anyio.sleep(0.2)
        assert w.of(ev.ScanStarted) == []  # paused before the first scan
        w.engine.resume()
        await _wait_for(w, ev.ScanFinished)
        await w.engine.stop()
    assert [type(e) for e in w.events if isinstance(e, (ev.Paused, ev.Resumed))] == [ev.Paused, ev.Resumed]


async def test_settings_are_reread_before_each_scan(world_factory):
    seed, ids = _seed_with_pos(1)
    w = await world_factory(seed, days_back=0)
    assert (await w.engine.scan_once()).paused
    w.set(days_back=3, scan_interval_minutes=20)
    summary = await w.engine.scan_once()
    assert summary.synced == 1
    assert set(w.of(ev.SettingsReloaded)[0].changed) == {"days_back", "scan_interval_minutes"}


async def test_a_failing_subscriber_never_breaks_the_engine(world_factory):
    seed, ids = _seed_with_pos(1)
    w = await world_factory(seed)

    def broken(event):
        raise RuntimeError("subscriber bug")

    seen = []
    w.engine.subscribe(broken)
    unsubscribe = w.engine.subscribe(seen.append)
    summary = await w.engine.scan_once()
    assert summary.synced == 1 and any(isinstance(e, ev.PoSynced) for e in seen)
    unsubscribe()
    n = len(seen)
    await w.engine.scan_once()
    assert len(seen) == n


async def test_a_lost_bill_reply_is_looked_up_not_created_again(world_factory):
    seed, [po] = _seed_with_pos(1)
    w = await world_factory(seed)
    # The bill is committed in QBO, then the reply is lost (every resend too, for this scan).
    w.server.sandbox.faults.add(FaultRule(kind="lost", service="qbo", method="POST", path=r"/bill$", times=10))
    w.qbo.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)

    first = await w.engine.scan_once()

    assert first.stopped is not None and first.stopped.code == "qbo_down"
    assert w.store.journal.get(po).state is JournalState.BILL_REQUESTED
    assert len(w.bills()) == 1 and w.po(po)["externalPONumber"] in (None, "")
    w.server.sandbox.faults.clear()

    second = await w.engine.scan_once()

    assert second.synced == 1 and len(w.bills()) == 1  # found by number and PO tag, not re-created
    assert w.po(po)["externalPONumber"] == w.bills()[0]["DocNumber"]
    assert w.store.journal.get(po).state is JournalState.WRITTEN_BACK
    assert w.of(ev.PoSynced)[-1].resumed


async def test_a_failed_write_back_is_finished_later_without_a_second_bill(world_factory):
    seed, [po] = _seed_with_pos(1)
    w = await world_factory(seed)
    w.server.sandbox.faults.add(FaultRule(kind="503", service="autotask", method="PATCH", path="PurchaseOrders"))
    w.at.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)

    first = await w.engine.scan_once()

    assert first.stopped is not None and first.stopped.code == "autotask_down"
    assert w.store.journal.get(po).state is JournalState.BILL_CREATED and len(w.bills()) == 1
    w.server.sandbox.faults.clear()

    second = await w.engine.scan_once()

    assert second.synced == 1 and len(w.bills()) == 1
    assert w.po(po)["externalPONumber"] == w.bills()[0]["DocNumber"]


async def test_request_ids_are_deterministic_per_po_and_attempt():
    from sync.engine.resolve import request_id

    assert request_id("r", 7, 1) == request_id("r", 7, 1)
    assert len({request_id("r", 7, 1), request_id("r", 7, 2), request_id("r", 8, 1), request_id("q", 7, 1)}) == 4
    assert len(request_id("r", 7, 1)) <= 36


async def test_a_po_left_mid_way_is_finished_even_outside_the_window(world_factory):
    seed, [po] = _seed_with_pos(1)
    w = await world_factory(seed, days_back=5)
    w.server.sandbox.faults.add(FaultRule(kind="503", service="autotask", method="PATCH", path="PurchaseOrders"))
    w.at.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    await w.engine.scan_once()
    assert w.store.journal.get(po).state is JournalState.BILL_CREATED
    w.server.sandbox.faults.clear()
    # Days pass: the PO's creation date leaves the window before the next scan.
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"createDateTime": days_ago(40)})

    second = await w.engine.scan_once()

    assert second.synced == 1 and len(w.bills()) == 1
    assert w.po(po)["externalPONumber"] == w.bills()[0]["DocNumber"]


async def test_stop_without_run_waits_for_the_work_in_flight_and_leaves_the_engine_usable(world_factory):
    seed, ids = _seed_with_pos(2)
    w = await world_factory(seed)
    await w.engine.stop()  # nothing running: returns at once
    summary = await w.engine.scan_once()
    assert summary.synced == 2


async def test_clearing_error_by_hand_then_a_scan_resolves_the_old_entry(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product("Mystery", 5)
    po = seed.autotask.add_po(vendor, "Submitted", items=[{"productID": p, "quantity": 1, "unitCost": 5}],
                              createDateTime=days_ago(1))
    w = await world_factory(seed, missing_item="error", new_item_expense_account=None)
    await w.engine.scan_once()
    entry = w.store.errors.latest_open_for_po(po)
    assert entry is not None and w.po(po)["externalPONumber"] == "ERROR"

    w.set(missing_item="create", new_item_expense_account="80")
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"externalPONumber": ""})
    summary = await w.engine.scan_once()

    assert summary.synced == 1 and w.po(po)["externalPONumber"] == "1"
    assert w.store.errors.get(entry.id).status.value == "resolved"
    assert w.store.journal.get(po).attempt == 2


async def test_a_number_held_by_an_unfinished_po_is_not_given_to_another(world_factory):
    seed, [a, b] = _seed_with_pos(2)
    w = await world_factory(seed)
    # PO b was mid-way when the last run died: number "1" reserved, its bill never sent.
    w.store.journal.transition(b, None, JournalState.SEEN, po_number=str(b))
    w.store.journal.transition(b, JournalState.SEEN, JournalState.RESOLVED, doc_number="1",
                               request_id="0" * 32, vendor_id="999")
    w.store.journal.transition(b, JournalState.RESOLVED, JournalState.BILL_REQUESTED)

    summary = await w.engine.scan_once()

    assert summary.synced == 2
    numbers = {w.po(a)["externalPONumber"], w.po(b)["externalPONumber"]}
    assert numbers == {"1", "2"} and sorted(x["DocNumber"] for x in w.bills()) == ["1", "2"]
    assert w.po(b)["externalPONumber"] == "1"


async def test_bills_go_in_growing_batches_and_write_backs_stay_one_per_po(world_factory):
    seed, ids = _seed_with_pos(15)
    w = await world_factory(seed)
    w.engine.bill_batch_size = 4
    w.server.sandbox.stats.reset()

    summary = await w.engine.scan_once()

    assert summary.synced == 15 and len(w.bills()) == 15
    routes = w.server.sandbox.stats.snapshot()
    qbo, at = routes["qbo"]["routes"], routes["autotask"]["routes"]
    # Groups of 1, 2, 4, 4, 4: the first alone (a plain create), then batches up to the cap.
    assert qbo.get("POST /v3/company/{id}/bill") == 1 and qbo.get("POST /v3/company/{id}/batch") == 4
    assert at["PATCH /atservicesrest/v1.0/purchaseorders"] == 15
    # Reads are per scan, not per PO: one query each for POs, items, organizations, products.
    for route in ("purchaseorders/query", "purchaseorderitems/query", "companies/query", "products/query"):
        assert at[f"POST /atservicesrest/v1.0/{route}"] == 1
    assert sorted(int(w.po(i)["externalPONumber"]) for i in ids) == list(range(1, 16))


async def test_a_lost_batch_reply_is_looked_up_and_never_duplicated(world_factory):
    seed, ids = _seed_with_pos(3)
    w = await world_factory(seed)
    w.server.sandbox.faults.add(FaultRule(kind="lost", service="qbo", method="POST", path=r"/batch$", times=10))
    w.qbo.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)

    first = await w.engine.scan_once()

    # The first PO goes alone (a plain create); the next two go in a batch whose reply is lost.
    assert first.stopped is not None and first.stopped.code == "qbo_down"
    assert (first.synced, first.skipped) == (1, 2)
    assert len(w.bills()) == 3  # committed by QBO; the replies were lost
    assert all(w.store.journal.get(i).state is JournalState.BILL_REQUESTED for i in ids[1:])
    w.server.sandbox.faults.clear()

    second = await w.engine.scan_once()

    assert second.synced == 2 and len(w.bills()) == 3
    assert sorted(w.po(i)["externalPONumber"] for i in ids) == sorted(b["DocNumber"] for b in w.bills())


async def test_lookups_grow_with_distinct_names_not_with_pos(world_factory):
    from sync.sandbox.qbo import seed as qs

    seed = base_seed()
    names = [f"Vendor {i}" for i in range(8)]
    for i, name in enumerate(names):
        seed.qbo.vendors.append(qs.vendor(str(200 + i), name))
    seed.qbo.items.append(qs.item("400", "Cable", expense_account_id="80"))
    vendors = [seed.autotask.add_vendor(n) for n in names]
    p = seed.autotask.add_product("Cable", 5)
    for i in range(16):
        seed.autotask.add_po(vendors[i % 8], "Submitted", items=[{"productID": p, "quantity": 1, "unitCost": 5}],
                             createDateTime=days_ago(1))
    w = await world_factory(seed)
    w.server.sandbox.stats.reset()

    summary = await w.engine.scan_once()

    assert summary.synced == 16 and not w.of(ev.VendorCreated)
    queries = w.server.sandbox.stats.snapshot()["qbo"]["routes"]["POST /v3/company/{id}/query"]
    # Groups of 1, 2, 4, 8, 1: a few IN queries per group (vendors, items), plus the scan's own
    # reads (accounts, bill numbers) -- not two look-ups per PO.
    assert queries <= 14, queries
