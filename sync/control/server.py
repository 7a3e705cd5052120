"""The control socket's server: a running engine (the daemon, or a console running the engine
itself) serves its LocalEngineControl on a Unix socket in the data folder, for consoles and
scripts of the same user (docs/control-protocol.md).

No client can hurt the engine: each has its own bounded queue of outgoing lines, filled by the
engine's event sink without waiting (a full queue drops events for that client and, once it
drains, sends a "missed N events, resync" marker and a fresh snapshot); a line that is not the
protocol gets an error answer and the connection is closed; nothing a client sends reaches the
engine but the commands below, each answered done, refused (with the cause) or failed.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

from sync import events as ev
from sync.settings import SettingsError

from . import wire
from .peer import peer_uid
from .api import CommandFailed, CommandRefused
from .call_window import CallWindow
from .commands import COMMANDS, BadArgs, Handler
from .local import LocalEngineControl

log = logging.getLogger(__name__)

QUEUE_LIMIT = 2_000  # events waiting for one client; more are dropped and told as "missed"
AUTOTASK_PER_HOUR, QBO_PER_MINUTE = 10_000, 500
MAX_IN_FLIGHT = 16  # commands of one client running at once


class SocketBusy(Exception):
    """A live control socket already answers on this path: never stolen."""


def _socket_answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(os.fspath(path))
        return True
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError:
        return True  # cannot tell (permissions, timeout): never take it
    finally:
        probe.close()


def prepare_path(path: Path) -> None:
    """Make room for our socket: a stale file left by a killed engine (nothing answers) is
    removed; a live socket raises SocketBusy; anything that is not a socket is left alone."""
    from sync.paths import DIR_MODE, ensure_dir

    ensure_dir(path.parent)
    folder = path.parent.lstat()
    if not stat.S_ISDIR(folder.st_mode) or folder.st_uid != os.getuid():
        raise SocketBusy(f"{path.parent} is not a folder of this user: the control socket is not put there")
    if stat.S_IMODE(folder.st_mode) & 0o077:
        os.chmod(path.parent, DIR_MODE)  # ours, but open to others: owner-only first
    try:
        info = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode):
        raise SocketBusy(f"{path} exists and is not a socket; move it away")
    if _socket_answers(path):
        raise SocketBusy(f"another engine already serves the control socket {path}")
    path.unlink(missing_ok=True)


class _Client:
    def __init__(self, server: "ControlServer", stream: SocketStream) -> None:
        self.server = server
        self.stream = stream
        self.lines: deque[bytes] = deque()
        self.events_queued = 0
        self.missed = 0
        self.subscribed = False
        self.wake = anyio.Event()
        self.closing = False
        self.done = anyio.Event()
        self.in_flight = 0

    def send(self, message: dict[str, Any]) -> None:
        self.push(wire.encode(message))

    def push(self, line: bytes, *, event: bool = False) -> None:
        if event:
            if self.events_queued >= self.server.queue_limit or self.missed:
                self.missed += 1  # dropped: the marker and a snapshot follow once it drains
                return
            self.events_queued += 1
        self.lines.append(line)
        self.wake.set()

    async def write_loop(self) -> None:
        try:
            await self._write()
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            self.lines.clear()  # the client went away: nothing more to say to it
        finally:
            self.done.set()

    async def _write(self) -> None:
        while True:
            await self.wake.wait()
            self.wake = anyio.Event()
            while self.lines:
                line = self.lines.popleft()
                await self.stream.send(line)
                # Count an event as sent only once the socket took it (it may wait here).
                if line.startswith(b'{"event"'):
                    self.events_queued -= 1
            if self.missed and self.subscribed:
                missed, self.missed = self.missed, 0
                await self.server.control.refresh_status()
                await self.stream.send(wire.encode({"missed": missed, "resync": True}))
                await self.stream.send(wire.encode({"snapshot": self.server.snapshot()}))
            if self.closing and not self.lines:
                return


class ControlServer:
    """Serve `control` on `path`. Use as `async with ControlServer(control, path):`."""

    def __init__(self, control: LocalEngineControl, path: Path, *, allowed_uid: int | None = None,
                 queue_limit: int = QUEUE_LIMIT) -> None:
        self.control = control
        self.path = Path(path)
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.queue_limit = queue_limit
        self.clients: set[_Client] = set()
        self._calls = CallWindow()
        self._tg: Any = None
        self._unsubscribe: Callable[[], None] | None = None
        self._inode: int | None = None

    async def __aenter__(self) -> "ControlServer":
        prepare_path(self.path)
        listener = await anyio.create_unix_listener(self.path, mode=0o600)
        self._inode = self.path.stat().st_ino
        self._unsubscribe = self.control.subscribe(self._on_event)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._tg.start_soon(self._serve, listener)
        self._tg.start_soon(self._sample)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for client in list(self.clients):
            client.send({"bye": "the service is stopping"})
            client.closing = True
            client.wake.set()
        with anyio.CancelScope(shield=True), anyio.move_on_after(2):  # the goodbyes go out, then close
            while any(c.lines for c in self.clients):
                await anyio.sleep(0.01)
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)
        try:
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------ engine side

    def _on_event(self, event: ev.Event) -> None:
        # On the engine's task: never wait here. Encode once for every client.
        subscribers = [c for c in self.clients if c.subscribed]
        if not subscribers:
            return
        record = wire.event_record(event)
        record["ts"] = time.time()  # when the engine published it (an event's `at` may be earlier)
        line = wire.encode(record)
        for client in subscribers:
            client.push(line, event=True)

    async def _sample(self) -> None:
        while True:
            calls = self.control.status().api_calls
            self._calls.sample(calls.get("autotask", 0), calls.get("qbo", 0))
            await anyio.sleep(1.0)

    def _used(self, seconds: float) -> tuple[int, int]:
        """Requests sent to (Autotask, QBO) in the last `seconds`, from the counters now and the
        oldest sample within the window (one a second since the server started)."""
        calls = self.control.status().api_calls
        return self._calls.used(seconds, (calls.get("autotask", 0), calls.get("qbo", 0)))

    def hello(self) -> dict[str, Any]:
        from importlib.metadata import PackageNotFoundError, version

        try:
            app_version = version("atqbo")
        except PackageNotFoundError:
            app_version = "unknown"
        status = self.control.status()
        return {"protocol": wire.PROTOCOL_VERSION, "versions": list(wire.SUPPORTED_VERSIONS),
                "pid": status.pid, "data_dir": status.data_dir, "atqbo": app_version}

    def snapshot(self) -> dict[str, Any]:
        tracker = self.control.tracker
        status = self.control.status()
        at_hour, _ = self._used(3600)
        _, qb_minute = self._used(60)
        next_scan = tracker.next_scan
        return {
            "status": status.to_record(),
            "rows": tracker.rows(),
            "replay": [wire.event_record(e) for e in tracker.replay()],
            "next_scan": next_scan.next_at.isoformat() if next_scan is not None else None,
            "budgets": {"autotask": {"used_last_hour": at_hour, "limit_per_hour": AUTOTASK_PER_HOUR},
                        "qbo": {"used_last_minute": qb_minute, "limit_per_minute": QBO_PER_MINUTE}},
            "open_errors": status.open_errors,
        }

    # ------------------------------------------------------------ connections

    async def _serve(self, listener: Any) -> None:
        async with listener:
            await listener.serve(self._handle)

    async def _handle(self, stream: SocketStream) -> None:
        client = _Client(self, stream)
        async with stream:
            uid = peer_uid(stream)
            if uid != self.allowed_uid:
                await stream.send(wire.encode({"id": None, "status": "error", "code": "forbidden",
                                               "cause": "only the service's own user may use this socket"}))
                return
            self.clients.add(client)
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(client.write_loop)
                    await self._read_loop(client)
                    client.closing = True
                    client.wake.set()
                    with anyio.move_on_after(5):  # a client that reads nothing is not waited for
                        await client.done.wait()
                    tg.cancel_scope.cancel()
            except Exception as exc:  # one client's trouble never reaches the others or the engine
                log.debug("control client ended: %r", exc)
            finally:
                self.clients.discard(client)

    async def _read_loop(self, client: _Client) -> None:
        reader = BufferedByteReceiveStream(client.stream)
        greeted = False
        while True:
            # A client that sends requests but reads no answers is not read from until it has
            # read them: its own sends then block, and our memory stays bounded.
            while len(client.lines) > self.queue_limit + MAX_IN_FLIGHT and not client.done.is_set():
                await anyio.sleep(0.05)
            message: dict[str, Any] = {}
            try:
                line = await reader.receive_until(b"\n", wire.MAX_LINE)
            except anyio.DelimiterNotFound:
                client.send({"id": None, "status": "error", "code": "line_too_long",
                             "cause": f"a line is at most {wire.MAX_LINE} bytes"})
                return
            except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError,
                    anyio.ClosedResourceError, OSError):
                return
            try:
                message = wire.decode(line)
                request_id = message.get("id")
                command = message.get("cmd")
                if not greeted:
                    self._check_hello(message)
                    greeted = True
                    client.send({"id": request_id, "status": "done", "result": self.hello()})
                    continue
                handler = COMMANDS.get(str(command)) if isinstance(command, str) else None
                if handler is None:
                    raise wire.WireError("unknown_command", f"unknown command {command!r}")
            except wire.WireError as exc:
                client.send({"id": message.get("id"), "status": "error", "code": exc.code, "cause": str(exc)})
                return
            args = message.get("args")
            args = {} if args is None else args
            if not isinstance(args, dict):
                client.send({"id": request_id, "status": "refused", "cause": "args must be an object"})
                continue
            if client.in_flight >= MAX_IN_FLIGHT:
                client.send({"id": request_id, "status": "refused",
                             "cause": f"at most {MAX_IN_FLIGHT} commands at once; wait for an answer"})
                continue
            # In the server's task group: a command the engine took is finished even when
            # its client goes away (the answer is then dropped).
            client.in_flight += 1
            self._tg.start_soon(self._run, client, request_id, handler, args)

    @staticmethod
    def _check_hello(message: dict[str, Any]) -> None:
        if message.get("cmd") != "hello":
            raise wire.WireError("hello_first", "the first message must be hello")
        versions = (message.get("args") or {}).get("versions") if isinstance(message.get("args"), dict) else None
        if not isinstance(versions, list) or not any(v in wire.SUPPORTED_VERSIONS for v in versions
                                                     if isinstance(v, int)):
            raise wire.WireError("unsupported_version",
                                 f"this service speaks protocol versions {list(wire.SUPPORTED_VERSIONS)}")

    async def _run(self, client: _Client, request_id: Any, handler: Handler, args: dict[str, Any]) -> None:
        try:
            answer = await self._answer(client, request_id, handler, args)
        finally:
            client.in_flight -= 1
        if client in self.clients:
            client.send(answer)

    async def _answer(self, client: _Client, request_id: Any, handler: Handler,
                      args: dict[str, Any]) -> dict[str, Any]:
        try:
            result = await handler(self, client, args)
            answer = {"id": request_id, "status": "done", "result": result}
        except (CommandRefused, SettingsError, BadArgs) as exc:
            answer = {"id": request_id, "status": "refused", "cause": str(exc)}
        except CommandFailed as exc:
            answer = {"id": request_id, "status": "failed", "cause": str(exc)}
        except Exception as exc:  # the command broke: say so, the service goes on
            log.warning("control command failed: %s: %s", type(exc).__name__, exc)
            answer = {"id": request_id, "status": "failed", "cause": f"{type(exc).__name__}: {exc}"}
        return answer
