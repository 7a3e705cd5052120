"""Paths resolution and the crash-safe storage: atomic replace, cache freshness, damaged files."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from tinydb import TinyDB

from sync import paths
from sync.store.errors import CorruptFileError, UnreadableFileError
from sync.store.storage import AtomicJSONStorage, atomic_write_bytes


def test_data_dir_override_beats_env_and_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(paths.ENV_DATA_DIR, str(tmp_path / "from-env"))
    assert paths.locate(tmp_path / "flag").data_dir == tmp_path / "flag"
    env = paths.locate()
    assert env.data_dir == env.config_dir == tmp_path / "from-env"
    assert env.secrets_file == tmp_path / "from-env" / "secrets.json"
    assert not (tmp_path / "from-env").exists()


def test_without_override_uses_platformdirs(monkeypatch, tmp_path):
    monkeypatch.delenv(paths.ENV_DATA_DIR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    loc = paths.locate()
    assert loc.data_dir == tmp_path / "xdg-data" / "atqbo"
    assert loc.config_dir == tmp_path / "xdg-config" / "atqbo"


def test_ensure_dir_is_owner_only(tmp_path):
    folder = paths.ensure_dir(tmp_path / "a" / "b")
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_write_replaces_atomically_with_mode_600_and_leaves_no_temp(tmp_path):
    target = tmp_path / "db" / "x.json"
    db = TinyDB(target, storage=AtomicJSONStorage)
    db.insert({"a": 1})
    db.insert({"a": 2})
    assert json.loads(target.read_text()) == {"_default": {"1": {"a": 1}, "2": {"a": 2}}}
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.json"]


def test_reader_sees_writes_of_another_instance(tmp_path):
    target = tmp_path / "x.json"
    reader = TinyDB(target, storage=AtomicJSONStorage)
    writer = TinyDB(target, storage=AtomicJSONStorage)
    writer.insert({"n": 1})
    assert [d["n"] for d in reader.all()] == [1]
    writer.insert({"n": 2})
    assert [d["n"] for d in reader.all()] == [1, 2]


def test_failed_write_keeps_old_file_and_forgets_mutated_cache(tmp_path):
    target = tmp_path / "x.json"
    db = TinyDB(target, storage=AtomicJSONStorage)
    db.insert({"n": 1})
    with pytest.raises(TypeError):
        db.insert({"n": object()})  # not JSON: the write fails before replacing anything
    assert json.loads(target.read_text()) == {"_default": {"1": {"n": 1}}}
    assert [d["n"] for d in db.all()] == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]


def test_stale_temp_files_of_dead_writers_are_removed(tmp_path):
    target = tmp_path / "x.json"
    atomic_write_bytes(target, b"{}")
    dead = tmp_path / ".x.json.999999999.abcd.tmp"  # a pid that cannot exist
    dead.write_bytes(b"partial")
    AtomicJSONStorage(target)
    assert not dead.exists()


@pytest.mark.parametrize(
    "content, why",
    [
        (b'{"_default": {"1": {"a": 1}', "not valid JSON"),  # truncated
        (b"not json at all", "not valid JSON"),
        (b"", "empty"),
        (b"[1, 2, 3]", "unexpected JSON shape"),
        (b'{"_default": 5}', "unexpected JSON shape"),
        (b"\xff\xfe{}", "UTF-8"),
    ],
)
def test_damaged_file_is_a_clear_error_and_is_kept(tmp_path, content, why):
    target = tmp_path / "x.json"
    target.write_bytes(content)
    db = TinyDB(target, storage=AtomicJSONStorage)
    with pytest.raises(CorruptFileError) as info:
        db.all()
    message = str(info.value)
    assert str(target) in message and why in message
    # The original is untouched and a copy is kept aside.
    assert target.read_bytes() == content
    copies = list(tmp_path.glob("x.json.corrupt-*"))
    assert len(copies) == 1 and copies[0].read_bytes() == content
    assert str(copies[0]) in message
    # A write must not silently replace the damaged database with a fresh one.
    with pytest.raises(CorruptFileError):
        db.insert({"b": 2})
    assert target.read_bytes() == content
    # Trying again does not pile up copies.
    with pytest.raises(CorruptFileError):
        db.all()
    assert len(list(tmp_path.glob("x.json.corrupt-*"))) == 1


def _read_as_other_user(target: Path) -> str:
    """Open `target` with the store in a forked child that runs as 'nobody' when we are root
    (root reads any file); returns the UnreadableFileError message or what happened instead."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setuid(65534)
            try:
                TinyDB(target, storage=AtomicJSONStorage).all()
                message = "NO ERROR"
            except UnreadableFileError as exc:
                message = str(exc)
            except BaseException as exc:  # report anything else to the parent
                message = f"OTHER {type(exc).__name__}"
            os.write(write_end, message.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def test_permission_denied_is_a_clear_error_naming_the_file(tmp_path):
    target = tmp_path / "x.json"
    target.write_text('{"_default": {}}')
    target.chmod(0)
    message = _read_as_other_user(target)
    target.chmod(0o600)
    assert str(target) in message and "permission denied" in message
    assert target.read_text() == '{"_default": {}}'
