"""Many purchase orders at once, within the services' limits (the scan's path; issue 6 "fast").

The same journalled steps as `po_sync`, grouped so that API calls grow with batches, not POs:
0. a PO the journal records no bill for is looked up among QBO's bills by its tag (one read of
   the scan window per run, `tagged_bills`): a bill found is adopted and only written back;
1. each PO is prepared in turn (vendor, customer, items matched or created: cached per run),
   its number chosen and the journal moved to `resolved`;
2. with Autotask numbering, one `DocNumber IN (...)` query checks every number of the group
   (a bill that is this PO's own is adopted, someone else's is `doc_number_taken`);
3. the bills go to QBO in one batch request (≤ 30 items), each PO's journal moved to
   `bill_requested` first; the batch carries a requestid derived from its POs and attempts, so
   a resend after a lost reply is replayed, and a later run looks the bills up before sending
   again (`po_sync._sync` handles a PO found in `bill_requested`); results are matched to POs
   by bId, and a result whose bill does not name its PO is an error for that PO; a Duplicate
   Request ID answer (the batch went through before) is answered by looking the bills up;
4. the numbers are written back to Autotask concurrently (the client keeps ≤ 3 in flight).
A PO that the journal shows mid-way (a crash, a lost reply, a failed write-back) goes through
`po_sync`'s one-PO path, which knows how to resume each state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from sync.clients.errors import ApiError, QboError
from sync.clients.qbo import BatchItem
from sync.events import PoHeld, PoStarted

from . import approval, causes, documents
from .causes import Cause
from .context import RunContext
from .halt import ScanHalt, api_words, halt_for
from .po_sync import PoOutcome, PreparedBill, S, _journal_many, _sync, _write_back, adopt_steps, prepare
from .decide import number_verdict, referenced_names
from .resolve import NearNameHeld, PoProblem, is_bill_of, request_id
from .sources import PoData
from .tagged_bills import DUPLICATE_REQUEST_ID, EARLIEST, po_created

MAX_BATCH = 30
_BATCH_NS = uuid.UUID("0c1d6a52-3f7e-5e2b-8a4c-2b9d7e61f0a3")


@dataclass
class Result:
    data: PoData
    outcome: PoOutcome | None = None
    cause: Cause | None = None


def _as_problem(exc: Exception) -> PoProblem | ScanHalt:
    if isinstance(exc, (PoProblem, ScanHalt)):
        return exc
    halt = halt_for(exc)  # (a service that stops everything, or a machine fault)
    if halt is not None:
        return halt
    if isinstance(exc, ApiError):
        code = "qbo_rejected" if exc.service in ("qbo", "oauth") else "autotask_rejected"
        return PoProblem(causes.make(code, api=api_words(exc)))
    return PoProblem(causes.make("unexpected", detail=f"{type(exc).__name__}: {exc}"))


def batch_request_id(realm_id: str, keys: list[tuple[int, int]], what: str = "bill") -> str:
    """The requestid of a bill (or purchase order) batch: derived from its (PO, attempt) pairs
    (32 hex ≤ 36); the bills' text is the one of before transfer_as existed."""
    text = ",".join(f"{po}:{attempt}" for po, attempt in sorted(keys))
    kind = "bills" if what == "bill" else what
    return uuid.uuid5(_BATCH_NS, f"{realm_id}:{kind}:{text}").hex


async def sync_many(ctx: RunContext, datas: list[PoData], *, source: str, batch_size: int = MAX_BATCH,
                    should_stop: Callable[[], bool] = lambda: False) -> tuple[list[Result], ScanHalt | None]:
    """Sync a group of POs. Returns a result per PO that was finished (synced, or failed with a
    cause the caller records) and the scan-level stop, if one occurred (POs not in the results
    were left as the journal shows, for the next run).

    `should_stop()` is asked between POs while they are prepared: once it says yes, nothing more
    is prepared and no bill is sent (nothing irreversible has happened to the prepared ones; they
    are redone next run). Once bills are sent, the group is finished, write-backs included."""
    sent = await send_bills(ctx, datas, source=source, batch_size=batch_size, should_stop=should_stop)
    return await finish(ctx, sent)


