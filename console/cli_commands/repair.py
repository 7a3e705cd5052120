"""`atqbo repair journal [--dry-run]`: rebuild the journal from QuickBooks' tagged bills,
Autotask's External PO numbers and the error log (sync/engine/repair.py), and say what it found."""

from __future__ import annotations

import argparse
from typing import Any

import anyio

from console.cli_commands.common import (
    EXIT_FATAL,
    EXIT_OK,
    CommandError,
    api_problem,
    data_dir,
    out,
)
from console.runtime_headless import open_runtime
from sync.store.errors import EngineLockedError
from sync.text import (
    shown as _shown,  # numbers and names come from both services: never raw
)


def run_repair(args: argparse.Namespace) -> int:
    return anyio.run(_repair_journal, args)


async def _repair_journal(args: argparse.Namespace) -> int:
    from sync.clients.errors import ApiError
    from sync.engine import documents
    from sync.engine.repair import repair_journal

    as_json = bool(getattr(args, "json", False))
    dry_run = bool(args.dry_run)
    runtime = await open_runtime(data_dir(args))
    try:
        if not dry_run:
            # No engine may move records while they are rebuilt.
            try:
                runtime.store.acquire_engine_lock()
            except EngineLockedError as exc:
                raise CommandError(f"{exc}; the journal was not changed", EXIT_FATAL) from None
        try:
            # The document a PO becomes under transfer_as: its tagged bills or purchase orders.
            document = documents.first_document(await anyio.to_thread.run_sync(runtime.store.settings.load))
            report = await repair_journal(runtime.store.journal, runtime.store.errors, runtime.autotask,
                                          runtime.qbo, dry_run=dry_run, document=document)
        except ApiError as exc:
            raise api_problem(exc, "QuickBooks" if exc.service in ("qbo", "oauth") else "Autotask") from None
    finally:
        await runtime.aclose()
    for f in report.findings:
        out(as_json, {"event": "journal_record", "po_id": f.po_id, "po_number": f.po_number, "before": f.before,
                      "after": f.after, "bill_id": f.bill_id, "doc_number": f.doc_number, "found": f.why},
            f"PO {_shown(f.po_number)} (id {f.po_id}): {_shown(f.why)}: {f.before} -> {f.after}")
    out(as_json, _summary(report), _summary_text(report))
    return EXIT_OK


def _summary(report: Any) -> dict[str, Any]:
    return {"command": "repair journal", "ok": True, "exit_code": EXIT_OK, "dry_run": report.dry_run,
            "document": report.document, "bills_read": report.bills_read, "tagged_bills": report.tagged_bills, "pos_read": report.pos_read,
            "open_errors": report.open_errors, "records_written": 0 if report.dry_run else len(report.findings),
            "records_to_write": len(report.findings), "unchanged": report.unchanged,
            "numbers_due": report.numbers_due,
            "duplicates": {str(k): v for k, v in report.duplicates.items()},
            "unknown_pos": [{"bill_id": b, "po_id": p} for b, p in report.unknown_pos],
            "damaged_files": report.damaged_files}


def _summary_text(report: Any) -> str:
    what = "purchase orders" if report.document == "PurchaseOrder" else "bills"
    lines = [f"read {report.bills_read} {what} from QuickBooks ({report.tagged_bills} name an Autotask PO), "
             f"{report.pos_read} purchase orders from Autotask and {report.open_errors} open error-log entries"]
    for path in report.damaged_files:
        lines.append(f"damaged journal file {path}: its records are rebuilt from QuickBooks and Autotask"
                     + (" (when written)" if report.dry_run else ""))
    for po_id, numbers in sorted(report.duplicates.items()):
        lines.append(f"PO id {po_id} has {len(numbers)} bills in QuickBooks ({', '.join(_shown(n) for n in numbers)}): "
                     "the journal keeps the one Autotask holds (else the oldest); check the others in QuickBooks")
    for bill_id, po_id in report.unknown_pos:
        lines.append(f"bill id {_shown(bill_id)} names PO id {po_id}, which Autotask does not have (or the API "
                     "user cannot see): left alone")
    n = len(report.findings)
    if report.dry_run:
        lines.append(f"dry run: {n} journal record(s) would be written, {report.unchanged} already agree; nothing "
                     "was changed (run `atqbo repair journal` to write them)")
    else:
        lines.append(f"{n} journal record(s) written, {report.unchanged} already agreed")
        if report.numbers_due:
            lines.append(f"{report.numbers_due} PO(s) are finished by the next scan (atqbo --daemon --once): bill "
                         "numbers written back to Autotask, error-log entries closed, never a second bill")
    return "\n".join(lines)
