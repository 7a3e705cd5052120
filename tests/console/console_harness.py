"""Console test helpers: the real app, a real store in a temporary folder, real clients and the
real engine, against a sandbox over real sockets. Determinism for snapshots: a fixed clock,
UTC times, no cursor blink, no animations.

    async def test_x(console_world):
        w = console_world(seed)                   # seed: a SeedData (see shop_seed)
        async with w.app.run_test(size=(100, 30)) as pilot: ...
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")

from textual.widgets import Input  # noqa: E402

from sync.sandbox.empty import empty_seed  # noqa: E402
from sync.sandbox.qbo import seed as qs  # noqa: E402
from sync.sandbox.seeds import SeedData  # noqa: E402
from sync.sandbox.server import Sandbox, SandboxServer  # noqa: E402
from sync.settings import Settings  # noqa: E402
from sync.store import Store  # noqa: E402

AP = "33"
COGS = "80"
FIXED_NOW = datetime(2026, 11, 25, 9, 30, 0, tzinfo=timezone.utc)


def fixed_clock() -> datetime:
    return FIXED_NOW


def days_ago(n: float) -> str:
    dt = datetime.now(timezone.utc) - timedelta(days=n)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def shop_seed(*, failing: bool = True) -> SeedData:
    """A small shop: five POs that sync, and (with `failing`) one whose item cannot be bought in
    QBO (item_not_purchasable) and one whose vendor name is taken by a QBO customer."""
    seed = empty_seed()
    at = seed.autotask
    ingram = at.add_vendor("Ingram Micro")
    dh = at.add_vendor("D&H Distributing")
    laptop = at.add_product("Dell Latitude 5440", 900)
    dock = at.add_product("USB-C Dock", 120)
    cable = at.add_product("Cat6 Cable 3m", 4)
    for i, (vendor, items) in enumerate([
        (ingram, [{"productID": laptop, "quantity": 2, "unitCost": 899.99}]),
        (dh, [{"productID": dock, "quantity": 5, "unitCost": 119.5}]),
        (ingram, [{"productID": cable, "quantity": 40, "unitCost": 3.75}, {"productID": dock, "quantity": 1, "unitCost": 120}]),
        (dh, [{"productID": laptop, "quantity": 1, "unitCost": 905}]),
        (ingram, [{"productID": cable, "quantity": 10, "unitCost": 4}]),
    ]):
        at.add_po(vendor, "Submitted", items=items, createDateTime=days_ago(1 + i / 10),
                  purchaseOrderNumber=f"PO-10{i + 1:02d}")
    if failing:
        consulting = at.add_product("Consulting", 150)
        seed.qbo.items.append(qs.item("400", "Consulting", income_account_id="79", type="Service"))
        at.add_po(ingram, "Submitted", items=[{"productID": consulting, "quantity": 3, "unitCost": 150}],
                  createDateTime=days_ago(0.5), purchaseOrderNumber="PO-1090")
        northwind = at.add_vendor("Northwind Traders")
        seed.qbo.customers.append(qs.customer("300", "Northwind Traders"))
        at.add_po(northwind, "Submitted", items=[{"productID": cable, "quantity": 5, "unitCost": 4}],
                  createDateTime=days_ago(0.4), purchaseOrderNumber="PO-1091")
    return seed


@dataclass
class ConsoleRuntime:
    """Same shape as the wiring's Runtime: what the app needs."""

    store: Store
    autotask: Any
    qbo: Any
    engine: Any
    sandbox_server: SandboxServer | None = None
    extra: list[Any] = field(default_factory=list)

    async def aclose(self) -> None:
        for closer in (self.autotask.aclose, self.qbo.aclose, self.qbo.oauth.aclose):
            try:
                await closer()
            except Exception:
                pass


class InProcessService:
    """What `atqbo --daemon` serves, in the test's event loop: the engine running, its control
    socket open. `aclose()` stops both."""

    def __init__(self, runtime: Any, path: Path, *, run_engine: bool = True, pid: int | None = None) -> None:
        self.runtime = runtime
        self.path = path
        self.run_engine = run_engine  # False: the test publishes the engine's events itself
        self.pid = pid
        self._task: asyncio.Task | None = None
        self._stop: asyncio.Event | None = None

    async def start(self) -> None:
        self._stop, ready = asyncio.Event(), asyncio.Event()
        self._task = asyncio.create_task(self._run(ready))
        await ready.wait()

    async def _run(self, ready: asyncio.Event) -> None:
        import anyio

        from sync.control.local import LocalEngineControl
        from sync.control.server import ControlServer

        control = LocalEngineControl(self.runtime, pid=self.pid)
        async with ControlServer(control, self.path):
            async with anyio.create_task_group() as tg:
                if self.run_engine:
                    tg.start_soon(self.runtime.engine.run)
                ready.set()
                assert self._stop is not None
                await self._stop.wait()
                if self.run_engine:
                    await self.runtime.engine.stop()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def aclose(self) -> None:
        if self._task is None:
            return
        assert self._stop is not None
        self._stop.set()
        await self._task
        self._task = None
        await self.runtime.aclose()


