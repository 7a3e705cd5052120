"""The Engine: scans on a schedule, single-PO syncs, retries, and the events that report them.

    engine = Engine(store, autotask_client, qbo_client, notifier=mail_notifier)
    unsubscribe = engine.subscribe(handler)     # handler(event) for every sync.events.Event
    await engine.run()                          # until stop(): scan, wait, scan, ...

Control methods (`scan_now`, `pause`, `resume`) and `stop` are meant to be called from the
engine's own event loop (the console and the daemon run it there). One unit of work at a time:
a scan, a single-PO sync and a retry never overlap, so no PO is ever handled twice at once.

Every scan (so the first one after a start) first finishes what an earlier run left mid-way in
the journal -- a crash, a stop, a failed write-back -- and reports it with one RecoveryFinished
(recovery.py); those POs count in the scan's summary. Then it reads the eligible POs and what
they reference in bulk, and works in groups of one PO, then of `bill_batch_size` (30) once a
bill was made (planner.py): each group's names are looked up with a few IN queries, its bills
sent in one QBO batch, its numbers written back concurrently while the next group's bills are
sent (see pipeline.py). `stop()` lets the groups in flight finish (a group that has not sent its bills
yet stops between POs). A single-PO sync and a retry take the one-PO path (po_sync.py).

Nothing here raises for trouble with a service: a PO's problem becomes a failure (ERROR, to-do,
log entry, notice: failures.py); a problem that concerns every PO (authentication, a service
down, settings) ends the run with one ScanStopped. `retry(log_id)` raises UnknownEntryError for
an id the error log does not have.
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio

from sync.clients.autotask import AutotaskClient
from sync.clients.errors import ApiError, PicklistError
from sync.clients.qbo import QboClient
from sync.events import (EngineStarted, EngineStopped, Event, NextScanScheduled, Paused, RateLimited, Resumed,
                         ReceiptBilled, ReceiptBillFailed, ScanFinished, ScanStarted, ScanStopped, SettingsReloaded, TransferPaused)
from sync.settings import Settings, TransferAs
from sync.store.errorlog import ErrorStatus

from . import causes, context, documents, on_request, receipts, sources
from .causes import Cause
from .failures import FailureDeps, record
from .halt import ScanHalt, api_words, halt_for
from .history import HistoryRecorder
from .notify import FailureNotice, Notifier
from .pipeline import SentGroup, finish as finish_group, prefetch, send_bills, sync_many
from .planner import BatchPlanner
from .po_sync import PoOutcome, sync_po
from .recovery import recover
from .resolve import PoProblem
from .tagged_bills import TaggedBills
from .scan import ERROR_MARKER, is_eligible, window_start
from sync.store.journal import JournalState

S = JournalState

log = logging.getLogger("atqbo.engine")

Clock = Callable[[], datetime]

LOAD_CHUNK = 150  # POs read from Autotask at a time: a multiple of the full batch of 30, and
# 3-line POs' items fit in one page of 500
WRITE_BACKS_BEHIND = 2  # groups whose write-backs may still run while the next one is sent


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class ScanSummary:
    scan_id: str
    scanned: int = 0
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    todos_created: int = 0
    api_calls: dict[str, int] = field(default_factory=dict)
    duration_s: float = 0.0
    paused: bool = False
    stopped: Cause | None = None
    outcomes: tuple[PoOutcome, ...] = ()
    held: int = 0  # waiting for approval (apply_mode)


@dataclass(frozen=True)
class AutotaskBudget:
    """This product's use of Autotask's requests per timeframe (the `autotask_hourly_share` cap)."""

    share_percent: int
    cap: int  # requests per timeframe for this product (the share of the threshold)
    used: int  # this product's requests in the current rolling timeframe
    threshold: int  # the database's requests per timeframe, as last read (10,000 until then)
    timeframe_minutes: float
    database_used: int | None = None  # every integration's, as last read (None: not read yet)

    def to_record(self) -> dict[str, Any]:
        return {"share_percent": self.share_percent, "cap": self.cap, "used": self.used,
                "threshold": self.threshold, "timeframe_minutes": self.timeframe_minutes,
                "database_used": self.database_used}


@dataclass
class _ScanRun:
    ctx: context.RunContext | None = None  # built when the scan's first eligible PO arrives
    started: bool = False  # the first eligible PO has arrived


async def _next(iterator):
    """The next item of an async iterator, or None at its end."""
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return None


class Engine:
    def __init__(self, store: Any, autotask: AutotaskClient, qbo: QboClient,
                 notifier: Notifier | None = None, clock: Clock = utc_now, bill_batch_size: int = 30) -> None:
        if not 1 <= bill_batch_size <= 30:
            raise ValueError("bill_batch_size must be between 1 and 30 (QBO's batch limit)")
        self.bill_batch_size = bill_batch_size
        self.store = store
        self.autotask = autotask
        self.qbo = qbo
        self.notifier = notifier
        self.clock = clock
        self._handlers: list[Callable[[Event], Any]] = []
        self._work = anyio.Lock()
        self._wake = anyio.Event()
        self._scan_requested = False
        self._paused = False
        self._stopping = False
        self._running = False
        self._stopped = anyio.Event()
        self._settings: Settings | None = None
        self._last_stop_code: str | None = None
        self._submitted: int | None = None  # the tenant's "Submitted" value, read each scan
        # QBO's tagged bills, shared by the runs of one retry of all failed POs (read once for all).
        self._shared_bills: TaggedBills | None = None
        self.last_summary: ScanSummary | None = None
        self._report_waits(autotask, "autotask")
        self._report_waits(qbo, "qbo")
        # Who starts work on this engine, for each PO's story: "service" (the daemon), "console",
        # "command line". The front end that builds the engine sets it.
        self.origin = "command line"
        history = getattr(store, "history", None)
        if history is not None:
            self.subscribe(HistoryRecorder(history, lambda: self.origin))

    def _report_waits(self, client: Any, service: str) -> None:
        """Publish RateLimited for every wait before a resend, chaining any callback already set."""
        previous = client.on_retry

        def on_retry(reason: str, delay: float) -> None:
            if delay > 0:
                self._publish(RateLimited(service=service, wait_s=round(float(delay), 3)))
            if previous is not None:
                previous(reason, delay)

        client.on_retry = on_retry

    # ------------------------------------------------------------ events

    def subscribe(self, handler: Callable[[Event], Any]) -> Callable[[], None]:
        """Call `handler(event)` for every event, in order, on the engine's task; returns a
        function that unsubscribes. A handler that raises is logged and otherwise ignored.
        Handlers must not block (post the event somewhere and return)."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def _publish(self, event: Event) -> None:
        for handler in list(self._handlers):
            try:
                result = handler(event)
                if inspect.iscoroutine(result):
                    result.close()
                    log.warning("event handler %r returned a coroutine; handlers must be plain functions", handler)
            except Exception:
                log.exception("an event handler failed on %s", type(event).__name__)

    # ------------------------------------------------------------ control

    @property
    def paused(self) -> bool:
        return self._paused

    def scan_now(self) -> None:
        """Start a scan as soon as the current work ends (also while paused: an explicit request)."""
        self._scan_requested = True
        self._wake.set()

    def pause(self) -> None:
        if not self._paused:
            self._paused = True
            self._publish(Paused())
            self._wake.set()

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._publish(Resumed())
            self._wake.set()

    async def stop(self) -> None:
        """Ask `run()` to return once the PO in flight is finished, and wait for it."""
        self._stopping = True
        self._wake.set()
        if self._running:
            await self._stopped.wait()
        else:
            async with self._work:  # a scan, sync or retry in flight finishes its PO and returns
                pass
        self._stopping = False  # later calls (a new run(), a manual scan) work normally

    # ------------------------------------------------------------ the scheduler

    async def run(self) -> None:
        """Scan at once, then `scan_interval_minutes` after each scan ended, until `stop()`.
        Settings are read again before every scan."""
        locked_here = False
        if hasattr(self.store, "acquire_engine_lock") and not getattr(self.store, "holds_engine_lock", False):
            # One engine per data folder: a second one would race on the same POs.
            self.store.acquire_engine_lock()
            locked_here = True
        self._running = True
        self._stopping = False
        self._stopped = anyio.Event()
        self._publish(EngineStarted())
        next_due = time.monotonic()
        try:
            while not self._stopping:
                if self._scan_requested or (not self._paused and time.monotonic() >= next_due):
                    trigger = "manual" if self._scan_requested else "schedule"
                    self._scan_requested = False
                    await self.scan_once(trigger=trigger)
                    minutes = (self._settings or Settings()).scan_interval_minutes
                    next_due = time.monotonic() + minutes * 60
                    if not self._stopping:
                        self._publish(NextScanScheduled(next_at=self.clock() + timedelta(minutes=minutes),
                                                        interval_minutes=minutes))
                    continue
                timeout = None if self._paused else max(0.0, next_due - time.monotonic())
                await self._sleep(timeout)
        finally:
            self._running = False
            if locked_here:
                self.store.release_engine_lock()
            self._publish(EngineStopped())
            self._stopped.set()

    async def _sleep(self, timeout: float | None) -> None:
        if self._wake.is_set():
            self._wake = anyio.Event()
            return
        if timeout is None:
            await self._wake.wait()
        else:
            with anyio.move_on_after(timeout):
                await self._wake.wait()
        self._wake = anyio.Event()

    # ------------------------------------------------------------ settings

    async def _load_settings(self) -> Settings:
        settings = await anyio.to_thread.run_sync(self.store.settings.load)
        if self._settings is not None and settings != self._settings:
            old, new = self._settings.to_values(), settings.to_values()
            changed = tuple(k for k in new if old.get(k) != new[k])
            self._publish(SettingsReloaded(changed=changed))
        self._settings = settings
        if hasattr(self.autotask, "set_hourly_share"):
            self.autotask.set_hourly_share(settings.autotask_hourly_share or Settings().autotask_hourly_share)
        return settings

    def autotask_budget(self) -> AutotaskBudget | None:
        """The share of Autotask's hour this product may use and how much of it is used (for the
        live screen and `health`); None with a client that has no share (a test double)."""
        at = self.autotask
        if not hasattr(at, "share_cap"):
            return None
        info = at.threshold
        return AutotaskBudget(share_percent=at.hourly_share_percent, cap=at.share_cap, used=at.share_used,
                              threshold=info.threshold if info else 10_000,
                              timeframe_minutes=info.timeframe_minutes if info else 60,
                              database_used=info.current if info else None)

    async def _read_threshold(self) -> None:
        """ThresholdInformation once before a scan's work: the share is of the threshold it names
        and the pacing starts from the database's real usage. Advisory: trouble is ignored."""
        if hasattr(self.autotask, "read_threshold"):
            try:
                await self.autotask.read_threshold()
            except ApiError:
                pass

    async def _context(self, settings: Settings, submitted: int | None = None) -> context.RunContext:
        ctx = await context.build(settings, self.autotask, self.qbo, self.store.journal, self._publish,
                                  self.clock(), submitted, links=self.store.links)
        if self._shared_bills is not None:
            ctx.bills = self._shared_bills
        return ctx

    async def _settings_or_halt(self) -> Settings:
        try:
            return await self._load_settings()
        except Exception as exc:  # a damaged or invalid settings file (the message names it)
            raise ScanHalt(causes.make("settings_unreadable", detail=" ".join(str(exc).split())), "") from None

    def _stopped_outcome(self, halt: ScanHalt, po_id: int, log_id: int | None = None) -> PoOutcome:
        self._publish(ScanStopped(scan_id="", service=halt.service, cause_code=halt.cause.code,
                                  cause=halt.cause.cause, fix=halt.cause.fix))
        return PoOutcome(po_id=po_id, po_number=str(po_id), ok=False, cause=halt.cause, log_id=log_id)

    def _deps(self, settings: Settings) -> FailureDeps:
        return FailureDeps(settings=settings, at=self.autotask, journal=self.store.journal,
                           errors=self.store.errors, notifier=self.notifier, publish=self._publish,
                           now=self.clock())

    # ------------------------------------------------------------ one scan

    async def scan_once(self, trigger: str = "manual") -> ScanSummary:
        """One scan now: every eligible PO, in id order. Never raises for API trouble: a
        scan-level problem ends it with ScanStopped (and ScanFinished)."""
        async with self._work:
            return await self._scan(trigger)

    async def _scan(self, trigger: str) -> ScanSummary:
        scan_id = uuid.uuid4().hex[:12]
        started = time.monotonic()
        calls0 = self._calls()
        counts = {"scanned": 0, "synced": 0, "failed": 0, "skipped": 0, "todos": 0}
        outcomes: list[PoOutcome] = []
        stopped: Cause | None = None
        paused = False
        unreadable: ScanHalt | None = None
        ctx: context.RunContext | None = None
        try:
            settings = await self._settings_or_halt()
        except ScanHalt as halt:
            settings, unreadable = self._settings or Settings(), halt
        self._publish(ScanStarted(scan_id=scan_id, trigger=trigger, days_back=settings.days_back or 0,
                                  document=documents.first_document(settings)))
        try:
            if unreadable is not None:
                raise unreadable
            context.check_settings(settings)
            # What an earlier run left mid-way is finished first (also while paused: these are
            # transfers already begun), and counted with this scan.
            recovered = await self._recover(settings)
            for outcome in recovered:
                outcomes.append(outcome)
                counts["scanned"] += 1
                counts["synced" if outcome.ok else "failed"] += 1
            if settings.days_back == 0:
                paused = True
                self._publish(TransferPaused(scan_id=scan_id, reason="days_back is 0: the transfer is paused"))
            else:
                done_now = {o.po_id for o in recovered}
                if settings.transfer_as is TransferAs.PURCHASE_ORDER_THEN_BILL:
                    # Goods received since the last scan: bills linked to the purchase orders made before.
                    ctx = await self._guard(self._context(settings))
                    await self._receipts(ctx, settings)
                run = _ScanRun(ctx=ctx)
                try:
                    for outcome in await self._scan_groups(settings, self._eligible(settings, done_now, counts), run):
                        outcomes.append(outcome)
                        counts["synced" if outcome.ok else "failed"] += 1
                finally:
                    ctx = run.ctx
                made = {o.po_id for o in outcomes if o.ok}
                if settings.transfer_as is TransferAs.PURCHASE_ORDER_THEN_BILL and made and not self._stopping:
                    # Goods received before this scan made their purchase orders.
                    ctx = ctx or await self._guard(self._context(settings, self._submitted))
                    await self._receipts(ctx, settings, only=made)
            self._last_stop_code = None
        except Exception as exc:
            halt = exc if isinstance(exc, ScanHalt) else halt_for(exc)  # (a disk full mid-way)
            if halt is None:
                raise
            stopped = halt.cause
            for outcome in halt.done:  # POs the interrupted group finished before the stop
                outcomes.append(outcome)
                counts["synced" if outcome.ok else "failed"] += 1
            self._publish(ScanStopped(scan_id=scan_id, service=halt.service, cause_code=halt.cause.code,
                                      cause=halt.cause.cause, fix=halt.cause.fix))
            await self._notify_stop(halt.cause, settings)
        counts["todos"] = ctx.todos_created if ctx is not None else 0
        held = ctx.held if ctx is not None else 0
        # Eligible but not attempted: the scan stopped (or was asked to stop) before them; a
        # held PO waits for approval and is counted apart.
        counts["skipped"] = counts["scanned"] - counts["synced"] - counts["failed"] - held
        summary = ScanSummary(
            scan_id=scan_id, scanned=counts["scanned"], synced=counts["synced"], failed=counts["failed"],
            skipped=counts["skipped"], todos_created=counts["todos"], api_calls=self._calls_since(calls0),
            duration_s=round(time.monotonic() - started, 3), paused=paused, stopped=stopped,
            outcomes=tuple(outcomes), held=held)
        self._publish(ScanFinished(scan_id=scan_id, scanned=summary.scanned, synced=summary.synced,
                                   failed=summary.failed, skipped=summary.skipped,
                                   todos_created=summary.todos_created, api_calls=summary.api_calls,
                                   duration_s=summary.duration_s, stopped=stopped is not None, paused=paused,
                                   held=summary.held))
        self.last_summary = summary
        return summary

    async def _recover(self, settings: Settings) -> list[PoOutcome]:
        """Bring every journal record an earlier run left mid-way to a final state (recovery.py)."""
        return await recover(self, settings)

    async def _settle_written(self, po_id: int, number: str) -> None:
        """Autotask holds `number`: if it is the number of this PO's bill in the journal (a
        write-back that committed although its reply was lost or refused), the record is done."""
        journal = self.store.journal

        def settle() -> None:
            entry = journal.get(po_id)
            if (entry is not None and entry.bill_id and entry.doc_number == number
                    and entry.state in (S.BILL_CREATED, S.FAILED)):
                journal.transition(po_id, entry.state, S.WRITTEN_BACK, pending=None)

        await anyio.to_thread.run_sync(settle)

    async def _eligible(self, settings: Settings, skip: set[int], counts: dict[str, int]):
        """The eligible POs as the query's pages arrive, LOAD_CHUNK at a time (each chunk in id
        order), so a scan never holds more than a page and the groups in flight: memory does
        not grow with the POs. `skip`: POs recovery finished already. Counts them as scanned."""
        async def submitted_value() -> int:
            try:
                return await sources.submitted_value(self.autotask)
            except PicklistError as exc:  # the tenant has no "Submitted" status: its own cause
                raise ScanHalt(causes.make("status_picklist", api=api_words(exc)), "autotask") from None

        submitted = self._submitted = await self._guard(submitted_value())
        since = window_start(self.clock(), settings.days_back or 0)
        pages = sources.eligible_iter(self.autotask, submitted, since).__aiter__()
        seen: set[int] = set()  # a PO met twice (pages shifting under the query) is done once
        chunk: list[dict] = []
        while True:
            po = await self._guard(_next(pages))
            if po is not None:
                po_id = int(po["id"])
                if po_id in seen or po_id in skip or not is_eligible(po, submitted, since):
                    continue
                seen.add(po_id)
                chunk.append(po)
            if chunk and (po is None or len(chunk) >= LOAD_CHUNK):
                counts["scanned"] += len(chunk)
                yield sorted(chunk, key=lambda p: int(p["id"]))
                chunk = []
            if po is None:
                return

    async def _guard(self, awaitable):
        """Await; any error outside a single PO's own work stops the run with one cause."""
        try:
            return await awaitable
        except (ScanHalt, PoProblem):
            raise
        except ApiError as exc:
            halt = halt_for(exc)
            if halt is None:
                code = "qbo_rejected" if exc.service in ("qbo", "oauth") else "autotask_rejected"
                halt = ScanHalt(causes.make(code, api=api_words(exc)), exc.service)
            raise halt from None
        except Exception as exc:  # a bug or a local problem (disk full): told, never a crash
            fault = halt_for(exc)
            if fault is not None:  # the machine (disk full, read-only): named, not a bug
                raise fault from None
            log.exception("unexpected error outside a purchase order")
            raise ScanHalt(causes.make("unexpected", detail=f"{type(exc).__name__}: {exc}"), "") from None

    async def _group(self, ctx: context.RunContext, settings: Settings, group: list[sources.PoData],
                     source: str = "scan") -> list[PoOutcome]:
        """A group of POs through the batch pipeline; failures recorded; a stop raised after the
        finished POs are accounted for (the ScanHalt carries them in `done`)."""
        results, halt = await self._guard(sync_many(ctx, group, source=source, batch_size=self.bill_batch_size,
                                                    should_stop=lambda: self._stopping))
        outcomes, halt = await self._record(ctx, settings, results, halt)
        if halt is not None:
            halt.done = outcomes
            raise halt
        return outcomes

    async def _record(self, ctx: context.RunContext, settings: Settings, results: list,
                      halt: ScanHalt | None) -> tuple[list[PoOutcome], ScanHalt | None]:
        """Each finished PO's outcome, its failure recorded; the first stop met, if any."""
        outcomes: list[PoOutcome] = []
        try:
            for result in results:
                if result.cause is not None:
                    outcomes.append(await self._guard(self._fail(ctx, settings, result.data.po_id,
                                                                 result.data.po_number, result.cause, None)))
                else:
                    await self._resolve_log(result.data.po_id, None)
                    outcomes.append(result.outcome)
        except ScanHalt as later:
            halt = halt or later
        return outcomes, halt

    async def _scan_groups(self, settings: Settings, chunks, run: "_ScanRun") -> list[PoOutcome]:
        """The scan's POs in groups (planner.py: one PO, then full batches once a bill is made).
        A group's write-backs run while the next groups' bills are prepared and sent: Autotask's
        3 write-backs in flight are the slowest step, so they never wait for QBO. At most
        WRITE_BACKS_BEHIND groups wait for their write-backs (bounded latency and memory).
        A stop lets the groups already sent finish; a ScanHalt carries the outcomes in `done`."""
        planner = BatchPlanner(self.bill_batch_size)
        outcomes: list[PoOutcome] = []
        halts: list[ScanHalt] = []
        behind = anyio.Semaphore(WRITE_BACKS_BEHIND)

        async def finish(ctx: context.RunContext, sent: SentGroup) -> None:
            try:
                results, halt = await self._guard(finish_group(ctx, sent))
                done, halt = await self._record(ctx, settings, results, halt)
                outcomes.extend(done)
                if halt is not None:
                    halts.append(halt)
            except ScanHalt as halt:
                halts.append(halt)
            finally:
                behind.release()

        async with anyio.create_task_group() as tg:
            try:
                async for group in self._load_groups(settings, chunks, planner, run):
                    if self._stopping or halts:
                        break
                    # A group's POs are started (announced, timed) when QBO can take its batch,
                    # not a minute before it: once the batch limit binds, each PO's latency is
                    # its own work, not the wait (issue 17, p99 at 3,000 POs and more).
                    await run.ctx.qbo.batch_slot_free()
                    if self._stopping or halts:
                        break
                    await behind.acquire()
                    try:
                        sent = await self._guard(send_bills(run.ctx, group, source="scan",
                                                            batch_size=self.bill_batch_size,
                                                            should_stop=lambda: self._stopping))
                    except BaseException:
                        behind.release()
                        raise
                    planner.record(len(sent.created))
                    tg.start_soon(finish, run.ctx, sent)
                    if sent.halt is not None:
                        break
            except ScanHalt as halt:
                halts.append(halt)
        if halts:
            halts[0].done = outcomes
            raise halts[0]
        return outcomes

    async def _load_groups(self, settings: Settings, chunks, planner: BatchPlanner, run: "_ScanRun"):
        """The POs with what they reference, read from Autotask a chunk at a time, cut into the
        sizes the planner asks for (a group may span two chunks). The run's context is built
        when the first eligible PO arrives (a scan with nothing to do reads nothing more)."""
        buffer: list[sources.PoData] = []
        refs = sources.References()
        pending = chunks.__aiter__()
        exhausted = False
        while True:
            size = planner.next_size()
            while len(buffer) < size and not exhausted:
                chunk = await _next(pending)
                if chunk is None:
                    exhausted = True
                    break
                if not run.started:
                    run.started = True
                    await self._read_threshold()
                    if run.ctx is None:
                        run.ctx = await self._guard(self._context(settings, self._submitted))
                    # One read of QBO's tagged bills serves the whole scan: from the window's start.
                    run.ctx.bills.floor = window_start(self.clock(), settings.days_back or 0)
                loaded = await self._guard(sources.load(self.autotask, chunk, refs))
                await self._guard(prefetch(run.ctx, loaded))  # a chunk's names in a few queries
                buffer += loaded
            if not buffer:
                return
            group, buffer = buffer[:size], buffer[size:]
            yield group

    async def _one(self, ctx: context.RunContext, settings: Settings, data: sources.PoData, *, source: str,
                   alt_email: str | None) -> PoOutcome:
        """Sync one PO; record a failure; let ScanHalt through."""
        try:
            outcome = await sync_po(ctx, data, source=source)
        except PoProblem as problem:
            return await self._fail(ctx, settings, data.po_id, data.po_number, problem.cause, alt_email)
        except ScanHalt:
            raise
        except Exception as exc:  # a bug must not lose the PO: record it like any failure
            fault = halt_for(exc)
            if fault is not None:  # disk full, read-only: the scan stops, the PO is not "failed"
                raise fault from None
            log.exception("unexpected error while syncing PO %s", data.po_id)
            cause = causes.make("unexpected", detail=f"{type(exc).__name__}: {exc}")
            return await self._fail(ctx, settings, data.po_id, data.po_number, cause, alt_email)
        # A PO that had failed before and now went through (a retry, a sync one, or a scan after
        # the ERROR marker was cleared by hand): its log entry is resolved, its to-do completed.
        await self._resolve_log(data.po_id, None)
        return outcome

    async def _fail(self, ctx: context.RunContext | None, settings: Settings, po_id: int, po_number: str,
                    cause: Cause, alt_email: str | None) -> PoOutcome:
        log_id, todo_id, created = await record(self._deps(settings), po_id, po_number, cause,
                                                raw_error=cause.cause, alt_email=alt_email)
        if created and ctx is not None:
            ctx.todos_created += 1
        return PoOutcome(po_id=po_id, po_number=po_number, ok=False, cause=cause, log_id=log_id,
                         todo_id=todo_id)

    async def _notify_stop(self, cause: Cause, settings: Settings) -> None:
        # A stopped scan is told once per reason, not every scan_interval_minutes.
        if cause.code == self._last_stop_code:
            return
        self._last_stop_code = cause.code
        if self.notifier is None or cause.code == "settings_incomplete":
            return
        notice = FailureNotice(subject="atqbo: purchase orders are not being transferred",
                               body=f"{cause.cause}\n\nWhat to fix: {cause.fix}\n",
                               recipient=settings.notify_email or "", po_id=None, po_number="",
                               cause_code=cause.code, cause=cause.cause, fix=cause.fix)
        try:
            await self.notifier.notify(notice)
        except Exception:
            log.warning("the notice about the stopped scan could not be sent", exc_info=True)

    # ------------------------------------------------------------ one PO on request

    async def sync_one(self, po_id: int, alt_email: str | None = None) -> PoOutcome:
        """Sync one PO by its Autotask id now, whatever its creation date and even when it is
        marked ERROR; never one that already holds a bill number. A failure is recorded like in
        a scan and notified to `alt_email` when given."""
        async with self._work:
            try:
                settings = await self._settings_or_halt()
            except ScanHalt as halt:
                return self._stopped_outcome(halt, int(po_id))
            return await on_request.sync_by_id(self, settings, int(po_id), alt_email, source="sync_one", log_id=None)

    async def _receipts(self, ctx: context.RunContext, settings: Settings, *, only: set[int] | None = None,
                        alt_email: str | None = None) -> receipts.ReceiptsSummary:
        """Bill the receipts of the POs followed; a receipt's bill that fails is recorded like any
        failure (log entry, to-do, mail; the PO keeps its purchase order number), and one made
        resolves that PO's open receipt failure."""
        done = await self._guard(receipts.follow(ctx, self.store.receipts, only=only))
        deps = self._deps(settings)
        for event in done.events:
            if isinstance(event, ReceiptBillFailed):
                cause = Cause(code=event.cause_code, cause=event.cause, fix=event.fix, scan_level=False)
                await self._guard(record(deps, event.po_id, event.po_number, cause, alt_email=alt_email))
            elif isinstance(event, ReceiptBilled):
                entry = await anyio.to_thread.run_sync(self.store.errors.latest_open_for_po, event.po_id)
                if entry is not None and entry.cause_code in receipts.CAUSES:
                    await self._resolve_log(event.po_id, None)
        return done

    async def _resolve_log(self, po_id: int, log_id: int | None) -> None:
        """Resolve the PO's open log entries (and `log_id`), and complete their to-dos."""
        errors = self.store.errors

        def resolve() -> list[int]:
            todos: list[int] = []
            entry = errors.get(log_id) if log_id is not None else errors.latest_open_for_po(po_id)
            while entry is not None and entry.status is not ErrorStatus.RESOLVED:
                errors.resolve(entry.id)
                if entry.todo_id is not None:
                    todos.append(entry.todo_id)
                entry = errors.latest_open_for_po(po_id)
            return todos

        for todo_id in await anyio.to_thread.run_sync(resolve):
            try:
                await self.autotask.update_child("Companies", 0, "ToDos", todo_id,
                                                 {"completedDate": self.clock().strftime("%Y-%m-%dT%H:%M:%S.000Z")})
            except ApiError:
                log.warning("could not complete to-do %s of PO %s", todo_id, po_id)

    # ------------------------------------------------------------ retries

    async def retry(self, log_id: int) -> PoOutcome:
        """Run the PO of error-log entry `log_id` again with the current settings. Success
        resolves the entry and replaces ERROR by the bill number; another failure updates the
        same entry (and its to-do) instead of creating new ones."""
        async with self._work:
            try:
                settings = await self._settings_or_halt()
            except ScanHalt as halt:
                entry = await anyio.to_thread.run_sync(self.store.errors.get, int(log_id))
                return self._stopped_outcome(halt, entry.po_id if entry else 0, int(log_id))
            return await on_request.retry_entry(self, settings, int(log_id))

    async def retry_all(self) -> list[PoOutcome]:
        """Retry every open error-log entry, oldest first; stops early when a service is down."""
        async with self._work:
            try:
                settings = await self._settings_or_halt()
            except ScanHalt as halt:
                return [self._stopped_outcome(halt, 0)]
            return await on_request.retry_entries(self, settings)

    # ------------------------------------------------------------ API call counts

    def _calls(self) -> dict[str, int]:
        return {"autotask": int(getattr(self.autotask, "calls", 0)), "qbo": int(getattr(self.qbo, "calls", 0))}

    def _calls_since(self, before: dict[str, int]) -> dict[str, int]:
        now = self._calls()
        return {k: now[k] - before.get(k, 0) for k in now}


__all__ = ["Engine", "ScanSummary", "PoOutcome", "ERROR_MARKER"]
