"""`atqbo why`, `atqbo export`: the accountant's questions, answered from the local records."""

from __future__ import annotations

import argparse
import json

from console.cli_commands.common import EXIT_OK, data_dir
from console.output import jsonable
from console.runtime_headless import open_store
from sync.text import json_text
from sync.text import shown as visible


def run_why(args: argparse.Namespace) -> int:
    from sync.audit.why import why

    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
    try:
        story = why(store, args.po_id)
    finally:
        store.close()
    if as_json:
        print(json_text(json.dumps(jsonable({"ok": True, "exit_code": EXIT_OK, **story.as_dict()}), ensure_ascii=False)),
              flush=True)
        return EXIT_OK
    number = f"PO {visible(story.po_number)} " if story.po_number else "PO "
    print(f"{number}(Autotask id {story.po_id}): {visible(story.summary())}")
    if not story.known:
        print("atqbo has no record of this purchase order: no scan has picked it up "
              "(check its status, date and externalPONumber with `atqbo plan`, or sync it with "
              "`atqbo sync-one`).", flush=True)
        return EXIT_OK
    for step in story.steps:
        when = step.at[:19].replace("T", " ")
        print(f"  {when}Z  {visible(step.text)}")
    for entry in story.errors:
        print(f"  error log {entry.id} [{entry.status.value}] {visible(entry.cause)}"
              + (f"\n      what to fix: {visible(entry.fix)}" if entry.status.value != "resolved" and entry.fix
                 else ""))
    print(flush=True)
    return EXIT_OK


def run_export(args: argparse.Namespace) -> int:
    import io
    import os

    from console.cli_commands.common import EXIT_USAGE, CommandError
    from sync.audit.export import rows, write_csv

    store = open_store(data_dir(args))
    try:
        found = rows(store, since=args.since)
    finally:
        store.close()
    buf = io.StringIO()
    if args.format == "json":
        for row in found:
            buf.write(json_text(json.dumps(row.as_dict(), ensure_ascii=False)) + "\n")
        buf.write(json.dumps({"ok": True, "exit_code": EXIT_OK, "rows": len(found)}) + "\n")
    else:
        write_csv(found, buf)
    if not args.output:
        print(buf.getvalue(), end="", flush=True)
        return EXIT_OK
    target = os.path.abspath(args.output)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(buf.getvalue())
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}; nothing was exported "
                           "(choose a folder you can write to)", EXIT_USAGE) from None
    import sys

    print(f"{len(found)} purchase orders exported to {target}", file=sys.stderr, flush=True)
    return EXIT_OK