@dataclass
class ConsoleWorld:
    server: SandboxServer
    data_dir: Path
    store: Store
    creds: dict
    mode: str = "local"  # "remote": w.app() attaches to the world's engine run as a service
    services: list[Any] = field(default_factory=list)
    service_options: dict = field(default_factory=dict)  # InProcessService(run_engine=, pid=)

    def runtime(self) -> ConsoleRuntime:
        """Clients and engine are made inside the app's loop (call from a test coroutine)."""
        from sync.clients.autotask import AutotaskClient
        from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
        from sync.clients.qbo import QboClient
        from sync.engine import Engine

        a, o = self.creds["autotask"], self.creds["oauth"]
        at = AutotaskClient(a["username"], a["integration_code"], a["secret"], zone_lookup_base=self.server.url)
        oauth = IntuitOAuth(o["client_id"], o["client_secret"], endpoints=IntuitEndpoints.local(self.server.url),
                            tokens=TokenSet.from_refresh_token(o["refresh_token"], o["realm_id"]))
        qbo = QboClient(oauth, o["realm_id"], api_url=self.server.url, per_second=1000, per_minute=60000)
        return ConsoleRuntime(self.store, at, qbo, Engine(self.store, at, qbo), sandbox_server=self.server)

    def app(self, *, demo: bool = False, start_engine: bool = True, runtime: Any = None,
            attached: bool | None = None):
        """The console on this world. Attached (the world's mode "remote", or asked): the engine
        runs as a service in this process, served on the data folder's control socket, and
        the console finds it and attaches as it would to a daemon."""
        from console.app import AtqboApp

        if attached if attached is not None else self.mode == "remote":
            return AtqboApp(runtime_factory=lambda: self.attach(runtime), demo=False, clock=fixed_clock,
                            local_times=False, data_dir=self.data_dir)
        return AtqboApp(runtime or self.runtime(), demo=demo, clock=fixed_clock, local_times=False,
                        start_engine=start_engine)

    def save_connection(self) -> None:
        """Save the sandbox's connection in the data folder, as `atqbo connect` would (so the
        console can open the folder itself)."""
        from sync.endpoints import zone_lookup_base
        from sync.store import AutotaskConnection, QboConnection

        at, oauth, qbo = self.creds["autotask"], self.creds["oauth"], self.creds["qbo"]
        self.store.connection.set_autotask(AutotaskConnection(at["username"], at["integration_code"],
                                                              zone_lookup_base(at["zone_lookup_url"])))
        self.store.secrets.set_autotask_secret(at["secret"])
        self.store.connection.set_qbo(QboConnection(oauth["client_id"], oauth["realm_id"], qbo["api_url"],
                                                    oauth["auth_url"], oauth["token_url"]))
        self.store.secrets.set_qbo_client_secret(oauth["client_secret"])
        self.store.secrets.save_qbo_tokens(oauth["refresh_token"])

    async def attach(self, runtime: Any = None) -> Any:
        from console.startup import attach_to_service

        running = [s for s in self.services if s.running]
        service = running[0] if running else await self.start_service(runtime)
        attached = await attach_to_service(self.data_dir)
        assert attached is not None, "the console did not find the service"
        if not running:
            attached.extra.append(service)  # started for this console: it stops with it
        return attached

    async def start_service(self, runtime: Any = None) -> "InProcessService":
        service = InProcessService(runtime or self.runtime(), self.store.locations.control_socket,
                                   **self.service_options)
        await service.start()
        self.services.append(service)
        return service

    # reading the emulated systems back over HTTP
    def state(self) -> dict:
        return httpx.get(self.server.url + "/_sandbox/state", timeout=10).json()

    def qbo_list(self, entity: str) -> list[dict]:
        found = self.state()["qbo"]
        found = found.get(entity) or (found.get("entities") or found.get("records") or {}).get(entity, [])
        return list(found.values()) if isinstance(found, dict) else found

    def at_list(self, entity: str) -> list[dict]:
        return self.state()["autotask"]["entities"].get(entity, [])

    def po_by_number(self, number: str) -> dict:
        return next(p for p in self.at_list("PurchaseOrders") if p.get("purchaseOrderNumber") == number)