@dataclass
class SentGroup:
    """A group whose bills went to QBO: what is left is writing their numbers back (`finish`).
    The scan overlaps that with the next group's bills."""

    datas: list[PoData]
    results: dict[int, Result]
    created: list  # (data, prepared or None, journal entry) of each bill to write back
    halt: ScanHalt | None = None


async def send_bills(ctx: RunContext, datas: list[PoData], *, source: str, batch_size: int = MAX_BATCH,
                     should_stop: Callable[[], bool] = lambda: False) -> SentGroup:
    """Steps 0-3 for a group: prepared, numbers checked, bills sent and recorded bill_created.
    A scan-level stop is returned in `halt`; the bills created before it are then not written
    back here (the journal shows them bill_created: the next run's recovery does it)."""
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValueError(f"batch_size must be between 1 and {MAX_BATCH}")
    results: dict[int, Result] = {}
    try:
        fresh, adopted = await _prepare_all(ctx, datas, source, results, should_stop)
        if should_stop():
            fresh = []
        if ctx.numbers_from_autotask and fresh:
            fresh, numbered = await _check_numbers(ctx, fresh, results)
            adopted += numbered
        created = list(adopted)
        for start in range(0, len(fresh), batch_size):
            created += await _create_bills(ctx, fresh[start:start + batch_size], results)
    except ScanHalt as halt:
        return SentGroup(datas, results, [], halt)
    return SentGroup(datas, results, created)


async def finish(ctx: RunContext, sent: SentGroup) -> tuple[list[Result], ScanHalt | None]:
    """Step 4: the group's numbers written back; a result per finished PO, and the stop if any."""
    halt = sent.halt
    if halt is None:
        try:
            await _write_backs(ctx, sent.created, sent.results)
        except ScanHalt as later:
            halt = later
    return [sent.results[d.po_id] for d in sent.datas if d.po_id in sent.results], halt


Fresh = tuple[PoData, PreparedBill, str, int]  # data, bill, requestid, attempt


async def _prepare_all(ctx: RunContext, datas: list[PoData], source: str, results: dict[int, Result],
                       should_stop: Callable[[], bool]) -> tuple[list[Fresh], list]:
    """The group's fresh bills, prepared; and the POs whose bill QBO already has (adopted)."""
    fresh: list[Fresh] = []
    await prefetch(ctx, datas)
    entries = {}
    for data in datas:
        entries[data.po_id] = await anyio.to_thread.run_sync(ctx.journal.get, data.po_id)
    adopted = await _adopt_tagged(ctx, datas, entries, results)
    # apply_mode: a scan's PO that waits for approval is left before its journal record moves
    # (sync one and retry are the operator's own say-so). A PO whose bill may exist (the journal
    # shows it mid-way, or QBO has its tagged bill) is finished whatever the mode.
    if source == "scan":
        held = await approval.gate(ctx, [d for d in datas
                                         if not _resumable(entries[d.po_id]) and d.po_id not in results])
        datas = [d for d in datas if d.po_id not in held]
    # The group's new attempts are recorded as seen together (one journal write) before any of
    # them is prepared; resumable POs (a bill may exist) take the one-PO path.
    starting = []
    for data in datas:
        entry = entries[data.po_id]
        state = entry.state if entry else None
        if _resumable(entry) or data.po_id in results:
            continue
        if state in (S.FAILED, S.RELEASED):
            changes = dict(po_number=data.po_number, doc_number=None, request_id=None, bill_id=None)
        else:
            changes = dict(po_number=data.po_number)
        starting.append((data.po_id, state, S.SEEN, changes))
    for stored in await _journal_many(ctx, starting):
        entries[stored.po_id] = stored
    resolved = []
    adopted_ids = {data.po_id for data, _, _ in adopted}
    for data in datas:
        if should_stop():
            break
        po_id = data.po_id
        entry = entries[po_id]
        ctx.publish(PoStarted(po_id=po_id, po_number=data.po_number, source=source))
        if po_id in adopted_ids or po_id in results:
            continue  # its bill exists: only the write-back is due (or it cannot be, and is told)
        try:
            if entry is None or entry.state is not S.SEEN:
                results[po_id] = Result(data, outcome=await _sync(ctx, data))
                continue
            prepared = await prepare(ctx, data, None)
            rid = request_id(ctx.qbo.realm_id, po_id, entry.attempt, documents.request_kind(ctx.document))
            resolved.append((po_id, S.SEEN, S.RESOLVED, dict(doc_number=prepared.doc_number, request_id=rid,
                                                            vendor_id=prepared.vendor_id)))
            fresh.append((data, prepared, rid, entry.attempt))
        except Exception as exc:  # noqa: BLE001 (sorted into this PO's cause or a scan stop)
            problem = _as_problem(exc)
            if isinstance(problem, ScanHalt):
                await _journal_many(ctx, resolved)
                await ctx.resolver.flush_links()
                raise problem from None
            if isinstance(problem, NearNameHeld) and source == "scan":
                # Waits for the operator (near_match = hold): left as seen, no ERROR, no to-do.
                ctx.publish(PoHeld(po_id=po_id, po_number=data.po_number,
                                   reason=f"{problem.cause.cause} {problem.cause.fix}"))
                ctx.held += 1
                continue
            results[po_id] = Result(data, cause=problem.cause)
    # Stored before anything is sent for them (the number check, the bills).
    await _journal_many(ctx, resolved)
    await ctx.resolver.flush_links()
    return fresh, adopted


