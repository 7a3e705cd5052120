"""The control socket end to end, over a real Unix socket: a running engine on the sandbox, a
client attaching, live events, every command answered done / refused / failed."""

from __future__ import annotations

import os
import stat

import anyio
import pytest

from control_harness import seed_with_pos
from sync import events as ev
from sync.control.api import CommandRefused, Resynced

pytestmark = pytest.mark.anyio


async def _until(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


async def test_attach_see_the_scan_and_use_every_command(world_factory, served):
    w = await world_factory(seed_with_pos(3, failing=True))
    async with served(w) as svc:
        mode = stat.S_IMODE(os.stat(svc.path).st_mode)
        assert mode == 0o600 and stat.S_IMODE(os.stat(svc.path.parent).st_mode) == 0o700
        await _until(lambda: w.of(ev.ScanFinished), what="the first scan")
        remote = await svc.remote()
        assert remote.hello["pid"] == os.getpid() and remote.hello["protocol"] == 1
        assert remote.hello["data_dir"] == str(w.store.locations.data_dir)
        seen: list[ev.Event] = []
        remote.subscribe(seen.append)
        async with anyio.create_task_group() as tg:
            tg.start_soon(remote.run)
            # attached after the scan: the snapshot replays it
            await _until(lambda: any(isinstance(e, Resynced) for e in seen), what="the snapshot")
            replay = next(e for e in seen if isinstance(e, Resynced)).replay
            assert [e.po_number for e in replay if isinstance(e, ev.PoSynced)] == ["PO-100", "PO-101", "PO-102"]
            assert [e.po_number for e in replay if isinstance(e, ev.PoFailed)] == ["PO-BAD"]
            assert remote.status().engine == "idle"

            # pause / resume: the events come back live
            await remote.pause()
            await _until(lambda: any(isinstance(e, ev.Paused) for e in seen), what="Paused")
            assert remote.status().paused and w.engine.paused
            await remote.resume()
            await _until(lambda: any(isinstance(e, ev.Resumed) for e in seen), what="Resumed")

            # scan now: a second scan's events arrive as typed records
            await remote.scan_now()
            await _until(lambda: len([e for e in seen if isinstance(e, ev.ScanFinished)]) == 1, what="scan 2")
            finished = next(e for e in seen if isinstance(e, ev.ScanFinished))
            assert finished.scanned == 0 and isinstance(finished.duration_s, float)  # all done or ERROR

            # sync one, outside the window
            old = next(p for p in w.at_list("PurchaseOrders") if p["purchaseOrderNumber"] == "PO-OLD")
            outcome = await remote.sync_one(old["id"], "buyer@example.com")
            assert outcome.ok and outcome.doc_number == w.po(old["id"])["externalPONumber"]
            refused = await remote.sync_one(old["id"])
            assert not refused.ok and refused.cause_code == "po_already_synced"
            with pytest.raises(CommandRefused, match="e-mail"):
                await remote.sync_one(old["id"], "not-an-address")

            # the error log, one entry, retry one (still failing), retry all
            total, entries = await remote.log_window("open", "", 0, 50)
            assert total == 1 and entries[0].po_number == "PO-BAD"
            assert (await remote.log_entry(entries[0].id)).cause == entries[0].cause
            again = await remote.retry(int(entries[0].id))
            assert not again.ok and again.cause_code == "item_not_purchasable"
            with pytest.raises(CommandRefused, match="no error-log entry"):
                await remote.retry(999)
            assert [o.po_number for o in await remote.retry_all()] == ["PO-BAD"]

            # settings: read, a bad value refused with its key, a good one saved
            settings = await remote.settings_get()
            assert settings.days_back == 30
            with pytest.raises(CommandRefused, match="days_back"):
                await remote.settings_set({"days_back": -1})
            assert await remote.settings_set({"days_back": 7}) == ("days_back",)
            assert w.store.settings.load().days_back == 7
            options, problems = await remote.options()
            assert options["ap_account"] and problems == {}
            await remote.stop()
        assert remote.stopped_by_service is False


async def test_the_snapshot_has_the_rows_next_scan_budgets_and_open_errors(world_factory, served):
    from control_harness import RawClient

    w = await world_factory(seed_with_pos(2, failing=True))
    async with served(w) as svc:
        await _until(lambda: w.of(ev.NextScanScheduled), what="the first scan and the next one planned")
        raw = await anyio.to_thread.run_sync(RawClient, svc.path)
        hello = await anyio.to_thread.run_sync(raw.hello)
        assert hello["result"]["versions"] == [1] and hello["result"]["atqbo"]
        await anyio.to_thread.run_sync(raw.send, {"id": "s", "cmd": "snapshot"})
        answer = await anyio.to_thread.run_sync(raw.line)
        raw.close()
    snap = answer["result"]
    assert answer["id"] == "s" and answer["status"] == "done"
    assert {(r["po_number"], r["state"]) for r in snap["rows"]} == {("PO-100", "synced"), ("PO-101", "synced"),
                                                                     ("PO-BAD", "failed")}
    assert next(r for r in snap["rows"] if r["state"] == "failed")["log_id"]
    assert snap["next_scan"] is not None and snap["open_errors"] == 1 == snap["status"]["open_errors"]
    assert snap["budgets"]["autotask"]["used_last_hour"] > 0 and snap["budgets"]["autotask"]["limit_per_hour"] == 10_000
    assert snap["budgets"]["qbo"]["limit_per_minute"] == 500
    kinds = [e["event"] for e in snap["replay"]]
    assert kinds[0] == "EngineStarted" and "ScanFinished" in kinds and kinds[-1] == "NextScanScheduled"
