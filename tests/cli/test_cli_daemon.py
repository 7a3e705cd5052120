"""`atqbo --daemon` as a real process: --once with its exit codes and the JSON summary as the
last line, human log lines, clean stop on SIGTERM with a scan in flight (journal consistent),
SIGHUP reloading the settings, and refusal to run twice on one data folder."""

from __future__ import annotations

import json
import os
import signal
import time

from cli_helpers import API_RESOURCE, atqbo, atqbo_all, configure, connect_store, json_lines, seed_with_pos, spawn
from sync.store import JournalState, Store

SUMMARY_KEYS = {"scanned", "synced", "failed", "skipped", "todos_created", "api_calls", "duration_s", "exit_code"}


def test_once_json_all_synced_exit_0_and_summary_last(ready):
    w = ready(seed_with_pos(n_ok=2))
    result = atqbo("--daemon", "--once", "--json", *w.dd)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = json_lines(result.stdout)  # every line is JSON
    events = [line["event"] for line in lines[:-1]]
    assert "scan_started" in events and "scan_finished" in events and events.count("po_synced") == 2
    summary = lines[-1]
    assert SUMMARY_KEYS <= set(summary)
    assert (summary["scanned"], summary["synced"], summary["failed"], summary["skipped"]) == (2, 2, 0, 0)
    assert summary["todos_created"] == 0 and summary["exit_code"] == 0
    assert set(summary["api_calls"]) >= {"autotask", "qbo"} and summary["api_calls"]["qbo"] > 0
    assert summary["duration_s"] > 0
    assert len(w.bills()) == 2
    c = w.server.sandbox.credentials(w.server.url)
    for secret in (c["autotask"]["secret"], c["oauth"]["client_secret"], c["oauth"]["refresh_token"]):
        assert secret not in result.stdout + result.stderr


def test_once_with_failures_exit_3_human_lines(ready):
    w = ready(seed_with_pos(n_ok=1, n_missing_item=1))
    result = atqbo("--daemon", "--once", *w.dd)
    assert result.returncode == 3
    out = result.stdout
    assert "INFO    PO 1 (id 1) synced as bill 1" in out
    assert "WARNING PO 2 (id 2) failed: No QuickBooks item is named \"Cable\"" in out and "[log 1]" in out
    assert out.strip().splitlines()[-1].startswith("summary: 2 eligible, 1 synced, 1 failed")
    assert out.strip().endswith("exit code 3")


def test_once_configuration_and_connection_problems(serve, tmp_path):
    server = serve(seed_with_pos(n_ok=1))
    incomplete, bad_secret, fresh = tmp_path / "incomplete", tmp_path / "bad", tmp_path / "fresh"
    connect_store(incomplete, server)
    configure(incomplete, days_back=7)
    connect_store(bad_secret, server, autotask_secret="expired-password")
    configure(bad_secret, days_back=7, ap_account="33", todo_action_type=3, todo_resource=API_RESOURCE)
    missing, auth, unconnected = atqbo_all(
        (["--daemon", "--once", "--json", "--data-dir", str(incomplete)], None),
        (["--daemon", "--once", "--json", "--data-dir", str(bad_secret)], None),
        (["--daemon", "--once", "--data-dir", str(fresh)], None),
    )
    assert missing.returncode == 2
    last = json_lines(missing.stdout)[-1]
    assert last["exit_code"] == 2 and "ap_account" in last["error"]
    assert auth.returncode == 1, auth.stdout
    lines = json_lines(auth.stdout)
    stopped = [line for line in lines if line.get("event") == "scan_stopped"]
    assert stopped and stopped[0]["cause_code"] == "autotask_auth"
    assert lines[-1]["exit_code"] == 1 and lines[-1]["stopped"] is True
    assert "expired-password" not in auth.stdout + auth.stderr
    assert unconnected.returncode == 2 and "Autotask is not connected" in unconnected.stdout
    assert server.sandbox and not any(p.get("externalPONumber") for p in _pos(server))


def _pos(server):
    import httpx

    state = httpx.get(server.url + "/_sandbox/state", timeout=10).json()
    return list(state["autotask"]["entities"].get("PurchaseOrders", []))


def test_second_daemon_on_the_same_folder_is_refused(ready):
    w = ready(seed_with_pos(n_ok=1))
    with Store.open(w.data_dir) as holder:
        holder.acquire_engine_lock()
        result = atqbo("--daemon", "--once", "--json", *w.dd)
    assert result.returncode == 1
    assert f"already running in process {os.getpid()}" in json_lines(result.stdout)[-1]["error"]


