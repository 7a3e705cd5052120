"""The whole product over the hostile seed (sync/sandbox/hostile_text.py: every text field carries
escape sequences, CR/LF, bidi overrides, NUL...): nothing raw reaches stdout, stderr,
daemon.log, the alert mail (to a real SMTP server) or an Autotask to-do, and QuickBooks gets
names, notes and descriptions without control characters. JSON output carries the exact text,
escaped by JSON."""

from __future__ import annotations

import json
import re

from cli_helpers import atqbo, clean_env, configure, creds, json_lines, seed_with_pos, smtp
from sync.sandbox.hostile_text import HOSTILE_SETTINGS, OSC_TITLE, PO_NUMBERS
from sync.text import CONTROL, shown

FAILING_PO = 2**31  # the vendor whose name is nothing but control characters


def raw_controls(text: str, allow: str = "\n") -> list[str]:
    """The control characters in `text` that must never be there (line breaks allowed)."""
    return sorted({c for c in CONTROL.findall(text) if c not in allow})


def _records(state: dict, name: str) -> list[dict]:
    table = state.get(name) or []
    return list(table.values()) if isinstance(table, dict) else list(table)


def _hostile(ready, server=None):
    extra = {}
    if server is not None:
        extra = dict(notify_email="ops@example.com", smtp_host=server.host, smtp_port=server.port,
                     smtp_starttls=False, smtp_from="atqbo@example.com")
    return ready("hostile", **HOSTILE_SETTINGS, **extra)


def test_daemon_once_over_hostile_data_prints_logs_mails_and_writes_nothing_raw(ready):
    with smtp.plain_server() as server:
        w = _hostile(ready, server)
        result = atqbo("--daemon", "--once", *w.dd)
        inbox = list(server.inbox.messages)
    assert result.returncode == 3, result.stdout + result.stderr
    out = result.stdout
    assert raw_controls(out) == [] and raw_controls(result.stderr) == []
    # The attack is shown, visibly, where it was: the terminal title is not rewritten.
    assert shown(OSC_TITLE) in out and "\\u202e0001-OP" in out
    assert f"PO {shown(PO_NUMBERS['crlf'])} (id {FAILING_PO}) failed" in out
    assert len([line for line in out.splitlines() if " started (scan)" in line]) == 8  # one line per PO
    log = (w.data_dir / "logs" / "daemon.log").read_text(encoding="utf-8")
    assert raw_controls(log) == [] and shown(OSC_TITLE) in log

    # The failure's alert mail went out (a CR/LF in its PO number used to drop it), clean.
    [(rcpts, message)] = inbox
    assert rcpts == ["ops@example.com"]
    subject = message["Subject"].replace("\r\n ", " ").replace("\n ", " ")  # header folding
    assert raw_controls(subject, allow="") == []
    assert shown(PO_NUMBERS["crlf"]) in subject and message["Bcc"] is None
    body = message.get_payload(decode=True).decode().replace("\r\n", "\n")  # SMTP's line ends
    assert raw_controls(body) == [] and shown(PO_NUMBERS["crlf"]) in body

    qbo = {name: _records(w.state()["qbo"], name) for name in ("Vendor", "Customer", "Item", "Bill")}
    created = [v for v in qbo["Vendor"] if v["Id"] != "1"]
    assert len(created) == 7
    names = [v["DisplayName"] for v in created] + [c["DisplayName"] for c in qbo["Customer"]]
    names += [i["Name"] for i in qbo["Item"]]
    assert all(raw_controls(n, allow="") == [] for n in names), names
    assert "Evil]0;PWNED[31mRED[0m Supplies" in names and "Line Break- Vendor Inc" in names
    bills = qbo["Bill"]
    assert len(bills) == 7
    for bill in bills:
        assert raw_controls(bill["PrivateNote"], allow="") == []
        for line in bill["Line"]:
            assert raw_controls(line.get("Description") or "") == []
    # The to-do on the local organization: the PO number shown, no line of its own.
    [todo] = w.todos()
    assert raw_controls(todo["activityDescription"]) == []
    assert shown(PO_NUMBERS["crlf"]) in todo["activityDescription"]


