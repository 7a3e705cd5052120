"""`atqbo doctor [--json]`: the pre-flight, read-only (sync.preflight).

Exit 0 all is well; 3 something would fail or needs attention; 2 it cannot run (not connected,
settings missing); 1 a bug. Human text groups the findings by area, then lists every eligible
PO; with --json every finding, PO and record to create is one JSON line and the last line is
the summary.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime, timezone
from typing import Any

import anyio

from console.cli_commands.common import EXIT_USAGE, CommandError, data_dir
from console.output import jsonable
from console.runtime_headless import open_runtime

LEVEL_WORDS = {"ok": "ok", "note": "note", "attention": "ATTENTION", "fail": "FAIL"}


def run_doctor_command(args: argparse.Namespace) -> int:
    return anyio.run(_doctor, args)


async def produce_report(data_folder: Any) -> Any:
    """The report for a data folder (the console's Doctor screen calls this too). Raises
    RuntimeProblem / CommandError with exit 2 when the doctor cannot run."""
    from sync.preflight import run_doctor

    runtime = await open_runtime(data_folder)
    try:
        missing = runtime.settings.missing_for_scan()
        if missing:
            raise CommandError("settings incomplete, the doctor cannot check a scan:\n"
                               + "\n".join(f"  {p}" for p in missing)
                               + "\nSet them with: atqbo settings set KEY VALUE", EXIT_USAGE)
        return await run_doctor(runtime.settings, runtime.autotask, runtime.qbo, runtime.store.journal,
                                now=datetime.now(timezone.utc))
    finally:
        await runtime.aclose()


async def _doctor(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    started = time.monotonic()
    report = await produce_report(data_dir(args))
    code = report.exit_code
    if as_json:
        for line in json_lines(report):
            print(json.dumps(line, ensure_ascii=False), flush=True)
        summary = {"command": "doctor", "ok": code == 0, "exit_code": code, **report.counts(),
                   "api_calls": report.api_calls, "duration_s": round(time.monotonic() - started, 3)}
        print(json.dumps(jsonable(summary), ensure_ascii=False), flush=True)
    else:
        print(human_text(report), flush=True)
    return code


def json_lines(report: Any) -> list[dict]:
    out: list[dict] = [{"type": "finding", **jsonable(f)} for f in report.findings]
    out += [{"type": "po", **jsonable(p)} for p in report.pos]
    out += [{"type": "create", **jsonable(c)} for c in report.creates]
    out.append({"type": "headroom", **jsonable(report.headroom)})
    return out


def po_line(p: Any) -> str:
    who = f"PO {p.po_number} (id {p.po_id}), vendor {p.vendor}" + (f", for {p.customer}" if p.customer else "")
    if p.outcome == "fail":
        return f"FAIL  {who}: {p.cause} Fix: {p.fix}"
    if p.outcome == "resume":
        return f"next  {who}: {p.fix}"
    money = f"{p.amount} {p.currency}".strip()
    creates = f"; creates {', '.join(p.creates)}" if p.creates else ""
    return f"bill  {who} → bill {p.doc_number}, {money}, {p.lines} line{'s' if p.lines != 1 else ''}{creates}"


def group_by_area(findings: Any) -> list[tuple[str, list[Any]]]:
    """Findings grouped by area, areas in the order they first appear."""
    groups: dict[str, list[Any]] = {}
    for f in findings:
        groups.setdefault(f.area, []).append(f)
    return list(groups.items())


def finding_lines(f: Any) -> list[str]:
    lines = [f"{LEVEL_WORDS[f.level.value]:<9} {f.title}"]
    if f.level.value in ("attention", "fail"):
        if f.cause and f.cause != f.title:
            lines.append(f"          {f.cause}")
        if f.fix:
            lines.append(f"          Fix: {f.fix}")
    return lines


def human_text(report: Any) -> str:
    lines: list[str] = []
    for area, findings in group_by_area(report.findings):
        if lines:
            lines.append("")
        lines.append(area[:1].upper() + area[1:])
        lines += [f"  {line}" for f in findings for line in finding_lines(f)]
    if report.pos:
        lines += ["", "Each eligible purchase order, as the next scan would see it"]
        lines += [f"  {po_line(p)}" for p in report.pos]
    if report.creates:
        lines += ["", "The next scan would create in QuickBooks"]
        for c in report.creates:
            detail = f" ({c.detail})" if c.detail else ""
            lines.append(f"  {c.entity.lower()} {c.name}{detail}, for PO {', '.join(c.po_numbers)}")
    counts = report.counts()
    if report.exit_code == 0:
        verdict = "all is well: the next scan would transfer every eligible purchase order"
    else:
        parts = []
        if counts["pos_fail"]:
            parts.append(f"{counts['pos_fail']} of {counts['pos']} purchase orders would fail")
        n = counts["findings_fail"] + counts["findings_attention"]
        if n:
            parts.append(f"{n} check{'s' if n != 1 else ''} need{'' if n != 1 else 's'} attention")
        verdict = "; ".join(parts)
    calls = report.api_calls
    lines += ["", f"doctor: {verdict} (read-only: nothing was written; "
                  f"{calls.get('autotask', 0)} Autotask and {calls.get('qbo', 0)} QuickBooks requests)"]
    return "\n".join(lines).lstrip("\n")
