"""Settings: every problem reported with its key, string parsing, readiness, migration, saving."""

from __future__ import annotations

import json

import pytest

from sync.settings import (
    SCHEMA_VERSION,
    MissingItem,
    PoNumberSource,
    Settings,
    SettingsError,
)
from sync.store.errors import NewerSchemaError
from sync.store.settings_store import SettingsStore, migrate

COMPLETE = {
    "days_back": 30,
    "ap_account": "33",
    "todo_action_type": 4,
    "todo_resource": 29682885,
}


def test_defaults():
    s = Settings()
    assert s.scan_interval_minutes == 15
    assert s.po_number_source is PoNumberSource.QUICKBOOKS
    assert s.missing_item is MissingItem.ERROR
    assert s.days_back is None and s.smtp_starttls is True and s.smtp_port == 587


def test_all_problems_are_reported_at_once_naming_each_key():
    with pytest.raises(SettingsError) as info:
        Settings.from_values(
            {
                "days_back": "abc",
                "po_number_source": "excel",
                "missing_item": "ignore",
                "scan_interval_minutes": 0,
                "notify_email": "ops@",
                "smtp_port": "70000",
                "smtp_starttls": "maybe",
                "todo_resource": -3,
                "colour": "blue",
            }
        )
    problems = {p.key: p.message for p in info.value.problems}
    assert set(problems) == {
        "days_back", "po_number_source", "missing_item", "scan_interval_minutes", "notify_email",
        "smtp_port", "smtp_starttls", "todo_resource", "colour",
    }
    assert "days_back: must be a whole number from 0 to 3650, got 'abc'" in str(info.value)
    assert problems["po_number_source"] == "must be 'quickbooks' or 'autotask', got 'excel'"
    assert problems["scan_interval_minutes"] == "must be a whole number from 1 to 10080, got 0"
    assert "e-mail address" in problems["notify_email"]
    assert "unknown setting" in problems["colour"]


@pytest.mark.parametrize("raw", ["-1", "1.5", "ten", True, 2.0, ""])
def test_days_back_rejects_non_whole_or_negative(raw):
    if raw == "":
        assert Settings().with_value("days_back", raw).days_back is None  # blank = unset
        return
    with pytest.raises(SettingsError, match=r"^invalid settings:\n  days_back: must be a whole number from 0 to 3650"):
        Settings().with_value("days_back", raw)


@pytest.mark.parametrize("raw", [0, 101, -5, "50%", 12.5, True, "abc"])
def test_autotask_hourly_share_is_a_whole_percent_from_1_to_100(raw):
    assert Settings().autotask_hourly_share == 50
    with pytest.raises(SettingsError) as err:
        Settings.from_values({"autotask_hourly_share": raw})
    assert [p.key for p in err.value.problems] == ["autotask_hourly_share"]
    assert "whole percent from 1 to 100" in str(err.value)
    assert Settings.from_values({"autotask_hourly_share": " 5 "}).autotask_hourly_share == 5
    assert Settings.from_values({"autotask_hourly_share": 100}).autotask_hourly_share == 100


def test_values_parse_from_command_line_strings():
    s = Settings()
    for key, raw in [
        ("days_back", "0"), ("po_number_source", "AutoTask"), ("missing_item", "create"),
        ("new_item_expense_account", " 80 "), ("scan_interval_minutes", "5"), ("notify_email", "ops@example.com"),
        ("smtp_host", "smtp.example.com"), ("smtp_port", "465"), ("smtp_starttls", "no"), ("smtp_from", "atqbo@example.com"),
    ]:
        s = s.with_value(key, raw)
    assert s.days_back == 0 and s.po_number_source is PoNumberSource.AUTOTASK
    assert s.missing_item is MissingItem.CREATE and s.new_item_expense_account == "80"
    assert s.smtp_port == 465 and s.smtp_starttls is False and s.scan_interval_minutes == 5
    assert s.with_value("smtp_port", "").smtp_port == 587  # blank → back to the default


def test_smtp_password_is_not_a_setting():
    with pytest.raises(SettingsError, match="smtp_password: is a secret"):
        Settings().with_value("smtp_password", "hunter2")


def test_missing_for_scan_lists_required_keys():
    assert [p.key for p in Settings().missing_for_scan()] == ["days_back", "ap_account", "todo_action_type", "todo_resource"]
    ready = Settings.from_values(COMPLETE)
    assert ready.ready_to_scan()
    creating = ready.with_value("missing_item", "create")
    assert [p.key for p in creating.missing_for_scan()] == ["new_item_expense_account"]
    assert creating.with_value("new_item_expense_account", "80").ready_to_scan()


def test_migration_from_unversioned_v0_document():
    v0 = {"days_back": "14", "ap_account": "33", "scan_interval_minutes": "30", "missing_item": "create"}
    doc = migrate(v0)
    assert doc == {"schema_version": SCHEMA_VERSION, "values": v0}
    s = Settings.from_values(doc["values"])
    assert s.days_back == 14 and s.scan_interval_minutes == 30 and s.missing_item is MissingItem.CREATE


def test_migration_keeps_current_version_and_refuses_newer():
    doc = {"schema_version": 1, "values": {"days_back": 3}}
    assert migrate(doc) == doc
    with pytest.raises(NewerSchemaError, match="newer atqbo"):
        migrate({"schema_version": SCHEMA_VERSION + 1, "values": {}})


def test_store_round_trip_and_v0_file_on_disk(tmp_path):
    path = tmp_path / "settings.json"
    # A v0 file: flat values, no schema_version.
    path.write_text(json.dumps({"settings": {"1": {"days_back": "7", "todo_resource": "12"}}}))
    store = SettingsStore(path)
    loaded = store.load()
    assert loaded.days_back == 7 and loaded.todo_resource == 12
    store.save(loaded.with_value("ap_account", "33"))
    on_disk = json.loads(path.read_text())["settings"]["1"]
    assert on_disk["schema_version"] == SCHEMA_VERSION
    assert on_disk["values"]["days_back"] == 7 and on_disk["values"]["ap_account"] == "33"
    assert SettingsStore(path).load() == loaded.with_value("ap_account", "33")


def test_store_set_bad_value_saves_nothing(tmp_path):
    store = SettingsStore(tmp_path / "settings.json")
    store.set("days_back", "10")
    before = (tmp_path / "settings.json").read_bytes()
    with pytest.raises(SettingsError, match="days_back: must be a whole number from 0 to 3650, got 'abc'"):
        store.set("days_back", "abc")
    with pytest.raises(SettingsError, match="nonsense: unknown setting"):
        store.set("nonsense", "1")
    assert (tmp_path / "settings.json").read_bytes() == before
    assert store.set("days_back", "").days_back is None


def test_invalid_values_in_the_file_are_reported_with_the_file_and_kept(tmp_path):
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"settings": {"1": {"schema_version": 1, "values": {"days_back": -4, "smtp_port": "x"}}}}))
    store = SettingsStore(path)
    with pytest.raises(SettingsError) as info:
        store.load()
    assert str(path) in str(info.value)
    assert {p.key for p in info.value.problems} == {"days_back", "smtp_port"}
    # Fixing one key works and keeps the other (still reported).
    with pytest.raises(SettingsError) as info:
        store.set("days_back", "4")
    assert [p.key for p in info.value.problems] == ["smtp_port"]
    assert store.raw_values() == {"days_back": 4, "smtp_port": "x"}
    assert store.set("smtp_port", "25").smtp_port == 25
