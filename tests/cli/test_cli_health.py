"""`atqbo health` as a monitoring check: its exit code and JSON after real scans on the sandbox,
and each check turning degraded or down (an overdue scan, a refresh token about to expire or
expired, open errors, the API budget, a nearly full disk)."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta, timezone

from cli_helpers import atqbo, atqbo_all, in_process, seed_with_pos
from sync.store import Store


def _health(capsys, w) -> tuple[int, dict]:
    ran = in_process(capsys, "health", "--json", *w.dd)
    return ran.returncode, json.loads(ran.stdout.splitlines()[-1])


def test_health_before_and_after_scans(ready, capsys):
    w = ready(seed_with_pos(n_ok=1))
    never = in_process(capsys, "health", *w.dd)
    assert never.returncode == 2 and "atqbo DOWN" in never.stdout and "no scan has finished yet" in never.stdout
    assert atqbo("--daemon", "--once", *w.dd).returncode == 0
    human, as_json = atqbo_all((["health", *w.dd], None), (["health", "--json", *w.dd], None))
    assert human.returncode == 0, human.stdout + human.stderr
    assert "atqbo OK" in human.stdout and "last scan finished 0 min ago (interval 15 min)" in human.stdout
    data = json.loads(as_json.stdout.splitlines()[-1])
    assert as_json.returncode == 0 and data["status"] == "ok" and data["ok"] is True
    assert set(data["checks"]) == {"last_scan", "qbo_token", "open_errors", "held", "api_budget", "disk"}
    assert data["checks"]["held"] == {"status": "ok", "value": 0, "text": "no purchase order held for approval"}
    assert data["checks"]["api_budget"]["value"]["autotask"] > 0
    assert data["checks"]["disk"]["value"] > 0


def test_each_check_degrades_or_goes_down(ready, capsys, monkeypatch):
    w = ready(seed_with_pos(n_ok=1, n_missing_item=1))
    assert atqbo("--daemon", "--once", *w.dd).returncode == 3
    code, data = _health(capsys, w)
    assert code == 3 and data["checks"]["open_errors"] == {
        "status": "degraded", "value": 1,
        "text": "1 purchase orders failed and wait for the operator (atqbo logs --errors)"}
    now = datetime.now(timezone.utc)
    with Store.open(w.data_dir) as store:
        refresh = store.secrets.get_qbo_tokens().refresh_token.get_secret_value()
        store.secrets.save_qbo_tokens(refresh, refresh_expires_at=now + timedelta(days=3))
        scans = store.history.recent_scans()
    code, data = _health(capsys, w)
    assert data["checks"]["qbo_token"]["status"] == "degraded" and "expires in 3 days" in data["checks"]["qbo_token"]["text"]
    with Store.open(w.data_dir) as store:
        store.secrets.save_qbo_tokens(refresh, refresh_expires_at=now - timedelta(hours=1))
    code, data = _health(capsys, w)
    assert code == 2 and data["checks"]["qbo_token"]["status"] == "down"
    # An overdue scan (the service stopped scanning), then a busy hour of Autotask calls.
    with Store.open(w.data_dir) as store:
        store.secrets.save_qbo_tokens(refresh, refresh_expires_at=now + timedelta(days=90))
        store.errors.resolve(store.errors.open_errors()[0].id)
        store.history.record_scan({**scans[-1], "finished_at": (now - timedelta(minutes=40)).isoformat()})
    code, data = _health(capsys, w)
    assert (code, data["checks"]["last_scan"]["status"]) == (3, "degraded")
    with Store.open(w.data_dir) as store:
        store.history.record_scan({**scans[-1], "finished_at": (now - timedelta(minutes=61)).isoformat()})
    code, data = _health(capsys, w)
    assert (code, data["checks"]["last_scan"]["status"]) == (2, "down")
    with Store.open(w.data_dir) as store:
        store.history.record_scan({**scans[-1], "finished_at": now.isoformat(), "api_calls": {"autotask": 8500, "qbo": 3}})
    code, data = _health(capsys, w)
    assert (code, data["checks"]["api_budget"]["status"]) == (3, "degraded")
    assert "8500" in data["checks"]["api_budget"]["text"] or "85%" in data["checks"]["api_budget"]["text"]
    with Store.open(w.data_dir) as store:
        store.history.record_scan({**scans[-1], "finished_at": now.isoformat(), "stopped": True,
                                   "stop_cause": "auth_failed: QuickBooks refused the sign-in"})
    code, data = _health(capsys, w)
    assert code == 2 and "QuickBooks refused the sign-in" in data["checks"]["last_scan"]["text"]
    with Store.open(w.data_dir) as store:
        store.history.record_scan({**scans[-1], "finished_at": now.isoformat()})
    real = shutil.disk_usage
    monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=10 * 2**20))
    code, data = _health(capsys, w)
    assert code == 2 and data["checks"]["disk"]["status"] == "down" and "10 MB free" in data["checks"]["disk"]["text"]


def test_health_measures_the_hour_against_atqbos_share_of_it(ready, capsys):
    w = ready(seed_with_pos(n_ok=1))
    assert atqbo("--daemon", "--once", *w.dd).returncode == 0
    with Store.open(w.data_dir) as store:
        scan = store.history.recent_scans()[-1]
        store.history.record_scan({**scan, "finished_at": datetime.now(timezone.utc).isoformat(),
                                   "api_calls": {"autotask": 450, "qbo": 3}})
    code, data = _health(capsys, w)
    budget = data["checks"]["api_budget"]
    assert budget["status"] == "ok" and budget["value"]["autotask_cap"] == 5000  # the default 50 %
    with Store.open(w.data_dir) as store:
        store.settings.save(store.settings.load().with_value("autotask_hourly_share", 5))
    code, data = _health(capsys, w)
    budget = data["checks"]["api_budget"]
    # 450 and the first scan's requests: over 80 % of a 5 % share (500), though 5 % of the hour.
    assert budget["status"] == "degraded" and budget["value"]["autotask_cap"] == 500
    assert "share 5 % = 500" in budget["text"]
