"""The command-line contract's shape (DESIGN §4): every command and option exists, bad usage
is answered with a clear message and exit 2, help is there for a newcomer, and the daemon
path never loads Textual."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cli_helpers import ROOT, atqbo, clean_env
from console.cli import _build_parser, main


def _usage(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2, argv
    return capsys.readouterr().err


@pytest.mark.parametrize("argv, says", [
    (["--once"], "--once only works with --daemon"),
    (["--json"], "--json works with --daemon or with a command"),
    (["--demo", "--data-dir", "/tmp/x"], "--demo uses its own temporary data folder"),
    (["--daemon", "sync-one", "5"], "--daemon cannot be combined with the sync-one command"),
    (["sync-one", "abc"], "must be the Autotask purchase order id"),
    (["sync-one", "-3"], "sync-one"),
    (["sync-one", "12", "--email", "not-an-address"], "must be an e-mail address"),
    (["sync-one"], "the following arguments are required: PO_ID"),
    (["retry"], "one of the arguments LOG_ID --all-failed is required"),
    (["retry", "x1"], "must be an error-log entry id"),
    (["retry", "3", "--all-failed"], "not allowed with argument LOG_ID"),
    (["logs", "--limit", "0"], "must be a whole number from 1 to 10000000"),
    (["logs", "--limit", "many"], "must be a whole number from 1 to 10000000"),
    (["settings"], "the following arguments are required: ACTION"),
    (["settings", "frob"], "invalid choice: 'frob'"),
    (["settings", "set", "days_back"], "the following arguments are required: VALUE"),
    (["connect"], "the following arguments are required: SERVICE"),
    (["connect", "xero"], "invalid choice: 'xero'"),
    (["connect", "autotask", "--username", "u"], "the following arguments are required: --integration-code"),
    (["connect", "autotask", "--username", "u", "--integration-code", "c", "--zone-url", "ftp://x"],
     "not an http(s) URL"),
    (["connect", "quickbooks"], "the following arguments are required: --client-id"),
    (["connect", "autotask", "--username", "u", "--integration-code", "c", "--secret", "s"],
     "unrecognized arguments: --secret"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["link", "vendor", "99999999999999999999999", "45"], "must be a record id"),  # beyond int64
    (["link", "vendor", "\u0664\u0665", "45"], "must be a record id"),  # Arabic-Indic digits
    (["unlink", "item", "0"], "must be a record id"),
    (["--daemon", "--metrics-port", "70000"], "must be a port number from 1 to 65535"),
])
def test_bad_usage_exits_2_with_a_clear_message(argv, says, capsys):
    err = _usage(argv, capsys)
    assert says in err
    assert "Try 'atqbo" in err  # and where to look next


def test_every_contract_option_parses():
    parser = _build_parser()
    ns = parser.parse_args(["--data-dir", "/d", "--daemon", "--once", "--json"])
    assert (ns.data_dir, ns.daemon, ns.once, ns.json) == ("/d", True, True, True)
    assert parser.parse_args(["--demo"]).demo
    ns = parser.parse_args(["sandbox", "--port", "0", "--seed", "empty", "--latency-ms", "5", "--json",
                            "--fault", "429,service=qbo,every=5"])
    assert ns.seed == "empty" and ns.json and ns.fault[0]["kind"] == "429"
    ns = parser.parse_args(["connect", "autotask", "--username", "U", "--integration-code", "C",
                            "--zone-url", "https://webservices.autotask.net"])
    assert (ns.username, ns.integration_code) == ("U", "C")
    ns = parser.parse_args(["connect", "quickbooks", "--client-id", "ID", "--realm-id", "R", "--api-url",
                            "http://a", "--auth-url", "http://b", "--token-url", "http://c"])
    assert (ns.client_id, ns.realm_id, ns.api_url, ns.auth_url, ns.token_url) == ("ID", "R", "http://a", "http://b", "http://c")
    ns = parser.parse_args(["settings", "show", "--json"])
    assert ns.action == "show" and ns.json
    ns = parser.parse_args(["settings", "set", "days_back", "7"])
    assert (ns.key, ns.value) == ("days_back", "7")
    ns = parser.parse_args(["sync-one", "42", "--email", "a@example.com", "--json"])
    assert (ns.po_id, ns.email, ns.json) == (42, "a@example.com", True)
    ns = parser.parse_args(["logs", "--errors", "--json", "--limit", "5"])
    assert (ns.errors, ns.json, ns.limit) == (True, True, 5)
    assert parser.parse_args(["retry", "7"]).log_id == 7
    assert parser.parse_args(["retry", "--all-failed"]).all_failed
    # --data-dir and --json are accepted before or after the command name.
    assert parser.parse_args(["--data-dir", "/x", "logs"]).data_dir == "/x"
    assert parser.parse_args(["logs", "--data-dir", "/y"]).data_dir == "/y"
    assert parser.parse_args(["--json", "logs"]).json


def test_help_explains_with_examples_and_exit_codes():
    result = atqbo("--help")
    assert result.returncode == 0
    out = result.stdout
    for text in ("atqbo --demo", "atqbo --daemon --once --json", "atqbo connect autotask",
                 "atqbo settings set days_back 7", "atqbo sync-one 12345", "atqbo retry --all-failed",
                 "exit codes: 0 success; 3", "ATQBO_DATA_DIR"):
        assert text in out, text
    for command in ("sandbox", "connect", "settings", "sync-one", "logs", "retry"):
        assert command in out
    sub = atqbo("connect", "autotask", "--help")
    assert sub.returncode == 0 and "ATQBO_AUTOTASK_SECRET" in sub.stdout and "hidden" in sub.stdout
    keys = atqbo("settings", "set", "--help")
    assert keys.returncode == 0
    for key in ("days_back", "ap_account", "todo_action_type", "todo_resource", "notify_email", "smtp_host"):
        assert key in keys.stdout


def test_bad_usage_as_a_subprocess_exits_2():
    result = atqbo("sync-one", "PO-12")
    assert result.returncode == 2
    assert "must be the Autotask purchase order id" in result.stderr
    assert result.stdout == ""


def test_the_daemon_entry_imports_no_textual(tmp_path):
    # Run the daemon entry (it stops at once: the data folder is not connected) and list modules.
    code = (
        "import sys\n"
        "from console.cli import main\n"
        f"rc = main(['--daemon', '--once', '--data-dir', {str(tmp_path)!r}])\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print('TEXTUAL', bad)\n"
        "print('RC', rc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_env(), capture_output=True,
                            text=True, timeout=60)
    assert "TEXTUAL []" in result.stdout, result.stdout + result.stderr
    assert "RC 2" in result.stdout  # not connected: a configuration error
    assert "Autotask is not connected" in result.stdout


def test_bad_usage_with_json_still_ends_with_a_json_summary(capsys):
    with pytest.raises(SystemExit) as info:
        main(["sync-one", "abc", "--json"])
    assert info.value.code == 2
    out, err = capsys.readouterr()
    last = json.loads(out.strip().splitlines()[-1])
    assert last["ok"] is False and last["exit_code"] == 2 and "PO_ID" in last["error"]
    assert "must be the Autotask purchase order id" in err
    # Without --json, stdout stays empty.
    with pytest.raises(SystemExit):
        main(["sync-one", "abc"])
    assert capsys.readouterr().out == ""
