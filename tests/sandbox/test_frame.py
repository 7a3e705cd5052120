"""The sandbox frame: latency, injected faults, statistics and the admin API, over real sockets.

A small echo emulator stands in for the real ones so each frame mechanism is tested on its own;
the emulators' own tests cover their behaviour under the same frame.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sync.sandbox import server as sandbox_server
from sync.sandbox.control import FaultRule, route_of
from sync.sandbox.server import Sandbox, SandboxServer


class EchoEmulator:
    """Counts writes, so a test can tell whether a request committed."""

    name = "qbo"

    def __init__(self) -> None:
        self.writes = 0

        async def write(request: Request) -> Response:
            self.writes += 1
            return JSONResponse({"n": self.writes})

        async def read(request: Request) -> Response:
            return JSONResponse({"writes": self.writes})

        self._app = Starlette(routes=[Route("/v3/company/1/thing", write, methods=["POST"]),
                                      Route("/v3/company/1/thing", read, methods=["GET"])])

    def owns(self, path: str) -> bool:
        return path.startswith("/v3/")

    def endpoint(self, scope) -> str:
        return "realm-1"

    async def __call__(self, scope, receive, send) -> None:
        await self._app(scope, receive, send)

    def fault_response(self, kind: str) -> Response:
        return JSONResponse({"Fault": {"Error": [{"code": "3001" if kind == "429" else "500"}]}},
                            status_code=int(kind))

    def snapshot(self) -> dict:
        return {"writes": self.writes}

    def credentials(self, base_url: str) -> dict:
        return {"api_url": base_url}

    def admin_routes(self) -> list[Route]:
        async def bump(request: Request) -> Response:
            self.writes += 100
            return JSONResponse({"writes": self.writes})

        return [Route("/_sandbox/qbo/bump", bump, methods=["POST"])]


@pytest.fixture
def server(monkeypatch):
    monkeypatch.setattr(sandbox_server, "build_emulators", lambda seed, sandbox: [EchoEmulator()])
    with SandboxServer(Sandbox("empty")) as s:
        yield s


def echo(server: SandboxServer) -> EchoEmulator:
    return server.sandbox.emulators["qbo"]  # type: ignore[return-value]


def test_requests_are_served_and_counted_per_route(server):
    with httpx.Client(base_url=server.url) as c:
        assert c.post("/v3/company/1/thing").json() == {"n": 1}
        c.get("/v3/company/1/thing")
        c.get("/v3/company/1/thing")
        stats = c.get("/_sandbox/stats").json()["qbo"]
    assert stats["total"] == 3
    assert stats["routes"] == {"POST /v3/company/{id}/thing": 1, "GET /v3/company/{id}/thing": 2}
    assert stats["statuses"] == {"200": 3}
    assert stats["throttled"] == 0


def test_unknown_paths_are_404_and_not_counted(server):
    with httpx.Client(base_url=server.url) as c:
        assert c.get("/nowhere").status_code == 404
        assert c.get("/_sandbox/stats").json()["qbo"]["total"] == 0


def test_injected_429_uses_the_emulator_error_format_and_fires_deterministically(server):
    with httpx.Client(base_url=server.url) as c:
        r = c.post("/_sandbox/faults", json={"kind": "429", "service": "qbo", "every": 2, "times": 2})
        assert r.status_code == 201
        codes = [c.get("/v3/company/1/thing").status_code for _ in range(6)]
        stats = c.get("/_sandbox/stats").json()["qbo"]
    assert codes == [200, 429, 200, 429, 200, 200]
    assert stats["throttled"] == 2
    assert stats["injected"] == {"429": 2}


def test_fault_rules_filter_by_method_and_path(server):
    server.sandbox.faults.add(FaultRule(kind="503", method="POST", path=r"/thing$"))
    with httpx.Client(base_url=server.url) as c:
        assert c.get("/v3/company/1/thing").status_code == 200
        assert c.post("/v3/company/1/thing").status_code == 503
    assert echo(server).writes == 0, "a 5xx fault answers before the handler runs"


def test_lost_response_commits_the_write_but_the_client_never_sees_the_reply(server):
    server.sandbox.faults.add(FaultRule(kind="lost", method="POST", times=1))
    with httpx.Client(base_url=server.url) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/v3/company/1/thing")
        assert echo(server).writes == 1, "the write committed"
        assert c.post("/v3/company/1/thing").json() == {"n": 2}, "only the first matching request is lost"


def test_latency_applies_and_overlapping_requests_count_as_concurrent(server):
    with httpx.Client(base_url=server.url) as c:
        assert c.patch("/_sandbox/knobs", json={"latency_ms": 200}).json()["latency_ms"] == 200

    async def burst() -> float:
        async with httpx.AsyncClient(base_url=server.url) as ac:
            t0 = time.perf_counter()
            await asyncio.gather(*(ac.get("/v3/company/1/thing") for _ in range(5)))
            return time.perf_counter() - t0

    elapsed = asyncio.run(burst())
    assert 0.2 <= elapsed < 0.9, elapsed
    peak = httpx.get(server.url + "/_sandbox/stats").json()["qbo"]["peak_concurrency"]
    assert peak == {"realm-1": 5}


def test_admin_rejects_bad_knobs_and_faults_with_clear_messages(server):
    with httpx.Client(base_url=server.url) as c:
        r = c.patch("/_sandbox/knobs", json={"latency_ms": -1})
        assert r.status_code == 400 and "latency_ms" in r.json()["error"]
        r = c.patch("/_sandbox/knobs", json={"speed": 1})
        assert r.status_code == 400 and "speed" in r.json()["error"]
        r = c.post("/_sandbox/faults", json={"kind": "418"})
        assert r.status_code == 400 and "unknown fault kind" in r.json()["error"]
        r = c.post("/_sandbox/faults", content=b"{not json")
        assert r.status_code == 400 and "not JSON" in r.json()["error"]
        r = c.post("/_sandbox/reset", json={"seed": "nope"})
        assert r.status_code == 400 and "unknown seed" in r.json()["error"]
        assert c.get("/_sandbox/knobs").json() == {"latency_ms": 0.0, "limits_enabled": True}


def test_admin_exposes_state_credentials_and_emulator_routes(server):
    with httpx.Client(base_url=server.url) as c:
        assert c.post("/_sandbox/qbo/bump").json() == {"writes": 100}
        assert c.get("/_sandbox/state").json() == {"qbo": {"writes": 100}}
        assert c.get("/_sandbox/credentials").json() == {"qbo": {"api_url": server.url}}
        assert c.get("/_sandbox/nothing/here").status_code == 404


def test_stats_reset_and_fault_clear(server):
    with httpx.Client(base_url=server.url) as c:
        c.post("/_sandbox/faults", json={"kind": "500"})
        assert c.get("/v3/company/1/thing").status_code == 500
        assert len(c.get("/_sandbox/faults").json()) == 1
        assert c.delete("/_sandbox/faults").json() == []
        assert c.get("/v3/company/1/thing").status_code == 200
        assert c.post("/_sandbox/stats").json()["qbo"]["total"] == 0


def test_probability_faults_are_reproducible():
    def fire_pattern() -> list[bool]:
        rule = FaultRule(kind="500", probability=0.3, seed=42)
        return [rule.decide("qbo", "GET", "/x") for _ in range(50)]

    first = fire_pattern()
    assert first == fire_pattern()
    assert 5 <= sum(first) <= 25


def test_route_folding():
    assert route_of("/ATServicesRest/V1.0/PurchaseOrders/123/Items") == "/atservicesrest/v1.0/purchaseorders/{id}/items"
    assert route_of("/v3/company/9130/bill/-1") == "/v3/company/{id}/bill/{id}"
