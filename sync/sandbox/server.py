"""One ASGI app on one port serving the Autotask, QBO and Intuit OAuth emulators, plus the
sandbox's own admin API under /_sandbox; and a uvicorn runner for tests, the demo and the CLI.

Each emulator is an object with this shape (see `Emulator`): it claims the paths it serves,
names the concurrency bucket ("endpoint") of a request, answers injected faults in its own
error format, and exposes its state and admin routes. Latency, faults and statistics are
applied here, around every emulator, so they behave the same everywhere.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Message, Receive, Scope, Send

from . import hostile
from .autotask import AutotaskEmulator
from .control import HOSTILE_FIELDS, Faults, FaultRule, Knobs, Stats
from .oauth import OAuthEmulator
from .qbo import QboEmulator
from .seeds import SEEDS, SeedData, seed_data

ADMIN_PREFIX = "/_sandbox"


class Emulator(Protocol):
    name: str

    def owns(self, path: str) -> bool: ...

    def endpoint(self, scope: Scope) -> str: ...

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    def fault_response(self, kind: str) -> Response: ...

    def snapshot(self) -> dict: ...

    def credentials(self, base_url: str) -> dict: ...

    def admin_routes(self) -> list[Route]: ...


class _ResponseLost(Exception):
    """Raised after a committed write so the server drops the connection (injected 'lost' fault)."""


SeedFactory = Callable[["Sandbox"], list[Emulator]]


def build_emulators(seed: "str | SeedData", sandbox: "Sandbox") -> list[Emulator]:
    """The three emulators, each from its part of the seed (QBO checks tokens with the OAuth one)."""
    data = seed_data(seed)
    oauth = OAuthEmulator(data.oauth, sandbox)
    return [AutotaskEmulator(data.autotask, sandbox), oauth, QboEmulator(data.qbo, sandbox, oauth)]


class Sandbox:
    """The state of the emulated world: knobs, faults, statistics and the emulators."""

    def __init__(self, seed: "str | SeedData" = "demo", knobs: Knobs | None = None) -> None:
        self.knobs = knobs or Knobs()
        self.faults = Faults()
        self.stats = Stats()
        self.seed = seed
        self.emulators: dict[str, Emulator] = {}
        self.reset(seed)
        self.app = _SandboxApp(self)

    def reset(self, seed: "str | SeedData") -> None:
        self.seed = seed if isinstance(seed, str) else seed.name
        self.emulators = {e.name: e for e in build_emulators(seed, self)}
        self.faults.clear()
        self.stats.reset()

    def credentials(self, base_url: str) -> dict:
        """What a client needs to connect, per service; `base_url` is where the sandbox is served."""
        return {name: e.credentials(base_url.rstrip("/")) for name, e in self.emulators.items()}

    def emulator_for(self, path: str) -> Emulator | None:
        for e in self.emulators.values():
            if e.owns(path):
                return e
        return None


class _SandboxApp:
    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self._admin = _admin_app(sandbox)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            await self._admin(scope, receive, send)
            return
        sb = self.sandbox
        emulator = sb.emulator_for(path)
        if emulator is None:
            await JSONResponse({"error": f"no emulator serves {path}"}, status_code=404)(scope, receive, send)
            return
        method = scope["method"]
        endpoint = emulator.endpoint(scope)
        sb.stats.started(emulator.name, endpoint, method, path)
        status: int | None = None
        try:
            if sb.knobs.latency_ms > 0:
                await asyncio.sleep(sb.knobs.latency_ms / 1000)
            fault = sb.faults.pick(emulator.name, method, path)
            if fault is not None:
                sb.stats.note_injected(emulator.name, fault.kind)
            if fault is not None and fault.kind in hostile.HOSTILE_KINDS:
                status = await hostile.answer(fault, emulator, scope, receive, send)
                return
            if fault is not None and fault.kind != "lost":
                response = emulator.fault_response(fault.kind)
                status = response.status_code
                await response(scope, receive, send)
                return

            captured: dict[str, Any] = {}
            lost = fault is not None

            async def send_wrapper(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                    captured["start"] = message
                if not lost:
                    await send(message)

            await emulator(scope, receive, send_wrapper)
            if lost:
                # The write has committed; now the reply goes missing mid-body.
                start = captured.get("start") or {"type": "http.response.start", "status": 200, "headers": []}
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", b"4096"))
                await send({"type": "http.response.start", "status": start["status"], "headers": headers})
                await send({"type": "http.response.body", "body": b"{", "more_body": True})
                status = None
                raise _ResponseLost()
        finally:
            sb.stats.finished(emulator.name, endpoint, status)


async def _json_body(request: Request) -> dict:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise _AdminError(f"body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _AdminError("body must be a JSON object")
    return body


class _AdminError(Exception):
    pass


def _admin_app(sb: Sandbox) -> Starlette:
    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True, "seed": sb.seed})

    async def credentials(request: Request) -> Response:
        return JSONResponse(sb.credentials(str(request.base_url)))

    async def state(request: Request) -> Response:
        return JSONResponse({name: e.snapshot() for name, e in sb.emulators.items()})

    async def stats(request: Request) -> Response:
        if request.method == "POST":
            sb.stats.reset()
        return JSONResponse(sb.stats.snapshot())

    async def knobs(request: Request) -> Response:
        if request.method == "PATCH":
            body = await _json_body(request)
            unknown = set(body) - {"latency_ms", "limits_enabled"}
            if unknown:
                raise _AdminError(f"unknown knobs: {', '.join(sorted(unknown))}")
            if "latency_ms" in body:
                value = body["latency_ms"]
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise _AdminError("latency_ms must be a number >= 0")
                sb.knobs.latency_ms = float(value)
            if "limits_enabled" in body:
                if not isinstance(body["limits_enabled"], bool):
                    raise _AdminError("limits_enabled must be true or false")
                sb.knobs.limits_enabled = body["limits_enabled"]
        return JSONResponse({"latency_ms": sb.knobs.latency_ms, "limits_enabled": sb.knobs.limits_enabled})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            body = await _json_body(request)
            allowed = {"kind", "service", "method", "path", "every", "skip", "times", "probability", "seed",
                       *HOSTILE_FIELDS}
            unknown = set(body) - allowed
            if unknown:
                raise _AdminError(f"unknown fault fields: {', '.join(sorted(unknown))}")
            try:
                rule = sb.faults.add(FaultRule(**body))
            except (TypeError, ValueError) as exc:
                raise _AdminError(str(exc)) from None
            return JSONResponse(rule.to_dict(), status_code=201)
        if request.method == "DELETE":
            sb.faults.clear()
        return JSONResponse([r.to_dict() for r in sb.faults.rules()])

    async def reset(request: Request) -> Response:
        body = await _json_body(request)
        seed = body.get("seed", sb.seed)
        if seed not in SEEDS:
            raise _AdminError(f"unknown seed {seed!r}; expected one of {', '.join(SEEDS)}")
        sb.reset(seed)
        return JSONResponse({"ok": True, "seed": seed})

    async def on_admin_error(request: Request, exc: Exception) -> Response:
        return JSONResponse({"error": str(exc)}, status_code=400)

    routes: list[Route | Mount] = [
        Route(ADMIN_PREFIX + "/health", health),
        Route(ADMIN_PREFIX + "/credentials", credentials),
        Route(ADMIN_PREFIX + "/state", state),
        Route(ADMIN_PREFIX + "/stats", stats, methods=["GET", "POST"]),
        Route(ADMIN_PREFIX + "/knobs", knobs, methods=["GET", "PATCH"]),
        Route(ADMIN_PREFIX + "/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(ADMIN_PREFIX + "/reset", reset, methods=["POST"]),
    ]

    async def delegate(scope: Scope, receive: Receive, send: Send) -> None:
        # Emulators are rebuilt on reset, so their admin routes are looked up per request.
        rest = scope["path"][len(ADMIN_PREFIX) + 1:]
        name = rest.split("/", 1)[0]
        emulator = sb.emulators.get(name)
        if emulator is None:
            await JSONResponse({"error": f"no such admin route: {scope['path']}"}, status_code=404)(scope, receive, send)
            return
        sub = Starlette(routes=emulator.admin_routes(), exception_handlers={_AdminError: on_admin_error})
        await sub(scope, receive, send)

    routes.append(Mount("", app=delegate))
    return Starlette(routes=routes, exception_handlers={_AdminError: on_admin_error})


class SandboxServer:
    """Serves a Sandbox over real HTTP on loopback, in a background thread with its own loop.

    Used by tests (ephemeral port), by `atqbo --demo` (in-process) and by `atqbo sandbox`.
    """

    def __init__(self, sandbox: Sandbox | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = sandbox or Sandbox()
        config = uvicorn.Config(self.sandbox.app, host=host, port=port, log_level="critical",
                                access_log=False, lifespan="off", timeout_keep_alive=30)
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.url = ""

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self._run, name="atqbo-sandbox", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the sandbox server failed to start (is the port free?)")
            self._thread.join(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.url = f"http://{host}:{port}"
        return self

    def _run(self) -> None:
        asyncio.run(self._server.serve())

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
