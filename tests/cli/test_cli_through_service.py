"""`sync-one`, `retry` and `settings set` while the service runs (`atqbo --daemon`, a real
process): the work goes to the service over its control socket, with the same output, exit
codes and --json as without it — instead of refusing because the engine lock is held."""

from __future__ import annotations

import signal
import time

import pytest

from cli_helpers import AP, atqbo, json_lines, seed_with_pos, spawn
from sync.store import Store

SUMMARY_KEYS = {"scanned", "synced", "failed", "skipped", "todos_created", "api_calls", "duration_s", "exit_code"}


def _read_until(proc, predicate, timeout: float = 30.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if predicate(line):
            return seen
    raise AssertionError("the service did not say it; it said:\n" + "\n".join(seen))


@pytest.fixture
def service(ready):
    """A data folder with its service running; days_back 0 so its own scans transfer nothing."""
    started = []

    def start(seed):
        w = ready(seed, days_back=0, missing_item="error")
        proc = spawn("--daemon", *w.dd)
        started.append(proc)
        _read_until(proc, lambda line: "next scan at" in line)  # up, socket served, first scan done
        return w, proc

    yield start
    for proc in started:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=30)
        finally:
            proc.kill()


def test_sync_one_goes_through_the_service(service):
    w, proc = service(seed_with_pos(n_ok=2))
    human = atqbo("sync-one", "1", *w.dd)
    assert human.returncode == 0, human.stderr
    assert "PO 1 (id 1): synced as bill 1" in human.stdout
    as_json = atqbo("sync-one", "2", "--json", *w.dd)
    assert as_json.returncode == 0, as_json.stderr
    lines = json_lines(as_json.stdout)
    assert [line["event"] for line in lines[:-1]] == ["po_started", "po_synced"]
    summary = lines[-1]
    assert SUMMARY_KEYS <= set(summary) and summary["command"] == "sync-one"
    assert (summary["synced"], summary["failed"], summary["exit_code"]) == (1, 0, 0)
    assert summary["api_calls"]["autotask"] > 0 and summary["api_calls"]["qbo"] > 0
    assert summary["outcomes"][0]["doc_number"] == "2"
    again = atqbo("sync-one", "1", "--json", *w.dd)
    assert again.returncode == 2
    assert json_lines(again.stdout)[-1]["outcomes"][0]["cause_code"] == "po_already_synced"
    assert {p["id"]: p.get("externalPONumber") for p in w.pos()} == {1: "1", 2: "2"}
    assert len(w.bills()) == 2
    # the service did the work: its own log shows the POs it synced for us
    _read_until(proc, lambda line: "PO 2" in line and "bill 2" in line)


def test_a_failure_then_retry_one_and_all_through_the_service(service):
    w, proc = service(seed_with_pos(n_missing_item=1))
    failed = atqbo("sync-one", "1", "--json", *w.dd)
    assert failed.returncode == 3, failed.stderr
    lines = json_lines(failed.stdout)
    assert [line["cause_code"] for line in lines if line.get("event") == "po_failed"] == ["missing_item"]
    assert (lines[-1]["failed"], lines[-1]["todos_created"], lines[-1]["exit_code"]) == (1, 1, 3)
    log_id = lines[-1]["outcomes"][0]["log_id"]
    one = atqbo("retry", str(log_id), "--json", *w.dd)
    assert one.returncode == 3, one.stderr
    events = [line.get("event") for line in json_lines(one.stdout)[:-1]]
    assert events[0] == "retry_started" and "retry_finished" in events
    every = atqbo("retry", "--all-failed", *w.dd)
    assert every.returncode == 3 and "PO 1 (id 1): not synced:" in every.stdout
    unknown = atqbo("retry", "999", *w.dd)
    assert unknown.returncode == 2 and "no error-log entry with id 999" in unknown.stderr
    assert w.bills() == [] and len(w.todos()) == 1  # the same to-do, not one per attempt
    with Store.open(w.data_dir) as store:
        [entry] = store.errors.open_errors()
        assert entry.attempts == 3


def test_settings_set_goes_through_the_service(service):
    w, proc = service(seed_with_pos(n_ok=1))
    ok = atqbo("settings", "set", "days_back", "5", *w.dd)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "days_back = 5"
    with Store.open(w.data_dir) as store:
        assert store.settings.load().days_back == 5
    bad = atqbo("settings", "set", "days_back", "-3", *w.dd)
    assert bad.returncode == 2 and "nothing was saved" in bad.stderr
    unknown_account = atqbo("settings", "set", "ap_account", "no such account", "--json", *w.dd)
    assert unknown_account.returncode == 2
    assert "QuickBooks has no accounts-payable account" in unknown_account.stdout + unknown_account.stderr
    good_account = atqbo("settings", "set", "ap_account", AP, "--json", *w.dd)
    assert good_account.returncode == 0, good_account.stderr
    assert json_lines(good_account.stdout)[-1]["value"] == AP
    with Store.open(w.data_dir) as store:
        assert store.settings.load().days_back == 5 and store.settings.load().ap_account == AP
