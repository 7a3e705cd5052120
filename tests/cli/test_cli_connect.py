"""`atqbo connect autotask|quickbooks` against the sandbox over real sockets: secrets only from
the environment (or a prompt, or the interactive sign-in), checked before saving, clear
messages and exit codes when something is wrong, and no secret in any output or plain file."""

from __future__ import annotations

import json
import re
import socket
import stat
import threading
from urllib.parse import parse_qs, urlsplit

import httpx

from cli_helpers import atqbo, clean_env, creds, in_process, json_lines, spawn
from sync.store import Store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _at_args(c: dict, data_dir, **over) -> list[str]:
    at = c["autotask"]
    args = {"--username": at["username"], "--integration-code": at["integration_code"],
            "--zone-url": at["zone_lookup_url"], **over}
    return ["connect", "autotask", "--data-dir", str(data_dir), *[x for kv in args.items() for x in kv]]


def _qb_args(c: dict, data_dir, *, realm=True, **over) -> list[str]:
    o, q = c["oauth"], c["qbo"]
    args = {"--client-id": o["client_id"], "--api-url": q["api_url"], "--auth-url": o["auth_url"],
            "--token-url": o["token_url"], **over}
    if realm:
        args.setdefault("--realm-id", o["realm_id"])
    return ["connect", "quickbooks", "--data-dir", str(data_dir), *[x for kv in args.items() for x in kv]]


