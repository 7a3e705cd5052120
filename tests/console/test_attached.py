"""The console beside a running service: it finds the service's control socket, says it is
attached (pid) in its header, q leaves the service running, and when the service stops it says
so and offers to run the engine itself. (The screen tests themselves run both ways: see
BOTH_WAYS in test_live, test_logs, test_sync_one, test_settings, test_keys.)"""

from __future__ import annotations

import os

import pytest

from console.startup import Attached, open_console_runtime
from console_harness import replay_events, wait_for
from screens.live import LiveScreen
from sync.control.remote import RemoteEngineControl
from textual.widgets import Static

pytestmark = pytest.mark.anyio


def _header(app) -> str:
    return str(app.screen.query_one("#live-status", Static).render())


async def test_the_console_finds_the_service_and_says_it_is_attached(console_world):
    w = console_world()
    service = await w.start_service()
    try:
        # what `atqbo --data-dir DIR` does: the folder's service answers, so attach
        runtime = await open_console_runtime(w.data_dir, False)
        assert isinstance(runtime, Attached) and runtime.pid == os.getpid()
        await runtime.aclose()
        app = w.app(attached=True)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.live.last_scan is not None, what="the scan, seen through the socket")
            assert isinstance(app.screen, LiveScreen) and app.attached
            await wait_for(pilot, lambda: f"attached to the service (pid {os.getpid()})" in _header(app),
                           what="the header")
            assert app.check_action("go", ("connect",)) is None  # the service's connection is not ours
            await pilot.press("q")
            await pilot.pause()
        assert service.running  # q left the service running
        again = RemoteEngineControl(w.store.locations.control_socket)
        assert (await again.connect())["pid"] == os.getpid()
        await again.stop()
    finally:
        await service.aclose()


async def test_the_service_stopping_is_said_and_e_runs_the_engine_here(console_world):
    w = console_world()
    w.save_connection()  # so the console can open the folder itself once the service is gone
    service = await w.start_service()
    app = w.app(attached=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="attached")
        assert app.check_action("run_here", ()) is False  # not offered while the service runs
        await service.aclose()  # the service stops under the console
        await wait_for(pilot, lambda: app.service_gone, what="the console to notice")
        await wait_for(pilot, lambda: "stopped" in _header(app) and "e runs the engine here" in _header(app),
                       what="the header to say so")
        assert "Service stopped" in [n.title for n in app._notifications]
        assert app.check_action("run_here", ()) is True
        await pilot.press("e")
        await wait_for(pilot, lambda: app.connected and not app.attached and app.engine is not None,
                       what="the engine running here")
        await wait_for(pilot, lambda: app.live.engine in ("idle", "scanning"), what="the local engine")
        assert "attached" not in _header(app)
        await pilot.press("q")
        await pilot.pause()
    assert app.runtime_closed


def test_attached_header_100x30(console_world, snap_compare):
    """The header of a console attached to a service (pid pinned), the scan replayed with fixed
    times through the socket."""
    w = console_world()
    w.service_options = {"run_engine": False, "pid": 4242}

    async def run_before(pilot):
        app = pilot.app
        await wait_for(pilot, lambda: app.attached, what="attached")
        engine = w.services[0].runtime.engine
        for event in replay_events():
            engine._publish(event)
        await wait_for(pilot, lambda: app.live.last_scan is not None and len(app.live.rows) == 7,
                       what="the replayed scan")
        await pilot.pause(0.3)

    assert snap_compare(w.app(attached=True), run_before=run_before, terminal_size=(100, 30))


async def test_a_console_running_the_engine_serves_the_socket_too(console_world):
    """A second console (or a script) on the folder of a console that runs the engine attaches
    to it like to a daemon; a pause sent through the socket shows on the first console."""
    from console.app import AtqboApp
    from console_harness import fixed_clock
    from sync import events as ev

    w = console_world()
    app = AtqboApp(w.runtime(), clock=fixed_clock, local_times=False, serve_control=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        await wait_for(pilot, lambda: w.store.locations.control_socket.exists(), what="the socket")
        other = await open_console_runtime(w.data_dir, False)
        assert isinstance(other, Attached) and other.pid == os.getpid()
        seen: list = []
        other.control.subscribe(seen.append)
        pilot.app.run_worker(other.control.run(), group="test-follower")
        await other.control.pause()
        await wait_for(pilot, lambda: app.live.engine == "paused", what="the first console to show the pause")
        assert any(isinstance(e, ev.Paused) for e in seen)
        await other.aclose()
        await pilot.press("q")
        await pilot.pause()
    assert not w.store.locations.control_socket.exists()  # removed when the console quit


async def test_two_consoles_attached_at_once_see_each_others_commands(console_world):
    w = console_world()
    service = await w.start_service()
    try:
        one, two = w.app(attached=True), w.app(attached=True)
        async with one.run_test(size=(100, 30)) as p1, two.run_test(size=(100, 30)) as p2:
            await wait_for(p1, lambda: one.live.last_scan is not None and two.live.last_scan is not None,
                           what="both attached")
            await p1.press("p")  # pause from the first console
            await wait_for(p2, lambda: two.live.engine == "paused", what="the second to see the pause")
            await p2.press("p")  # resume from the second
            await wait_for(p1, lambda: one.live.engine != "paused", what="the first to see the resume")
            assert "attached to the service" in _header(one) and "attached to the service" in _header(two)
        assert service.running
    finally:
        await service.aclose()
