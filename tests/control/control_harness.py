"""An engine world served on a control socket: `async with serve(world) as svc:`; raw clients
that speak the protocol line by line, for the tests of bad input."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import anyio
import pytest

from engine_world import World, base_seed, days_ago
from sync.control.local import LocalEngineControl
from sync.control.remote import RemoteEngineControl
from sync.control.server import ControlServer


def seed_with_pos(count: int = 3, *, failing: bool = False):
    seed = base_seed()
    at = seed.autotask
    vendor = at.add_vendor("Ingram Micro")
    cable = at.add_product("Cat6 Cable 3m", 4)
    for i in range(count):
        at.add_po(vendor, "Submitted", items=[{"productID": cable, "quantity": 2 + i, "unitCost": 4}],
                  createDateTime=days_ago(1), purchaseOrderNumber=f"PO-{100 + i}")
    at.add_po(vendor, "Submitted", items=[{"productID": cable, "quantity": 1, "unitCost": 4}],
              createDateTime=days_ago(400), purchaseOrderNumber="PO-OLD")
    if failing:
        consulting = at.add_product("Consulting", 150)
        from sync.sandbox.qbo import seed as qs

        seed.qbo.items.append(qs.item("400", "Consulting", income_account_id="79", type="Service"))
        at.add_po(vendor, "Submitted", items=[{"productID": consulting, "quantity": 1, "unitCost": 150}],
                  createDateTime=days_ago(0.5), purchaseOrderNumber="PO-BAD")
    return seed


@dataclass
class Served:
    world: World
    control: LocalEngineControl
    server: ControlServer
    path: Path

    async def remote(self) -> RemoteEngineControl:
        remote = RemoteEngineControl(self.path)
        await remote.connect()
        return remote


def local_control(world: World) -> LocalEngineControl:
    return LocalEngineControl(SimpleNamespace(store=world.store, engine=world.engine, autotask=world.at,
                                              qbo=world.qbo))


@asynccontextmanager
async def serve(world: World, *, run_engine: bool = True, **server_options: Any) -> AsyncIterator[Served]:
    control = local_control(world)
    path = world.store.locations.control_socket
    async with anyio.create_task_group() as tg:
        async with ControlServer(control, path, **server_options) as server:
            if run_engine:
                tg.start_soon(world.engine.run)
            try:
                yield Served(world, control, server, path)
            finally:
                if run_engine:
                    await world.engine.stop()
        tg.cancel_scope.cancel()


@pytest.fixture
def served():
    return serve


class RawClient:
    """A client that writes bytes and reads lines as they come (no protocol help)."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(os.fspath(path))
        self.buffer = b""

    def send(self, data: bytes | dict) -> None:
        if isinstance(data, dict):
            data = (json.dumps(data) + "\n").encode()
        self.sock.sendall(data)

    def line(self) -> dict | None:
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return json.loads(line)

    def closed(self) -> bool:
        """The service closed the connection (after what was already sent)."""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not chunk:
                return True
            self.buffer += chunk

    def hello(self) -> dict:
        self.send({"id": 1, "cmd": "hello", "args": {"versions": [1]}})
        return self.line()

    def close(self) -> None:
        self.sock.close()
