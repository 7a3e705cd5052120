"""The Store facade: one data folder, lazy creation, damaged files reported by name."""

from __future__ import annotations

import pytest

from sync.store import CorruptFileError, JournalState, Settings, SettingsError, Store


def test_opening_creates_nothing_and_first_writes_create_owner_only_files(tmp_path, monkeypatch):
    data = tmp_path / "atqbo-data"
    monkeypatch.setenv("ATQBO_DATA_DIR", str(data))
    store = Store.open()  # from the environment
    assert store.locations.data_dir == data
    assert store.settings.load() == Settings()
    assert store.errors.open_errors() == [] and store.journal.unfinished() == []
    assert store.secrets.get_qbo_tokens() is None and store.connection.get_qbo() is None
    assert not data.exists()
    store.set_setting("days_back", "5")
    store.journal.transition(1, None, JournalState.SEEN)
    assert sorted(p.relative_to(data).as_posix() for p in data.rglob("*") if p.is_file()) == [
        "journal/journal-v1-01.json",
        "settings.json",
    ]


def test_set_setting_routes_the_smtp_password_to_secrets(tmp_path):
    store = Store.open(tmp_path)
    store.set_setting("smtp_password", "pw-123")
    assert store.secrets.get_smtp_password().get_secret_value() == "pw-123"
    assert "pw-123" not in (tmp_path / "secrets.json").read_text().replace("pw-123", "", 1)
    assert not (tmp_path / "settings.json").exists()
    with pytest.raises(SettingsError, match="scan_interval_minutes: must be a whole number from 1 to 10080, got '0'"):
        store.set_setting("scan_interval_minutes", "0")


def test_damaged_journal_shard_names_the_file_and_keeps_it(tmp_path):
    store = Store.open(tmp_path)
    store.journal.transition(33, None, JournalState.SEEN)
    shard = tmp_path / "journal" / "journal-v1-01.json"
    shard.write_text('{"journal": {"33": {"po_id": 33, "sta')
    with pytest.raises(CorruptFileError) as info:
        Store.open(tmp_path).journal.unfinished()
    assert str(shard) in str(info.value)
    assert shard.read_text() == '{"journal": {"33": {"po_id": 33, "sta'
    assert len(list(shard.parent.glob("journal-v1-01.json.corrupt-*"))) == 1


def test_damaged_settings_do_not_stop_the_log_from_opening(tmp_path):
    (tmp_path / "settings.json").write_text("{oops")
    store = Store.open(tmp_path)
    with pytest.raises(CorruptFileError, match="settings.json"):
        store.settings.load()
    store.errors.add(po_id=1, cause_code="qbo_error", cause="c", fix="f")
    assert len(Store.open(tmp_path).errors) == 1
    assert (tmp_path / "settings.json").read_text() == "{oops"
