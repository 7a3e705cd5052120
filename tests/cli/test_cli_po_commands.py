"""`atqbo sync-one`, `atqbo logs` and `atqbo retry` as subprocesses against the sandbox:
human and JSON output (the last JSON line is the summary), the contract's exit codes, and
the state both emulated systems are left in."""

from __future__ import annotations

from cli_helpers import API_RESOURCE, atqbo, atqbo_all, configure, connect_store, in_process, json_lines, seed_with_pos
from sync.store import Store

SUMMARY_KEYS = {"scanned", "synced", "failed", "skipped", "todos_created", "api_calls", "duration_s", "exit_code"}


def test_sync_one_success_human_and_json(ready):
    w = ready(seed_with_pos(n_ok=2))
    human = atqbo("sync-one", "1", *w.dd)
    assert human.returncode == 0, human.stderr
    assert "PO 1 (id 1): synced as bill 1" in human.stdout
    as_json = atqbo("sync-one", "2", "--json", *w.dd)
    assert as_json.returncode == 0
    lines = json_lines(as_json.stdout)
    assert any(line.get("event") == "po_synced" for line in lines[:-1])
    summary = lines[-1]
    assert SUMMARY_KEYS <= set(summary)
    assert (summary["synced"], summary["failed"], summary["exit_code"]) == (1, 0, 0)
    assert summary["api_calls"]["autotask"] > 0 and summary["api_calls"]["qbo"] > 0
    assert summary["outcomes"][0]["doc_number"] == "2"
    assert {p["id"]: p.get("externalPONumber") for p in w.pos()} == {1: "1", 2: "2"}
    assert len(w.bills()) == 2


def test_sync_one_failure_exits_3_and_is_logged(ready):
    w = ready(seed_with_pos(n_missing_item=1))
    result = atqbo("sync-one", "1", "--json", *w.dd)
    assert result.returncode == 3, result.stderr
    lines = json_lines(result.stdout)
    failed = [line for line in lines if line.get("event") == "po_failed"]
    assert failed and failed[0]["cause_code"] == "missing_item" and failed[0]["log_id"]
    summary = lines[-1]
    assert (summary["failed"], summary["todos_created"], summary["exit_code"]) == (1, 1, 3)
    [po] = w.pos()
    assert po["externalPONumber"] == "ERROR"
    assert len(w.todos()) == 1 and w.bills() == []
    with Store.open(w.data_dir) as store:
        [entry] = store.errors.open_errors()
        assert entry.po_id == 1 and entry.cause_code == "missing_item"


def test_sync_one_refusals_and_bad_configuration(ready, tmp_path, sandbox, capsys):
    w = ready(seed_with_pos(n_ok=1))
    assert atqbo("sync-one", "1", *w.dd).returncode == 0
    unconnected = tmp_path / "unconnected"
    incomplete = tmp_path / "incomplete"
    connect_store(incomplete, sandbox)
    configure(incomplete, days_back=7)
    # Variants through the same entry point in this process (one engine per folder: in turn).
    not_found = in_process(capsys, "sync-one", "999", *w.dd)
    already = in_process(capsys, "sync-one", "1", "--json", *w.dd)
    not_connected, missing = atqbo_all(
        (["sync-one", "1", "--data-dir", str(unconnected)], None),
        (["sync-one", "1", "--data-dir", str(incomplete)], None),
    )
    assert not_found.returncode == 2 and "Autotask has no purchase order with id 999" in not_found.stdout
    assert already.returncode == 2
    assert json_lines(already.stdout)[-1]["outcomes"][0]["cause_code"] == "po_already_synced"
    assert not_connected.returncode == 2 and "Autotask is not connected" in not_connected.stderr
    assert missing.returncode == 2 and "settings incomplete" in missing.stderr and "ap_account" in missing.stderr
    assert len(w.bills()) == 1  # nothing was created twice


