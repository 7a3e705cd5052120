"""Scenario harness for the engine tests (fixtures are re-exported by conftest.py): a sandbox
over real sockets seeded per scenario, real clients, a real store.

    async def test_x(world_factory):
        seed = base_seed(); at = seed.autotask
        at.add_po(VENDOR, "Submitted", items=[...], createDateTime=days_ago(1))
        w = await world_factory(seed, days_back=30)
        summary = await w.engine.scan_once()
        assert w.bills() ...

State is read back over HTTP from the sandbox's admin API (`/_sandbox/state`), so the
assertions see what the emulated services hold, not what the engine believes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from sync.clients.autotask import AutotaskClient
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient
from sync.engine import Engine, FailureNotice
from sync.events import Event
from sync.sandbox.empty import empty_seed
from sync.sandbox.qbo import seed as qs
from sync.sandbox.seeds import SeedData
from sync.sandbox.server import Sandbox, SandboxServer
from sync.settings import Settings
from sync.store import Store

API_RESOURCE = 29682885
BUYER = 29682886  # the resource error to-dos are assigned to
ACTION_GENERAL = 3
AP = "33"
COGS = "80"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def days_ago(n: float) -> str:
    dt = datetime.now(timezone.utc) - timedelta(days=n)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def base_seed() -> SeedData:
    """The empty companies with a fast retry policy's worth of nothing else: scenarios add data."""
    return empty_seed()


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[FailureNotice] = []

    async def notify(self, notice: FailureNotice) -> None:
        self.sent.append(notice)


@dataclass
class World:
    server: SandboxServer
    store: Store
    at: AutotaskClient
    qbo: QboClient
    engine: Engine
    notifier: RecordingNotifier
    events: list[Event] = field(default_factory=list)

    # --- reading the emulated systems back over HTTP -------------------------------------
    def state(self) -> dict:
        return httpx.get(self.server.url + "/_sandbox/state", timeout=10).json()

    def qbo_list(self, entity: str) -> list[dict]:
        return _entities(self.state()["qbo"], entity)

    def at_list(self, entity: str) -> list[dict]:
        return self.state()["autotask"]["entities"].get(entity, [])

    def bills(self) -> list[dict]:
        return self.qbo_list("Bill")

    def po(self, po_id: int) -> dict:
        return next(p for p in self.at_list("PurchaseOrders") if p["id"] == po_id)

    def todos(self) -> list[dict]:
        return self.at_list("CompanyToDos")

    def lose_journal(self) -> None:
        """The journal folder emptied (restored from an older backup, moved to a new server)."""
        from sync.store.journal import Journal

        self.store.journal.close()
        for path in self.store.locations.journal_dir.iterdir():
            path.unlink()
        self.store.journal = Journal(self.store.locations.journal_dir)

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def at_admin(self, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(method, f"{self.server.url}/_sandbox/autotask/{path}", json=body, timeout=10)
        assert r.status_code < 300, r.text
        return r.json()

    def qbo_admin(self, method: str, path: str, body: Any = None) -> Any:
        r = httpx.request(method, f"{self.server.url}/_sandbox/qbo/{path}", json=body, timeout=10)
        assert r.status_code < 300, r.text
        return r.json()

    def set(self, **values: Any) -> None:
        settings = self.store.settings.load()
        for k, v in values.items():
            settings = settings.with_value(k, v)
        self.store.settings.save(settings)


def _entities(qbo_state: dict, entity: str) -> list[dict]:
    found = qbo_state.get(entity)
    if found is None:
        found = (qbo_state.get("entities") or qbo_state.get("records") or {}).get(entity, [])
    if isinstance(found, dict):
        found = list(found.values())
    return found


@pytest.fixture
async def world_factory(tmp_path) -> AsyncIterator:
    made: list[tuple[SandboxServer, Store, AutotaskClient, QboClient]] = []

    async def make(seed: SeedData, wrap: Any = None, **settings: Any) -> World:
        sandbox = Sandbox(seed)
        if wrap is not None:  # ASGI middleware around the sandbox app (tests/engine/qbo_doubles.py)
            sandbox.app = wrap(sandbox.app)
        # Rate limits are proven by the clients' and the benchmark's tests; here they would only
        # make every scenario wait out QBO's 10 requests/second.
        sandbox.knobs.limits_enabled = False
        server = SandboxServer(sandbox).start()
        creds = server.sandbox.credentials(server.url)
        store = Store.open(tmp_path / f"data{len(made)}")
        values = dict(days_back=30, ap_account=AP, todo_action_type=ACTION_GENERAL, todo_resource=BUYER,
                      missing_item="create", new_item_expense_account=COGS, notify_email="ops@example.com")
        values.update(settings)
        store.settings.save(Settings.from_values(values))
        a = creds["autotask"]
        at = AutotaskClient(a["username"], a["integration_code"], a["secret"], zone_lookup_base=server.url)
        o = creds["oauth"]
        oauth = IntuitOAuth(o["client_id"], o["client_secret"], endpoints=IntuitEndpoints.local(server.url),
                            tokens=TokenSet.from_refresh_token(o["refresh_token"], o["realm_id"]))
        qbo = QboClient(oauth, o["realm_id"], api_url=server.url, per_second=1000, per_minute=60000)
        notifier = RecordingNotifier()
        engine = Engine(store, at, qbo, notifier=notifier)
        world = World(server, store, at, qbo, engine, notifier)
        engine.subscribe(world.events.append)
        made.append((server, store, at, qbo))
        return world

    yield make
    for server, store, at, qbo in made:
        await at.aclose()
        await qbo.aclose()
        await qbo.oauth.aclose()
        store.close()
        server.stop()


__all__ = ["base_seed", "days_ago", "qs", "World", "API_RESOURCE", "BUYER", "ACTION_GENERAL", "AP", "COGS"]
