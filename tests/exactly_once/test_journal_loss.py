"""Never a second bill, even when the journal is gone (issue 13 §1).

The journal is a cache of what QuickBooks and Autotask already know. Here bills are created,
Autotask refuses every write-back of their numbers (the POs stay blank, the error log holds a
writeback_failed entry each), and then the data folder's `journal/` is lost (restored from an
older backup, moved to a new server). `atqbo retry --all-failed` and the next scan must find
each PO's bill in QuickBooks by its tag and write its number back: no second bill, whichever
side the numbers come from, and also for a bill the bookkeeper renumbered in QuickBooks
meanwhile (with Autotask numbering, the look-up by number misses it). Black box: the real CLI
in subprocesses, the sandbox over loopback.
"""

from __future__ import annotations

import random
import shutil

import pytest

from .crash_harness import (Daemon, SandboxAdmin, campaign_seed, connect_folder, refuse_write_backs, utc_days_ago,
                            verify)
from sync.sandbox.server import Sandbox, SandboxServer
from sync.store import Store

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


@pytest.mark.timeout(300)
def test_repair_journal_rebuilds_it_from_the_services_dry_run_first(tmp_path):
    """`atqbo repair journal [--dry-run]` after the journal is lost: two POs done, two whose
    write-backs failed (bills exist), one that failed with no bill. The dry run says what it
    would write and writes nothing; the repair writes it; the next scan writes the two numbers
    back and creates no bill."""
    seed, specs = campaign_seed(4, random.Random(17), lines=(1, 1))
    no_items = seed.autotask.add_po(seed.autotask.add_vendor("Empty Crate Ltd"), "Submitted", items=[],
                                    createDateTime=utc_days_ago(1), purchaseOrderNumber="AT-9000")
    done, refused = sorted(specs)[:2], sorted(specs)[2:]
    with SandboxServer(Sandbox(seed)) as server:
        admin = SandboxAdmin(server.url)
        data = tmp_path / "data"
        connect_folder(data, server)
        for po_id in refused:
            refuse_write_backs(admin, po_id)
        assert Daemon(data).wait(120) == 3
        bills = {po: b for b in admin.state()["qbo"]["Bill"] for po in specs
                 if f"(Autotask PO id {po})" in b["PrivateNote"]}
        shutil.rmtree(data / "journal")
        for po_id in refused:
            refuse_write_backs(admin, po_id, refuse=False)
        # The operator types one bill's number into its PO by hand (its error entry stays open).
        typed = refused[1]
        admin.http.patch(f"/autotask/entities/PurchaseOrders/{typed}",
                         json={"externalPONumber": bills[typed]["DocNumber"]}).raise_for_status()

        dry = Daemon(data, "repair", "journal", "--dry-run", "--json")
        assert dry.wait(120) == 0, dry.lines[-3:]
        records = {r["po_id"]: r for r in dry.events("journal_record")}
        summary = dry.lines[-1]
        assert summary["dry_run"] is True and summary["records_written"] == 0
        assert summary["records_to_write"] == 5 and summary["tagged_bills"] == 4 and summary["numbers_due"] == 2
        assert summary["bills_read"] >= 4  # what it read from QuickBooks is told (it said 0 once)
        assert {po: r["after"] for po, r in records.items()} == {
            **{po: "written_back" for po in done}, **{po: "bill_created" for po in refused}, no_items: "failed"}
        assert all(records[po]["bill_id"] == bills[po]["Id"] for po in specs)
        with Store.open(data) as store:
            assert store.journal.all() == []  # nothing written

        human = Daemon(data, "repair", "journal")
        assert human.wait(120) == 0
        text = "\n".join(str(line.get("text", "")) for line in human.lines)
        assert "5 journal record(s) written" in text and "2 PO(s) are finished by the next scan" in text
        assert "is open (the next scan closes it)" in text
        assert f"PO AT-9000 (id {no_items}): open error-log entry" in text
        with Store.open(data) as store:
            journal = {e.po_id: e for e in store.journal.all()}
            open_log = store.errors.latest_open_for_po(no_items)
        assert {po: e.state.value for po, e in journal.items()} == {po: r["after"] for po, r in records.items()}
        assert all(journal[po].bill_id == bills[po]["Id"] and journal[po].doc_number == bills[po]["DocNumber"]
                   for po in specs)
        assert journal[no_items].error_id == open_log.id and journal[no_items].attempt > 1_000_000

        scan = Daemon(data)
        assert scan.wait(120) == 0, scan.lines[-3:]
        v = verify(admin, data, specs)
        admin.close()
    [recovered] = scan.events("recovery_finished")
    assert (recovered["po_ids"], recovered["written_back"]) == (sorted(refused), 1)  # one typed in by hand
    assert scan.events("po_failed") == []
    # Numbers written back, no second bill; only the PO without items is still open (as it should).
    assert v.bills == 4 and v.open_errors == [f"log {open_log.id} po {no_items}: po_no_items"]
    assert [p for p in v.problems() if "error-log" not in p] == []
