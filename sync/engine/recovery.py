"""Finishing what a crash (or a stop, or a failed write-back) left mid-way in the journal.

Before every scan, so on start before the first one, each record `Journal.unfinished()` lists
is brought to a final state, never by creating a second bill:
- seen / resolved: no bill was requested in this attempt. A PO with an open error-log entry
  (an interrupted retry) goes back to `failed`; any other is `released`, and the scan that
  follows picks it up like any eligible PO.
- bill_requested: the bill is looked up in QBO (number, vendor, PO tag). Found: as below.
  Not found and the PO still blank (or ERROR): it is finished through the one-PO path, which
  looks again and re-sends with the same requestid. Not found and the PO holds some other
  number: released (nothing of ours exists).
- bill_created: the PO is read from Autotask. Already holding the bill's number (a crash after
  the write-back committed, or a lost reply): the journal moves to written_back and the PO's
  open log entry (a failed write-back) is resolved, with no PATCH. Blank or ERROR: the number
  is written back. Another number: the PO fails with `writeback_conflict` (never overwritten).
- failed with `pending`: the failure's ERROR marker, to-do (an existing one is adopted, never
  duplicated) and notice are completed (`failures.finish_pending`).
What was done is reported by one RecoveryFinished event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio

from sync.events import RecoveryFinished
from sync.settings import Settings
from sync.store.errorlog import ErrorStatus
from sync.store.journal import JournalState as S

from . import causes, documents, sources
from .failures import finish_pending
from .po_sync import PoOutcome
from .resolve import Resolver
from .scan import ERROR_MARKER, is_blank


@dataclass
class RecoveryCounts:
    found: int = 0
    written_back: int = 0
    synced: int = 0
    failed: int = 0
    released: int = 0
    failures_completed: int = 0

    def event(self, po_ids: list[int]) -> RecoveryFinished:
        return RecoveryFinished(found=self.found, written_back=self.written_back, synced=self.synced,
                                failed=self.failed, released=self.released,
                                failures_completed=self.failures_completed, po_ids=tuple(sorted(po_ids)))


async def recover(engine: Any, settings: Settings) -> list[PoOutcome]:
    """Bring every journal record an earlier run left mid-way to a final state (above);
    returns the outcomes of POs finished now. Raises ScanHalt when a service is down (what is
    left stays in the journal for the next try). `engine`: the Engine whose store, clients and
    one-PO steps it uses (passed in: this module never imports engine.py)."""
    journal, errors = engine.store.journal, engine.store.errors
    entries = await anyio.to_thread.run_sync(journal.unfinished)
    if not entries:
        return []
    counts = RecoveryCounts(found=len(entries))
    outcomes: list[PoOutcome] = []

    # Nothing was requested from QBO in these attempts: no API call needed.
    def put_back() -> int:
        steps = []
        for e in entries:
            if e.state not in (S.SEEN, S.RESOLVED) or e.bill_id:
                continue
            open_entry = errors.latest_open_for_po(e.po_id)
            if open_entry is not None:  # an interrupted retry: the failure stands
                if open_entry.status is ErrorStatus.RETRYING:
                    errors.update(open_entry.id, status=ErrorStatus.OPEN)
                steps.append((e.po_id, e.state, S.FAILED, {"error_id": open_entry.id}))
            else:
                steps.append((e.po_id, e.state, S.RELEASED, {}))
        journal.transition_many(steps)
        return sum(1 for step in steps if step[2] is S.RELEASED)

    released = await anyio.to_thread.run_sync(put_back)
    counts.released += released
    counts.failed += sum(1 for e in entries if e.state in (S.SEEN, S.RESOLVED) and not e.bill_id) - released

    try:
        deps = engine._deps(settings)
        for e in entries:
            if e.state is S.FAILED and e.pending:
                await engine._guard(finish_pending(deps, e.po_id))
                counts.failures_completed += 1

        # (seen / resolved with a bill id: left by an older version while resuming a bill.)
        mid = [e for e in entries if e.state in (S.BILL_REQUESTED, S.BILL_CREATED) or e.bill_id]
        if mid:
            pos = await engine._guard(sources.pos_by_ids(engine.autotask, [e.po_id for e in mid]))
            resolver = Resolver(engine.qbo, engine._publish)
            resume: list[dict] = []
            settled: list[tuple[int, Any]] = []
            for e in mid:
                po = pos.get(e.po_id)
                number = e.po_number or str(e.po_id)
                if po is None:
                    outcomes.append(await engine._guard(engine._fail(None, settings, e.po_id, number,
                                                                 causes.make("po_not_found", po_id=e.po_id), None)))
                    continue
                external = str(po.get("externalPONumber") or "").strip()
                ours = is_blank(external) or external.upper() == ERROR_MARKER
                if e.state in (S.SEEN, S.RESOLVED):
                    resume.append(po)  # the one-PO path reads the bill back first
                    continue
                if e.state is S.BILL_REQUESTED:
                    if ours:
                        resume.append(po)  # the one-PO path looks the bill up, re-sends if absent
                        continue
                    found = await engine._guard(resolver.find_bill_of(e.po_id, e.doc_number, e.vendor_id,
                                                                                documents.document_of(e)))
                    if found is None:
                        await anyio.to_thread.run_sync(
                            lambda e=e: journal.transition(e.po_id, S.BILL_REQUESTED, S.RELEASED))
                        counts.released += 1
                        continue
                    e = await anyio.to_thread.run_sync(lambda e=e, found=found: journal.transition(
                        e.po_id, S.BILL_REQUESTED, S.BILL_CREATED, bill_id=str(found["Id"]),
                        doc_number=str(found.get("DocNumber") or e.doc_number)))
                if external == (e.doc_number or ""):
                    settled.append((e.po_id, e))
                elif ours:
                    resume.append(po)
                else:
                    cause = causes.make("writeback_conflict", doc_number=e.doc_number, external=external,
                                        document=documents.label(documents.document_of(e)))
                    outcomes.append(await engine._guard(engine._fail(None, settings, e.po_id, number, cause, None)))
            if settled:
                await anyio.to_thread.run_sync(lambda: journal.transition_many(
                    [(po_id, S.BILL_CREATED, S.WRITTEN_BACK, {}) for po_id, _ in settled]))
                for po_id, e in settled:
                    await engine._resolve_log(po_id, None)
                    outcomes.append(PoOutcome(po_id=po_id, po_number=e.po_number or str(po_id), ok=True,
                                              doc_number=e.doc_number, bill_id=e.bill_id))
                counts.written_back += len(settled)
            if resume:
                ctx = await engine._guard(engine._context(settings))
                datas = await engine._guard(sources.load(engine.autotask, resume))
                for start in range(0, len(datas), engine.bill_batch_size):
                    for outcome in await engine._group(ctx, settings, datas[start:start + engine.bill_batch_size],
                                                     source="recovery"):
                        outcomes.append(outcome)
                        if outcome.ok:
                            counts.synced += 1
    finally:
        counts.failed += sum(1 for o in outcomes if not o.ok)
        engine._publish(counts.event([e.po_id for e in entries]))
    return outcomes
