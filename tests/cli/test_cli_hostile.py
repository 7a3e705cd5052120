"""A hostile Autotask as the daemon meets it: a purchase-order page of the wrong shape, or a
zone answer that points the secret at another host, stops the scan with a cause that names
it. Before, a page without items read as "0 eligible" and the scan finished as if all was well."""

from __future__ import annotations

import httpx

from cli_helpers import atqbo, clean_env, creds, json_lines, seed_with_pos
from sync.store import Store


def test_a_po_page_without_items_stops_the_scan_with_a_named_cause_not_0_eligible(ready):
    w = ready(seed_with_pos(n_ok=2))
    httpx.post(w.server.url + "/_sandbox/faults", json={
        "kind": "wrong_shape", "service": "autotask", "path": "PurchaseOrders/query"}, timeout=10).raise_for_status()
    as_json = atqbo("--daemon", "--once", "--json", *w.dd)
    human = atqbo("--daemon", "--once", *w.dd)  # one data folder, one engine at a time

    lines = json_lines(as_json.stdout)
    stopped = [line for line in lines if line.get("event") == "scan_stopped"]
    assert len(stopped) == 1 and stopped[0]["service"] == "autotask"
    assert "PurchaseOrders/query" in stopped[0]["cause"] and "no list of items" in stopped[0]["cause"]
    summary = lines[-1]
    assert summary["stopped"] is True and "PurchaseOrders/query" in summary["stop_cause"]
    assert as_json.returncode != 0 and summary["exit_code"] == as_json.returncode

    out = human.stdout
    assert "0 eligible" not in out, out
    assert "PurchaseOrders/query" in out.strip().splitlines()[-2] + out.strip().splitlines()[-1]
    assert human.returncode == as_json.returncode
    assert w.bills() == []  # and nothing was half done


def test_an_evil_zone_answer_stops_the_scan_naming_the_host(ready):
    w = ready(seed_with_pos(n_ok=1))
    httpx.post(w.server.url + "/_sandbox/faults", json={
        "kind": "zone_url", "service": "autotask", "url": "https://collector.evil.example/ATServicesRest/"},
        timeout=10).raise_for_status()
    result = atqbo("--daemon", "--once", "--json", *w.dd)
    stopped = [line for line in json_lines(result.stdout) if line.get("event") == "scan_stopped"]
    assert len(stopped) == 1 and stopped[0]["cause_code"] == "autotask_untrusted_url"
    assert "collector.evil.example" in stopped[0]["cause"] and "nothing was sent" in stopped[0]["cause"]
    assert "--zone-url" in stopped[0]["fix"]
    secret = w.server.sandbox.credentials(w.server.url)["autotask"]["secret"]
    assert secret not in result.stdout + result.stderr


def test_connect_refuses_a_zone_answer_off_the_named_host_and_saves_nothing(sandbox, tmp_path):
    c = creds(sandbox)
    httpx.post(sandbox.url + "/_sandbox/faults", json={
        "kind": "zone_url", "service": "autotask", "url": "https://webservices9.autotask.net.evil.example/ATServicesRest/"},
        timeout=10).raise_for_status()
    at = c["autotask"]
    result = atqbo("connect", "autotask", "--data-dir", str(tmp_path), "--username", at["username"],
                   "--integration-code", at["integration_code"], "--zone-url", at["zone_lookup_url"],
                   env=clean_env(ATQBO_AUTOTASK_SECRET=at["secret"]))
    assert result.returncode == 1
    assert "webservices9.autotask.net.evil.example" in result.stderr and "Nothing was saved" in result.stderr
    assert "cannot reach" not in result.stderr
    assert at["secret"] not in result.stdout + result.stderr
    with Store.open(tmp_path) as store:
        assert store.connection.get_autotask() is None and store.secrets.get_autotask_secret() is None