async def _adopt_tagged(ctx: RunContext, datas: list[PoData], entries: dict, results: dict[int, Result]) -> list:
    """The journal is a cache of what QBO knows: for each PO it records no bill for, QBO's bills
    (one window read per run, matched by the PO tag) say whether one exists all the same (a lost
    or restored journal). Such a bill is recorded (bill_created) and never made again. Updates
    `entries` (and `results` for a bill that cannot be adopted); returns (data, None, entry) for
    each PO adopted."""
    unbilled = [d for d in datas if not _resumable(entries[d.po_id])]
    if not unbilled:
        return []
    try:
        await ctx.bills.cover(min(po_created(d.po) or EARLIEST for d in unbilled))
    except ApiError as exc:
        problem = _as_problem(exc)
        raise (problem if isinstance(problem, ScanHalt) else ScanHalt(problem.cause, "qbo")) from None
    steps, adopted = [], []
    for data in unbilled:
        bill = ctx.bills.first(data.po_id)
        other = ctx.bills.sent_as_other(data.po_id, data.po_number) if bill is None else None
        if other is not None:
            results[data.po_id] = Result(data, cause=other)
        if bill is not None:
            entry = entries[data.po_id]
            try:
                steps += adopt_steps(data.po_id, entry.state if entry else None, bill, data.po_number, ctx.document)
            except PoProblem as problem:
                results[data.po_id] = Result(data, cause=problem.cause)
                continue
            adopted.append(data)
    stored = {e.po_id: e for e in await _journal_many(ctx, steps)}  # the last step per PO wins
    for data in adopted:
        entries[data.po_id] = stored[data.po_id]
    return [(data, None, stored[data.po_id]) for data in adopted]


def _resumable(entry) -> bool:
    """A bill may exist for it: the one-PO path, which reads before it writes."""
    state = entry.state if entry else None
    return state in (S.BILL_REQUESTED, S.BILL_CREATED, S.WRITTEN_BACK) or (
        state in (S.FAILED, S.SEEN, S.RESOLVED) and entry is not None and bool(entry.bill_id))


async def prefetch(ctx: RunContext, datas: list[PoData]) -> None:
    """The group's vendors, customers and items in a few IN queries (an optimisation only: on a
    refusal the per-PO look-ups still run; a service down stops the scan as anywhere else).
    A scan calls it for each chunk it reads as well: the groups' calls then find every name known."""
    try:
        await ctx.resolver.prefetch(*referenced_names(datas))
    except ApiError as exc:
        problem = _as_problem(exc)
        if isinstance(problem, ScanHalt):
            raise problem from None


