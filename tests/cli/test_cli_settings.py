"""`atqbo settings show|set`: every key validated, ids checked against the live services, the
SMTP password only from the environment or a prompt, and clear messages with exit 2 for bad
input (nothing saved), exit 1 when a service needed for a check cannot be reached."""

from __future__ import annotations

import socket

from cli_helpers import AP, API_RESOURCE, BUYER, COGS, ACTION_GENERAL, atqbo, atqbo_all, clean_env, configure, connect_store, in_process, json_lines
from sync.settings import SETTING_KEYS
from sync.store import Store


def _dd(path) -> list[str]:
    return ["--data-dir", str(path)]


def test_show_on_a_fresh_folder_lists_every_key_and_what_a_scan_needs(tmp_path):
    human, as_json = atqbo_all((["settings", "show", *_dd(tmp_path)], None),
                               (["settings", "show", "--json", *_dd(tmp_path)], None))
    assert human.returncode == 0 and as_json.returncode == 0
    for key in SETTING_KEYS:
        assert key in human.stdout
    assert "a scan still needs:" in human.stdout and "days_back" in human.stdout
    assert "not connected (atqbo connect autotask)" in human.stdout
    [record] = json_lines(as_json.stdout)
    assert set(record["settings"]) == set(SETTING_KEYS)
    assert {m["key"] for m in record["missing_for_scan"]} == {"days_back", "ap_account", "todo_action_type", "todo_resource"}
    assert record["connections"] == {"autotask": None, "quickbooks": None}


def test_show_never_prints_secrets(sandbox, tmp_path):
    connect_store(tmp_path, sandbox)
    c = sandbox.sandbox.credentials(sandbox.url)
    result = atqbo("settings", "show", "--json", *_dd(tmp_path))
    assert result.returncode == 0
    for secret in (c["autotask"]["secret"], c["oauth"]["client_secret"], c["oauth"]["refresh_token"]):
        assert secret not in result.stdout
    record = json_lines(result.stdout)[-1]
    assert record["connections"]["autotask"]["secret_set"] is True
    assert record["connections"]["quickbooks"]["refresh_token_set"] is True


def test_set_as_a_process(tmp_path):
    ok, bad = atqbo_all((["settings", "set", "days_back", "7", *_dd(tmp_path / "a")], None),
                        (["settings", "set", "days_back", "seven", *_dd(tmp_path / "b")], None))
    assert ok.returncode == 0 and ok.stdout.startswith("days_back = 7")
    assert bad.returncode == 2 and "days_back: must be a whole number" in bad.stderr and bad.stdout == ""


def test_set_validates_every_kind_of_value_and_saves_nothing_when_bad(tmp_path, capsys):
    runs = {
        "ok_days": ["days_back", "7"],
        "ok_choice": ["po_number_source", "Autotask"],
        "ok_email": ["notify_email", "ops@example.com"],
        "unknown": ["frequency", "5"],
        "non_numeric": ["days_back", "seven"],
        "negative": ["scan_interval_minutes", "0"],
        "bad_choice": ["missing_item", "maybe"],
        "bad_id": ["todo_resource", "Pat"],
        "bad_email": ["notify_email", "ops@"],
        "bad_port": ["smtp_port", "70000"],
        "password_on_argv": ["smtp_password", "hunter2"],
    }
    results = {name: in_process(capsys, "settings", "set", *kv, *_dd(tmp_path)) for name, kv in runs.items()}
    assert results["ok_days"].returncode == 0 and "days_back = 7" in results["ok_days"].stdout
    assert results["ok_choice"].returncode == 0 and "po_number_source = autotask" in results["ok_choice"].stdout
    assert results["ok_email"].returncode == 0
    expect = {
        "unknown": "frequency: unknown setting; known settings are days_back",
        "non_numeric": "days_back: must be a whole number from 0 to 3650, got 'seven'",
        "negative": "scan_interval_minutes: must be a whole number from 1 to 10080",
        "bad_choice": "missing_item: must be 'create' or 'error', got 'maybe'",
        "bad_id": "todo_resource: must be a whole number ≥ 1",
        "bad_email": "notify_email: must be an e-mail address",
        "bad_port": "smtp_port: must be a port number from 1 to 65535",
        "password_on_argv": "never goes on the command line",
    }
    for name, text in expect.items():
        r = results[name]
        assert r.returncode == 2, name
        assert text in r.stderr, (name, r.stderr)
        assert "nothing was saved" in r.stderr
    assert "hunter2" not in results["password_on_argv"].stderr
    with Store.open(tmp_path) as store:
        values = store.settings.load().to_values()
        assert store.secrets.get_smtp_password() is None
    assert (values["days_back"], values["po_number_source"], values["notify_email"]) == (7, "autotask", "ops@example.com")
    assert values["missing_item"] == "error" and values["scan_interval_minutes"] == 15 and values["smtp_port"] == 587


