"""A PO's bill is found in QBO by its tag whenever the journal cannot be trusted to know it
(issue 13 §1): a Duplicate Request ID answer means the earlier create went through, and a
batch result is only this PO's when its bill names this PO. Against the sandbox over real
sockets; qbo_doubles.py changes one exchange of it."""

from __future__ import annotations

from functools import partial

import pytest

from engine_world import base_seed, days_ago
from qbo_doubles import FirstComer, QueryLog, SwappedBatchAnswers
from sync.clients.http import RetryPolicy
from sync.sandbox.control import FaultRule
from sync.store import Journal, JournalState as S

pytestmark = pytest.mark.anyio


def _seed(n: int):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    product = seed.autotask.add_product("Cable", 5)
    ids = [seed.autotask.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": k + 1, "unitCost": 5}],
                                createDateTime=days_ago(1)) for k in range(n)]
    return seed, ids


def _bills_of(w, po_id: int) -> list[dict]:
    return [b for b in w.bills() if f"(Autotask PO id {po_id})" in (b.get("PrivateNote") or "")]


def _lose_journal(w) -> None:
    """The data folder's journal is gone (the error log stays)."""
    w.store.journal.close()
    for path in w.store.locations.journal_dir.iterdir():
        path.unlink()
    w.store.journal = Journal(w.store.locations.journal_dir)


@pytest.mark.parametrize("how", ["sync_one", "scan"])
async def test_duplicate_request_id_on_a_create_takes_the_bill_that_went_through(world_factory, how):
    seed, [po] = _seed(1)
    w = await world_factory(seed, wrap=partial(FirstComer, path=r"/bill$"))

    if how == "sync_one":
        outcome = await w.engine.sync_one(po)
    else:
        [outcome] = (await w.engine.scan_once()).outcomes  # a group of one: a plain create

    assert w.server.sandbox.app.fired == 1
    [bill] = w.bills()  # the earlier request's bill, and no other
    assert bill["DocNumber"] == "1-E" and _bills_of(w, po) == [bill]
    assert outcome.ok and outcome.doc_number == "1-E", outcome.cause
    assert w.po(po)["externalPONumber"] == "1-E"
    assert w.store.journal.get(po).state is S.WRITTEN_BACK
    assert w.store.errors.latest_open_for_po(po) is None


async def test_duplicate_request_id_on_a_batch_takes_every_bill_that_went_through(world_factory):
    seed, pos = _seed(3)  # groups of 1 then 2: the second is a batch
    w = await world_factory(seed, wrap=partial(FirstComer, path=r"/batch$"))

    summary = await w.engine.scan_once()

    assert w.server.sandbox.app.fired == 1
    assert (summary.synced, summary.failed) == (3, 0), [o.cause for o in summary.outcomes]
    assert len(w.bills()) == 3
    for po in pos:
        [bill] = _bills_of(w, po)
        assert w.po(po)["externalPONumber"] == bill["DocNumber"]
    assert sorted(b["DocNumber"] for b in w.bills()) == ["1", "2-E", "3-E"]


async def test_duplicate_request_id_with_no_bill_naming_the_po_is_told_not_rejected_and_not_resent(world_factory):
    seed, [po] = _seed(1)
    w = await world_factory(seed, wrap=partial(FirstComer, path=r"/bill$", untag=True))

    outcome = await w.engine.sync_one(po)

    assert not outcome.ok and outcome.cause.code == "bill_request_unmatched"
    assert f"Autotask PO id {po}" in outcome.cause.fix
    assert len(w.bills()) == 1 and _bills_of(w, po) == []  # only the other request's bill
    assert w.po(po)["externalPONumber"] == "ERROR"


async def test_a_batch_result_naming_another_po_is_an_error_for_that_po_never_written_back(world_factory):
    seed, [first, a, b] = _seed(3)
    w = await world_factory(seed, wrap=SwappedBatchAnswers)

    summary = await w.engine.scan_once()

    assert w.server.sandbox.app.fired == 1
    causes = {o.po_id: o.cause.code for o in summary.outcomes if not o.ok}
    assert causes == {a: "bill_not_this_po", b: "bill_not_this_po"}
    assert w.po(first)["externalPONumber"] == "1"
    # Neither PO got the other's number (each bill exists in QBO, named for its own PO).
    assert w.po(a)["externalPONumber"] == "ERROR" and w.po(b)["externalPONumber"] == "ERROR"
    assert len(w.bills()) == 3

    # The retry finds each PO's own bill by its tag: written back, never billed again.
    outcomes = await w.engine.retry_all()

    assert all(o.ok for o in outcomes) and len(outcomes) == 2
    assert len(w.bills()) == 3
    for po in (a, b):
        [bill] = _bills_of(w, po)
        assert w.po(po)["externalPONumber"] == bill["DocNumber"]
        assert w.store.journal.get(po).state is S.WRITTEN_BACK
    assert w.store.errors.open_errors() == []


