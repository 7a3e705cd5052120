"""Machine faults as an operator meets them, on real file systems: a small tmpfs that is full, a
read-only mount, a data folder that belongs to another user, a lock path that is a folder, a
truncated secrets file. Every one: exit code 2, a message with what happened, the path and
what to do, nothing lost — never "unexpected OSError ... please report it".

The tmpfs is mounted in a private mount namespace of the command's own shell (`unshare`), so
it vanishes with it and nothing on the machine sees it. Where mounting is refused (no root and
no user namespaces), the same commands run in this process with the same fault injected at the
storage layer (os.write / os.open), and the same things are asserted.
"""

from __future__ import annotations

import errno
import json
import os
import shlex
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from cli_helpers import ROOT, atqbo, clean_env, configure, in_process, json_lines, seed_with_pos

NEVER = ("report it", "unexpected", "Traceback")


def _never_raw(text: str) -> None:
    for words in NEVER:
        assert words not in text, text


def _unshare() -> list[str]:
    if os.geteuid() == 0:
        return ["unshare", "--mount", "--propagation", "private"]
    return ["unshare", "--user", "--map-root-user", "--mount"]


@lru_cache(maxsize=1)
def can_mount() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run([*_unshare(), "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt 2>/dev/null || "
                            "mount -t tmpfs -o size=64k tmpfs \"$HOME\""], capture_output=True, timeout=30)
    return probe.returncode == 0


