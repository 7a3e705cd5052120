"""Recovery: what a crash, a stop or a failed write-back left mid-way is finished, never billed
twice (issue 6 "Exactly once"). Against the sandbox over real sockets; a "restart" is a new
Engine on the same data folder, as the daemon's next run would be."""

from __future__ import annotations

import anyio
import pytest

from engine_world import base_seed, days_ago
from sync import events as ev
from sync.clients.http import RetryPolicy
from sync.engine import Engine
from sync.engine.recovery import RecoveryFinished
from sync.sandbox.control import FaultRule
from sync.store import ErrorStatus, JournalState as S

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_attempts=2, base_delay=0.01, max_delay=0.02)
PATCH_PO = "PATCH /atservicesrest/v1.0/purchaseorders"


def _seed(n: int, product: str = "Cable"):
    seed = base_seed()
    vendor = seed.autotask.add_vendor("Ingram Micro")
    p = seed.autotask.add_product(product, 5)
    ids = [seed.autotask.add_po(vendor, "Submitted", items=[{"productID": p, "quantity": 1, "unitCost": 5}],
                                createDateTime=days_ago(1)) for _ in range(n)]
    return seed, ids


def _restart(w) -> tuple[Engine, list]:
    """The next run on the same data folder: a new engine, its own events."""
    engine = Engine(w.store, w.at, w.qbo, notifier=w.notifier)
    seen: list = []
    engine.subscribe(seen.append)
    return engine, seen


def _routes(w, service: str) -> dict:
    return w.server.sandbox.stats.snapshot()[service]["routes"]


def _of(events, kind):
    return [e for e in events if isinstance(e, kind)]


async def test_a_write_back_committed_before_the_journal_caught_up_is_settled_without_a_patch(world_factory):
    seed, [po] = _seed(1)
    w = await world_factory(seed)
    # The PATCH commits in Autotask and every reply is lost: to the engine the run ends there,
    # exactly as if it had been killed between the write-back and the journal's last step.
    w.server.sandbox.faults.add(FaultRule(kind="lost", service="autotask", method="PATCH", path="PurchaseOrders$",
                                          times=10))
    w.at.retry = FAST
    first = await w.engine.scan_once()
    assert first.stopped is not None
    assert w.store.journal.get(po).state is S.BILL_CREATED and w.po(po)["externalPONumber"] == "1"
    w.server.sandbox.faults.clear()
    w.server.sandbox.stats.reset()

    engine, seen = _restart(w)
    summary = await engine.scan_once()

    [recovered] = _of(seen, RecoveryFinished)
    assert (recovered.found, recovered.written_back, recovered.po_ids) == (1, 1, (po,))
    assert w.store.journal.get(po).state is S.WRITTEN_BACK
    assert PATCH_PO not in _routes(w, "autotask")  # Autotask already held the number
    assert len(w.bills()) == 1 and summary.synced == 1 and summary.failed == 0
    # Nothing is left to look at: the next scan neither recovers nor reads the PO again.
    w.server.sandbox.stats.reset()
    await engine.scan_once()
    assert len(_of(seen, RecoveryFinished)) == 1
    assert "GET /atservicesrest/v1.0/purchaseorders/{id}" not in _routes(w, "autotask")


async def _lost_then_refused(world_factory):
    seed, [po] = _seed(1)
    w = await world_factory(seed)
    # The write-back commits, its reply is lost, and the client's resend is refused with a 500.
    w.server.sandbox.faults.add(FaultRule(kind="lost", service="autotask", method="PATCH", path="PurchaseOrders$",
                                          times=1))
    w.server.sandbox.faults.add(FaultRule(kind="500", service="autotask", method="PATCH", path="PurchaseOrders$",
                                          skip=1, times=1))
    w.at.retry = FAST
    summary = await w.engine.scan_once()
    assert summary.failed == 1 and summary.outcomes[0].cause.code == "writeback_failed"
    # Not `failed`: the bill exists and its number is what is due, which recovery can finish.
    assert w.store.journal.get(po).state is S.BILL_CREATED
    assert w.po(po)["externalPONumber"] == "1" and len(w.bills()) == 1 and len(w.todos()) == 1
    w.server.sandbox.faults.clear()
    return w, po, w.store.errors.latest_open_for_po(po)


