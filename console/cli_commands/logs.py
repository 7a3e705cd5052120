"""`atqbo logs`: the error log, newest first."""

from __future__ import annotations

import argparse
import json

from console.cli_commands.common import (
    EXIT_OK,
    data_dir,
)
from console.output import jsonable
from console.runtime_headless import (
    open_store,
)


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
                print(json.dumps(jsonable(entry), ensure_ascii=False))
            print(json.dumps({"ok": True, "exit_code": 0, "shown": len(entries),
                              "open": counts.get(ErrorStatus.OPEN.value, 0),
                              "retrying": counts.get(ErrorStatus.RETRYING.value, 0),
                              "resolved": counts.get(ErrorStatus.RESOLVED.value, 0)}), flush=True)
            return EXIT_OK
        if not entries:
            print("no open errors" if args.errors else "the error log is empty", flush=True)
            return EXIT_OK
        for e in entries:
            when = e.updated_at[:19].replace("T", " ")
            po = e.po_number or "?"
            line = (f"[{e.id}] {when}Z {e.status.value:<8} PO {po} (id {e.po_id}): {e.cause}"
                    f" (attempts {e.attempts}, {e.cause_code})")
            if e.status is not ErrorStatus.RESOLVED and e.fix:
                line += f"\n      what to fix: {e.fix}"
            print(line)
        open_n = counts.get(ErrorStatus.OPEN.value, 0) + counts.get(ErrorStatus.RETRYING.value, 0)
        print(f"{len(entries)} shown; {open_n} open. Retry one with `atqbo retry ID`, all with "
              "`atqbo retry --all-failed`.", flush=True)
        return EXIT_OK
    finally:
        store.close()
