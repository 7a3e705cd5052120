"""`atqbo reconcile`: read-only comparison of the bills atqbo made with Autotask. Exit 0 clean,
3 findings, 2 it cannot run (not connected, a service refused or is down)."""

from __future__ import annotations

import argparse
import json

import anyio

from console.cli_commands.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    CommandError,
    data_dir,
)
from console.runtime_headless import RuntimeProblem, open_runtime
from sync.text import json_text
from sync.text import shown as visible


async def _reconcile(folder):
    from sync.audit.reconcile import reconcile
    from sync.clients.errors import ApiError

    try:
        runtime = await open_runtime(folder)
    except RuntimeProblem as problem:
        raise CommandError(f"reconcile cannot run: {problem}", EXIT_USAGE) from None
    try:
        return await reconcile(runtime.store, runtime.autotask, runtime.qbo)
    except ApiError as exc:
        text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        raise CommandError(f"reconcile cannot run: {text}; nothing was changed", EXIT_USAGE) from None
    finally:
        with anyio.CancelScope(shield=True):
            await runtime.aclose()


def run_reconcile(args: argparse.Namespace) -> int:
    result = anyio.run(_reconcile, data_dir(args))
    code = EXIT_SOME_FAILED if result.findings else EXIT_OK
    if getattr(args, "json", False):
        for f in result.findings:
            print(json_text(json.dumps(f.as_dict(), ensure_ascii=False)))
        print(json.dumps({"ok": True, "exit_code": code, "findings": len(result.findings), "by_kind": result.counts(),
                          "bills_checked": result.bills_checked, "pos_checked": result.pos_checked,
                          "document": result.document}), flush=True)
        return code
    for f in result.findings:
        print(f"{f.kind}: {visible(f.text)}\n    what to do: {visible(f.fix)}")
    print(f"{len(result.findings)} findings; {result.bills_checked} {result.made_words} made by atqbo and "
          f"{result.pos_checked} purchase orders checked (nothing was changed).", flush=True)
    return code