def on_small_disk(source: Path, mount: Path, script: str, *, size: str = "1m",
                  timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `script` (sh) with `mount` a fresh tmpfs of `size` holding a copy of `source`.
    In the script, `atqbo ARGS` runs atqbo on that folder; `fill` fills the disk to the last byte."""
    mount.mkdir(exist_ok=True)
    m = shlex.quote(str(mount))
    prologue = (f"set -u; mount -t tmpfs -o size={size},mode=0700 tmpfs {m} && "
                f"cp -a {shlex.quote(str(source))}/. {m}/ || exit 99\n"
                f"atqbo() {{ {shlex.quote(sys.executable)} -m console.cli --data-dir {m} \"$@\"; }}\n"
                f"fill() {{ dd if=/dev/zero of={m}/fill bs=4096 2>/dev/null; true; }}\n")
    return subprocess.run([*_unshare(), "sh", "-c", prologue + script], cwd=ROOT, env=clean_env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


REAL = {name: getattr(os, name) for name in ("write", "open")}


def _inject(monkeypatch, call: str, code: int, folder: Path) -> None:
    """The fallback: os.<call> fails with `code` for files atqbo writes in `folder`."""

    def fake(*args, **kwargs):
        target = args[0]
        if isinstance(target, int):
            try:
                target = os.readlink(f"/proc/self/fd/{target}")
            except OSError:
                target = ""
        flags = args[1] if call == "open" and len(args) > 1 else os.O_WRONLY
        if str(target).startswith(str(folder)) and (call == "write" or flags & (os.O_WRONLY | os.O_RDWR)):
            raise OSError(code, os.strerror(code), str(target) if call == "open" else None)
        return REAL[call](*args, **kwargs)

    monkeypatch.setattr(os, call, fake)


# ---------------------------------------------------------------- a full disk


def test_settings_set_on_a_full_disk_is_named_and_the_old_value_stays(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    configure(data, days_back=7)
    if can_mount():
        ran = on_small_disk(data, tmp_path / "mnt", 'fill\natqbo settings set days_back 9; echo "rc=$?"\n'
                            "atqbo settings show --json\n")
        out, err = ran.stdout, ran.stderr
        assert ran.returncode == 0 and "rc=2" in out, out + err
        shown = json.loads(out.strip().splitlines()[-1])
        where = tmp_path / "mnt"
    else:
        _inject(monkeypatch, "write", errno.ENOSPC, data)
        result = in_process(capsys, "settings", "set", "days_back", "9", "--data-dir", str(data))
        monkeypatch.undo()
        assert result.returncode == 2
        err = result.stderr
        shown = json.loads(in_process(capsys, "settings", "show", "--json", "--data-dir", str(data)).stdout)
        where = data
    assert f"cannot save {where / 'settings.json'}: the disk is full" in err
    assert "Nothing was changed" in err and f"df -h {where}" in err
    _never_raw(err)
    assert shown["settings"]["days_back"] == 7 if "settings" in shown else shown["days_back"] == 7


def test_the_daemon_on_a_full_disk_stops_the_scan_by_name_and_carries_on_when_freed(ready, tmp_path, capsys,
                                                                                   monkeypatch):
    w = ready(seed_with_pos(n_ok=2))
    if can_mount():
        mount = tmp_path / "mnt"
        # Two pages left: the daemon starts, and the scan's first saves (a token, the journal) fail.
        script = (f'fill; truncate -s -8K {shlex.quote(str(mount))}/fill\n'
                  'atqbo --daemon --once --json; echo "rc=$?"\n'
                  f'echo "---"; rm {shlex.quote(str(mount))}/fill\n'
                  'atqbo --daemon --once --json; echo "rc=$?"\n')
        ran = on_small_disk(w.data_dir, mount, script, size="2m")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        full, freed = ran.stdout.split("---\n")
        assert "rc=2" in full and "rc=0" in freed, ran.stdout + ran.stderr
        full, freed = full.replace("rc=2", ""), freed.replace("rc=0", "")
    else:
        mount = w.data_dir
        _inject(monkeypatch, "write", errno.ENOSPC, w.data_dir)
        first = in_process(capsys, "--daemon", "--once", "--json", *w.dd)
        monkeypatch.undo()
        second = in_process(capsys, "--daemon", "--once", "--json", *w.dd)
        assert (first.returncode, second.returncode) == (2, 0)
        full, freed = first.stdout, second.stdout
    lines = json_lines(full)
    [stop] = [line for line in lines if line.get("event") == "scan_stopped"]
    assert stop["cause_code"] == "storage_fault" and "the disk is full" in stop["cause"]
    assert str(mount) in stop["cause"] and "Free some space" in stop["fix"]
    assert lines[-1]["exit_code"] == 2 and lines[-1]["stopped"] is True
    _never_raw(full)
    assert not any(line.get("event") == "po_failed" for line in lines)
    assert all(po.get("externalPONumber") != "ERROR" for po in w.pos()) and w.todos() == []
    # Space again: the next run finishes what the full disk stopped, one bill per PO.
    assert json_lines(freed)[-1]["synced"] == 2
    assert len(w.bills()) == 2 and {po["externalPONumber"] for po in w.pos()} == {"1", "2"}


# ---------------------------------------------------------------- a read-only data folder


def test_a_read_only_data_folder_is_named_for_a_write_and_an_engine_run(ready, tmp_path, capsys, monkeypatch):
    w = ready(seed_with_pos(n_ok=1))
    if can_mount():
        mount = tmp_path / "mnt"
        ran = on_small_disk(w.data_dir, mount,
                            f"mount -o remount,ro {shlex.quote(str(mount))} || exit 98\n"
                            'atqbo settings set days_back 9; echo "rc=$?"\n'
                            'atqbo sync-one 1; echo "rc=$?"\n'
                            "atqbo settings show\n")
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert ran.stdout.count("rc=2") == 2, ran.stdout + ran.stderr
        err, where, shown = ran.stderr, mount, ran.stdout
    else:
        _inject(monkeypatch, "open", errno.EROFS, w.data_dir)
        first = in_process(capsys, "settings", "set", "days_back", "9", *w.dd)
        second = in_process(capsys, "sync-one", "1", *w.dd)
        monkeypatch.undo()
        assert (first.returncode, second.returncode) == (2, 2)
        err, where = first.stderr + second.stderr, w.data_dir
        shown = in_process(capsys, "settings", "show", *w.dd).stdout
    assert f"cannot save {where / 'settings.json'}: the file system is read-only" in err
    assert f"cannot lock {where / 'engine.lock'}: the file system is read-only" in err
    assert "--data-dir" in err
    _never_raw(err)
    assert "days_back                 7" in shown  # still readable, unchanged
    assert w.bills() == []


# ---------------------------------------------------------------- another user's folder


def _as_other_user(*args: str) -> tuple[int, str]:
    """`atqbo ARGS` in a forked child that runs as nobody when we are root (root may write
    anywhere), as we are otherwise; returns (exit code, stderr). A fork, not a new process: the
    interpreter may live where nobody can read it (the modules are imported before the fork)."""
    import pwd  # noqa: F401  (needed by the message, imported while we may still read it)

    import console.cli
    import console.cli_commands  # noqa: F401

    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 99
        try:
            os.close(read_end)
            os.dup2(write_end, 2)
            sys.stderr = os.fdopen(2, "w", closefd=False)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            code = console.cli.main(list(args))
        except SystemExit as exc:
            code = int(exc.code or 0)
        except BaseException as exc:  # noqa: BLE001 (told to the parent, which fails the test)
            os.write(2, f"CHILD {type(exc).__name__}: {exc}".encode())
        finally:
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        err = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), err


@pytest.fixture
def reachable_folder():
    """A folder every user may enter (pytest's own are 0700: nobody could reach the data)."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="atqbo-owner-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_data_folder_of_another_user_is_named_with_its_owner(reachable_folder):
    data = reachable_folder / "data"
    configure(data, days_back=7)
    os.chmod(data, 0o755 if os.geteuid() == 0 else 0o555)  # others may look in, not write
    try:
        code, err = _as_other_user("settings", "set", "days_back", "9", "--data-dir", str(data))
    finally:
        os.chmod(data, 0o700)
    assert code == 2, err
    assert err.startswith(f"atqbo: ") and "cannot" in err and f"{data}" in err and "permission denied" in err
    if os.geteuid() == 0:
        assert "belongs to root (uid 0), and atqbo runs as nobody (uid 65534)" in err
        assert "chown -R nobody" in err and "--data-dir" in err
    else:
        assert "is not writable for you (mode 555)" in err
    _never_raw(err)
    with open(data / "settings.json") as f:
        assert json.load(f)["settings"]["1"]["values"]["days_back"] == 7


# ---------------------------------------------------------------- a lock that is a folder


def test_a_lock_path_that_is_a_folder_stops_the_daemon_and_sync_one_with_exit_2(ready):
    w = ready(seed_with_pos(n_ok=1))
    (w.data_dir / "engine.lock").mkdir()
    daemon = atqbo("--daemon", "--once", "--json", *w.dd)
    one = atqbo("sync-one", "1", *w.dd)
    assert (daemon.returncode, one.returncode) == (2, 2), daemon.stdout + one.stderr
    summary = json_lines(daemon.stdout)[-1]
    assert summary["exit_code"] == 2 and summary["fault"] == "is_a_folder"  # (for monitoring)
    assert f"cannot lock {w.data_dir / 'engine.lock'}: that is a folder" in summary["error"]
    assert "Move the folder" in one.stderr
    _never_raw(daemon.stdout + one.stderr)
    assert w.bills() == [] and (w.data_dir / "engine.lock").is_dir()


# ---------------------------------------------------------------- a truncated secrets file


def test_a_truncated_secrets_file_is_named_with_what_to_do_and_kept(ready):
    w = ready(seed_with_pos(n_ok=1))
    secrets = w.data_dir / "secrets.json"
    secrets.write_bytes(secrets.read_bytes()[:40])
    damaged = secrets.read_bytes()
    one = atqbo("sync-one", "1", "--json", *w.dd)
    daemon = atqbo("--daemon", "--once", *w.dd)
    assert (one.returncode, daemon.returncode) == (2, 2), one.stderr + daemon.stdout
    for text in (one.stderr, daemon.stdout):
        assert str(secrets) in text and "not valid JSON" in text
        assert "restore secrets.json from a backup" in text and "atqbo connect autotask" in text
        _never_raw(text)
    assert json_lines(one.stdout)[-1]["exit_code"] == 2 and json_lines(one.stdout)[-1]["fault"] == "damaged_file"
    assert secrets.read_bytes() == damaged and w.bills() == []


# ---------------------------------------------------------------- a data folder open to others


def test_a_data_folder_open_to_others_is_made_owner_only_and_the_operator_told(tmp_path):
    data = tmp_path / "data"
    configure(data, days_back=7)
    data.chmod(0o755)
    result = atqbo("settings", "show", "--data-dir", str(data))
    assert result.returncode == 0
    assert (f"atqbo: warning: the data folder {data} was open to others (mode 755); it is now owner-only "
            "(700)") in result.stderr
    assert oct(data.stat().st_mode & 0o777) == "0o700"


def test_only_the_data_folders_faults_are_named_as_such():
    import errno

    from console.runtime_headless import store_problem

    named = store_problem(OSError(errno.ENOSPC, "No space left on device"))
    assert named is not None and named.exit_code == 2 and named.fault_code == "disk_full"
    with_path = store_problem(PermissionError(errno.EACCES, "Permission denied", "/data/errors"))
    assert with_path is not None and "/data/errors" in str(with_path)
    assert store_problem(BrokenPipeError(errno.EPIPE, "Broken pipe")) is None  # stdout's reader left


def test_a_logs_path_that_is_a_file_is_told_and_the_daemon_runs_on_stdout(ready):
    w = ready(seed_with_pos(n_ok=1))
    (w.data_dir / "logs").write_text("not a folder")
    result = atqbo("--daemon", "--once", *w.dd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("WARNING logs/daemon.log is not written (a part of that path is a file, where atqbo needs a "
            "folder); lines go to stdout only") in result.stdout, result.stdout
    assert "synced as bill" in result.stdout and len(w.bills()) == 1
    assert (w.data_dir / "logs").read_text() == "not a folder"
