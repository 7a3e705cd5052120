"""`atqbo sync-one` and `atqbo retry`: the engine run for one PO or for the failed ones, its events printed.

When the data folder's service is running (its control socket answers), the work is sent to
it instead (docs/control-protocol.md): the same output, exit codes and --json.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import anyio

from console.cli_commands.common import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    CommandError,
    data_dir,
    through_service,
)
from console.output import Printer, RunSummary
from console.runtime_headless import (
    open_runtime,
    open_store,
)
from sync import events as ev
from sync.control.api import SyncOutcome
from sync.engine.single import sync_one_and_report
from sync.text import shown


def run_sync_one(args: argparse.Namespace) -> int:
    return anyio.run(_engine_command, args, "sync-one")


def run_retry(args: argparse.Namespace) -> int:
    return anyio.run(_engine_command, args, "retry")


# Outcomes that say the request itself cannot be done (a usage/configuration matter, exit 2).
_REFUSALS = frozenset({"po_not_found", "po_already_synced", "po_not_submitted"})
_CONFIG_STOPS = frozenset({"settings_incomplete", "multicurrency_qbo_off", "status_picklist"})


def _outcome(o: Any) -> SyncOutcome:
    return o if isinstance(o, SyncOutcome) else SyncOutcome.of(o)


def exit_code_for_outcomes(outcomes: list[Any]) -> int:
    """0 all synced; 2 refused or a configuration stop; 1 cannot connect/authenticate;
    3 some POs failed."""
    codes = set()
    for o in map(_outcome, outcomes):
        if o.ok:
            continue
        code = o.cause_code
        if code in _REFUSALS or code in _CONFIG_STOPS:
            codes.add(EXIT_USAGE)
        elif o.scan_level:
            codes.add(EXIT_FATAL)
        else:
            codes.add(EXIT_SOME_FAILED)
    for code in (EXIT_FATAL, EXIT_USAGE, EXIT_SOME_FAILED):
        if code in codes:
            return code
    return EXIT_OK


async def _engine_command(args: argparse.Namespace, which: str) -> int:
    """Run the engine for one PO, or for the failed ones; print its events; the last line is
    the summary (JSON with --json)."""
    from sync.store.errors import UnknownEntryError

    as_json = bool(getattr(args, "json", False))
    printer = Printer(as_json)
    started = time.monotonic()
    if which == "retry" and not args.all_failed:
        # Check the id before anything else: a typo is a usage error, not a connection attempt.
        store = open_store(data_dir(args))
        try:
            entry = store.errors.get(args.log_id)
        finally:
            store.close()
        if entry is None:
            raise CommandError(f"no error-log entry with id {args.log_id}; list them with atqbo logs",
                               EXIT_USAGE)
    from console.startup import attach_to_service

    attached = await attach_to_service(data_dir(args))
    if attached is not None:
        return await _through_service(args, which, printer, attached.control, started)
    runtime = await open_runtime(data_dir(args), engine=True, printer=printer)
    if which == "sync-one" and args.email and runtime.notifier.config is None:
        missing = ", ".join(p.key for p in runtime.settings.missing_for_email()) or "smtp settings"
        print(f"atqbo: mail is not configured (set {missing}), so no result mail goes to {shown(args.email)}",
              file=sys.stderr, flush=True)
    summary = RunSummary()
    todos = 0

    def on_event(event: ev.Event) -> None:
        nonlocal todos
        printer.event(event)
        if isinstance(event, ev.TodoCreated):
            todos += 1

    unsubscribe = runtime.engine.subscribe(on_event)
    try:
        if which == "sync-one":
            outcomes = [await sync_one_and_report(runtime.engine, args.po_id, args.email)]
        elif args.all_failed:
            outcomes = list(await runtime.engine.retry_all())
        else:
            try:
                outcomes = [await runtime.engine.retry(args.log_id)]
            except UnknownEntryError as exc:
                raise CommandError(str(exc), EXIT_USAGE) from None
        summary.api_calls = {"autotask": runtime.autotask.calls, "qbo": runtime.qbo.calls}
    finally:
        unsubscribe()
        await runtime.aclose()
    return _finish(printer, summary, which, [_outcome(o) for o in outcomes], todos, started)


def _finish(printer: Printer, summary: RunSummary, which: str, outcomes: list[SyncOutcome], todos: int,
            started: float) -> int:
    code = exit_code_for_outcomes(outcomes)
    summary.scanned = len(outcomes)
    summary.synced = len([o for o in outcomes if o.ok])
    summary.failed = len([o for o in outcomes if not o.ok and o.cause_code
                          and o.cause_code not in _REFUSALS and not o.scan_level])
    summary.todos_created = todos
    summary.duration_s = time.monotonic() - started
    record = summary.as_record(command=which, exit_code=code, outcomes=[_outcome_record(o) for o in outcomes])
    printer.summary(record, human=_outcomes_text(which, outcomes, code))
    return code


async def _through_service(args: argparse.Namespace, which: str, printer: Printer, remote: Any,
                           started: float) -> int:
    """The running service does the work; we print its events for our POs as they come."""

    summary = RunSummary()
    todos = 0
    ours: set[int] = {int(args.po_id)} if which == "sync-one" else set()
    in_flight: set[int] = set()
    asked = False

    def on_event(event: ev.Event) -> None:
        nonlocal todos
        if not asked or not isinstance(event, ev.EVENT_TYPES):
            return  # the replay of what happened before our command
        if isinstance(event, ev.RetryStarted) and which == "retry" and (
                args.all_failed or str(event.log_id) == str(args.log_id)):
            ours.add(event.po_id)
        po_id = getattr(event, "po_id", None)
        if po_id is None:
            if not in_flight:
                return  # a vendor or item made for our PO is told while it is in flight
        elif po_id not in ours:
            return
        if isinstance(event, ev.PoStarted):
            in_flight.add(event.po_id)
        elif isinstance(event, (ev.PoSynced, ev.PoFailed)):
            in_flight.discard(event.po_id)
        printer.event(event)
        if isinstance(event, ev.TodoCreated):
            todos += 1

    remote.subscribe(on_event)
    async def work() -> list[SyncOutcome]:
        nonlocal asked
        before = (await remote.refresh_status()).api_calls
        if which == "sync-one" and args.email:
            settings = await remote.settings_get()
            missing = ", ".join(p.key for p in settings.missing_for_email())
            if missing:
                print(f"atqbo: mail is not configured (set {missing}), so no result mail goes to "
                      f"{args.email}", file=sys.stderr, flush=True)
        asked = True
        if which == "sync-one":
            done = [await remote.sync_one(args.po_id, args.email)]
        elif args.all_failed:
            done = await remote.retry_all()
        else:
            done = [await remote.retry(args.log_id)]
        after = (await remote.refresh_status()).api_calls
        summary.api_calls = {k: after.get(k, 0) - before.get(k, 0) for k in ("autotask", "qbo")}
        return done

    outcomes = await through_service(remote, work)
    return _finish(printer, summary, which, outcomes, todos, started)


def _outcome_record(o: SyncOutcome) -> dict[str, Any]:
    return {"po_id": o.po_id, "po_number": o.po_number, "ok": o.ok, "doc_number": o.doc_number or None,
            "log_id": o.log_id, "cause_code": o.cause_code or None,
            "cause": o.cause or None, "fix": o.fix or None}


def _outcomes_text(which: str, outcomes: list[Any], code: int) -> str:
    if not outcomes:
        return "no open errors to retry"
    lines = []
    for o in outcomes:
        number = shown(o.po_number)  # one line per PO: a number from outside adds none
        if o.ok:
            lines.append(f"PO {number} (id {o.po_id}): synced as bill {shown(o.doc_number)}")
        else:
            text = f"PO {number} (id {o.po_id}): not synced: {shown(o.cause) if o.cause else 'unknown cause'}"
            if o.fix:
                text += f" What to do: {shown(o.fix)}"
            if o.log_id is not None:
                text += f" [log {o.log_id}]"
            lines.append(text)
    if which == "retry" and len(outcomes) > 1:
        n_ok = sum(1 for o in outcomes if o.ok)
        lines.append(f"retried {len(outcomes)}: {n_ok} synced, {len(outcomes) - n_ok} not")
    return "\n".join(lines)