def _read_until(proc, predicate, timeout: float = 30.0) -> list[str]:
    """Lines from the daemon's stdout up to and including the first that satisfies predicate."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line.rstrip("\n"))
        if predicate(line):
            return seen
    raise AssertionError("daemon did not say it; it said:\n" + "\n".join(seen))


def test_sigterm_during_a_scan_stops_cleanly_and_a_second_one_at_once(ready):
    # Slow services (150 ms per call): a scan of 70 POs takes seconds, SIGTERM lands mid-scan.
    # Groups are 1, 30, 30, 9 and a group's write-backs overlap the next group's bills: after
    # the first PO is synced, at most the groups already sent (61 POs) finish.
    n = 70
    w = ready(seed_with_pos(n_ok=n), latency_ms=150)
    proc = spawn("--daemon", "--json", *w.dd)
    try:
        _read_until(proc, lambda line: '"event": "po_synced"' in line)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    lines = json_lines(out)
    events = [line.get("event") for line in lines]
    assert any("SIGTERM received" in line.get("message", "") for line in lines)
    assert "scan_finished" in events and events.index("engine_stopped") > events.index("scan_finished")
    summary = lines[-1]
    assert summary["interrupted"] is True and summary["exit_code"] == 0
    assert 1 <= summary["synced"] <= 61 and summary["synced"] + summary["skipped"] == n
    # The journal and both systems agree: every bill is written back, nothing half-done.
    bills = {b["DocNumber"] for b in w.bills()}
    numbers = {p["id"]: p.get("externalPONumber") for p in w.pos()}
    assert len(bills) == summary["synced"]
    assert {n for n in numbers.values() if n} == bills
    with Store.open(w.data_dir) as store:
        states = {e.po_id: e.state for e in store.journal.all()}
    assert not any(s in (JournalState.BILL_REQUESTED, JournalState.BILL_CREATED) for s in states.values())
    assert {po for po, s in states.items() if s is JournalState.WRITTEN_BACK} == {
        po for po, n in numbers.items() if n}

    # Again, and this time the operator insists: the second SIGTERM stops at once.
    proc = spawn("--daemon", "--json", *w.dd)
    try:
        _read_until(proc, lambda line: '"event": "po_started"' in line)
        proc.send_signal(signal.SIGTERM)
        _read_until(proc, lambda line: "SIGTERM received" in line)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "received again: stopping now" in out

    # The next run finishes what is left (or was cut short), and creates no bill twice.
    rest = atqbo("--daemon", "--once", "--json", *w.dd)
    assert rest.returncode == 0, rest.stdout
    bills = w.bills()
    assert len(bills) == n
    notes = [b.get("PrivateNote", "") for b in bills]
    for po in w.pos():
        assert sum(f"(Autotask PO id {po['id']})" in n for n in notes) == 1
        assert po["externalPONumber"] in {b["DocNumber"] for b in bills}


def test_sighup_reloads_settings_and_says_what_changed(ready):
    # One PO fails in the first scan: a daemon stopped by SIGTERM still exits 0 (a clean stop).
    w = ready(seed_with_pos(n_ok=1, n_missing_item=1))
    proc = spawn("--daemon", *w.dd)
    try:
        _read_until(proc, lambda line: "next scan at" in line)  # the first scan is done
        configure(w.data_dir, days_back=30, notify_email="ops@example.com")
        proc.send_signal(signal.SIGHUP)
        reloaded = _read_until(proc, lambda line: "SIGHUP" in line)[-1]
        # A broken settings file is refused and the old settings stay.
        path = w.data_dir / "settings.json"
        good = path.read_text()
        path.write_text(good.replace('"days_back":30', '"days_back":-4'))
        proc.send_signal(signal.SIGHUP)
        refused = _read_until(proc, lambda line: "SIGHUP" in line)[-1]
        path.write_text(good)
        proc.send_signal(signal.SIGINT)  # Ctrl+C stops it the same way
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "settings reloaded; changed: days_back, notify_email" in reloaded
    assert "ERROR" in refused and "settings not reloaded, keeping the previous ones" in refused
    assert "days_back" in refused
    assert proc.returncode == 0
    assert "SIGINT received: stopping after the purchase order in flight" in out
    assert "engine stopped" in out


def test_demo_once_runs_on_the_built_in_sandbox_and_leaves_nothing_behind():
    import re

    result = atqbo("--daemon", "--once", "--demo", "--json", timeout=120)
    lines = json_lines(result.stdout)
    summary = lines[-1]
    # The demo company has purchase orders that sync and some that fail on purpose.
    assert result.returncode == summary["exit_code"] == (3 if summary["failed"] else 0)
    assert summary["synced"] > 0 and summary["scanned"] == summary["synced"] + summary["failed"] + summary["skipped"]
    started = next(line["message"] for line in lines if "daemon started" in line.get("message", ""))
    folder = re.search(r"data folder (\S+?)\)", started).group(1)
    assert "demo sandbox at http://127.0.0.1:" in started
    assert not os.path.exists(folder)  # the temporary data folder is gone


def test_the_daemon_also_logs_to_an_owner_only_file_in_the_data_folder(ready):
    import stat

    w = ready(seed_with_pos(n_ok=1))
    log = w.data_dir / "logs" / "daemon.log"
    log.parent.mkdir(parents=True)
    log.write_text("an earlier run\n")
    log.chmod(0o644)  # e.g. copied in by hand: tightened on open
    run = atqbo("--daemon", "--once", *w.dd)
    assert run.returncode == 0
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert log.read_text() == "an earlier run\n" + run.stdout  # the same lines, appended


def test_log_file_rotates_by_size(tmp_path):
    from console.output import LogFile

    log = LogFile(tmp_path / "logs" / "daemon.log", max_bytes=100, keep=2)
    for n in range(30):
        log.write(f"line {n:02d} " + "x" * 20)
    log.close()
    files = sorted(p.name for p in (tmp_path / "logs").iterdir())
    assert files == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    assert all(p.stat().st_size <= 100 for p in (tmp_path / "logs").iterdir())
    assert "line 29" in (tmp_path / "logs" / "daemon.log").read_text()
