"""The disk fills while a scan runs: at whichever write it happens, the scan stops with one named
cause (storage_fault: the path, what happened, what to do), no PO is marked ERROR or gets a
to-do for a problem that is not its own, and once there is space again the next scan brings
every PO to exactly one bill, written back. Against the sandbox over real sockets; the fault is
injected into os.write for the store's files (the real full disk: tests/cli/test_cli_faults.py)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from engine_world import base_seed, days_ago
from sync import events as ev

pytestmark = pytest.mark.anyio

REAL_WRITE = os.write


class Disk:
    """os.write into the data folder's temporary files fails with ENOSPC after `room` writes."""

    def __init__(self, data_dir: Path, room: int) -> None:
        self.data_dir = str(data_dir)
        self.room = room
        self.full = False

    def write(self, fd, data):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if path.startswith(self.data_dir) and path.endswith(".tmp"):
            if self.room <= 0:
                self.full = True
                raise OSError(errno.ENOSPC, "No space left on device")
            self.room -= 1
        return REAL_WRITE(fd, data)


def _seed():
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    dock = at.add_product("USB-C Dock", 120)
    ids = [at.add_po(vendor, "Submitted", items=[{"productID": dock, "quantity": 2, "unitCost": 120}],
                     createDateTime=days_ago(1)) for _ in range(3)]
    return seed, ids


@pytest.mark.parametrize("room", [0, 1, 2, 4, 6])
async def test_a_disk_that_fills_mid_scan_stops_it_by_name_and_loses_nothing(world_factory, monkeypatch, room):
    seed, ids = _seed()
    w = await world_factory(seed)
    disk = Disk(w.store.locations.data_dir, room)
    monkeypatch.setattr(os, "write", disk.write)

    stopped = await w.engine.scan_once()

    monkeypatch.setattr(os, "write", REAL_WRITE)
    assert disk.full, "the scan needed fewer writes than the test assumed"
    assert stopped.stopped is not None and stopped.stopped.code == "storage_fault"
    [event] = w.of(ev.ScanStopped)
    assert "the disk is full" in event.cause and str(w.store.locations.data_dir) in event.cause
    assert "Free some space" in event.fix and "report it" not in event.cause + event.fix
    assert not w.of(ev.PoFailed) and w.todos() == []
    assert all(w.po(p).get("externalPONumber") in (None, "") or w.po(p)["externalPONumber"] != "ERROR"
               for p in ids)
    assert len(w.bills()) <= len(ids)

    again = await w.engine.scan_once()  # space again

    assert again.stopped is None and again.failed == 0
    bills = w.bills()
    assert len(bills) == len(ids)  # one bill per PO, never two
    numbers = {w.po(p)["externalPONumber"] for p in ids}
    assert numbers == {b["DocNumber"] for b in bills}
    assert w.store.errors.open_errors() == []


async def test_the_scheduler_pauses_on_a_full_disk_and_carries_on_when_there_is_space(world_factory, monkeypatch):
    import anyio

    seed, ids = _seed()
    w = await world_factory(seed)
    disk = Disk(w.store.locations.data_dir, 0)
    monkeypatch.setattr(os, "write", disk.write)

    async def finished(n: int) -> None:
        with anyio.fail_after(20):
            while len(w.of(ev.ScanFinished)) < n:
                await anyio.sleep(0.02)

    async with anyio.create_task_group() as tg:
        tg.start_soon(w.engine.run)
        await finished(1)
        # Stopped by name, and the scheduler is still there: the next scan is planned.
        assert w.of(ev.ScanStopped)[0].cause_code == "storage_fault"
        with anyio.fail_after(5):
            while not w.of(ev.NextScanScheduled):
                await anyio.sleep(0.02)
        assert not w.of(ev.EngineStopped)
        monkeypatch.setattr(os, "write", REAL_WRITE)  # space again
        w.engine.scan_now()
        await finished(2)
        await w.engine.stop()
    assert w.of(ev.ScanFinished)[1].synced == len(ids) and len(w.bills()) == len(ids)
    assert len(w.notifier.sent) == 1 and "the disk is full" in w.notifier.sent[0].body  # told once, by mail too