def test_json_output_and_the_cli_commands_over_hostile_data(ready):
    w = _hostile(ready)
    daemon = atqbo("--daemon", "--once", "--json", *w.dd)
    assert daemon.returncode == 3, daemon.stdout + daemon.stderr
    assert raw_controls(daemon.stdout) == []
    lines = json_lines(daemon.stdout)  # every line is JSON
    numbers = {line["po_number"] for line in lines if line.get("event") == "po_started"}
    assert PO_NUMBERS["crlf"] in numbers and PO_NUMBERS["osc"] in numbers  # the exact text, JSON-escaped
    assert "\\u202e" in daemon.stdout  # bidi override escaped by JSON, not raw

    logs = atqbo("logs", *w.dd)
    logs_json = atqbo("logs", "--json", *w.dd)
    shown_settings = atqbo("settings", "show", *w.dd)
    retry = atqbo("retry", "--all-failed", *w.dd)
    one = atqbo("sync-one", str(FAILING_PO), "--json", *w.dd)
    bad_arg = atqbo("logs", "--limit", "\x1b]0;X\x07", *w.dd)
    for run in (logs, logs_json, shown_settings, retry, one, bad_arg):
        assert raw_controls(run.stdout) == [] and raw_controls(run.stderr) == [], run.args
    assert logs.returncode == 0 and f"PO {shown(PO_NUMBERS['crlf'])} (id {FAILING_PO})" in logs.stdout
    entries = json_lines(logs_json.stdout)[:-1]
    assert [e["po_number"] for e in entries] == [PO_NUMBERS["crlf"]]
    assert shown_settings.returncode == 0
    assert retry.returncode == 3 and shown(PO_NUMBERS["crlf"]) in retry.stdout
    assert one.returncode == 3 and json.loads(one.stdout.splitlines()[-1])["outcomes"][0]["po_number"] == \
        PO_NUMBERS["crlf"]
    assert bad_arg.returncode == 2 and "\\x1b]0;X\\x07" in bad_arg.stderr


def test_bill_numbers_from_hostile_autotask_po_numbers_are_clean_and_written_back(ready):
    w = ready("hostile", **{**HOSTILE_SETTINGS, "po_number_source": "autotask"})
    result = atqbo("--daemon", "--once", "--json", *w.dd)
    assert result.returncode == 3, result.stdout + result.stderr
    failed = {line["po_id"]: line["cause_code"] for line in json_lines(result.stdout) if line.get("event") == "po_failed"}
    assert failed == {6: "doc_number_too_long", FAILING_PO: "name_invalid"}
    numbers = {b["DocNumber"] for b in _records(w.state()["qbo"], "Bill")}
    assert all(raw_controls(n, allow="") == [] for n in numbers), numbers
    assert {"PO]0;PWNED-1", "PO CR-only", "0001-OP", "[red]PO[/red]\\", str(2**63)} <= numbers
    written = {p["externalPONumber"] for p in w.pos() if p.get("externalPONumber") not in (None, "", "ERROR")}
    assert written == numbers  # the number written back is the bill's


def test_argparse_never_echoes_an_unknown_argument_raw(ready):
    result = atqbo("logs", "--\x1b]0;PWNED\x07", "\u202eevil")
    assert result.returncode == 2
    assert raw_controls(result.stderr) == [] and re.search(r"\\x1b\]0;PWNED\\x07", result.stderr)


def test_connect_quickbooks_shows_a_hostile_company_name_escaped(serve, tmp_path):
    def connect(*extra: str):
        # A sandbox each: Intuit rotates the refresh token, so one connection per token.
        c = creds(serve("hostile"))
        o, q = c["oauth"], c["qbo"]
        env = clean_env(ATQBO_QBO_CLIENT_SECRET=o["client_secret"], ATQBO_QBO_REFRESH_TOKEN=o["refresh_token"])
        return atqbo("connect", "quickbooks", "--data-dir", str(tmp_path / f"data{len(extra)}"), "--client-id",
                     o["client_id"], "--realm-id", o["realm_id"], "--api-url", q["api_url"], "--auth-url",
                     o["auth_url"], "--token-url", o["token_url"], *extra, env=env)

    human, as_json = connect(), connect("--json")
    assert human.returncode == 0 and as_json.returncode == 0, human.stderr + as_json.stderr
    for run in (human, as_json):
        assert raw_controls(run.stdout) == [] and raw_controls(run.stderr) == []
    assert "\\u202eSKOOB\\u202c \\x9b31m Books\\x7f" in human.stdout
    assert json_lines(as_json.stdout)[-1]["company"] == "Hostile \u202eSKOOB\u202c \x9b31m Books\x7f"


def test_a_hostile_mail_server_answer_is_shown_escaped(ready):
    w = ready(seed_with_pos(n_ok=1))
    with smtp.plain_server() as server:
        server.inbox.fail_with = "451 4.3.0 try later\x1b]0;PWNED\x07\x1b[2J"
        configure(w.data_dir, smtp_host=server.host, smtp_port=server.port, smtp_starttls=False,
                  smtp_from="atqbo@example.com")
        result = atqbo("sync-one", "1", "--email", "boss@example.com", *w.dd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert raw_controls(result.stdout) == [] and raw_controls(result.stderr) == []
    assert "try later\\x1b]0;PWNED\\x07" in result.stdout + result.stderr