async def _check_numbers(ctx: RunContext, fresh: list[Fresh], results: dict[int, Result]):
    """Autotask numbering: one query for every number of the group."""
    try:
        by_number = await ctx.resolver.bills_numbered_in([f[1].doc_number for f in fresh])
    except ApiError as exc:
        problem = _as_problem(exc)
        if isinstance(problem, ScanHalt):
            raise problem from None
        raise ScanHalt(problem.cause, "qbo") from None
    keep: list[Fresh] = []
    adopted: list[tuple[PoData, PreparedBill | None, object]] = []
    adopt_steps = []
    for data, prepared, rid, attempt in fresh:
        ours, taken = number_verdict(by_number.get(prepared.doc_number, []), data.po_id)
        if ours is not None:
            # An earlier attempt made it: adopt the bill, never send another.
            adopt_steps += [(data.po_id, S.RESOLVED, S.BILL_REQUESTED, {"request_id": rid}),
                            (data.po_id, S.BILL_REQUESTED, S.BILL_CREATED, {"bill_id": str(ours["Id"]),
                                                                            "doc_number": prepared.doc_number})]
            adopted.append((data, prepared, None))
        elif taken:
            results[data.po_id] = Result(data, cause=causes.make("doc_number_taken", doc_number=prepared.doc_number,
                                                                  document=documents.label(ctx.document)))
        else:
            keep.append((data, prepared, rid, attempt))
    stored = {e.po_id: e for e in await _journal_many(ctx, adopt_steps)}  # the last step per PO wins
    return keep, [(data, prepared, stored[data.po_id]) for data, prepared, _ in adopted]


async def _create_bills(ctx: RunContext, group: list[Fresh], results: dict[int, Result]):
    """Send one group of bills (one batch request, or a plain create for a group of one)."""
    if not group:
        return []
    await _journal_many(ctx, [(data.po_id, S.RESOLVED, S.BILL_REQUESTED, {"request_id": rid, "document": ctx.document})
                              for data, _, rid, _ in group])
    outcomes: list[tuple[dict | None, QboError | None]] = []
    try:
        if len(group) == 1:
            data, prepared, rid, _ = group[0]
            try:
                outcomes.append((await ctx.qbo.create(ctx.document, prepared.payload, requestid=rid), None))
            except QboError as exc:
                if halt_for(exc) is not None:
                    raise
                outcomes.append((None, exc))
        else:
            rid = batch_request_id(ctx.qbo.realm_id, [(d.po_id, attempt) for d, _, _, attempt in group],
                                   documents.request_kind(ctx.document))
            items = [BatchItem.create(ctx.document, prepared.payload, bid=str(i)) for i, (_, prepared, _, _) in enumerate(group)]
            for result in await ctx.qbo.batch(items, chunk_size=len(items), requestid=rid):
                outcomes.append((result.entity, result.fault))
    except ApiError as exc:
        problem = _as_problem(exc)
        if isinstance(problem, ScanHalt):
            raise problem from None
        if not (isinstance(exc, QboError) and exc.code == DUPLICATE_REQUEST_ID):
            # The whole request was refused (nothing created): each PO of the group fails with it.
            for data, _, _, _ in group:
                results[data.po_id] = Result(data, cause=causes.make("bill_rejected", api=api_words(exc),
                                                                  document=documents.label(ctx.document)))
            return []
        outcomes = [(None, exc) for _ in group]  # this batch went through before: look its bills up
    outcomes = await _replayed(ctx, group, outcomes)
    confirmed = []
    sequence = None if ctx.numbers_from_autotask else await ctx.sequence()
    for (data, prepared, _, _), (bill, fault) in zip(group, outcomes):
        if fault is not None or bill is None:
            if fault is not None and halt_for(fault) is not None:
                # e.g. one item throttled or a system fault: this PO stays bill_requested and is
                # looked up next run; the others of the batch go on.
                continue
            if fault is not None and fault.code == DUPLICATE_REQUEST_ID:
                results[data.po_id] = Result(data, cause=causes.make("bill_request_unmatched", po_id=data.po_id,
                                                                                    document=documents.label(ctx.document)))
                continue
            code = "doc_number_taken" if fault is not None and fault.code == "6140" else "bill_rejected"
            words = api_words(fault) if fault is not None else "no result"
            results[data.po_id] = Result(data, cause=causes.make(code, doc_number=prepared.doc_number, api=words,
                                                             document=documents.label(ctx.document)))
            continue
        doc_number = str(bill.get("DocNumber") or prepared.doc_number)
        if sequence is not None:
            sequence.observe(doc_number)
        if not is_bill_of(bill, data.po_id):
            # Results are matched to POs by bId only: a bill naming another PO (or none) is an
            # error for this PO and never written back to it.
            results[data.po_id] = Result(data, cause=causes.make("bill_not_this_po", bill_id=bill.get("Id"),
                                                                 doc_number=bill.get("DocNumber"),
                                                                 document=documents.label(ctx.document)))
            continue
        ctx.bills.add(bill)
        confirmed.append((data, prepared, (data.po_id, S.BILL_REQUESTED, S.BILL_CREATED,
                                           {"bill_id": str(bill["Id"]), "doc_number": doc_number})))
    # Every confirmed bill of the batch recorded at once, before any number is written back.
    entries = await _journal_many(ctx, [step for _, _, step in confirmed])
    return [(data, prepared, entry) for (data, prepared, _), entry in zip(confirmed, entries)]


