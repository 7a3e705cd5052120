"""`atqbo plan [PO_ID...] [--json]` and `atqbo approve PO_ID... | --all-held` (sync.plan).

When the data folder's service runs (its control socket answers), the service plans and
approves (one writer of the hold book). plan: exit 0, or 3 when some PO would fail (or every PO would: a scan-level cause); 2 when it
cannot run (not connected, settings missing). approve: the plan is made now and printed, and
each PO's approval is stored with that plan's fingerprint; exit 0, or 3 when some PO could not
be approved. With --json one object per PO, then the summary line. Text from the services is
shown through the text rule; the JSON keeps it exact (json.dumps escapes control characters).
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any

import anyio

from console.cli_commands.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    CommandError,
    data_dir,
    through_service,
)
from console.output import jsonable
from console.runtime_headless import open_runtime
from sync.text import json_text, shown


def run_plan(args: argparse.Namespace) -> int:
    return anyio.run(_plan, args)


def run_approve(args: argparse.Namespace) -> int:
    return anyio.run(_approve, args)


async def _held_ids(args: argparse.Namespace) -> list[int]:
    from sync.store import Store

    def read() -> list[int]:
        store = Store.open(data_dir(args))
        try:
            return [h.po_id for h in store.journal.holds.held()]
        finally:
            store.close()

    return await anyio.to_thread.run_sync(read)


async def _through_service(remote: Any, po_ids: list[int] | None, approve: bool):
    """The running service plans (and approves: it makes each plan again and takes only the
    ones still as shown), so the hold book has one writer."""
    async def work() -> tuple[Any, tuple[list, list]]:
        report = await remote.plan(po_ids)
        result: tuple[list, list] = ([], [])
        if approve and not report.halt_code:
            shown = [p for p in report.plans if p.fingerprint and p.outcome != "resume"]
            approved, refused = await remote.approve(shown) if shown else ([], [])
            refused += [(p, "nothing to approve: " + (p.note or p.cause or "no plan"))
                        for p in report.plans if p not in shown]
            result = (approved, refused)
        return report, result

    return await through_service(remote, work)


async def _with_runtime(args: argparse.Namespace, po_ids: list[int] | None, approve: bool):
    from console.startup import attach_to_service
    from sync.plan import approve_plans, make_plan

    attached = await attach_to_service(data_dir(args))
    if attached is not None:
        if approve and po_ids is None:
            po_ids = await _held_ids(args)
            if not po_ids:
                await attached.control.stop()
                return None, ([], [])
        return await _through_service(attached.control, po_ids, approve)
    runtime = await open_runtime(data_dir(args))
    try:
        missing = runtime.settings.missing_for_scan()
        if missing:
            raise CommandError("settings incomplete, a plan needs them:\n" + "\n".join(f"  {m}" for m in missing)
                               + "\nSet them with: atqbo settings set KEY VALUE", EXIT_USAGE)
        journal = runtime.store.journal
        if approve and po_ids is None:
            po_ids = [h.po_id for h in await anyio.to_thread.run_sync(journal.holds.held)]
            if not po_ids:
                return None, ([], [])
        report = await make_plan(runtime.settings, runtime.autotask, runtime.qbo, journal,
                                 now=datetime.now(timezone.utc), po_ids=po_ids, links=runtime.store.links,
                                 receipts=runtime.store.receipts)
        result = await approve_plans(journal, list(report.plans)) if approve and not report.halt_code else ([], [])
        return report, result
    finally:
        await runtime.aclose()


def _emit(line: dict) -> None:
    print(json_text(json.dumps(jsonable(line), ensure_ascii=False)), flush=True)


async def _plan(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    started = time.monotonic()
    report, _ = await _with_runtime(args, list(args.po_ids) or None, approve=False)
    code = report.exit_code
    if as_json:
        for plan in report.plans:
            _emit({"type": "po", **plan.to_record()})
        for receipt in report.receipts:
            _emit({"type": "receipt_bill", **receipt.to_record()})
        _emit({"command": "plan", "ok": code == EXIT_OK, "exit_code": code, **report.counts(),
               "halt_code": report.halt_code, "halt_cause": report.halt_cause, "paused": report.paused,
               "api_calls": report.api_calls, "duration_s": round(time.monotonic() - started, 3)})
    else:
        print("\n".join(plan_text(report)), flush=True)
    return code


async def _approve(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    po_ids = None if args.all_held else list(args.po_ids)
    report, (approved, refused) = await _with_runtime(args, po_ids, approve=True)
    if report is None:
        message = "no purchase order is held"
        if as_json:
            _emit({"command": "approve", "ok": True, "exit_code": EXIT_OK, "approved": 0, "refused": 0,
                   "message": message})
        else:
            print(message, flush=True)
        return EXIT_OK
    code = EXIT_SOME_FAILED if refused or report.halt_code else EXIT_OK
    if as_json:
        for plan in approved:
            _emit({"type": "approved", **plan.to_record()})
        for plan, why in refused:
            _emit({"type": "refused", "reason": why, **plan.to_record()})
        _emit({"command": "approve", "ok": code == EXIT_OK, "exit_code": code, "approved": len(approved),
               "refused": len(refused), "halt_code": report.halt_code, "halt_cause": report.halt_cause})
        return code
    if report.halt_code:
        print(f"nothing approved: {shown(report.halt_cause)} Fix: {shown(report.halt_fix)}", flush=True)
        return code
    for plan in approved:
        print(f"approved: {po_lines(plan)[0]}", flush=True)
        for line in po_lines(plan)[1:]:
            print(line, flush=True)
    for plan, why in refused:
        print(f"not approved: PO {shown(plan.po_number)} (id {plan.po_id}): {shown(why)}", flush=True)
    return code


# purchase_order_then_bill: the plan covers what the scan writes when it picks the PO up; the
# bills follow receipts the plan cannot know yet.
RECEIPT_WORDS = "; then a bill for each receipt, as Autotask records the goods received"


def po_lines(p: Any) -> list[str]:
    """One PO's plan for people: a head line, then what it uses and the lines."""
    who = f"PO {shown(p.po_number)} (id {p.po_id})"
    if p.outcome == "resume":
        return [f"{who}: {shown(p.note)}"]
    if p.outcome == "fail" and p.vendor is None:
        return [f"{who}: would fail: {shown(p.cause)} Fix: {shown(p.fix)}"]
    head = (f"{who}: would fail: {shown(p.cause)} Fix: {shown(p.fix)}" if p.outcome == "fail"
            else f"{who}: {p.document_words} {shown(p.number_words)}, {p.amount}{' ' + shown(p.currency) if p.currency else ''}, "
                 f"A/P {shown(p.ap_account)}" + RECEIPT_WORDS * p.receipt_bills)
    if p.hold:
        state = {"approved": "approved", "changed": "approved, but the plan changed since"}.get(p.approval, "held")
        head += f" [{state}: {shown(p.hold)}]"
    out = [head]
    for record in (p.vendor, p.customer):
        if record is not None:
            out.append(f"    {shown(record.words)}")
    for i, line in enumerate(p.lines, 1):
        out.append(f"    line {i}: {shown(line.item.words)}; {shown(line.qty)} × {shown(line.unit_price)} = {line.amount}")
    return out