def _no_secret_anywhere(result, data_dir, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in result.stdout and secret not in result.stderr
    for path in data_dir.glob("*") if data_dir.exists() else []:
        if path.name != "secrets.json":
            text = path.read_text(errors="replace")
            for secret in secrets:
                assert secret not in text, path


def test_connect_autotask_verifies_then_saves(sandbox, tmp_path):
    c = creds(sandbox)
    secret = c["autotask"]["secret"]
    result = atqbo(*_at_args(c, tmp_path), env=clean_env(ATQBO_AUTOTASK_SECRET=secret))
    assert result.returncode == 0, result.stderr
    assert "Autotask connected" in result.stdout and c["autotask"]["username"] in result.stdout
    with Store.open(tmp_path) as store:
        conn = store.connection.get_autotask()
        assert (conn.username, conn.integration_code) == (c["autotask"]["username"], c["autotask"]["integration_code"])
        assert store.secrets.get_autotask_secret().get_secret_value() == secret
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600
    _no_secret_anywhere(result, tmp_path, secret)
    # The sandbox saw the zone lookup and an authenticated call.
    stats = httpx.get(sandbox.url + "/_sandbox/stats").json()
    assert "autotask" in json.dumps(stats)


def test_connect_autotask_json_result(sandbox, tmp_path):
    c = creds(sandbox)
    result = atqbo(*_at_args(c, tmp_path), "--json", env=clean_env(ATQBO_AUTOTASK_SECRET=c["autotask"]["secret"]))
    assert result.returncode == 0
    last = json_lines(result.stdout)[-1]
    assert last["ok"] is True and last["service"] == "autotask" and last["zone"]


def test_connect_autotask_failures_say_what_is_wrong_and_save_nothing(sandbox, tmp_path, capsys, monkeypatch):
    c = creds(sandbox)
    good = c["autotask"]["secret"]
    # As a process: a wrong secret.
    bad_secret = atqbo(*_at_args(c, tmp_path), env=clean_env(ATQBO_AUTOTASK_SECRET="wrong-secret-123"))
    assert bad_secret.returncode == 1
    assert "refused the credentials" in bad_secret.stderr and "secret" in bad_secret.stderr
    assert "wrong-secret-123" not in bad_secret.stderr + bad_secret.stdout

    # The other variants through the same entry point, in this process.
    monkeypatch.setenv("ATQBO_AUTOTASK_SECRET", good)
    unknown = in_process(capsys, *_at_args(c, tmp_path, **{"--username": "nobody@example.com"}))
    assert unknown.returncode == 1
    assert "does not know the API user 'nobody@example.com'" in unknown.stderr

    # A wrong integration code: Autotask answers 500, not 401; still said as a credentials problem.
    wrong_code = in_process(capsys, *_at_args(c, tmp_path, **{"--integration-code": "WRONG-CODE-42"}))
    assert wrong_code.returncode == 1
    assert "refused the credentials" in wrong_code.stderr and "integration code" in wrong_code.stderr
    assert "WRONG-CODE-42" not in wrong_code.stderr + wrong_code.stdout

    port = _free_port()
    unreachable = in_process(capsys, *_at_args(c, tmp_path, **{"--zone-url": f"http://127.0.0.1:{port}"}), "--json")
    assert unreachable.returncode == 1
    assert f"cannot reach the Autotask zone lookup at http://127.0.0.1:{port}" in unreachable.stderr
    assert json_lines(unreachable.stdout)[-1] == {"ok": False, "exit_code": 1,
                                                  "error": unreachable.stderr.strip().removeprefix("atqbo: ")}

    # No secret in the environment and no terminal to ask on: a usage error, not a hang.
    monkeypatch.delenv("ATQBO_AUTOTASK_SECRET")
    no_secret = in_process(capsys, *_at_args(c, tmp_path))
    assert no_secret.returncode == 2
    assert "ATQBO_AUTOTASK_SECRET" in no_secret.stderr

    with Store.open(tmp_path) as store:
        assert store.connection.get_autotask() is None
        assert store.secrets.get_autotask_secret() is None


def test_connect_quickbooks_with_refresh_token(sandbox, tmp_path):
    c = creds(sandbox)
    o = c["oauth"]
    env = clean_env(ATQBO_QBO_CLIENT_SECRET=o["client_secret"], ATQBO_QBO_REFRESH_TOKEN=o["refresh_token"])
    result = atqbo(*_qb_args(c, tmp_path), env=env)
    assert result.returncode == 0, result.stderr
    assert "QuickBooks Online connected" in result.stdout and o["realm_id"] in result.stdout
    with Store.open(tmp_path) as store:
        conn = store.connection.get_qbo()
        assert (conn.client_id, conn.realm_id) == (o["client_id"], o["realm_id"])
        assert store.secrets.get_qbo_client_secret().get_secret_value() == o["client_secret"]
        tokens = store.secrets.get_qbo_tokens()
        # Intuit rotates refresh tokens: the one kept is the newest, not the one from the env.
        assert tokens is not None and tokens.access_token
    _no_secret_anywhere(result, tmp_path, o["client_secret"], o["refresh_token"])


def test_a_failed_reconnect_leaves_the_working_connection_alone(sandbox, tmp_path, capsys, monkeypatch):
    c = creds(sandbox)
    o = c["oauth"]
    monkeypatch.setenv("ATQBO_QBO_CLIENT_SECRET", o["client_secret"])
    monkeypatch.setenv("ATQBO_QBO_REFRESH_TOKEN", o["refresh_token"])
    assert in_process(capsys, *_qb_args(c, tmp_path)).returncode == 0
    with Store.open(tmp_path) as store:
        before = (store.connection.get_qbo(), store.secrets.get_qbo_tokens().refresh_token.get_secret_value())
    # The operator tries another company id; the refresh works, CompanyInfo is refused.
    wrong = in_process(capsys, *_qb_args(c, tmp_path, **{"--realm-id": "123"}))
    assert wrong.returncode == 1 and "Nothing was saved" in wrong.stderr
    with Store.open(tmp_path) as store:
        after = (store.connection.get_qbo(), store.secrets.get_qbo_tokens().refresh_token.get_secret_value())
    assert after == before


def test_connect_quickbooks_failures(sandbox, tmp_path, capsys, monkeypatch):
    c = creds(sandbox)
    o = c["oauth"]
    # As a process: Intuit refuses the client secret.
    bad_client = atqbo(*_qb_args(c, tmp_path), env=clean_env(ATQBO_QBO_CLIENT_SECRET="nope",
                                                              ATQBO_QBO_REFRESH_TOKEN=o["refresh_token"]))
    assert bad_client.returncode == 1
    assert "invalid_client" in bad_client.stderr and "client secret is wrong" in bad_client.stderr

    monkeypatch.setenv("ATQBO_QBO_CLIENT_SECRET", o["client_secret"])
    monkeypatch.setenv("ATQBO_QBO_REFRESH_TOKEN", "AB11-not-a-token")
    bad_token = in_process(capsys, *_qb_args(c, tmp_path))
    assert bad_token.returncode == 1
    assert "invalid_grant" in bad_token.stderr and "AB11-not-a-token" not in bad_token.stderr

    monkeypatch.setenv("ATQBO_QBO_REFRESH_TOKEN", o["refresh_token"])
    no_realm = in_process(capsys, *_qb_args(c, tmp_path, realm=False))
    assert no_realm.returncode == 2 and "--realm-id" in no_realm.stderr

    wrong_realm = in_process(capsys, *_qb_args(c, tmp_path, **{"--realm-id": "123"}))
    assert wrong_realm.returncode == 1 and "company 123" in wrong_realm.stderr

    port = _free_port()
    down = in_process(capsys, *_qb_args(c, tmp_path, **{"--api-url": f"http://127.0.0.1:{port}"}))
    assert down.returncode == 1 and f"cannot reach QuickBooks Online at http://127.0.0.1:{port}" in down.stderr

    monkeypatch.delenv("ATQBO_QBO_CLIENT_SECRET")
    no_secret = in_process(capsys, *_qb_args(c, tmp_path))
    assert no_secret.returncode == 2 and "ATQBO_QBO_CLIENT_SECRET" in no_secret.stderr

    with Store.open(tmp_path) as store:
        assert store.connection.get_qbo() is None
        assert store.secrets.get_qbo_client_secret() is None


def _approve(url: str, decision: str = "approve") -> str:
    """Press a button on the sandbox's consent page; return where Intuit redirects the browser."""
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    resp = httpx.post(f"{parts.scheme}://{parts.netloc}{parts.path}", data={**params, "decision": decision},
                      follow_redirects=False, timeout=10)
    assert resp.status_code == 302, resp.text
    return resp.headers["location"]


def _read_sign_in_event(proc) -> dict:
    """The JSON line the command prints on stdout (--json) before waiting."""
    event = json.loads(proc.stdout.readline())
    assert event["event"] == "sign_in" and event["url"]
    return event


def _register_localhost(server, path: str = "/callback") -> str:
    """As the user does on the Intuit app's Keys & credentials page."""
    uri = f"http://localhost:{_free_port()}{path}"
    server.sandbox.emulators["oauth"].register_redirect_uri(uri)
    return uri


def _sign_in_args(c: dict, data_dir, uri: str, environment: str = "sandbox") -> list[str]:
    return [*_qb_args(c, data_dir, realm=False), "--redirect-uri", uri, "--environment", environment]


def test_connect_quickbooks_signs_in_through_the_registered_localhost_uri(sandbox, tmp_path):
    c = creds(sandbox)
    o = c["oauth"]
    uri = _register_localhost(sandbox, "/atqbo/done")
    proc = spawn(*_sign_in_args(c, tmp_path, uri), "--json", env=clean_env(ATQBO_QBO_CLIENT_SECRET=o["client_secret"]))
    try:
        event = _read_sign_in_event(proc)
        assert event["redirect_uri"] == uri and event["listening"] is True
        redirect = _approve(event["url"])
        assert redirect.startswith(uri + "?")
        forged = httpx.get(uri + "?code=x&state=wrong&realmId=1", timeout=10)  # another site's redirect
        assert forged.status_code == 400
        page = httpx.get(redirect, timeout=10)  # the browser lands on atqbo's listener
        assert page.status_code == 200 and "connected" in page.text
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "Open this address in a browser" in err and f"atqbo listens on {uri}" in err
    assert json_lines(out)[-1]["realm_id"] == o["realm_id"] and json_lines(out)[-1]["environment"] == "sandbox"
    with Store.open(tmp_path) as store:
        conn = store.connection.get_qbo()
        assert (conn.realm_id, conn.redirect_uri, conn.environment) == (o["realm_id"], uri, "sandbox")
        assert store.secrets.get_qbo_tokens() is not None
    assert uri not in (tmp_path / "secrets.json").read_text()  # stored with the connection, not the secrets


def test_connect_quickbooks_paste_back_for_an_https_uri(sandbox, tmp_path):
    c = creds(sandbox)
    o = c["oauth"]
    https_uri = o["redirect_uris"][1]  # Intuit's playground page: nothing listens there
    proc = spawn(*_sign_in_args(c, tmp_path, https_uri), "--json",
                 env=clean_env(ATQBO_QBO_CLIENT_SECRET=o["client_secret"]))
    try:
        event = _read_sign_in_event(proc)
        assert event["listening"] is False
        redirect = _approve(event["url"])
        query = dict(parse_qs(urlsplit(redirect).query))
        # The operator pastes a wrong thing, then another attempt's address, then this one's.
        proc.stdin.write("https://example.com/?nothing=here\n")
        proc.stdin.write(redirect.replace(query["state"][0], "other-attempt") + "\n")
        proc.stdin.write(redirect + "\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert err.count("Paste again") == 2 and "state does not match" in err
    assert "copy that whole address" in err
    assert json_lines(out)[-1]["company"]
    with Store.open(tmp_path) as store:
        assert store.connection.get_qbo().redirect_uri == https_uri


def test_connect_quickbooks_production_keys(sandbox, tmp_path):
    c = creds(sandbox)
    prod = c["oauth"]["production"]
    uri = prod["redirect_uris"][0]
    args = [*_qb_args(c, tmp_path, realm=False, **{"--client-id": prod["client_id"]}), "--redirect-uri", uri,
            "--environment", "production"]
    proc = spawn(*args, "--json", env=clean_env(ATQBO_QBO_CLIENT_SECRET=prod["client_secret"]))
    try:
        redirect = _approve(_read_sign_in_event(proc)["url"])
        proc.stdin.write(redirect + "\n")
        proc.stdin.flush()
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert json_lines(out)[-1]["environment"] == "production"
    with Store.open(tmp_path) as store:
        assert store.connection.get_qbo().environment == "production"


def test_connect_quickbooks_unregistered_uri_is_refused_by_intuit(sandbox, tmp_path):
    c = creds(sandbox)
    o = c["oauth"]
    proc = spawn(*_sign_in_args(c, tmp_path, "https://acme.example.com/not/registered"), "--json",
                 env=clean_env(ATQBO_QBO_CLIENT_SECRET=o["client_secret"]))
    try:
        page = httpx.get(_read_sign_in_event(proc)["url"], timeout=10)  # what the browser shows
        out, err = proc.communicate(timeout=30)  # stdin ends: the user gives up
    finally:
        proc.kill()
    assert page.status_code == 400 and "redirect_uri query parameter value is invalid" in page.text
    assert "register that URI exactly" in err  # the CLI said what that page means before waiting
    assert proc.returncode == 1 and "Nothing was saved" in err
    with Store.open(tmp_path) as store:
        assert store.connection.get_qbo() is None


def test_connect_quickbooks_sign_in_cancelled(sandbox, tmp_path):
    c = creds(sandbox)
    o = c["oauth"]
    uri = _register_localhost(sandbox)
    proc = spawn(*_sign_in_args(c, tmp_path, uri), env=clean_env(ATQBO_QBO_CLIENT_SECRET=o["client_secret"]))
    try:
        url = None
        for line in proc.stderr:
            m = re.search(r"(http://\S+/connect/oauth2\S+)", line)
            if m:
                url = m.group(1)
                break
        location = _approve(url, "deny")
        threading.Thread(target=lambda: httpx.get(location, timeout=10), daemon=True).start()
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 1
    assert "cancelled" in err
    with Store.open(tmp_path) as store:
        assert store.connection.get_qbo() is None


def test_connect_quickbooks_bad_redirect_uri_or_environment_exit_2_before_anything_opens(sandbox, tmp_path):
    c = creds(sandbox)
    o = c["oauth"]
    env = clean_env(ATQBO_QBO_CLIENT_SECRET=o["client_secret"])
    before = httpx.get(sandbox.url + "/_sandbox/stats").json()
    ip = atqbo(*_sign_in_args(c, tmp_path, "https://127.0.0.1/callback", "production"), env=env)
    assert ip.returncode == 2
    assert "never accepts an IP address" in ip.stderr and "Production keys" in ip.stderr
    local = atqbo(*_sign_in_args(c, tmp_path, "http://localhost:8765/callback", "production"), env=env)
    assert local.returncode == 2 and "production keys never accept localhost" in local.stderr
    http_host = atqbo(*_sign_in_args(c, tmp_path, "http://acme.example.com/cb"), env=env)
    assert http_host.returncode == 2 and "http is accepted only for http://localhost" in http_host.stderr
    missing = atqbo(*_qb_args(c, tmp_path, realm=False), env=env)
    assert missing.returncode == 2 and "give --redirect-uri" in missing.stderr
    wrong_env = atqbo(*_sign_in_args(c, tmp_path, "http://localhost:8765/callback", "staging"), env=env)
    assert wrong_env.returncode == 2 and "invalid choice: 'staging'" in wrong_env.stderr
    hostile = atqbo(*_sign_in_args(c, tmp_path, "http://localhost:1/\x1b[2J"), env=env)
    assert hostile.returncode == 2 and "\x1b" not in hostile.stderr and "control characters" in hostile.stderr
    # No secret asked for (none in the environment: it would be exit 2 for that), nothing sent.
    no_secret = atqbo(*_sign_in_args(c, tmp_path, "https://10.0.0.1/cb", "production"))
    assert no_secret.returncode == 2 and "IP address" in no_secret.stderr
    assert httpx.get(sandbox.url + "/_sandbox/stats").json() == before
    with Store.open(tmp_path) as store:
        assert store.connection.get_qbo() is None


def test_a_reconnect_uses_the_saved_redirect_uri_and_the_environment_picks_the_api(sandbox, tmp_path, capsys,
                                                                                   monkeypatch):
    from console.runtime_headless import qbo_from_store
    from sync.clients.qbo import QBO_SANDBOX

    c = creds(sandbox)
    o = c["oauth"]
    monkeypatch.setenv("ATQBO_QBO_CLIENT_SECRET", o["client_secret"])
    monkeypatch.setenv("ATQBO_QBO_REFRESH_TOKEN", o["refresh_token"])
    uri = _register_localhost(sandbox)
    first = in_process(capsys, *_qb_args(c, tmp_path), "--redirect-uri", uri, "--environment", "sandbox")
    assert first.returncode == 0, first.stderr
    again = in_process(capsys, *_qb_args(c, tmp_path))  # neither option: the saved ones are kept
    assert again.returncode == 0, again.stderr
    with Store.open(tmp_path) as store:
        conn = store.connection.get_qbo()
        assert (conn.redirect_uri, conn.environment) == (uri, "sandbox")
        store.connection.set_qbo(type(conn)(conn.client_id, conn.realm_id, None, conn.auth_url, conn.token_url,
                                            conn.redirect_uri, "sandbox"))
        assert qbo_from_store(store).api_url.rstrip("/") == QBO_SANDBOX
    shown = in_process(capsys, "settings", "show", "--json", "--data-dir", str(tmp_path))
    record = json_lines(shown.stdout)[-1]["connections"]["quickbooks"]
    assert (record["redirect_uri"], record["environment"]) == (uri, "sandbox")
    human = in_process(capsys, "settings", "show", "--data-dir", str(tmp_path))
    assert f"sandbox keys, redirect URI '{uri}'" in human.stdout


def test_connect_autotask_asks_for_the_secret_on_the_terminal_without_echo(sandbox, tmp_path):
    """No ATQBO_AUTOTASK_SECRET: the secret is asked for on the controlling terminal (a pty
    here), not echoed, and never read from argv."""
    import os
    import pty
    import select
    import subprocess
    import sys

    from cli_helpers import ROOT

    c = creds(sandbox)
    secret = c["autotask"]["secret"]
    master, slave = pty.openpty()
    slave_name = os.ttyname(slave)

    def become_session_with_this_terminal() -> None:
        os.setsid()
        os.close(os.open(slave_name, os.O_RDWR))  # a session leader's first tty becomes its terminal

    proc = subprocess.Popen([sys.executable, "-m", "console.cli", *_at_args(c, tmp_path)], cwd=ROOT,
                            env=clean_env(), stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, preexec_fn=become_session_with_this_terminal)
    os.close(slave)
    seen = b""
    try:
        while b"(hidden)" not in seen:
            ready, _, _ = select.select([master], [], [], 30)
            assert ready, f"no prompt; terminal shows {seen!r}"
            seen += os.read(master, 1024)
        os.write(master, secret.encode() + b"\n")
        out, err = proc.communicate(timeout=30)
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 1024)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        proc.kill()
        os.close(master)
    assert proc.returncode == 0, err
    assert b"Autotask API user's secret (hidden): " in seen
    assert secret.encode() not in seen  # not echoed
    assert "Autotask connected" in out
    with Store.open(tmp_path) as store:
        assert store.secrets.get_autotask_secret().get_secret_value() == secret


def test_connect_on_a_full_disk_says_it_is_not_saved_and_how_to_finish(sandbox, tmp_path, capsys, monkeypatch):
    import errno
    import os

    c = creds(sandbox)
    secret = c["autotask"]["secret"]
    real_write = os.write

    def full_for_secrets(fd, data):  # the connection details fit, the secrets file does not
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            path = ""
        if ".secrets.json." in path:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setenv("ATQBO_AUTOTASK_SECRET", secret)
    monkeypatch.setattr(os, "write", full_for_secrets)
    result = in_process(capsys, *_at_args(c, tmp_path))
    monkeypatch.setattr(os, "write", real_write)
    assert result.returncode == 2
    assert f"cannot save {tmp_path / 'secrets.json'}: the disk is full" in result.stderr
    assert "The autotask connection is not (completely) saved: run the same atqbo connect autotask again" in result.stderr
    assert "report it" not in result.stderr
    _no_secret_anywhere(result, tmp_path, secret)
    result = in_process(capsys, *_at_args(c, tmp_path))  # space again: the same command finishes it
    assert result.returncode == 0
    with Store.open(tmp_path) as store:
        assert store.secrets.get_autotask_secret().get_secret_value() == secret
