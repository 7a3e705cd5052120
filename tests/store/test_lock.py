"""One engine per data folder, checked with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from sync.store import EngineLockedError, Store

ROOT = Path(__file__).resolve().parents[2]
HOLDER = (
    "import sys, time\n"
    "from sync.store import Store\n"
    "store = Store.open(sys.argv[1])\n"
    "store.acquire_engine_lock()\n"
    "print('locked', flush=True)\n"
    "time.sleep(60)\n"
)


def _start_holder(data: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_second_engine_is_refused_naming_the_holder_then_takes_over_when_it_dies(tmp_path):
    holder = _start_holder(tmp_path)
    try:
        store = Store.open(tmp_path)
        with pytest.raises(EngineLockedError) as info:
            store.acquire_engine_lock()
        assert info.value.holder_pid == holder.pid
        assert f"process {holder.pid}" in str(info.value) and str(tmp_path / "engine.lock") in str(info.value)
        # Read-only users of the same folder are not blocked.
        assert store.errors.open_errors() == []
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The holder died without cleaning up: its pid is still in the file, the lock is free.
    assert (tmp_path / "engine.lock").read_text().strip() == str(holder.pid)
    store.acquire_engine_lock()
    assert store.holds_engine_lock
    assert (tmp_path / "engine.lock").read_text().strip() == str(os.getpid())
    store.release_engine_lock()


def test_stale_pid_in_an_unheld_lock_file_is_taken_over(tmp_path):
    (tmp_path / "engine.lock").write_text("999999999\n")
    store = Store.open(tmp_path)
    store.acquire_engine_lock()
    assert (tmp_path / "engine.lock").read_text().strip() == str(os.getpid())
    # Another subprocess is now refused and told our pid.
    code = (
        "import sys\n"
        "from sync.store import Store, EngineLockedError\n"
        "try:\n"
        "    Store.open(sys.argv[1]).acquire_engine_lock()\n"
        "except EngineLockedError as exc:\n"
        "    print(exc.holder_pid); sys.exit(5)\n"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 5 and result.stdout.strip() == str(os.getpid())
    store.close()
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_two_stores_in_one_process_also_exclude_each_other(tmp_path):
    first, second = Store.open(tmp_path), Store.open(tmp_path)
    first.acquire_engine_lock()
    first.acquire_engine_lock()  # re-entrant for the same holder
    with pytest.raises(EngineLockedError):
        second.acquire_engine_lock()
    first.release_engine_lock()
    second.acquire_engine_lock()
    second.release_engine_lock()