def test_set_json_and_clearing_a_value(tmp_path):
    configure(tmp_path, notify_email="a@example.com")
    result = atqbo("settings", "set", "notify_email", "", "--json", *_dd(tmp_path))
    assert result.returncode == 0
    record = json_lines(result.stdout)[-1]
    assert record["ok"] and record["key"] == "notify_email" and record["value"] is None
    assert "days_back: required" in " ".join(record["missing_for_scan"])


def test_smtp_password_from_the_environment_only(tmp_path):
    result = atqbo("settings", "set", "smtp_password", "-", *_dd(tmp_path),
                   env=clean_env(ATQBO_SMTP_PASSWORD="s3cret-pw"))
    assert result.returncode == 0 and "s3cret-pw" not in result.stdout + result.stderr
    with Store.open(tmp_path) as store:
        assert store.secrets.get_smtp_password().get_secret_value() == "s3cret-pw"
    shown = atqbo("settings", "show", *_dd(tmp_path))
    assert "(set, hidden)" in shown.stdout and "s3cret-pw" not in shown.stdout
    # Without the variable and without a terminal there is nobody to ask.
    missing = atqbo("settings", "set", "smtp_password", "-", *_dd(tmp_path))
    assert missing.returncode == 2 and "ATQBO_SMTP_PASSWORD" in missing.stderr


def test_ids_are_checked_against_live_data(sandbox, tmp_path, capsys):
    connect_store(tmp_path, sandbox)
    cases = [
        (["ap_account", "9999"], 2, "QuickBooks has no accounts-payable account '9999'"),
        (["ap_account", COGS], 2, "QuickBooks has no accounts-payable account '80'"),  # exists, but not A/P
        (["new_item_expense_account", AP], 2, "new items need an expense account"),
        (["new_item_expense_account", "Nonexistent Account"], 2, "QuickBooks has no account"),
        (["todo_action_type", "999"], 2, "Autotask has no action type with id 999"),
        (["todo_resource", "4242"], 2, "Autotask has no resource with id 4242"),
    ]
    results = [in_process(capsys, "settings", "set", *kv, *_dd(tmp_path)) for kv, _, _ in cases]
    for (kv, code, text), r in zip(cases, results):
        assert r.returncode == code, (kv, r.stderr)
        assert text in r.stderr, (kv, r.stderr)
    with Store.open(tmp_path) as store:
        s = store.settings.load()
        assert (s.ap_account, s.new_item_expense_account, s.todo_action_type, s.todo_resource) == (None,) * 4
    good = [in_process(capsys, "settings", "set", *kv, *_dd(tmp_path)) for kv in (
        ["ap_account", AP], ["new_item_expense_account", "Cost of Goods Sold"],
        ["todo_action_type", str(ACTION_GENERAL)], ["todo_resource", str(BUYER)])]
    # ... and once as a process, refused:
    refused = atqbo("settings", "set", "todo_resource", "4242", *_dd(tmp_path))
    assert refused.returncode == 2 and "Autotask has no resource with id 4242" in refused.stderr
    assert [r.returncode for r in good] == [0, 0, 0, 0], [r.stderr for r in good]
    with Store.open(tmp_path) as store:
        s = store.settings.load()
        assert s.ready_to_scan() is False or s.days_back is None  # days_back still unset
        assert (s.ap_account, s.new_item_expense_account, s.todo_action_type, s.todo_resource) == (
            AP, "Cost of Goods Sold", ACTION_GENERAL, BUYER)


def test_live_check_without_a_connection_saves_with_a_note(tmp_path):
    result = atqbo("settings", "set", "ap_account", "33", *_dd(tmp_path))
    assert result.returncode == 0
    assert "not checked against QuickBooks Online: it is not connected yet" in result.stderr


def test_live_check_when_the_service_is_unreachable_is_fatal_and_saves_nothing(sandbox, tmp_path):
    connect_store(tmp_path, sandbox)
    sandbox.stop()  # the services go away after connecting
    result = atqbo("settings", "set", "todo_resource", str(BUYER), *_dd(tmp_path))
    assert result.returncode == 1
    assert "cannot check todo_resource: cannot reach Autotask" in result.stderr
    assert "nothing was saved" in result.stderr
    with Store.open(tmp_path) as store:
        assert store.settings.load().todo_resource is None


