"""`atqbo links [--kind K] [--json]`, `atqbo link KIND AUTOTASK_ID QBO_ID`, `atqbo unlink KIND
AUTOTASK_ID`: which QuickBooks record each Autotask organization and product is (issue 16).

A link is checked against both services before it is stored (sync/control/links.py); a running
daemon uses it from its next scan. Names come from both services: shown, never raw.
"""

from __future__ import annotations

import argparse

import anyio

from console.cli_commands.common import EXIT_OK, EXIT_USAGE, CommandError, data_dir, out
from console.runtime_headless import open_runtime, open_store
from sync.control.api import CommandRefused
from sync.control.links import LinkView, list_links, make_link, remove_link
from sync.text import shown


def _line(view: LinkView) -> str:
    score = f" ({view.score} %)" if view.score is not None else ""
    return (f"{view.kind:<8} Autotask {view.autotask_id} {shown(view.autotask_name)!s:<30} -> QuickBooks "
            f"{shown(view.qbo_id)} {shown(view.qbo_name)}  [{view.how}{score}, {shown(view.made_at[:19])}]")


def run_links(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
    try:
        try:
            views = anyio.run(list_links, store.links, args.kind)
        except CommandRefused as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
    finally:
        store.close()
    for view in views:
        out(as_json, view.to_record(), _line(view))
    counts = {kind: sum(1 for v in views if v.kind == kind) for kind in ("vendor", "customer", "item")}
    summary = f"{len(views)} link(s)" + ("" if args.kind else
                                        f": {counts['vendor']} vendor, {counts['customer']} customer, {counts['item']} item")
    out(as_json, {"command": "links", "ok": True, "exit_code": EXIT_OK, "shown": len(views), **counts}, summary)
    return EXIT_OK


def run_link(args: argparse.Namespace) -> int:
    return anyio.run(_link, args)


async def _link(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    runtime = await open_runtime(data_dir(args))
    try:
        view = await make_link(runtime.store.links, runtime.autotask, runtime.qbo, args.kind, args.autotask_id,
                               args.qbo_id)
    except CommandRefused as exc:
        raise CommandError(str(exc), EXIT_USAGE) from None
    finally:
        await runtime.aclose()
    out(as_json, {"command": "link", "ok": True, "exit_code": EXIT_OK, "link": view.to_record()},
        f"linked: {_line(view)}\nthe next scan uses it")
    return EXIT_OK


def run_unlink(args: argparse.Namespace) -> int:
    as_json = bool(getattr(args, "json", False))
    store = open_store(data_dir(args))
    try:
        try:
            view = anyio.run(remove_link, store.links, args.kind, args.autotask_id)
        except CommandRefused as exc:
            raise CommandError(str(exc), EXIT_USAGE) from None
    finally:
        store.close()
    out(as_json, {"command": "unlink", "ok": True, "exit_code": EXIT_OK, "link": view.to_record()},
        f"unlinked: {_line(view)}\nthe next scan matches it by name again")
    return EXIT_OK
