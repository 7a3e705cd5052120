"""`atqbo logs`: the error log, newest first."""

from __future__ import annotations

import argparse

from console.cli_commands.common import (
    EXIT_OK,
    data_dir,
)
from console.output import dumps, jsonable
from console.runtime_headless import (
    open_store,
)
from sync.text import shown


def run_logs(args: argparse.Namespace) -> int:
    from sync.store import ErrorStatus

    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
    try:
        log = store.errors
        if args.errors:
            entries = log.open_errors(limit=args.limit)
        else:
            entries = log.page(limit=args.limit)
        counts = {status.value: n for status, n in log.count_by_status().items()}
        if as_json:
            for entry in entries:
                print(dumps(jsonable(entry)))
            print(dumps({"ok": True, "exit_code": 0, "shown": len(entries),
                              "open": counts.get(ErrorStatus.OPEN.value, 0),
                              "retrying": counts.get(ErrorStatus.RETRYING.value, 0),
                              "resolved": counts.get(ErrorStatus.RESOLVED.value, 0)}), flush=True)
            return EXIT_OK
        if not entries:
            print("no open errors" if args.errors else "the error log is empty", flush=True)
            return EXIT_OK
        for e in entries:
            # An entry holds the PO number and the cause as they came: shown, never raw.
            when = shown(e.updated_at[:19].replace("T", " "))
            po = shown(e.po_number or "?")
            line = (f"[{e.id}] {when}Z {e.status.value:<8} PO {po} (id {e.po_id}): {shown(e.cause)}"
                    f" (attempts {e.attempts}, {shown(e.cause_code)})")
            if e.status is not ErrorStatus.RESOLVED and e.fix:
                line += f"\n      what to fix: {shown(e.fix)}"
            print(line)
        open_n = counts.get(ErrorStatus.OPEN.value, 0) + counts.get(ErrorStatus.RETRYING.value, 0)
        print(f"{len(entries)} shown; {open_n} open. Retry one with `atqbo retry ID`, all with "
              "`atqbo retry --all-failed`.", flush=True)
        return EXIT_OK
    finally:
        store.close()
