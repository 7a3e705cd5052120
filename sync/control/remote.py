"""The engine-control interface over a running service's control socket (the console attached
to a daemon, the CLI's sync-one / retry / settings set while the service runs).

`connect()` greets the service (hello); `run()` then follows it: it subscribes, hands the
service's view of the scan to the sinks (a `Resynced`), delivers every event as the typed
record of sync.events and answers the commands' calls, until the service stops or `stop()`
closes the connection (the service keeps running). Commands need `run()` to be running.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream

from sync import events as ev
from sync.plan.model import PlanReport, PoPlan
from sync.settings import Settings

from . import wire
from .peer import peer_uid
from .api import Capabilities, CommandFailed, CommandRefused, ControlStatus, EventSink, Options, Resynced, SyncOutcome
from .links import LinkView
from .logs import LogEntryView
from .tracker import EngineTracker

STATUS_POLL_S = 1.0  # the API budgets on the status line


class ServiceUnavailable(Exception):
    """No service answers on the control socket (none running, or not ours)."""


def _log_view(record: dict[str, Any]) -> LogEntryView:
    from .logs import view_of

    return view_of(record)


class RemoteEngineControl:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.capabilities = Capabilities(remote=True, demo_fix=False, reconnect=False)
        self.hello: dict[str, Any] = {}
        self.tracker = EngineTracker()
        self.stopped_by_service = False  # the service went away (not our stop())
        self.bye = ""
        self._stream: SocketStream | None = None
        self._reader: BufferedByteReceiveStream | None = None
        self._sinks: list[EventSink] = []
        self._ids = itertools.count(1)
        self._waiting: dict[int, tuple[anyio.Event, list[dict[str, Any]]]] = {}
        self._status = ControlStatus()
        self._running = anyio.Event()
        self._finished = anyio.Event()
        self._closed = False
        self._missed = 0
        self.published_at: float | None = None  # the "ts" of the event being delivered (epoch s)

    @property
    def pid(self) -> int:
        return int(self.hello.get("pid") or 0)

    # -------------------------------------------------------------- connection

    async def connect(self, timeout: float = 5.0) -> dict[str, Any]:
        """Greet the service; its hello (protocol, pid, data folder). ServiceUnavailable when
        nothing answers, or the answer is not a service of ours."""
        try:
            with anyio.fail_after(timeout):
                self._stream = await anyio.connect_unix(os.fspath(self.path))
                self._reader = BufferedByteReceiveStream(self._stream)
                if peer_uid(self._stream) != os.getuid():
                    # Never talk to a socket another user serves (a planted one in a shared folder).
                    raise ServiceUnavailable(f"{self.path} is served by another user")
                await self._send({"id": 0, "cmd": "hello", "args": {"versions": list(wire.SUPPORTED_VERSIONS)}})
                answer = wire.decode(await self._reader.receive_until(b"\n", wire.MAX_LINE))
        except ServiceUnavailable:
            await self._close()
            raise
        except (OSError, TimeoutError, anyio.EndOfStream, anyio.IncompleteRead, anyio.DelimiterNotFound,
                anyio.BrokenResourceError, wire.WireError) as exc:
            await self._close()
            raise ServiceUnavailable(f"no service answers on {self.path}: {exc or type(exc).__name__}") from None
        if answer.get("status") != "done" or not isinstance(answer.get("result"), dict):
            await self._close()
            raise ServiceUnavailable(f"the service refused us: {answer.get('cause') or answer}")
        self.hello = answer["result"]
        return self.hello

    async def _send(self, message: dict[str, Any]) -> None:
        if self._stream is None:
            raise CommandFailed("not connected to the service")
        try:
            await self._stream.send(wire.encode(message))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
            raise CommandFailed("the connection to the service was lost") from None

    async def _close(self) -> None:
        self._closed = True
        if self._stream is not None:
            try:
                await self._stream.aclose()
            except Exception:
                pass
        for done, box in self._waiting.values():
            box.append({"status": "failed", "cause": "the connection to the service was lost"})
            done.set()
        self._waiting.clear()

    # -------------------------------------------------------------- the engine's life

    async def run(self) -> None:
        if self._stream is None:
            await self.connect()
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._read)
                snapshot = await self._call("subscribe", ready=False)
                self._resync(0, snapshot)
                # Commands go out only now: the events they cause are never missed.
                self._running.set()
                tg.start_soon(self._poll_status)
                await self._finished.wait()
                tg.cancel_scope.cancel()
        except CommandFailed:
            pass
        finally:
            await self._close()

    async def stop(self) -> None:
        """Leave the service running; only this connection ends."""
        await self._close()
        self._finished.set()

    async def _read(self) -> None:
        assert self._reader is not None
        try:
            while True:
                message = wire.decode(await self._reader.receive_until(b"\n", wire.MAX_LINE))
                self._dispatch(message)
        except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError, anyio.ClosedResourceError,
                OSError, wire.WireError, anyio.DelimiterNotFound):
            pass
        if not self._closed:
            self.stopped_by_service = True
        await self._close()
        self._finished.set()

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "event" in message:
            try:
                event = wire.event_from_record(message)
            except wire.WireError:
                return  # an event this version does not know: skipped, the rest goes on
            self.tracker(event)
            ts = message.get("ts")
            self.published_at = float(ts) if isinstance(ts, (int, float)) else None
            self._deliver(event)
        elif "snapshot" in message:
            self._resync(self._missed, message["snapshot"])
            self._missed = 0
        elif "missed" in message:
            self._missed = int(message.get("missed") or 0)
        elif "bye" in message:
            self.bye = str(message.get("bye") or "")
        elif isinstance(message.get("id"), int) and message["id"] in self._waiting:
            done, box = self._waiting.pop(message["id"])
            box.append(message)
            done.set()

    def _resync(self, missed: int, snapshot: Any) -> None:
        if not isinstance(snapshot, dict):
            return
        replay = []
        for record in snapshot.get("replay") or []:
            try:
                replay.append(wire.event_from_record(record))
            except wire.WireError:
                continue
        self.tracker = EngineTracker()
        for event in replay:
            self.tracker(event)
        if isinstance(snapshot.get("status"), dict):
            self._status = ControlStatus.from_record(snapshot["status"])
        self._deliver(Resynced(missed=missed, replay=tuple(replay)))

    def _deliver(self, event: ev.Event) -> None:
        for sink in list(self._sinks):
            try:
                sink(event)
            except Exception:
                pass

    async def refresh_status(self) -> ControlStatus:
        """Ask the service now (status() answers from what was last heard)."""
        self._status = ControlStatus.from_record(await self._call("status"))
        return self.status()

    async def _poll_status(self) -> None:
        while True:
            await anyio.sleep(STATUS_POLL_S)
            try:
                self._status = ControlStatus.from_record(await self._call("status"))
            except (CommandFailed, CommandRefused):
                return

    def subscribe(self, sink: EventSink) -> Callable[[], None]:
        self._sinks.append(sink)

        def unsubscribe() -> None:
            if sink in self._sinks:
                self._sinks.remove(sink)

        return unsubscribe

    def status(self) -> ControlStatus:
        s = self._status
        return ControlStatus(engine=self.tracker.engine if self.tracker.started else s.engine,
                             paused=self.tracker.paused, pid=s.pid or self.pid,
                             data_dir=s.data_dir or str(self.hello.get("data_dir") or ""),
                             api_calls=s.api_calls, open_errors=s.open_errors)

    # -------------------------------------------------------------- commands

    async def _call(self, cmd: str, args: dict[str, Any] | None = None, *, ready: bool = True) -> Any:
        if self._closed:
            raise CommandFailed("the connection to the service was lost")
        if ready:
            with anyio.move_on_after(10):
                await self._running.wait()
            if not self._running.is_set():
                raise CommandFailed("not following the service (run() is not running)")
        request_id = next(self._ids)
        done, box = anyio.Event(), []
        self._waiting[request_id] = (done, box)
        await self._send({"id": request_id, "cmd": cmd, "args": args or {}})
        await done.wait()
        answer = box[0]
        status = answer.get("status")
        if status == "done":
            return answer.get("result")
        cause = str(answer.get("cause") or "no cause given")
        if status == "refused":
            raise CommandRefused(cause)
        raise CommandFailed(cause)

    async def scan_now(self) -> None:
        await self._call("scan_now")

    async def pause(self) -> None:
        await self._call("pause")

    async def resume(self) -> None:
        await self._call("resume")

    async def sync_one(self, po_id: int, alt_email: str | None = None) -> SyncOutcome:
        return SyncOutcome.from_record(await self._call("sync_one", {"po_id": int(po_id), "email": alt_email}))

    async def retry(self, log_id: int) -> SyncOutcome:
        return SyncOutcome.from_record(await self._call("retry", {"log_id": int(log_id)}))

    async def retry_all(self) -> list[SyncOutcome]:
        return [SyncOutcome.from_record(r) for r in await self._call("retry_all")]

    async def log_window(self, status: str | None, text: str, offset: int,
                         limit: int) -> tuple[int, list[LogEntryView]]:
        result = await self._call("log_window", {"status": status, "text": text, "offset": offset, "limit": limit})
        return int(result["total"]), [_log_view(r) for r in result["entries"]]

    async def log_entry(self, log_id: str) -> LogEntryView | None:
        if not str(log_id).isdigit():
            return None
        result = await self._call("log_entry", {"log_id": int(log_id)})
        return None if result is None else _log_view(result)

    async def settings_get(self) -> Settings:
        return Settings.from_values(await self._call("settings_get"))

    async def settings_set(self, values: dict[str, Any], smtp_password: str | None = None) -> tuple[str, ...]:
        args: dict[str, Any] = {"values": wire._plain(values)}
        if smtp_password is not None:
            args["smtp_password"] = smtp_password
        return tuple((await self._call("settings_set", args))["changed"])

    async def links_list(self, kind: str | None = None) -> list[LinkView]:
        return [LinkView(**r) for r in await self._call("links_list", {"kind": kind})]

    async def link(self, kind: str, autotask_id: int, qbo_id: str) -> LinkView:
        if not str(qbo_id).isascii() or not str(qbo_id).isdigit():
            raise CommandRefused(f"the QuickBooks id must be a whole number, got {qbo_id!r}")
        return LinkView(**await self._call("link", {"kind": kind, "autotask_id": int(autotask_id),
                                                    "qbo_id": int(qbo_id)}))

    async def unlink(self, kind: str, autotask_id: int) -> LinkView:
        return LinkView(**await self._call("unlink", {"kind": kind, "autotask_id": int(autotask_id)}))

    async def plan(self, po_ids: list[int] | None = None) -> PlanReport:
        args = {"po_ids": None if po_ids is None else [int(i) for i in po_ids]}
        return PlanReport.from_record(await self._call("plan", args))

    async def approve(self, plans: list[PoPlan]) -> tuple[list[PoPlan], list[tuple[PoPlan, str]]]:
        """The service makes each plan again and approves it only if it is still the one shown."""
        result = await self._call("approve", {"plans": [{"po_id": p.po_id, "fingerprint": p.fingerprint}
                                                        for p in plans]})
        return ([PoPlan.from_record(r) for r in result.get("approved") or ()],
                [(PoPlan.from_record(r["plan"]), str(r.get("reason") or "")) for r in result.get("refused") or ()])

    async def options(self) -> tuple[Options, dict[str, str]]:
        result = await self._call("options")
        options = {k: [(str(a), str(b)) for a, b in v] for k, v in result["options"].items()}
        return options, dict(result["problems"])
