"""What every `atqbo` command shares: exit codes, the error that stops a command, output for
people or for --json, and secrets read from the environment or a hidden prompt (never argv)."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

from console.output import dumps, jsonable
from sync.text import shown_lines

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_SOME_FAILED = 0, 1, 2, 3

ENV_AUTOTASK_SECRET = "ATQBO_AUTOTASK_SECRET"
ENV_QBO_CLIENT_SECRET = "ATQBO_QBO_CLIENT_SECRET"
ENV_QBO_REFRESH_TOKEN = "ATQBO_QBO_REFRESH_TOKEN"
ENV_SMTP_PASSWORD = "ATQBO_SMTP_PASSWORD"


class CommandError(Exception):
    """Stop the command with a message and an exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def fail(message: str, as_json: bool, code: int, fault: str | None = None) -> None:
    """`fault`: the machine or data-folder fault's code (disk_full, read_only, ...) for --json."""
    # Messages quote what the user typed and what a service said: never raw (sync.text).
    print(f"atqbo: {shown_lines(message)}", file=sys.stderr, flush=True)
    if as_json:
        print(dumps({"ok": False, "exit_code": code, "error": message, **({"fault": fault} if fault else {})}),
              flush=True)


def out(as_json: bool, record: dict[str, Any], human: str) -> None:
    print(dumps(jsonable(record)) if as_json else shown_lines(human), flush=True)


def data_dir(args: argparse.Namespace) -> str | None:
    return getattr(args, "data_dir", None)


# ---------------------------------------------------------------- secrets in


def read_secret(env: str, prompt: str, what: str) -> str:
    """A secret from the environment, else a hidden prompt on the terminal; never argv."""
    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise CommandError(f"no {what}: set {env} in the environment, or run this in a terminal "
                           "to be asked for it (hidden)", EXIT_USAGE)
    try:
        value = getpass.getpass(prompt)
    except (EOFError, KeyboardInterrupt):
        raise CommandError(f"no {what} entered; nothing was saved", EXIT_USAGE) from None
    if not value.strip():
        raise CommandError(f"the {what} is empty; nothing was saved", EXIT_USAGE)
    return value.strip()


def api_problem(exc: BaseException, service: str) -> CommandError:
    """A client error as one sentence naming what is wrong; exit 1 (cannot connect/auth)."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return CommandError(f"{service}: {text}", EXIT_FATAL)


T = TypeVar("T")


async def through_service(remote: Any, work: Callable[[], Awaitable[T]], *, nothing_saved: bool = False) -> T:
    """`work` done by the running service over its control socket (the connection's reader runs
    beside it). A refusal is a usage error, a failure fatal; both are raised here, outside the
    task group, so they reach the command as its own error and not inside an exception group."""
    from sync.control.api import CommandFailed, CommandRefused

    problem: Exception | None = None
    result: Any = None
    async with anyio.create_task_group() as tg:
        tg.start_soon(remote.run)
        try:
            result = await work()
        except (CommandRefused, CommandFailed) as exc:
            problem = exc
        finally:
            await remote.stop()
    if problem is None:
        return result
    text = str(problem)
    if nothing_saved:
        text = text if "nothing was saved" in text else f"{text}; nothing was saved"
    elif isinstance(problem, CommandFailed):
        text = f"the service did not finish the command: {text}"
    raise CommandError(text, EXIT_USAGE if isinstance(problem, CommandRefused) else EXIT_FATAL)
