"""Helpers for the command-line tests (conftest.py re-exports the fixtures): `atqbo` runs as a
real subprocess (python -m console.cli) against a sandbox served over real sockets in the test process, with a fresh data folder per
test. Setting up a data folder (connection, secrets, settings) is done in-process through the
store, which is fast; the `connect` and `settings` commands have their own subprocess tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from sync.sandbox.control import Knobs
from sync.sandbox.empty import empty_seed
from sync.sandbox.seeds import SeedData
from sync.sandbox.server import Sandbox, SandboxServer
from sync.store import AutotaskConnection, QboConnection, Store

ROOT = Path(__file__).resolve().parents[2]
API_RESOURCE = 29682885  # seeded in the empty Autotask company
BUYER = 29682886
ACTION_GENERAL = 3
AP = "33"  # the empty QBO company's Accounts Payable (A/P)
COGS = "80"  # its Cost of Goods Sold

_spec = importlib.util.spec_from_file_location("atqbo_test_smtp", ROOT / "tests" / "mail" / "smtp_server.py")
smtp = importlib.util.module_from_spec(_spec)
sys.modules["atqbo_test_smtp"] = smtp
_spec.loader.exec_module(smtp)


def days_ago(n: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a user with no atqbo variables set (plus `extra`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATQBO_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def atqbo(*args: str, env: dict[str, str] | None = None, input: str | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `atqbo ARGS...` to completion; stdin is a pipe (not a terminal)."""
    return subprocess.run([sys.executable, "-m", "console.cli", *args], cwd=ROOT,
                          env=env or clean_env(), input=input if input is not None else "",
                          capture_output=True, text=True, timeout=timeout)


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def in_process(capsys, *args: str) -> Ran:
    """`atqbo ARGS...` through the same entry point, in this process: for the many bad-input
    variants of a command whose process-level behaviour has its own subprocess test."""
    from console.cli import main

    capsys.readouterr()
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return Ran(code, out, err)


def atqbo_all(*runs: tuple[list[str], dict[str, str] | None], timeout: float = 60
              ) -> list[subprocess.CompletedProcess]:
    """Run independent `atqbo` invocations at the same time (each is mostly start-up time)."""
    procs = [(args, spawn(*args, env=env)) for args, env in runs]
    results = []
    for args, proc in procs:
        try:
            out, err = proc.communicate(input="", timeout=timeout)
        finally:
            proc.kill()
        results.append(subprocess.CompletedProcess(args, proc.returncode, out, err))
    return results


def spawn(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "console.cli", *args], cwd=ROOT, env=env or clean_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def json_lines(text: str) -> list[dict]:
    """Every stdout line must be one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------- seeds


def seed_with_pos(n_ok: int = 0, n_missing_item: int = 0) -> SeedData:
    """`n_ok` Submitted POs whose item exists in QBO, and `n_missing_item` whose product has no
    QBO item (they fail while missing_item = error)."""
    from sync.sandbox.qbo import seed as qs

    seed = empty_seed()
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    dock = at.add_product("USB-C Dock", 120)
    cable = at.add_product("Cable", 5)
    seed.qbo.items.append(qs.item("400", "USB-C Dock", expense_account_id=COGS))
    for _ in range(n_ok):
        at.add_po(vendor, "Submitted", items=[{"productID": dock, "quantity": 2, "unitCost": 120}],
                  createDateTime=days_ago(1))
    for _ in range(n_missing_item):
        at.add_po(vendor, "Submitted", items=[{"productID": cable, "quantity": 3, "unitCost": 5}],
                  createDateTime=days_ago(1))
    return seed


@pytest.fixture
def serve() -> Iterator[Any]:
    """serve(seed, latency_ms=0) → a running SandboxServer, stopped after the test."""
    servers: list[SandboxServer] = []

    def start(seed: SeedData | str = "empty", latency_ms: float = 0.0) -> SandboxServer:
        server = SandboxServer(Sandbox(seed, Knobs(latency_ms=latency_ms)))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(serve) -> SandboxServer:
    return serve("empty")


def creds(server: SandboxServer) -> dict:
    return server.sandbox.credentials(server.url)


# ---------------------------------------------------------------- data folders


def connect_store(data_dir: Path, server: SandboxServer, *, autotask_secret: str | None = None) -> None:
    """What `atqbo connect autotask` and `connect quickbooks` save, written directly."""
    c = creds(server)
    at, oauth, qbo = c["autotask"], c["oauth"], c["qbo"]
    with Store.open(data_dir) as store:
        store.connection.set_autotask(AutotaskConnection(at["username"], at["integration_code"], server.url))
        store.secrets.set_autotask_secret(autotask_secret or at["secret"])
        store.connection.set_qbo(QboConnection(oauth["client_id"], oauth["realm_id"], qbo["api_url"],
                                               oauth["auth_url"], oauth["token_url"]))
        store.secrets.set_qbo_client_secret(oauth["client_secret"])
        store.secrets.save_qbo_tokens(oauth["refresh_token"])


READY = dict(days_back=7, ap_account=AP, todo_action_type=ACTION_GENERAL, todo_resource=BUYER)


def configure(data_dir: Path, **values: Any) -> None:
    with Store.open(data_dir) as store:
        for key, value in values.items():
            store.settings.set(key, value)


@dataclass
class Ready:
    data_dir: Path
    server: SandboxServer

    @property
    def dd(self) -> tuple[str, str]:
        return ("--data-dir", str(self.data_dir))

    def state(self) -> dict:
        return httpx.get(self.server.url + "/_sandbox/state", timeout=10).json()

    def bills(self) -> list[dict]:
        return list(_entities(self.state()["qbo"], "Bill"))

    def pos(self) -> list[dict]:
        return list(_entities(self.state()["autotask"], "PurchaseOrders"))

    def todos(self) -> list[dict]:
        return list(_entities(self.state()["autotask"], "CompanyToDos"))


def _entities(state: dict, name: str) -> list[dict]:
    table = state.get("entities", state).get(name)
    if table is None:
        return []
    return list(table.values()) if isinstance(table, dict) else list(table)


@pytest.fixture
def ready(tmp_path, serve):
    """ready(seed, latency_ms=0, **settings) → a connected, configured data folder."""

    def make(seed: SeedData | str = "empty", latency_ms: float = 0.0, **settings: Any) -> Ready:
        server = serve(seed, latency_ms)
        data_dir = tmp_path / "data"
        connect_store(data_dir, server)
        configure(data_dir, **{**READY, **settings})
        return Ready(data_dir, server)

    return make
