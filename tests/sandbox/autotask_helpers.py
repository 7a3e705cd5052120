"""Shared helpers for the Autotask emulator tests: a sandbox over real sockets serving a given
Autotask seed, and a small httpx client that sends the three auth headers.

The client here is deliberately naive (raw httpx, hand-written JSON): the emulator must share
no code with atqbo's own Autotask client.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import httpx

from sync.sandbox.autotask import AutotaskSeed, empty_autotask_seed
from sync.sandbox.empty import empty_seed
from sync.sandbox.server import Sandbox, SandboxServer


@contextlib.contextmanager
def serve(seed: AutotaskSeed | None = None, latency_ms: float = 0.0) -> Iterator[SandboxServer]:
    """The "empty" sandbox (all emulators, one port) with the given Autotask tenant."""
    data = empty_seed()
    data.name = "autotask-test"
    data.autotask = seed or empty_autotask_seed()
    sandbox = Sandbox(data)
    sandbox.knobs.latency_ms = latency_ms
    with SandboxServer(sandbox) as server:
        yield server


class AT:
    """Calls the emulator like any Autotask client: zone lookup, then headers on every call."""

    def __init__(self, server: SandboxServer, seed: AutotaskSeed | None = None, **overrides: str) -> None:
        seed = seed or empty_autotask_seed()
        self.server = server
        self.http = httpx.Client(timeout=10)
        zone = self.http.get(f"{server.url}/atservicesrest/v1.0/zoneInformation", params={"user": seed.username})
        zone.raise_for_status()
        self.base = zone.json()["url"] + "V1.0/"
        self.headers = {"ApiIntegrationCode": seed.integration_code, "UserName": seed.username,
                        "Secret": seed.secret, "Content-Type": "application/json", **overrides}

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        url = path if path.startswith("http") else self.base + path
        return self.http.request(method, url, headers=self.headers, **kw)

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any) -> httpx.Response:
        return self.request("POST", path, content=json.dumps(body))

    def patch(self, path: str, body: Any) -> httpx.Response:
        return self.request("PATCH", path, content=json.dumps(body))

    def query(self, entity: str, body: dict, via: str = "POST") -> httpx.Response:
        if via == "GET":
            return self.get(f"{entity}/query", params={"search": json.dumps(body)})
        return self.post(f"{entity}/query", body)

    def ids(self, entity: str, *filters: dict, **extra: Any) -> list[int]:
        r = self.query(entity, {"filter": list(filters), **extra})
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["items"]]

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        kw = {} if body is None else {"content": json.dumps(body)}
        return self.http.request(method, f"{self.server.url}/_sandbox/autotask/{path}", **kw)

    def close(self) -> None:
        self.http.close()


def error_of(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"errors"} and isinstance(body["errors"], list) and body["errors"], body
    assert all(isinstance(e, str) for e in body["errors"])
    return " ".join(body["errors"])