async def test_a_retry_that_finds_the_number_written_resolves_the_entry_and_the_journal(world_factory):
    w, po, entry = await _lost_then_refused(world_factory)

    outcome = await w.engine.retry(entry.id)

    assert outcome.ok and outcome.doc_number == "1"
    assert w.store.errors.get(entry.id).status is ErrorStatus.RESOLVED
    assert w.store.journal.get(po).state is S.WRITTEN_BACK
    assert len(w.bills()) == 1 and w.po(po)["externalPONumber"] == "1"


async def test_the_next_run_settles_a_refused_write_back_that_had_committed(world_factory):
    w, po, entry = await _lost_then_refused(world_factory)
    engine, seen = _restart(w)

    await engine.scan_once()

    assert _of(seen, RecoveryFinished)[0].written_back == 1
    assert w.store.journal.get(po).state is S.WRITTEN_BACK
    assert w.store.errors.get(entry.id).status is ErrorStatus.RESOLVED
    [todo] = w.todos()
    assert todo.get("completedDate")  # the operator's to-do is closed, not left to chase
    assert len(w.bills()) == 1


async def test_a_failed_record_with_a_bill_is_written_back_when_autotask_is_reachable_again(world_factory):
    seed, [po] = _seed(1)
    w = await world_factory(seed)
    w.server.sandbox.faults.add(FaultRule(kind="500", service="autotask", method="PATCH", path="PurchaseOrders$",
                                          times=2))
    w.at.retry = FAST
    await w.engine.scan_once()
    assert w.store.journal.get(po).state is S.BILL_CREATED and w.po(po)["externalPONumber"] in (None, "")
    w.server.sandbox.faults.clear()

    summary = await w.engine.scan_once()  # the next scan, same process

    assert summary.synced == 1 and w.po(po)["externalPONumber"] == "1" and len(w.bills()) == 1
    assert w.store.journal.get(po).state is S.WRITTEN_BACK
    assert w.store.errors.latest_open_for_po(po) is None
    assert len(w.notifier.sent) == 1  # one notice for the failure, not one per scan


async def _failure_cut_before_its_todo(world_factory, kind: str):
    seed, [po] = _seed(1, product="Mystery")
    w = await world_factory(seed, missing_item="error", new_item_expense_account=None)
    w.server.sandbox.faults.add(FaultRule(kind=kind, service="autotask", method="POST", path="Companies/0/ToDos$",
                                          times=10))
    w.at.retry = FAST
    first = await w.engine.scan_once()
    assert first.stopped is not None  # Autotask failed while the failure was being recorded
    assert w.po(po)["externalPONumber"] == "ERROR"
    record = w.store.journal.get(po)
    assert record.state is S.FAILED and record.pending == "failure"
    entry = w.store.errors.latest_open_for_po(po)
    assert entry is not None and entry.todo_id is None
    w.server.sandbox.faults.clear()
    return w, po, entry


@pytest.mark.parametrize("kind", ["503", "lost"])
async def test_a_failure_cut_before_its_todo_gets_exactly_one_todo_on_the_next_run(world_factory, kind):
    # 503: the to-do was never made. lost: it was made and the reply lost (as a kill right after
    # the POST): the next run finds it instead of making a second one.
    w, po, entry = await _failure_cut_before_its_todo(world_factory, kind)
    assert len(w.todos()) == (1 if kind == "lost" else 0)
    engine, seen = _restart(w)

    await engine.scan_once()
    await engine.scan_once()

    assert _of(seen, RecoveryFinished)[0].failures_completed == 1 and len(_of(seen, RecoveryFinished)) == 1
    [todo] = w.todos()
    assert f"(id {po})" in todo["activityDescription"] and not todo.get("completedDate")
    assert w.store.errors.get(entry.id).todo_id == todo["id"]
    assert w.store.journal.get(po).pending is None and w.store.journal.get(po).state is S.FAILED
    assert len(_of(seen, ev.TodoCreated)) == (0 if kind == "lost" else 1)
    assert len([n for n in w.notifier.sent if n.po_id == po]) == 1  # the one the cut run could not send
    assert w.bills() == []


