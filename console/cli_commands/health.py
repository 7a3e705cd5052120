"""`atqbo health`: a monitoring check as is (exit 0 healthy, 3 degraded, 2 down)."""

from __future__ import annotations

import argparse
import json

from console.cli_commands.common import data_dir
from console.output import jsonable
from console.runtime_headless import open_store
from sync.text import json_text
from sync.text import shown as visible


def run_health(args: argparse.Namespace) -> int:
    from sync.audit.health import check

    store = open_store(data_dir(args))
    try:
        health = check(store)
    finally:
        store.close()
    if getattr(args, "json", False):
        print(json_text(json.dumps(jsonable({"ok": health.exit_code == 0, **health.as_dict()}), ensure_ascii=False)), flush=True)
        return health.exit_code
    print(f"atqbo {health.status.upper()}")
    for c in health.checks:
        print(f"  {c.status:<8} {c.name:<12} {visible(c.text)}")
    print(flush=True)
    return health.exit_code
