"""`atqbo sandbox`: serves the emulators and prints URLs and credentials (first line with --json)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import httpx
import pytest

ATQBO = [sys.executable, "-m", "console.cli"]


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([*ATQBO, "sandbox", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(10)
    finally:
        proc.kill()


def test_json_first_line_lets_any_client_connect():
    proc = _start("--json", "--seed", "demo", "--latency-ms", "5", "--fault", "503,service=qbo,times=1")
    try:
        info = json.loads(proc.stdout.readline())
        url = info["url"]
        assert url.startswith("http://127.0.0.1:")
        at = info["autotask"]
        for key in ("username", "integration_code", "secret", "zone_lookup_url"):
            assert at[key], key
        for key in ("client_id", "client_secret", "refresh_token", "realm_id", "token_url", "auth_url"):
            assert info["oauth"][key], key
        assert info["qbo"]["realm_id"] == info["oauth"]["realm_id"]
        # What `connect quickbooks --environment --redirect-uri` needs, for both pairs of keys
        oauth = info["oauth"]
        assert oauth["environment"] == "sandbox" and oauth["redirect_uri"] == "http://localhost:8765/callback"
        assert oauth["redirect_uri"] in oauth["redirect_uris"]
        assert oauth["production"]["redirect_uris"][0].startswith("https://")
        consent = httpx.get(oauth["auth_url"], params={
            "client_id": oauth["client_id"], "response_type": "code", "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": oauth["redirect_uri"], "state": "s"})
        assert consent.status_code == 200 and "Connect" in consent.text

        zone = httpx.get(at["zone_lookup_url"], params={"user": at["username"]}).json()
        assert zone["url"] == url + "/ATServicesRest/"
        headers = {"ApiIntegrationCode": at["integration_code"], "UserName": at["username"], "Secret": at["secret"]}
        local = httpx.get(zone["url"] + "V1.0/Companies/0", headers=headers).json()["item"]
        assert local["companyName"] == "Northwind IT Services", "the demo seed is served"

        token = httpx.post(info["oauth"]["token_url"],
                           data={"grant_type": "refresh_token", "refresh_token": info["oauth"]["refresh_token"]},
                           auth=(info["oauth"]["client_id"], info["oauth"]["client_secret"]),
                           headers={"Accept": "application/json"}).json()
        api = f"{info['qbo']['api_url']}/v3/company/{info['qbo']['realm_id']}/companyinfo/{info['qbo']['realm_id']}"
        auth = {"Authorization": f"Bearer {token['access_token']}", "Accept": "application/json"}
        assert httpx.get(api, headers=auth).status_code == 503, "the --fault knob is applied"
        assert httpx.get(api, headers=auth).json()["CompanyInfo"]["CompanyName"] == "Northwind IT Services"
        assert httpx.get(url + "/_sandbox/knobs").json()["latency_ms"] == 5
    finally:
        assert _stop(proc) == 0


def test_human_output_names_urls_and_credentials():
    proc = _start("--seed", "empty")
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("atqbo sandbox serving on http://127.0.0.1:")
        assert "admin API" in lines[1]
    finally:
        assert _stop(proc) == 0


@pytest.mark.parametrize("args, message", [
    (["--fault", "418"], "unknown fault kind"),
    (["--fault", "429,every=often"], "every must be a number"),
    (["--fault", "429,colour=red"], "bad fault option"),
    (["--seed", "huge"], "invalid choice"),
    (["--port", "70000"], "--port: must be a port number from 0 to 65535"),
    (["--port", "٣"], "--port: must be a port number from 0 to 65535 (digits 0-9)"),
    (["--latency-ms", "-3"], "--latency-ms must be >= 0"),
])
def test_bad_arguments_exit_2_with_a_clear_message(args, message):
    result = subprocess.run([*ATQBO, "sandbox", *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert message in result.stderr


def test_a_taken_port_is_a_fatal_error_not_a_traceback():
    proc = _start("--json", "--seed", "empty")
    try:
        port = json.loads(proc.stdout.readline())["url"].rsplit(":", 1)[1]
        result = subprocess.run([*ATQBO, "sandbox", "--port", port], capture_output=True, text=True, timeout=30)
        assert result.returncode == 1
        assert f"cannot listen on port {port}" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        _stop(proc)
