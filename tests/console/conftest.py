"""Fixtures of the console tests (helpers live in console_harness)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from textual.widgets import Input

from console_harness import ConsoleWorld, default_settings, shop_seed
from sync.sandbox.seeds import SeedData
from sync.sandbox.server import Sandbox, SandboxServer
from sync.settings import Settings
from sync.store import Store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_blink(monkeypatch):
    # Snapshots must not catch the cursor mid-blink.
    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None, raising=False)


@pytest.fixture
def console_world(tmp_path, request) -> Iterator:
    """Worlds of the console tests. Parametrize it indirectly with "remote" to run the same test
    against the console attached to a service over its control socket."""
    mode = getattr(request, "param", "local")
    made: list[tuple[SandboxServer, Store]] = []

    def make(seed: SeedData | None = None, *, settings: Settings | None = None, limits: bool = False) -> ConsoleWorld:
        sandbox = Sandbox(seed or shop_seed())
        sandbox.knobs.limits_enabled = limits
        server = SandboxServer(sandbox).start()
        data_dir = tmp_path / f"data{len(made)}"
        store = Store.open(data_dir)
        store.settings.save(settings or default_settings())
        made.append((server, store))
        return ConsoleWorld(server, data_dir, store, sandbox.credentials(server.url), mode=mode)

    yield make
    for server, store in made:
        store.close()
        server.stop()


