"""Machine faults at the storage layer, injected where the system would raise them (os.write,
os.fsync, os.replace, os.open): each is a StorageFault naming the path, what happened and what
to do, and the file on disk keeps its previous, complete version. The real thing (a full tmpfs,
a read-only mount, another user's folder) is in tests/cli/test_cli_faults.py."""

from __future__ import annotations

import errno
import json
import os
import stat
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.store import Store, StorageFault
from sync.store.errors import CorruptFileError, UnsafeFileError
from sync.store.faults import CREATE_FOLDER, LOCK, READ, SAVE, USE, name_fault
from sync.store.journal import JournalState
from sync.store.lock import EngineLock
from sync.store.storage import atomic_write_bytes

REAL = {name: getattr(os, name) for name in ("write", "fsync", "replace", "open")}


def _is_temp_of(target: Path, fd_or_path) -> bool:
    """Whether an fd or path is a temporary file of an atomic write in target's folder."""
    if isinstance(fd_or_path, int):
        try:
            fd_or_path = os.readlink(f"/proc/self/fd/{fd_or_path}")
        except OSError:
            return False
    name = Path(str(fd_or_path)).name
    return Path(str(fd_or_path)).parent == target.parent and name.startswith(".") and name.endswith(".tmp")


@contextmanager
def failing(monkeypatch, call: str, code: int, folder: Path):
    """os.<call> fails with `code` for the store's temporary files in `folder` (only those: the
    rest of the process, pytest included, writes as usual)."""

    def fake(*args, **kwargs):
        if _is_temp_of(folder / "x", args[0]):
            raise OSError(code, os.strerror(code))
        return REAL[call](*args, **kwargs)

    monkeypatch.setattr(os, call, fake)
    try:
        yield
    finally:
        monkeypatch.setattr(os, call, REAL[call])


FAULTS = [
    ("write", errno.ENOSPC, "the disk is full"),
    ("write", errno.EDQUOT, "disk quota"),
    ("fsync", errno.EIO, "input/output error"),
    ("fsync", errno.ENOSPC, "the disk is full"),
    ("replace", errno.EROFS, "read-only"),
    ("open", errno.EROFS, "read-only"),
    ("open", errno.EACCES, "permission denied"),
]


@pytest.mark.parametrize("call,code,words", FAULTS, ids=[f"{c}-{errno.errorcode[e]}" for c, e, _ in FAULTS])
def test_a_failed_write_leaves_the_previous_file_whole_and_says_what_to_do(tmp_path, monkeypatch, call, code, words):
    target = tmp_path / "settings.json"
    atomic_write_bytes(target, b'{"old": true}')

    with failing(monkeypatch, call, code, tmp_path):
        with pytest.raises(StorageFault) as caught:
            atomic_write_bytes(target, b'{"new": true}' * 1000)

    fault = caught.value
    assert fault.errno == code and fault.path == target
    message = str(fault)
    assert str(target) in message and words in message
    assert "Nothing was changed" in message and "report it" not in message
    assert fault.fix and fault.fix in message  # what to do, in the message itself
    assert json.loads(target.read_text()) == {"old": True}  # the previous version, readable
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temporary file left


def test_every_store_file_keeps_what_it_had_when_the_disk_fills(tmp_path, monkeypatch):
    with Store.open(tmp_path) as store:
        store.settings.set("days_back", 7)
        store.secrets.set_autotask_secret("s3cret-value")
        store.errors.add(po_id=5, cause_code="missing_item", cause="c", fix="f")
        store.journal.transition(5, None, JournalState.SEEN, po_number="PO-5")
        folders = {tmp_path, tmp_path / "errors", tmp_path / "journal"}

        def full(*args, **kwargs):
            if any(_is_temp_of(folder / "x", args[0]) for folder in folders):
                raise OSError(errno.ENOSPC, "No space left on device")
            return REAL["write"](*args, **kwargs)

        monkeypatch.setattr(os, "write", full)
        attempts = [
            lambda: store.settings.set("days_back", 9),
            lambda: store.secrets.set_autotask_secret("new-secret"),
            lambda: store.errors.add(po_id=6, cause_code="missing_item", cause="c", fix="f"),
            lambda: store.journal.transition(5, JournalState.SEEN, JournalState.RESOLVED),
        ]
        for attempt in attempts:
            with pytest.raises(StorageFault) as caught:
                attempt()
            assert caught.value.code == "disk_full"
            assert "s3cret" not in str(caught.value) and "new-secret" not in str(caught.value)
        monkeypatch.setattr(os, "write", REAL["write"])

        # The same process still sees what is on disk (no cached half-change)...
        assert store.settings.load().days_back == 7
        assert store.secrets.get_autotask_secret().get_secret_value() == "s3cret-value"
        assert [e.po_id for e in store.errors.open_errors()] == [5]
        assert store.journal.get(5).state is JournalState.SEEN
    # ...and so does a fresh one.
    with Store.open(tmp_path) as again:
        assert again.settings.load().days_back == 7
        assert [e.po_id for e in again.errors.open_errors()] == [5]
        assert again.journal.get(5).state is JournalState.SEEN
        again.settings.set("days_back", 9)  # space again: the write goes through
        assert again.settings.load().days_back == 9