async def _replayed(ctx: RunContext, group: list[Fresh], outcomes: list) -> list:
    """QBO answered Duplicate Request ID (the request went through before, with another body: a
    lost journal restarted the attempts): each such PO's bill is looked up in QBO by its tag and
    taken as the answer; one with no bill keeps the fault (never "rejected", never re-sent)."""
    if not any(fault is not None and fault.code == DUPLICATE_REQUEST_ID for _, fault in outcomes):
        return outcomes
    try:
        await ctx.bills.reload(min(po_created(d.po) or EARLIEST for d, _, _, _ in group))
    except ApiError as exc:
        problem = _as_problem(exc)
        raise (problem if isinstance(problem, ScanHalt) else ScanHalt(problem.cause, "qbo")) from None
    out = []
    for (data, _, _, _), (bill, fault) in zip(group, outcomes):
        if fault is not None and fault.code == DUPLICATE_REQUEST_ID:
            own = ctx.bills.first(data.po_id)
            if own is not None:
                bill, fault = own, None
        out.append((bill, fault))
    return out


async def _write_backs(ctx: RunContext, created: list, results: dict[int, Result]) -> None:
    halts: list[ScanHalt] = []
    done: list = []  # (journal entry, PoSynced) of each number written

    async def one(data: PoData, prepared: PreparedBill | None, entry) -> None:
        try:
            outcome = await _write_back(
                ctx, data, entry, vendor_name=prepared.vendor_name if prepared else "",
                amount=prepared.amount if prepared else None, lines=prepared.lines if prepared else 0,
                currency=prepared.currency if prepared else "", resumed=False, deferred=done)
            results[data.po_id] = Result(data, outcome=outcome)
        except Exception as exc:  # noqa: BLE001
            problem = _as_problem(exc)
            if isinstance(problem, ScanHalt):
                halts.append(problem)
            else:
                results[data.po_id] = Result(data, cause=problem.cause)

    limiter = anyio.CapacityLimiter(3)  # Autotask's thread limit per endpoint

    async def limited(*args) -> None:
        async with limiter:
            await one(*args)

    try:
        async with anyio.create_task_group() as tg:
            for data, prepared, entry in created:
                tg.start_soon(limited, data, prepared, entry)
    finally:
        # The group's written_back in one write (nothing later depends on it: a crash before it
        # leaves numbers written that recovery finds), then the events.
        await _journal_many(ctx, [(entry.po_id, S.BILL_CREATED, S.WRITTEN_BACK, {})
                                  for entry, _ in done if entry.state is not S.WRITTEN_BACK])
        for _, event in done:
            ctx.publish(event)
    if halts:
        raise halts[0]