def default_settings(**overrides: Any) -> Settings:
    values = dict(days_back=30, ap_account=AP, todo_action_type=3, todo_resource=29682886,
                  missing_item="create", new_item_expense_account=COGS)
    values.update(overrides)
    return Settings.from_values(values)


async def wait_for(pilot, predicate, timeout: float = 10.0, what: str = "condition") -> None:
    """Pump the app until `predicate()` holds (engine work happens over real sockets)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def replay_events() -> list:
    """A scan as the engine reports it (recorded shape, fixed times and durations): five POs
    synced, two failed with to-dos, one retry under way — for deterministic snapshots."""
    from decimal import Decimal

    from sync import events as ev

    at = FIXED_NOW
    out: list = [ev.EngineStarted(at=at), ev.ScanStarted(at=at, scan_id="s1", trigger="schedule", days_back=30)]
    synced = [(101, "PO-1001", "Ingram Micro", 1, "1799.98", "1"), (102, "PO-1002", "D&H Distributing", 1, "597.50", "2"),
              (103, "PO-1003", "Ingram Micro", 2, "270.00", "3"), (104, "PO-1004", "D&H Distributing", 1, "905.00", "4"),
              (105, "PO-1005", "Ingram Micro", 1, "40.00", "5")]
    out.append(ev.VendorCreated(at=at, name="Ingram Micro", vendor_id="58"))
    for po_id, number, vendor, lines, amount, doc in synced:
        out += [ev.PoStarted(at=at, po_id=po_id, po_number=number, source="scan"),
                ev.PoSynced(at=at, po_id=po_id, po_number=number, bill_id=f"b{doc}", doc_number=doc, vendor=vendor,
                            amount=Decimal(amount), currency="", lines=lines)]
    failures = [(190, "PO-1090", "item_not_purchasable",
                 'The QuickBooks item "Consulting" is not set up for purchasing (it has no expense account), '
                 "so it cannot be put on a bill.", "1", 11),
                (191, "PO-1091", "name_clash_vendor_is_customer",
                 'The vendor "Northwind Traders" cannot be created in QuickBooks: a QuickBooks customer already has '
                 "that name.", "2", 12)]
    for po_id, number, code, cause, log_id, todo in failures:
        out += [ev.PoStarted(at=at, po_id=po_id, po_number=number, source="scan"),
                ev.TodoCreated(at=at, todo_id=todo, po_id=po_id, resource_id=29682886),
                ev.PoFailed(at=at, po_id=po_id, po_number=number, cause_code=code, cause=cause,
                            fix="Fix it in QuickBooks, then retry.", log_id=log_id, todo_id=todo)]
    out += [ev.ScanFinished(at=at, scan_id="s1", scanned=7, synced=5, failed=2, skipped=0, todos_created=2,
                            api_calls={"autotask": 17, "qbo": 24}, duration_s=2.0),
            ev.NextScanScheduled(at=at, next_at=at + timedelta(minutes=15), interval_minutes=15),
            ev.RetryStarted(at=at, log_id="1", po_id=190)]
    return out


def fill_error_log(store, count: int = 12) -> None:
    """Entries with fixed times (the log stamps entries itself: its clock is pinned here)."""
    from unittest import mock

    import sync.store.errorlog as errorlog

    causes = [("item_not_purchasable", 'The QuickBooks item "Consulting" is not set up for purchasing.',
               "Give the item an expense account in QuickBooks, then retry."),
              ("name_clash_vendor_is_customer", 'The vendor "Northwind Traders" cannot be created: a customer has that name.',
               "Rename the customer or the vendor, then retry."),
              ("doc_number_taken", "A QuickBooks bill numbered PO-2002 already exists.",
               "Renumber the existing bill, then retry.")]
    for i in range(count):
        stamp = (FIXED_NOW - timedelta(minutes=10 * (count - i))).isoformat(timespec="microseconds")
        code, cause, fix = causes[i % len(causes)]
        with mock.patch.object(errorlog, "_now", lambda stamp=stamp: stamp):
            entry = store.errors.add(po_id=1000 + i, po_number=f"PO-{2000 + i}", cause_code=code, cause=cause, fix=fix,
                                     raw_error='{"Fault": {"Error": [{"Message": "Invalid Reference Id", "code": "2500"}]}}')
            if i % 4 == 0:
                store.errors.resolve(entry.id)