def plan_text(report: Any) -> list[str]:
    out: list[str] = []
    if report.paused:
        out.append("days_back is 0: the transfer is paused, a scan would transfer nothing")
    if report.halt_code:
        out.append(f"a scan would transfer nothing: {shown(report.halt_cause)} Fix: {shown(report.halt_fix)}")
    for plan in report.plans:
        out.extend(po_lines(plan))
    for r in report.receipts:
        who = f"PO {shown(r.po_number)} (id {r.po_id})"
        if r.cause_code:
            out.append(f"{who}: its receipt bill would fail: {shown(r.cause)} Fix: {shown(r.fix)}")
        else:
            out.append(f"{who}: receipt bill {shown(r.doc_number)}, {r.amount}, for {r.receipts} receipt(s) of goods, "
                       f"against purchase order {shown(r.purchase_order)}"
                       + ("; it bills the rest, QuickBooks closes the purchase order" if r.closes else ""))
    c = report.counts()
    made = [f"{c['bills']} would become bills"] if c["bills"] or not c["purchase_orders"] else []
    if c["purchase_orders"]:
        made.append(f"{c['purchase_orders']} would become QuickBooks purchase orders"
                    + (" (bills follow the goods received)" if any(p.receipt_bills for p in report.plans) else ""))
    out.append(f"{c['planned']} purchase order(s): {', '.join(made)}, {c['would_fail']} would fail, "
               f"{c['resume']} finished from an earlier run, {c['held']} wait for approval, "
               f"{c['creates']} record(s) to create"
               + (f", {c['receipt_bills']} receipt bill(s)" if report.receipts else "")
               + (f" ({c['receipt_bills_failing']} would fail)" if c["receipt_bills_failing"] else "")
               + "; API calls: "
               + ", ".join(f"{k} {v}" for k, v in sorted(report.api_calls.items())))
    return out