def test_a_damaged_settings_file_is_shown_with_its_problems(tmp_path):
    configure(tmp_path, days_back=3)
    path = tmp_path / "settings.json"
    path.write_text(path.read_text().replace('"days_back":3', '"days_back":"lots"'))
    result = atqbo("settings", "show", *_dd(tmp_path))
    assert result.returncode == 2
    assert "problems in the settings file" in result.stdout and "days_back" in result.stdout
    assert "lots" in result.stdout


def test_show_names_each_id_when_connected_and_says_when_names_are_unavailable(sandbox, tmp_path):
    connected, offline = tmp_path / "connected", tmp_path / "offline"
    connect_store(connected, sandbox)
    for folder in (connected, offline):
        configure(folder, days_back=7, ap_account=AP, new_item_expense_account=COGS,
                  todo_action_type=ACTION_GENERAL, todo_resource=BUYER)
    human, as_json, cut_off = atqbo_all((["settings", "show", *_dd(connected)], None),
                                        (["settings", "show", "--json", *_dd(connected)], None),
                                        (["settings", "show", *_dd(offline)], None))
    assert human.returncode == as_json.returncode == cut_off.returncode == 0, human.stderr + cut_off.stderr
    assert f"ap_account                {AP} (Accounts Payable (A/P))" in human.stdout
    assert f"new_item_expense_account  {COGS} (Cost of Goods Sold)" in human.stdout
    assert f"todo_action_type          {ACTION_GENERAL} (General)" in human.stdout
    assert f"todo_resource             {BUYER} (Pat Buyer)" in human.stdout
    record = json_lines(as_json.stdout)[-1]
    assert record["names"] == {"ap_account": "Accounts Payable (A/P)", "new_item_expense_account": "Cost of Goods Sold",
                               "todo_action_type": "General", "todo_resource": "Pat Buyer"}
    assert record["names_unavailable"] == {}
    assert f"ap_account                {AP} (name unavailable: QuickBooks Online is not connected)" in cut_off.stdout
    assert f"todo_resource             {BUYER} (name unavailable: Autotask is not connected)" in cut_off.stdout


def test_show_with_a_service_down_still_shows_the_settings(sandbox, tmp_path):
    connect_store(tmp_path, sandbox)
    configure(tmp_path, days_back=7, todo_action_type=ACTION_GENERAL)
    sandbox.stop()
    result = atqbo("settings", "show", *_dd(tmp_path))
    assert result.returncode == 0, result.stderr
    assert f"todo_action_type          {ACTION_GENERAL} (name unavailable: Autotask: " in result.stdout
    assert "days_back                 7" in result.stdout


def test_set_an_id_that_names_nothing_lists_the_valid_choices(sandbox, tmp_path):
    connect_store(tmp_path, sandbox)
    action, resource = atqbo_all((["settings", "set", "todo_action_type", "999", *_dd(tmp_path)], None),
                                 (["settings", "set", "todo_resource", "999", *_dd(tmp_path)], None))
    assert action.returncode == resource.returncode == 2
    assert ("todo_action_type: Autotask has no action type with id 999 (its active action types: "
            "3 (General), 2 (Meeting), 1 (Phone Call)); nothing was saved") in action.stderr
    assert ("todo_resource: Autotask has no resource with id 999 (its active resources: "
            f"{API_RESOURCE} (Atqbo API), {BUYER} (Pat Buyer)); nothing was saved") in resource.stderr
    with Store.open(tmp_path) as store:
        settings = store.settings.load()
        assert settings.todo_action_type is None and settings.todo_resource is None


def test_version(capsys):
    from importlib.metadata import version

    result = in_process(capsys, "--version")
    assert result.returncode == 0 and result.stdout == f"atqbo {version('atqbo')}\n"


def test_show_names_from_a_hostile_tenant_escaped(serve, tmp_path):
    from sync.sandbox.hostile_text import HOSTILE_SETTINGS
    from sync.text import CONTROL

    server = serve("hostile")
    connect_store(tmp_path, server)
    configure(tmp_path, **HOSTILE_SETTINGS)
    human, as_json = atqbo_all((["settings", "show", *_dd(tmp_path)], None),
                               (["settings", "show", "--json", *_dd(tmp_path)], None))
    assert human.returncode == as_json.returncode == 0, human.stderr
    for out in (human.stdout, as_json.stdout):
        assert not CONTROL.search(out.replace("\n", "")), out  # (line ends are ours)
    assert "(Follow\\x1b]0;" in human.stdout  # the action type's name, its escape sequence made visible
    names = json_lines(as_json.stdout)[-1]["names"]
    assert names["todo_action_type"].startswith("Follow\x1b]0;")  # exact in JSON (escaped by json itself)
    assert names["todo_resource"] == "Pat\x1b[8m Hidden\u202e"