def test_a_lock_path_that_is_a_folder_is_named(tmp_path):
    (tmp_path / "engine.lock").mkdir()
    with pytest.raises(StorageFault) as caught:
        EngineLock(tmp_path / "engine.lock").acquire()
    assert caught.value.code == "is_a_folder"
    assert f"cannot lock {tmp_path / 'engine.lock'}: that is a folder" in str(caught.value)
    assert "Move the folder" in str(caught.value)


def test_a_truncated_secrets_file_says_to_restore_or_connect_again(tmp_path):
    with Store.open(tmp_path) as store:
        store.secrets.set_autotask_secret("s3cret-value")
    secrets = tmp_path / "secrets.json"
    secrets.write_bytes(secrets.read_bytes()[:17])  # cut mid-way
    damaged = secrets.read_bytes()
    with Store.open(tmp_path) as store:
        with pytest.raises(CorruptFileError) as caught:
            store.secrets.get_autotask_secret()
        with pytest.raises(CorruptFileError):
            store.secrets.set_autotask_secret("other")  # never written over
    message = str(caught.value)
    assert str(secrets) in message and "truncated" in message
    assert "connect again" in message and "atqbo connect autotask" in message
    assert "s3cret" not in message
    assert secrets.read_bytes() == damaged


def test_a_secrets_file_that_is_a_symbolic_link_is_refused(tmp_path):
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text('{"secrets": {"1": {"autotask_secret": "theirs"}}}')
    elsewhere.chmod(0o644)
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "secrets.json").symlink_to(elsewhere)
    with Store.open(data) as store:
        with pytest.raises(UnsafeFileError) as caught:
            store.secrets.get_autotask_secret()
        with pytest.raises(UnsafeFileError):
            store.secrets.set_autotask_secret("mine")
    assert "symbolic link" in str(caught.value) and str(data / "secrets.json") in str(caught.value)
    assert "theirs" not in str(caught.value)
    # Neither read through, written through, nor chmod-ed through the link.
    assert elsewhere.read_text() == '{"secrets": {"1": {"autotask_secret": "theirs"}}}'
    assert stat.S_IMODE(elsewhere.stat().st_mode) == 0o644
    assert (data / "secrets.json").is_symlink()


def test_a_data_folder_open_to_others_is_made_owner_only(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    with Store.open(data) as store:
        assert any("was open to others (mode 755)" in n for n in store.notices)
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    with Store.open(data) as store:  # told once: nothing to say the second time
        assert store.notices == []


def test_a_shared_data_folder_is_told_not_changed(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    with Store.open(shared) as store:
        assert any("shared by everybody" in n and "--data-dir" in n for n in store.notices)
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777



@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(errno.errorcode)), st.sampled_from([SAVE, READ, CREATE_FOLDER, LOCK, USE]),
       st.sampled_from(["/data/settings.json", "/data/journal/journal-03.json", "relative/x.json"]))
def test_every_errno_is_named_with_the_path_and_what_to_do(code, doing, path):
    fault = name_fault(OSError(code, os.strerror(code)), path, doing)
    message = str(fault)
    assert message.startswith(f"cannot {doing} {Path(path)}: ")
    assert fault.what and fault.fix and fault.fix in message
    assert "report it" not in message and "unexpected" not in message
    assert fault.errno == code and isinstance(fault, OSError)