async def test_every_record_left_mid_way_is_finished_before_the_first_scan(world_factory):
    seed, [fresh, retried, requested] = _seed(3)
    w = await world_factory(seed)
    j = w.store.journal
    # fresh: picked up, killed before anything was sent.
    j.transition(fresh, None, S.SEEN, po_number=str(fresh))
    # retried: an operator's retry killed mid-way (the PO marked ERROR, its entry retrying).
    j.transition(retried, None, S.SEEN)
    j.transition(retried, S.SEEN, S.RESOLVED)
    w.at_admin("PATCH", f"entities/PurchaseOrders/{retried}", {"externalPONumber": "ERROR"})
    entry = w.store.errors.record_failure(po_id=retried, cause_code="missing_item", cause="c", fix="f")
    w.store.errors.mark_retrying(entry.id)
    # requested: number 50 chosen and the bill create sent, the reply never seen (not in QBO).
    j.transition_many([(requested, None, S.SEEN, {}),
                       (requested, S.SEEN, S.RESOLVED, {"doc_number": "50", "request_id": "a" * 32}),
                       (requested, S.RESOLVED, S.BILL_REQUESTED, {})])

    summary = await w.engine.scan_once()

    [recovered] = w.of(RecoveryFinished)
    assert (recovered.found, recovered.released, recovered.failed, recovered.synced) == (3, 1, 1, 1)
    assert recovered.po_ids == tuple(sorted((fresh, retried, requested)))
    scan_started = [e for e in w.of(ev.PoStarted) if e.source == "scan"]
    assert w.events.index(recovered) < w.events.index(scan_started[0])  # before the scan's own work
    assert all(state is S.WRITTEN_BACK for state in (j.get(fresh).state, j.get(requested).state))
    assert j.get(fresh).attempt == 2  # released, then a new attempt
    assert j.get(retried).state is S.FAILED and w.store.errors.get(entry.id).status is ErrorStatus.OPEN
    assert w.po(requested)["externalPONumber"] == "50"  # its own number, resent with its requestid
    assert sorted(b["DocNumber"] for b in w.bills()) == ["50", w.po(fresh)["externalPONumber"]]
    assert summary.synced == 2 and j.unfinished() == []


async def test_a_scan_stores_each_group_step_with_one_journal_write(world_factory, monkeypatch):
    from sync.store.journal import Journal

    seed, ids = _seed(15)
    w = await world_factory(seed)
    w.engine.bill_batch_size = 8
    single, many = [], []
    real_single, real_many = Journal.transition, Journal.transition_many
    monkeypatch.setattr(Journal, "transition", lambda self, *a, **k: (single.append(a[0]), real_single(self, *a, **k))[1])
    monkeypatch.setattr(Journal, "transition_many", lambda self, steps: (many.append(list(steps)),
                                                                         real_many(self, many[-1]))[1])

    summary = await w.engine.scan_once()

    assert summary.synced == 15 and len(w.bills()) == 15
    # Groups of 1, then full ones of 8 (and the 6 left): seen, resolved, bill_requested,
    # bill_created, written_back per group.
    assert single == [] and len(many) == 3 * 5
    assert sorted(step[0] for batch in many for step in batch) == sorted(ids * 5)
    assert all(w.store.journal.get(i).state is S.WRITTEN_BACK for i in ids)
