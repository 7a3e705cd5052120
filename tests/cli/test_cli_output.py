"""How engine events are printed: one human line or one JSON object per event, for every
event type the engine has, and the run summary that --json promises as the last line."""

from __future__ import annotations

import dataclasses
import io
import json
import typing
from datetime import datetime, timezone
from decimal import Decimal

import pytest

from console.output import Printer, RunSummary, human_line, json_line, snake
from sync import events as ev

AT = datetime(2026, 11, 25, 22, 30, 10, tzinfo=timezone.utc)


def _sample(event_type: type) -> ev.Event:
    """An instance with a plausible value for every field (multi-line text on purpose)."""
    hints = typing.get_type_hints(event_type)
    values = {}
    for f in dataclasses.fields(event_type):
        if f.name == "at":
            continue
        hint = hints[f.name]
        text = str(hint)
        if hint is bool:
            values[f.name] = False
        elif hint is int or text.startswith("int"):
            values[f.name] = 7
        elif hint is float:
            values[f.name] = 1.5
        elif hint is Decimal:
            values[f.name] = Decimal("2765.47")
        elif hint is datetime:
            values[f.name] = AT
        elif "dict" in text:
            values[f.name] = {"autotask": 3, "qbo": 4}
        elif "tuple" in text:
            values[f.name] = ("days_back",)
        else:
            values[f.name] = "line one\nline two"
    return event_type(at=AT, **values)


@pytest.mark.parametrize("event_type", ev.EVENT_TYPES, ids=lambda t: t.__name__)
def test_every_event_prints_as_one_human_line_and_one_json_object(event_type):
    event = _sample(event_type)
    line = human_line(event)
    assert "\n" not in line
    assert line.startswith("2026-11-25T22:30:10Z ")
    record = json.loads(json_line(event))
    assert record["event"] == snake(event_type.__name__)
    assert record["ts"] == "2026-11-25T22:30:10Z" and record["level"] in ("info", "warning", "error")
    for f in dataclasses.fields(event_type):
        if f.name != "at":
            assert f.name in record


def test_human_lines_name_what_happened():
    synced = ev.PoSynced(at=AT, po_id=77, po_number="1042", bill_id="9", doc_number="1001", vendor="Acme",
                         amount=Decimal("250"), currency="USD", lines=1)
    assert human_line(synced).endswith("INFO    PO 1042 (id 77) synced as bill 1001 (Acme, 250.00 USD, 1 line)")
    failed = ev.PoFailed(at=AT, po_id=78, po_number="1043", cause_code="missing_item", cause="No item \"X\".",
                         fix="Create it.", log_id="5", todo_id=3)
    assert "WARNING PO 1043 (id 78) failed: No item \"X\". What to fix: Create it. [log 5]" in human_line(failed)
    assert json.loads(json_line(synced))["amount"] == "250"  # money stays exact: a string


def test_run_summary_adds_scans_and_reports_every_key():
    summary = RunSummary()
    for synced, failed, held, calls in ((2, 1, 0, {"autotask": 5, "qbo": 7}), (1, 0, 2, {"autotask": 2, "qbo": 3})):
        summary.add(ev.ScanFinished(scan_id="s", scanned=synced + failed + held, synced=synced, failed=failed,
                                    skipped=0, todos_created=failed, api_calls=calls, duration_s=1.0, held=held))
    summary.duration_s = 2.5
    record = summary.as_record(exit_code=3)
    assert record == {"scanned": 6, "synced": 3, "failed": 1, "skipped": 0, "held": 2, "todos_created": 1,
                      "api_calls": {"autotask": 7, "qbo": 10}, "duration_s": 2.5, "exit_code": 3}


def test_printer_json_mode_writes_only_json_lines():
    out = io.StringIO()
    printer = Printer(as_json=True, stream=out)
    printer.message("settings\nincomplete", level="error", keys=["days_back"])
    printer.event(ev.EngineStarted(at=AT))
    printer.summary({"synced": 0})
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[0]["message"] == "settings\nincomplete" and lines[0]["level"] == "error"
    assert lines[1]["event"] == "engine_started"
    assert lines[-1] == {"synced": 0}
    human = io.StringIO()
    Printer(as_json=False, stream=human).message("settings\n  incomplete")
    assert human.getvalue().count("\n") == 1 and "settings incomplete" in human.getvalue()


@pytest.mark.parametrize("as_json", [False, True])
def test_a_daemon_log_that_fills_the_disk_is_told_once_and_stdout_keeps_every_line(tmp_path, monkeypatch, as_json):
    import errno

    from console.output import LogFile

    log = LogFile(tmp_path / "logs" / "daemon.log")
    out = io.StringIO()
    printer = Printer(as_json, out)
    printer.tee(log)
    printer.message("first")

    def full(line: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(log, "write", full)
    printer.message("second")
    printer.message("third")

    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # first, second, the warning, third
    warning = lines[2]
    assert "daemon.log is no longer written (No space left on device); lines go to stdout only" in warning
    if as_json:
        assert all(json.loads(line) for line in lines)
        assert json.loads(warning)["level"] == "warning"
    assert "third" in lines[3]
    log.close()
    assert (tmp_path / "logs" / "daemon.log").read_text().count("\n") == 1  # only what fitted
