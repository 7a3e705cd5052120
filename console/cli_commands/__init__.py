"""The `atqbo` commands that do one thing and exit (DESIGN §4), one module per command group.
`console/cli.py` parses; this package runs. Nothing here imports Textual.

Each command returns the contract's exit code: 0 success; 3 finished but some POs failed;
2 usage or configuration error; 1 fatal (cannot connect or authenticate). Messages for people
go to stderr (errors) or stdout (results); with --json, stdout carries JSON only and its last
line is the summary object. Secrets are read from the environment or a hidden prompt, never
from argv, and are never printed.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable

from console.output import StderrLog
from console.runtime_headless import RuntimeProblem

from .audit import run_export, run_why
from .common import (
    EXIT_FATAL,
    EXIT_OK,
    EXIT_SOME_FAILED,
    EXIT_USAGE,
    CommandError,
    fail,
)
from .connect import run_connect
from .doctor import run_doctor_command
from .health import run_health
from .links import run_link, run_links, run_unlink
from .logs import run_logs
from .plan import run_approve, run_plan
from .po import exit_code_for_outcomes, run_retry, run_sync_one
from .reconcile import run_reconcile
from .repair import run_repair
from .settings_cmd import run_settings

__all__ = ["EXIT_FATAL", "EXIT_OK", "EXIT_SOME_FAILED", "EXIT_USAGE", "CommandError",
           "exit_code_for_outcomes", "run"]

# One entry per command: adding a command is a module here and a line in this table.
HANDLERS: dict[str, Callable[[argparse.Namespace], int]] = {
    "connect": run_connect,
    "settings": run_settings,
    "sync-one": run_sync_one,
    "logs": run_logs,
    "retry": run_retry,
    "repair": run_repair,
    "links": run_links,
    "link": run_link,
    "unlink": run_unlink,
    "doctor": run_doctor_command,
    "plan": run_plan,
    "approve": run_approve,
    "why": run_why,
    "export": run_export,
    "health": run_health,
    "reconcile": run_reconcile,
}


def run(args: argparse.Namespace) -> int:
    handler = HANDLERS[args.command]
    as_json = bool(getattr(args, "json", False))
    log = StderrLog()  # warnings of the sync layer on stderr, never raw (sync.text)
    loggers = [logging.getLogger(name) for name in ("atqbo", "sync")]
    for logger in loggers:
        logger.addHandler(log)
    try:
        return handler(args)
    except (CommandError, RuntimeProblem) as exc:
        fail(str(exc), as_json, exc.exit_code, getattr(exc, "fault_code", None))
        return exc.exit_code
    finally:
        for logger in loggers:
            logger.removeHandler(log)