async def test_after_the_journal_is_lost_a_scan_reads_qbo_bills_once_and_bills_nothing_twice(world_factory):
    seed, pos = _seed(6)
    w = await world_factory(seed, wrap=QueryLog)
    for po in pos:  # Autotask refuses every write-back: bills exist, the POs stay blank
        w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"shipToName": ""})
    first = await w.engine.scan_once()
    assert first.failed == 6 and len(w.bills()) == 6
    _lose_journal(w)
    for po in pos:
        w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"shipToName": "Receiving"})
    log = w.server.sandbox.app.statements
    log.clear()
    w.server.sandbox.stats.reset()

    summary = await w.engine.scan_once()

    assert (summary.synced, summary.failed) == (6, 0)
    assert len(w.bills()) == 6
    for po in pos:
        [bill] = _bills_of(w, po)
        assert w.po(po)["externalPONumber"] == bill["DocNumber"]
        assert w.store.journal.get(po).state is S.WRITTEN_BACK
    window_reads = [q for q in log if "FROM Bill" in q and "MetaData.CreateTime" in q]
    assert len(window_reads) == 1, log  # one read serves every PO of the scan (groups of 1, 2, 3)
    routes = w.server.sandbox.stats.snapshot()["qbo"]["routes"]
    assert not any(r.endswith(("/bill", "/batch")) for r in routes), routes  # no bill sent at all


async def test_sync_one_of_a_po_older_than_the_window_finds_its_bill_after_the_journal_is_lost(world_factory):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    product = seed.autotask.add_product("Cable", 5)
    old = seed.autotask.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": 1, "unitCost": 5}],
                               createDateTime=days_ago(400))
    w = await world_factory(seed, days_back=30)
    w.at_admin("PATCH", f"entities/PurchaseOrders/{old}", {"shipToName": ""})
    first = await w.engine.sync_one(old)
    assert first.cause.code == "writeback_failed" and len(w.bills()) == 1
    _lose_journal(w)
    w.at_admin("PATCH", f"entities/PurchaseOrders/{old}", {"shipToName": "Receiving"})

    outcome = await w.engine.sync_one(old)

    [bill] = w.bills()
    assert outcome.ok and outcome.doc_number == bill["DocNumber"] == w.po(old)["externalPONumber"]


async def test_retrying_every_failed_po_after_the_journal_is_lost_reads_qbo_bills_once(world_factory):
    seed, pos = _seed(4)
    w = await world_factory(seed, wrap=QueryLog)
    for po in pos:
        w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"shipToName": ""})
    await w.engine.scan_once()
    _lose_journal(w)
    for po in pos:
        w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"shipToName": "Receiving"})
    log = w.server.sandbox.app.statements
    log.clear()

    outcomes = await w.engine.retry_all()

    assert [o.ok for o in outcomes] == [True] * 4 and len(w.bills()) == 4
    assert all(w.po(po)["externalPONumber"] == _bills_of(w, po)[0]["DocNumber"] for po in pos)
    window_reads = [q for q in log if "FROM Bill" in q and "MetaData.CreateTime" in q]
    assert len(window_reads) == 1, window_reads


async def test_a_bill_whose_reply_was_lost_and_that_was_renumbered_meanwhile_is_found_by_its_tag(world_factory):
    seed, [po] = _seed(1)
    w = await world_factory(seed)
    # The create commits in QBO and every reply is lost: the journal stays at bill_requested.
    w.server.sandbox.faults.add(FaultRule(kind="lost", service="qbo", method="POST", path=r"/bill$", times=10))
    w.qbo.retry = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
    first = await w.engine.scan_once()
    assert first.stopped is not None and w.store.journal.get(po).state is S.BILL_REQUESTED
    w.server.sandbox.faults.clear()
    [bill] = w.bills()
    w.qbo_admin("PATCH", f"entities/Bill/{bill['Id']}", {"DocNumber": "R-1"})  # the bookkeeper renumbers it

    summary = await w.engine.scan_once()

    assert summary.synced == 1 and len(w.bills()) == 1
    assert w.po(po)["externalPONumber"] == "R-1"  # the number the bill has now, not the one sent
    assert w.store.journal.get(po).doc_number == "R-1"


async def test_a_bill_found_by_its_tag_without_a_number_is_told_and_never_billed_again(world_factory):
    seed, [po] = _seed(1)
    w = await world_factory(seed)
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"shipToName": ""})
    await w.engine.scan_once()
    [bill] = w.bills()
    _lose_journal(w)
    w.at_admin("PATCH", f"entities/PurchaseOrders/{po}", {"shipToName": "Receiving"})
    w.qbo_admin("PATCH", f"entities/Bill/{bill['Id']}", {"DocNumber": ""})  # the number cleared in QBO

    summary = await w.engine.scan_once()

    [outcome] = summary.outcomes
    assert outcome.cause.code == "bill_without_number" and bill["Id"] in outcome.cause.fix
    assert len(w.bills()) == 1 and w.po(po)["externalPONumber"] == "ERROR"

    w.qbo_admin("PATCH", f"entities/Bill/{bill['Id']}", {"DocNumber": "77"})  # the operator fixes it
    [retried] = await w.engine.retry_all()

    assert retried.ok and w.po(po)["externalPONumber"] == "77" and len(w.bills()) == 1
