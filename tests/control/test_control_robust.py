"""No client can hurt the service: bad input, a slow subscriber, two clients, a stale socket,
a live one, another user, the service stopping under a client."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import anyio
import pytest

from control_harness import RawClient, local_control, seed_with_pos
from sync import events as ev
from sync.control.api import Resynced
from sync.control.remote import RemoteEngineControl
from sync.control.server import ControlServer, SocketBusy

pytestmark = pytest.mark.anyio

run = anyio.to_thread.run_sync  # the raw client blocks: never on the service's event loop


async def _until(predicate, timeout: float = 15.0, what: str = "condition") -> None:
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.02)


async def _still_serves(svc) -> None:
    remote = await svc.remote()
    assert remote.hello["protocol"] == 1
    async with anyio.create_task_group() as tg:
        tg.start_soon(remote.run)
        assert (await remote.settings_get()).days_back == 30
        await remote.stop()


@pytest.mark.parametrize("first, code", [
    (b"this is not json\n", "bad_json"),
    (b"[1, 2, 3]\n", "bad_json"),
    (b'{"id": 1, "cmd": "status"}\n', "hello_first"),
    (b'{"id": 1, "cmd": "hello", "args": {"versions": [99]}}\n', "unsupported_version"),
    (b'{"id": 1, "cmd": "hello"}\n', "unsupported_version"),
    (b'{"id": 1, "cmd": "hello", "args": {"versions": [1]}}\n{"id": 2, "cmd": "format_disk"}\n', "unknown_command"),
    (b'{"id": 1, "cmd": "hello", "args": {"versions": [1]}}\n\xff\xfe\n', "bad_json"),
])
async def test_bad_input_gets_an_error_and_the_connection_closed(world_factory, served, first, code):
    w = await world_factory(seed_with_pos(1))
    async with served(w, run_engine=False) as svc:
        raw = await run(RawClient, svc.path)
        await run(raw.send, first)
        answer = await run(raw.line)
        if answer.get("result"):  # the hello went through; the next line is the bad one
            answer = await run(raw.line)
        assert answer["status"] == "error" and answer["code"] == code and answer["cause"]
        assert await run(raw.closed)
        raw.close()
        await _still_serves(svc)


async def test_a_line_over_one_megabyte_is_refused_and_closed(world_factory, served):
    w = await world_factory(seed_with_pos(1))
    async with served(w, run_engine=False) as svc:
        raw = await run(RawClient, svc.path)
        assert (await run(raw.hello))["status"] == "done"
        huge = b'{"id": 2, "cmd": "status", "args": {"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}}\n'

        def send_huge() -> None:
            try:
                raw.send(huge)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the service may close before all of it is written

        await run(send_huge)
        answer = await run(raw.line)
        assert answer["code"] == "line_too_long"
        assert await run(raw.closed)
        raw.close()
        await _still_serves(svc)


async def test_bad_arguments_are_refused_and_the_connection_stays(world_factory, served):
    w = await world_factory(seed_with_pos(1))
    async with served(w, run_engine=False) as svc:
        raw = await run(RawClient, svc.path)
        await run(raw.hello)
        for i, (cmd, args) in enumerate([("sync_one", {"po_id": "12; DROP"}), ("sync_one", {"po_id": 0}),
                                         ("retry", {}), ("settings_set", {"values": [1]}),
                                         ("log_window", {"status": "weird", "offset": 0, "limit": 10}),
                                         ("status", [])]):
            await run(raw.send, {"id": 10 + i, "cmd": cmd, "args": args})
            answer = await run(raw.line)
            assert answer["id"] == 10 + i and answer["status"] == "refused" and answer["cause"], answer
        await run(raw.send, {"id": 99, "cmd": "status"})
        assert (await run(raw.line))["status"] == "done"
        raw.close()


async def test_a_stuck_subscriber_never_slows_the_engine_and_is_told_to_resync(world_factory, served):
    w = await world_factory(seed_with_pos(2))
    async with served(w, queue_limit=100) as svc:
        await _until(lambda: w.of(ev.ScanFinished), what="the first scan")
        # The same publishing with no client at all, measured in the same run on the same
        # (possibly loaded) machine: the stuck client may cost little more than that.
        started = time.perf_counter()
        for i in range(20_000):
            w.engine._publish(ev.RateLimited(service="qbo", wait_s=float(i)))
        alone = time.perf_counter() - started
        stuck = await run(RawClient, svc.path)
        stuck.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await run(stuck.hello)
        await run(stuck.send, {"id": 2, "cmd": "subscribe"})
        await _until(lambda: any(c.subscribed for c in svc.server.clients), what="the subscription")
        # The engine publishes far more than the client's queue and socket hold; it never waits.
        started = time.perf_counter()
        for i in range(20_000):
            w.engine._publish(ev.RateLimited(service="qbo", wait_s=float(i)))
        elapsed = time.perf_counter() - started
        assert elapsed < 5 * alone + 1.0, (f"publishing 20,000 events took {elapsed:.2f} s with a stuck client, "
                                          f"{alone:.2f} s with none")
        client = next(iter(svc.server.clients))
        assert client.missed > 0 and len(client.lines) <= 100 + 10
        # ... and a scan runs to its end meanwhile.
        before = len(w.of(ev.ScanFinished))
        w.engine.scan_now()
        await _until(lambda: len(w.of(ev.ScanFinished)) > before, what="a scan beside the stuck client")

        # Once it reads again: the events it had, then "missed N, resync" and a fresh snapshot.
        def drain() -> tuple[dict, dict]:
            while True:
                line = stuck.line()
                if "missed" in line:
                    return line, stuck.line()

        marker, snapshot = await run(drain)
        assert marker["resync"] is True and marker["missed"] > 1000
        assert snapshot["snapshot"]["status"]["engine"] in ("idle", "scanning")
        assert "rows" in snapshot["snapshot"] and "budgets" in snapshot["snapshot"]
        stuck.close()
        await _still_serves(svc)


async def test_two_clients_at_once_both_see_events_and_command(world_factory, served):
    w = await world_factory(seed_with_pos(2))
    async with served(w) as svc:
        await _until(lambda: w.of(ev.ScanFinished), what="the first scan")
        one, two = await svc.remote(), await svc.remote()
        seen_one: list[ev.Event] = []
        seen_two: list[ev.Event] = []
        one.subscribe(seen_one.append)
        two.subscribe(seen_two.append)
        async with anyio.create_task_group() as tg:
            tg.start_soon(one.run)
            tg.start_soon(two.run)
            await _until(lambda: any(isinstance(e, Resynced) for e in seen_two), what="two attached")
            await one.pause()
            await _until(lambda: any(isinstance(e, ev.Paused) for e in seen_two), what="two sees one's pause")
            await two.resume()
            await _until(lambda: any(isinstance(e, ev.Resumed) for e in seen_one), what="one sees two's resume")
            old = next(p for p in w.at_list("PurchaseOrders") if p["purchaseOrderNumber"] == "PO-OLD")
            a, b = await one.sync_one(old["id"]), None
            b = await two.sync_one(old["id"])
            assert a.ok and not b.ok and b.cause_code == "po_already_synced"  # exactly once
            await one.stop()
            await two.stop()


async def test_a_stale_socket_is_replaced_and_a_live_one_never_stolen(world_factory, served, tmp_path):
    w = await world_factory(seed_with_pos(1))
    path = w.store.locations.control_socket
    # What kill -9 leaves: a socket file nobody listens on.
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    path.parent.mkdir(parents=True, exist_ok=True)
    dead.bind(os.fspath(path))
    dead.close()
    assert path.exists()
    async with served(w, run_engine=False) as svc:
        await _still_serves(svc)
        inode = path.stat().st_ino
        # A second server on the same folder refuses: the live socket stays.

        with pytest.raises(SocketBusy, match="already serves"):
            async with ControlServer(svc.control, path):
                pass
        assert path.stat().st_ino == inode
        await _still_serves(svc)
    assert not path.exists()  # removed on a clean stop
    # A file that is not a socket is never removed.
    path.write_text("mine")
    with pytest.raises(SocketBusy, match="not a socket"):
        async with ControlServer(svc.control, path):
            pass
    assert path.read_text() == "mine"


async def test_another_user_is_refused(world_factory, served):
    w = await world_factory(seed_with_pos(1))
    async with served(w, run_engine=False, allowed_uid=os.getuid() + 4242) as svc:
        raw = await run(RawClient, svc.path)
        answer = await run(raw.line)  # refused before a word is read: SO_PEERCRED says who we are
        assert answer["code"] == "forbidden"
        assert await run(raw.closed)
        raw.close()


async def test_a_process_of_another_user_cannot_reach_the_socket(world_factory, served):
    import pwd
    import stat

    w = await world_factory(seed_with_pos(1))
    async with served(w, run_engine=False) as svc:
        assert stat.S_IMODE(svc.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(svc.path.parent.stat().st_mode) == 0o700
        if os.getuid() != 0:
            return  # only root can become another user; the modes above are what keeps them out
        nobody = pwd.getpwnam("nobody").pw_uid

        def child() -> int:
            pid = os.fork()
            if pid == 0:
                code = 3
                try:
                    os.setgid(nobody)
                    os.setuid(nobody)
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    try:
                        s.connect(os.fspath(svc.path))
                        code = 0
                    except PermissionError:
                        code = 1
                finally:
                    os._exit(code)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])

        assert await run(child) == 1  # the 0700 folder and the 0600 socket keep it out


async def test_the_service_stopping_under_a_client_is_told(world_factory):
    w = await world_factory(seed_with_pos(1))
    control = local_control(w)
    path = w.store.locations.control_socket
    up, stop = anyio.Event(), anyio.Event()

    async def service() -> None:
        async with ControlServer(control, path):
            up.set()
            await stop.wait()

    async with anyio.create_task_group() as tg:
        tg.start_soon(service)
        await up.wait()
        remote = RemoteEngineControl(path)
        await remote.connect()
        seen: list[ev.Event] = []
        remote.subscribe(seen.append)
        done = anyio.Event()

        async def follow() -> None:
            await remote.run()
            done.set()

        tg.start_soon(follow)
        await _until(lambda: any(isinstance(e, Resynced) for e in seen), what="attached")
        stop.set()  # the service stops while the client follows it
        with anyio.fail_after(5):
            await done.wait()
    assert remote.stopped_by_service and remote.bye == "the service is stopping"
    assert not path.exists()


async def test_a_client_that_never_reads_its_answers_is_held_back(world_factory, served):
    w = await world_factory(seed_with_pos(1))
    async with served(w, run_engine=False, queue_limit=20) as svc:
        greedy = await run(RawClient, svc.path)
        await run(greedy.hello)
        greedy.sock.settimeout(0.5)
        request = (b'{"id": 1, "cmd": "status"}\n') * 100_000  # 2.7 MB of requests, answers never read

        def flood() -> int:
            sent = 0
            try:
                while sent < len(request):
                    sent += greedy.sock.send(request[sent:sent + 65536])
            except (TimeoutError, BlockingIOError, OSError):
                pass  # the service stopped reading: our sends block
            return sent

        sent = await run(flood)
        client = next(iter(svc.server.clients))
        assert len(client.lines) <= 20 + 3 * 16  # bounded (queue + commands in flight), whatever was sent
        assert sent < len(request)  # held back, not buffered without end
        await _still_serves(svc)
        greedy.close()


async def test_a_folder_of_another_user_is_never_used_and_a_client_checks_the_server(world_factory, tmp_path):
    """The long-path fallback lives in a shared folder: a planted folder or socket of another
    user must not be used, by the server or by a client."""
    from sync.control.remote import ServiceUnavailable
    from sync.paths import locate

    w = await world_factory(seed_with_pos(1))
    control = local_control(w)
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    path = locate(deep).control_socket
    assert path.parent.name == f"atqbo-{os.getuid()}" and len(os.fsencode(path)) <= 103
    if os.getuid() == 0:
        import pwd

        nobody = pwd.getpwnam("nobody").pw_uid
        planted = tmp_path / "planted"
        planted.mkdir()
        os.chown(planted, nobody, nobody)
        with pytest.raises(SocketBusy, match="not a folder of this user"):
            async with ControlServer(control, planted / "engine.sock"):
                pass

        # a socket served by another user: the client refuses to talk to it
        import shutil
        import tempfile

        shared = Path(tempfile.mkdtemp(prefix="atqbo-shared-", dir="/tmp"))
        os.chmod(shared, 0o777)  # like /tmp: anyone may put a socket there
        sock_path = shared / "theirs.sock"
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(nobody)
                os.setuid(nobody)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind(os.fspath(sock_path))
                s.listen(1)
                conn, _ = s.accept()
                time.sleep(2)
            finally:
                os._exit(0)
        try:
            await _until(lambda: sock_path.exists(), what="the planted socket")
            with pytest.raises(ServiceUnavailable, match="another user"):
                await RemoteEngineControl(sock_path).connect()
        finally:
            os.waitpid(pid, 0)
            shutil.rmtree(shared, ignore_errors=True)
    # our own folder with loose modes is made owner-only before the socket goes in
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    async with ControlServer(control, loose / "engine.sock"):
        assert (loose.stat().st_mode & 0o777) == 0o700
