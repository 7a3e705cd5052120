"""Never a second bill, even when the journal is gone (issue 13 §1).

The journal is a cache of what QuickBooks and Autotask already know. Here bills are created,
Autotask refuses every write-back of their numbers (the POs stay blank, the error log holds a
writeback_failed entry each), and then the data folder's `journal/` is lost (restored from an
older backup, moved to a new server). `atqbo retry --all-failed` and the next scan must find
each PO's bill in QuickBooks by its tag and write its number back: no second bill, whichever
side the numbers come from, and also for a bill the bookkeeper renumbered in QuickBooks
meanwhile (with Autotask numbering, the look-up by number misses it). Black box: the real CLI in subprocesses, the sandbox over loopback.
"""

from __future__ import annotations

import random
import shutil

import pytest

from .crash_harness import (Daemon, SandboxAdmin, campaign_seed, connect_folder, refuse_write_backs, verify)
from sync.sandbox.server import Sandbox, SandboxServer

N_POS = 6


@pytest.mark.timeout(300)
@pytest.mark.parametrize("source", ["quickbooks", "autotask"])
def test_journal_lost_after_failed_write_backs_no_second_bill(tmp_path, source):
    seed, specs = campaign_seed(N_POS, random.Random(13), lines=(1, 2))
    with SandboxServer(Sandbox(seed)) as server:
        admin = SandboxAdmin(server.url)
        data = tmp_path / "data"
        connect_folder(data, server, po_number_source=source)
        for po_id in specs:
            refuse_write_backs(admin, po_id)
        first = Daemon(data)
        assert first.wait(120) == 3, first.lines[-5:]
        assert sorted(int(r["po_id"]) for r in first.events("po_failed")) == sorted(specs)
        assert {r.get("cause_code") for r in first.events("po_failed")} == {"writeback_failed"}
        before = verify(admin, data, specs)
        assert before.bills == N_POS and before.duplicates == {}

        # Meanwhile the bookkeeper renumbers one bill in QuickBooks (found by its tag all the same).
        bill = next(b for b in admin.state()["qbo"]["Bill"] if f"(Autotask PO id {min(specs)})" in b["PrivateNote"])
        admin.http.patch(f"/qbo/entities/Bill/{bill['Id']}", json={"DocNumber": "R-77"}).raise_for_status()

        shutil.rmtree(data / "journal")  # the journal is lost; the error log survives
        for po_id in specs:
            refuse_write_backs(admin, po_id, refuse=False)  # the operator fixes the records

        retry = Daemon(data, "retry", "--all-failed", "--json")
        assert retry.wait(120) == 0, retry.lines[-5:]
        scan = Daemon(data)
        assert scan.wait(120) == 0, scan.lines[-5:]
        v = verify(admin, data, specs)
        admin.close()
    assert v.duplicates == {}, v.problems()
    assert v.bills == N_POS
    assert v.problems() == []  # every number written back, nothing open, the journal complete