def test_a_running_engine_holds_the_folder(ready):
    import os

    w = ready(seed_with_pos(n_ok=1))
    with Store.open(w.data_dir) as holder:
        holder.acquire_engine_lock()
        result = atqbo("sync-one", "1", *w.dd)
    assert result.returncode == 1
    assert f"already running in process {os.getpid()}" in result.stderr
    assert w.bills() == []


def test_sync_one_with_bad_credentials_is_fatal(serve, tmp_path):
    server = serve(seed_with_pos(n_ok=1))
    connect_store(tmp_path, server, autotask_secret="revoked-secret")
    configure(tmp_path, days_back=7, ap_account="33", todo_action_type=3, todo_resource=API_RESOURCE)
    result = atqbo("sync-one", "1", "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "Autotask" in result.stdout and "revoked-secret" not in result.stdout + result.stderr


def test_logs_and_retry(ready, capsys):
    w = ready(seed_with_pos(n_ok=1, n_missing_item=2))
    # A scan fails the two POs whose item is missing (missing_item = error).
    scan = atqbo("--daemon", "--once", *w.dd)
    assert scan.returncode == 3, scan.stdout + scan.stderr

    listing = atqbo("logs", *w.dd)
    empty_errors = in_process(capsys, "logs", "--errors", "--data-dir", str(w.data_dir / "nothing-here"))
    as_json = in_process(capsys, "logs", "--errors", "--json", *w.dd)
    limited = in_process(capsys, "logs", "--limit", "1", "--json", *w.dd)
    assert empty_errors.returncode == 0 and "no open errors" in empty_errors.stdout
    assert listing.returncode == 0
    assert "[1]" in listing.stdout and "[2]" in listing.stdout and "what to fix:" in listing.stdout
    entries = json_lines(as_json.stdout)
    assert [e["status"] for e in entries[:-1]] == ["open", "open"]
    assert entries[-1]["open"] == 2 and entries[-1]["exit_code"] == 0
    assert len(json_lines(limited.stdout)) == 2  # one entry, then the summary

    unknown = in_process(capsys, "retry", "99", *w.dd)
    not_numeric = in_process(capsys, "retry", "one", *w.dd)
    assert unknown.returncode == 2 and "no error-log entry with id 99" in unknown.stderr
    assert not_numeric.returncode == 2 and "must be an error-log entry id" in not_numeric.stderr

    # Retrying without a fix fails again: exit 3, the same entry (attempts 2), no new to-do.
    again = in_process(capsys, "retry", "1", "--json", *w.dd)
    assert again.returncode == 3
    assert json_lines(again.stdout)[-1]["failed"] == 1
    assert len(w.todos()) == 2

    # The operator fixes the cause (items are created now), then retries everything.
    configure(w.data_dir, missing_item="create", new_item_expense_account="80")
    fixed = atqbo("retry", "--all-failed", *w.dd)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "retried 2: 2 synced, 0 not" in fixed.stdout
    assert all(p["externalPONumber"] not in (None, "", "ERROR") for p in w.pos())
    assert len(w.bills()) == 3
    with Store.open(w.data_dir) as store:
        assert store.errors.open_errors() == []
        assert store.errors.get(1).attempts == 2

    nothing = in_process(capsys, "retry", "--all-failed", "--json", *w.dd)
    assert nothing.returncode == 0 and json_lines(nothing.stdout)[-1]["scanned"] == 0


def test_a_damaged_error_log_is_named_and_kept(tmp_path):
    from sync.store import Store as _Store

    with _Store.open(tmp_path) as store:
        store.errors.add(po_id=5, cause_code="missing_item", cause="c", fix="f")
    [segment] = list((tmp_path / "errors").glob("errors-*.json"))
    segment.write_text('{"truncated": ')
    result = atqbo("logs", "--json", "--data-dir", str(tmp_path))
    assert result.returncode == 2  # the operator's to fix, like a setting (DESIGN §5 "Machine faults named")
    assert str(segment) in result.stderr and "Nothing was overwritten" in result.stderr
    assert json_lines(result.stdout)[-1]["exit_code"] == 2
    assert segment.read_text() == '{"truncated": '
