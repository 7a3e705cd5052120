"""The console meets a machine fault at start: a lock path that is a folder, a data folder that
was open to others. It says what happened, where and what to do (exit 2), never a traceback."""

from __future__ import annotations

import stat

import pytest

from console.app import AtqboApp
from console.startup import open_console_runtime

pytestmark = pytest.mark.anyio


async def test_a_lock_path_that_is_a_folder_ends_the_console_with_the_named_fault(console_world):
    w = console_world()
    (w.data_dir / "engine.lock").mkdir()
    app = AtqboApp(runtime_factory=lambda: open_console_runtime(w.data_dir, False), data_dir=w.data_dir)
    exits: list[dict] = []
    real_exit = app.exit

    def exit_(*args, **kwargs):
        exits.append(kwargs)
        real_exit(*args, **kwargs)

    app.exit = exit_  # type: ignore[method-assign]
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app._exit:
                break
            await pilot.pause(0.05)
    assert app.return_value == 2  # (the process exit code: run_console returns it)
    message = str(exits[0].get("message", "")) if exits else ""
    assert f"atqbo: cannot lock {w.data_dir / 'engine.lock'}: that is a folder" in message
    assert "Move the folder" in message and "report it" not in message


async def test_a_data_folder_open_to_others_is_tightened_and_told(console_world):
    w = console_world()
    w.data_dir.chmod(0o755)
    app = AtqboApp(runtime_factory=lambda: open_console_runtime(w.data_dir, False), data_dir=w.data_dir,
                   start_engine=False)
    async with app.run_test(size=(100, 30)) as pilot:
        for _ in range(100):
            if any("owner-only" in n.message for n in app._notifications):
                break
            await pilot.pause(0.05)
        notices = [n for n in app._notifications if n.title == "Data folder"]
        assert notices and "was open to others (mode 755)" in notices[0].message
        assert notices[0].severity == "warning"
    assert stat.S_IMODE(w.data_dir.stat().st_mode) == 0o700


async def test_connect_on_a_full_disk_says_not_saved_and_stays_on_the_screen(console_world, monkeypatch):
    import errno
    import os

    from console.startup import StoreOnly
    from screens.connect import ConnectScreen
    from textual.widgets import Input

    w = console_world()
    app = AtqboApp(StoreOnly(w.store), data_dir=w.data_dir)
    real_write = os.write

    def full(fd, data):
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if path.startswith(str(w.data_dir)) and path.endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ConnectScreen)
        at = w.creds["autotask"]
        for selector, text in (("#at-username", at["username"]), ("#at-code", at["integration_code"]),
                               ("#at-zone", at["zone_lookup_url"])):
            screen.query_one(selector, Input).value = text
        screen.autotask_ok, screen.autotask_secret = True, at["secret"]  # (as after "Test connection")
        monkeypatch.setattr(os, "write", full)
        screen._connect(w.store.settings.load(), None)
        for _ in range(100):
            if any(n.title == "Not saved" for n in app._notifications):
                break
            await pilot.pause(0.05)
        monkeypatch.setattr(os, "write", real_write)
        [notice] = [n for n in app._notifications if n.title == "Not saved"]
        assert "the disk is full" in notice.message and "press Connect again" in notice.message
        assert at["secret"] not in notice.message
        assert app.screen is screen
