"""Property tests of the command line's arguments (hypothesis): PO ids, log ids, --limit and
settings values. What is valid is accepted as the number it spells; anything else is exit 2
with a message that names the argument and says what it must be, never a traceback, never a
raw control character, and never anything saved.

Run in this process through the same entry point (`console.cli.main`), so a few hundred
examples take seconds; the process-level behaviour has its own subprocess tests."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from cli_helpers import in_process
from console.cli import _build_parser
from sync.ids import MAX_ID
from sync.settings import (MAX_DAYS_BACK, MAX_LOG_ENTRIES, MAX_LOG_RETENTION_DAYS, MAX_SCAN_INTERVAL_MINUTES,
                           parse_value)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ASCII_ID = re.compile(r"[ \t]*[0-9]+[ \t]*")
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

valid_ids = st.integers(min_value=1, max_value=MAX_ID)
# Spellings of a valid id an operator may type: leading zeros, spaces around it.
spelled = st.tuples(valid_ids, st.sampled_from(["", "0", "00"]), st.sampled_from(["", " ", "  "]))
other_digits = st.characters(categories=["Nd"]).filter(lambda c: not "0" <= c <= "9")
not_ids = st.one_of(
    st.text(max_size=30),
    st.integers(max_value=0).map(str),
    st.integers(min_value=MAX_ID + 1, max_value=2**80).map(str),
    st.text(other_digits, min_size=1, max_size=5),  # '٣', '５', '߃' ... int() would take them
    st.floats(allow_nan=True).map(str),
    st.builds(lambda n, junk: f"{n}{junk}", valid_ids, st.text(min_size=1, max_size=3)),
)


def _is_id(text: str) -> bool:
    return bool(ASCII_ID.fullmatch(text)) and 1 <= int(text) <= MAX_ID


def _clear_refusal(result, command: str, what: str, text: str) -> None:
    assert result.returncode == 2, (text, result)
    assert "Traceback" not in result.stderr + result.stdout
    assert not RAW_CONTROL.search(result.stderr), result.stderr
    assert result.stderr.startswith(f"atqbo {command}: ")
    if not text.startswith("-"):  # (argparse reads a leading '-' as an option: its own words)
        assert what in result.stderr, result.stderr
        assert len(result.stderr) < 600  # a bounded quote of the input, not all of it


@FAST
@given(spelled)
def test_a_valid_po_id_is_accepted_as_the_number_it_spells(parts):
    number, zeros, space = parts
    text = f"{space}{zeros}{number}{space}"
    assert _build_parser().parse_args(["sync-one", text]).po_id == number


@FAST
@given(not_ids)
@example("٣")
@example(str(2**63))
@example("0")
@example("")
@example(" ")
@example("1e3")
@example("\x1b[31m7")
def test_anything_else_is_refused_as_a_po_id_with_exit_2(capsys, text):
    assume(not _is_id(text) and "\x00" not in text)
    result = in_process(capsys, "sync-one", text, "--data-dir", tempfile.gettempdir() + "/atqbo-never-used")
    _clear_refusal(result, "sync-one", "must be the Autotask purchase order id", text)


@FAST
@given(spelled)
def test_a_valid_log_id_is_accepted(parts):
    number, zeros, space = parts
    assert _build_parser().parse_args(["retry", f"{space}{zeros}{number}{space}"]).log_id == number


@FAST
@given(not_ids)
@example("²")
@example(str(2**63))
@example("-1")
def test_anything_else_is_refused_as_a_log_id_with_exit_2(capsys, text):
    assume(not _is_id(text) and "\x00" not in text)
    result = in_process(capsys, "retry", text, "--data-dir", tempfile.gettempdir() + "/atqbo-never-used")
    _clear_refusal(result, "retry", "must be an error-log entry id", text)


@FAST
@given(st.one_of(st.integers(min_value=1, max_value=10_000_000).map(str), not_ids))
def test_logs_limit(capsys, text):
    if ASCII_ID.fullmatch(text) and 1 <= int(text) <= 10_000_000:
        assert _build_parser().parse_args(["logs", "--limit", text]).limit == int(text)
        return
    assume("\x00" not in text)
    result = in_process(capsys, "logs", "--limit", text, "--data-dir", tempfile.gettempdir() + "/atqbo-never-used")
    _clear_refusal(result, "logs", "must be a whole number from 1 to 10000000", text)


# ---------------------------------------------------------------- settings values

BOUNDS = {"days_back": (0, MAX_DAYS_BACK), "scan_interval_minutes": (1, MAX_SCAN_INTERVAL_MINUTES),
          "log_retention_days": (0, MAX_LOG_RETENTION_DAYS), "log_max_entries": (1000, MAX_LOG_ENTRIES),
          "smtp_port": (1, 65535), "todo_action_type": (1, MAX_ID), "todo_resource": (1, MAX_ID)}
numeric_keys = st.sampled_from(sorted(BOUNDS))


def _set(capsys, folder: Path, key: str, value: str):
    return in_process(capsys, "settings", "set", key, value, "--data-dir", str(folder))


def _saved(folder: Path) -> dict:
    path = folder / "settings.json"
    return json.loads(path.read_text())["settings"]["1"]["values"] if path.exists() else {}


@FAST
@given(numeric_keys, st.data())
def test_a_number_within_its_bounds_is_saved_as_that_number(capsys, key, data):
    low, high = BOUNDS[key]
    number = data.draw(st.integers(min_value=low, max_value=high))
    with tempfile.TemporaryDirectory() as folder:
        result = _set(capsys, Path(folder), key, f" {number} ")
        assert result.returncode == 0, result.stderr
        assert _saved(Path(folder))[key] == number


@FAST
@given(numeric_keys, st.one_of(st.integers().map(str), not_ids))
@example("days_back", str(10**9))
@example("days_back", "٣")
@example("scan_interval_minutes", str(2**70))
def test_a_number_out_of_bounds_or_not_a_number_is_refused_and_nothing_saved(capsys, key, text):
    low, high = BOUNDS[key]
    stripped = text.strip().removeprefix("+")  # (settings values: surrounding whitespace ignored)
    assume(not (re.fullmatch(r"[0-9]+", stripped) and low <= int(stripped) <= high))
    assume(text.strip() != "" and "\x00" not in text and not text.startswith("-"))  # ("" clears it)
    with tempfile.TemporaryDirectory() as folder:
        _set(capsys, Path(folder), key, str(low))  # something saved before
        result = _set(capsys, Path(folder), key, text)
        assert result.returncode == 2, (text, result)
        assert result.stderr.startswith(f"atqbo: {key}: must be ") and "nothing was saved" in result.stderr
        assert "Traceback" not in result.stderr and not RAW_CONTROL.search(result.stderr)
        assert _saved(Path(folder))[key] == low


CHOICES = {"po_number_source": ("quickbooks", "autotask"), "missing_item": ("create", "error"),
           "smtp_starttls": ("true", "yes", "on", "1", "false", "no", "off", "0")}


@FAST
@given(st.sampled_from(sorted(CHOICES)), st.data())
def test_a_choice_is_accepted_in_any_case_and_anything_else_refused(capsys, key, data):
    word = data.draw(st.one_of(st.sampled_from(CHOICES[key]), st.text(max_size=12)))
    assume("\x00" not in word and not word.startswith("-"))
    valid = word.strip().lower() in CHOICES[key]
    if valid:
        word = data.draw(st.sampled_from([word, word.upper(), f" {word.title()} "]))
    with tempfile.TemporaryDirectory() as folder:
        result = _set(capsys, Path(folder), key, word)
        if valid:
            assert result.returncode == 0, result.stderr
            expected = parse_value(key, word)
            assert _saved(Path(folder))[key] == getattr(expected, "value", expected)
        elif word.strip() == "":
            assert result.returncode == 0 and key not in _saved(Path(folder))  # '' = back to the default
        else:
            assert result.returncode == 2 and result.stderr.startswith(f"atqbo: {key}: must be ")
            assert "Traceback" not in result.stderr and _saved(Path(folder)) == {}


@FAST
@given(st.one_of(spelled.map(lambda p: f"{p[2]}{p[1]}{p[0]}{p[2]}"), not_ids))
def test_the_console_sync_one_screen_accepts_exactly_what_the_cli_accepts(text):
    from screens.sync_one import validate_po_id

    assume("\x00" not in text and not text.startswith("-"))
    try:
        cli = _build_parser().parse_args(["sync-one", text]).po_id
    except SystemExit:
        cli = None
    screen, problem = validate_po_id(text)
    assert screen == cli
    assert (problem == "") == (cli is not None)
