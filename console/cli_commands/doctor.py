"""`atqbo doctor [--json]`: the pre-flight, read-only (sync.preflight).

Exit 0 all is well; 3 something would fail or needs attention; 2 it cannot run (not connected,
settings missing); 1 a bug. Human text groups the findings by area, then lists every eligible
PO; with --json every finding, PO and record to create is one JSON line and the last line is
the summary.
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime, timezone
from typing import Any

import anyio

from console.cli_commands.common import EXIT_USAGE, CommandError, data_dir
from console.output import dumps, jsonable
from console.runtime_headless import open_runtime
from sync.preflight.text import human_text
from sync.text import shown_lines


def run_doctor_command(args: argparse.Namespace) -> int:
    return anyio.run(_doctor, args)


async def produce_report(data_folder: Any) -> Any:
    """The report for a data folder. Raises RuntimeProblem / CommandError with exit 2 when the
    doctor cannot run (not connected, settings missing)."""
    from sync.preflight import CannotRun, check_can_run, run_doctor

    runtime = await open_runtime(data_folder)
    try:
        try:
            check_can_run(runtime.settings)
        except CannotRun as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
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
            print(dumps(line), flush=True)
        summary = {"command": "doctor", "ok": code == 0, "exit_code": code, **report.counts(),
                   "api_calls": report.api_calls, "duration_s": round(time.monotonic() - started, 3)}
        print(dumps(jsonable(summary)), flush=True)
    else:
        print(shown_lines(human_text(report)), flush=True)  # (its outside texts are shown() already)
    return code


def json_lines(report: Any) -> list[dict]:
    out: list[dict] = [{"type": "finding", **jsonable(f)} for f in report.findings]
    out += [{"type": "po", **jsonable(p)} for p in report.pos]
    out += [{"type": "create", **jsonable(c)} for c in report.creates]
    out.append({"type": "headroom", **jsonable(report.headroom)})
    return out
