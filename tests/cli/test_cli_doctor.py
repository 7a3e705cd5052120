"""`atqbo doctor [--json]` as a subprocess against the sandbox: the demo company shows a would-fail
PO of each kind (exit 3), a clean company passes (exit 0), an unconnected or unconfigured folder
cannot run (exit 2); it writes nothing anywhere, and costs the scan's reads plus at most 0.2
calls per PO (counted by the sandbox)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from cli_helpers import (COGS, atqbo, configure, connect_store, days_ago, in_process, json_lines, seed_with_pos)
from sync.sandbox.demo import DEMO_SETTINGS
from sync.sandbox.empty import empty_seed
from sync.sandbox.qbo import seed as qs


def _records(server) -> tuple:
    state = httpx.get(server.url + "/_sandbox/state", timeout=10).json()
    return state["qbo"], state["autotask"]["entities"]


def _stats(server, reset: bool = False) -> dict:
    if reset:
        return httpx.post(server.url + "/_sandbox/stats", timeout=10).json()
    return httpx.get(server.url + "/_sandbox/stats", timeout=10).json()


def _is_write(service: str, route: str) -> bool:
    method, _, path = route.partition(" ")
    if method in ("PATCH", "PUT", "DELETE"):
        return True
    if method != "POST":
        return False
    if service == "autotask":
        return not path.endswith(("/query", "/query/count"))
    return not path.endswith("/query")  # QBO: POST /query is a read; any other POST writes


def _reads_and_writes(stats: dict) -> tuple[int, int]:
    reads = writes = 0
    for service in ("autotask", "qbo"):
        for route, n in stats[service]["routes"].items():
            if _is_write(service, route):
                writes += n
            else:
                reads += n
    return reads, writes


def _files(folder: Path) -> dict[str, str]:
    """Every file of the data folder but the secrets (a token refresh saves the rotated token)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "secret" not in p.name}


def test_demo_company_shows_each_kind_of_failure_and_writes_nothing(ready, capsys):
    w = ready("demo", **{**DEMO_SETTINGS, "missing_item": "error", "po_number_source": "autotask"})
    records, files = _records(w.server), _files(w.data_dir)
    _stats(w.server, reset=True)
    result = atqbo("doctor", "--json", *w.dd)
    assert result.returncode == 3, result.stderr
    lines = json_lines(result.stdout)
    summary = lines[-1]
    assert summary["command"] == "doctor" and summary["exit_code"] == 3 and summary["ok"] is False
    pos = {p["po_number"]: p for p in lines if p.get("type") == "po"}
    failing = {p["cause_code"]: p for p in pos.values() if p["outcome"] == "fail"}
    assert {"name_clash_vendor_is_customer", "name_clash_customer_is_vendor", "missing_item",
            "item_not_purchasable", "currency_mismatch", "doc_number_taken"} <= set(failing)
    # Each names the PO, its organization and (where it is about one) the item.
    assert failing["name_clash_vendor_is_customer"]["vendor"] == "Acme Corp"
    assert "Acme Corp" in failing["name_clash_vendor_is_customer"]["cause"]
    assert failing["name_clash_customer_is_vendor"]["customer"] == "Northwind Traders"
    assert "Managed Services Retainer" in failing["item_not_purchasable"]["cause"]
    assert failing["currency_mismatch"]["vendor"] == "Brightstar UK Ltd" and "GBP" in failing["currency_mismatch"]["cause"]
    assert "QuickBooks" in failing["missing_item"]["cause"] and failing["missing_item"]["fix"]
    assert failing["doc_number_taken"]["po_number"] == "1007"
    assert summary["pos"] == len(pos) and summary["pos_fail"] == len([p for p in pos.values() if p["outcome"] == "fail"])
    creates = [c for c in lines if c.get("type") == "create"]
    assert ("Vendor", "Müller Elektronik GmbH", "in EUR") in {(c["entity"], c["name"], c["detail"]) for c in creates}
    findings = {f["code"]: f for f in lines if f.get("type") == "finding"}
    assert findings["would_fail"]["level"] == "attention"
    assert {"qbo_refresh_ok", "autotask_zone", "ap_account_ok", "todo_action_type_ok", "todo_resource_ok",
            "custom_txn_numbers", "autotask_budget", "qbo_limits"} <= set(findings)

    human = in_process(capsys, "doctor", *w.dd)
    assert human.returncode == 3
    assert "FAIL  PO 4123 (id 24), vendor Acme Corp:" in human.stdout
    assert "would fail" in human.stdout.splitlines()[-1] and "nothing was written" in human.stdout

    # Read-only: no write request reached either service, no record changed, no local file.
    reads, writes = _reads_and_writes(_stats(w.server))
    assert writes == 0 and reads > 0
    assert _records(w.server) == records
    assert _files(w.data_dir) == files


def _clean_seed(n: int):
    """`n` good POs: two known vendors and one new, known and new items, some for a customer."""
    seed = empty_seed()
    at = seed.autotask
    vendors = [at.add_vendor("Ingram Micro"), at.add_vendor("TD Synnex"), at.add_vendor("Brand New Supply")]
    customer = at.add_company("Contoso Dental", "Customer")
    dock, cable, widget = at.add_product("USB-C Dock", 120), at.add_product("Cable", 5), at.add_product("Widget", 9)
    seed.qbo.vendors += [qs.vendor("1", "Ingram Micro"), qs.vendor("2", "TD Synnex")]
    seed.qbo.items += [qs.item("400", "USB-C Dock", expense_account_id=COGS),
                       qs.item("401", "Cable", expense_account_id=COGS)]
    for i in range(n):
        product = (dock, cable, widget)[i % 3]
        extra = {"purchaseForCompanyID": customer} if i % 4 == 0 else {}
        at.add_po(vendors[i % 3], "Submitted", items=[{"productID": product, "quantity": 1 + i % 5, "unitCost": 9}],
                  createDateTime=days_ago(1 + i % 5), freight=5 if i % 7 == 0 else 0, **extra)
    return seed


def test_a_clean_company_passes_and_costs_the_scans_reads_plus_a_fifth_of_a_call_per_po(ready):
    n = 40
    w = ready(_clean_seed(n), missing_item="create", new_item_expense_account=COGS)
    _stats(w.server, reset=True)
    result = atqbo("doctor", *w.dd)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all is well" in result.stdout and "FAIL" not in result.stdout
    assert "vendor Brand New Supply" in result.stdout and "item Widget" in result.stdout
    doctor_reads, doctor_writes = _reads_and_writes(_stats(w.server))
    assert doctor_writes == 0

    _stats(w.server, reset=True)
    scan = atqbo("--daemon", "--once", "--json", *w.dd)
    assert scan.returncode == 0, scan.stdout[-2000:] + scan.stderr
    assert json_lines(scan.stdout)[-1]["synced"] == n  # the doctor was right: every one became a bill
    scan_reads, scan_writes = _reads_and_writes(_stats(w.server))
    assert scan_writes >= n
    assert doctor_reads <= scan_reads + 0.2 * n, (doctor_reads, scan_reads)


def test_doctor_cannot_run_without_a_connection_or_settings(tmp_path, sandbox, capsys):
    incomplete = tmp_path / "incomplete"
    connect_store(incomplete, sandbox)
    configure(incomplete, days_back=7)
    not_connected = in_process(capsys, "doctor", "--json", "--data-dir", str(tmp_path / "nothing"))
    assert not_connected.returncode == 2 and "Autotask is not connected" in not_connected.stderr
    assert json_lines(not_connected.stdout)[-1]["exit_code"] == 2
    missing = in_process(capsys, "doctor", "--data-dir", str(incomplete))
    assert missing.returncode == 2 and "settings incomplete" in missing.stderr and "ap_account" in missing.stderr


def test_doctor_names_settings_that_point_at_unusable_records(ready, capsys):
    w = ready(seed_with_pos(n_ok=1), missing_item="create", new_item_expense_account="33", todo_resource=999999)
    result = in_process(capsys, "doctor", "--json", *w.dd)
    assert result.returncode == 3
    findings = {f["code"]: f for f in json_lines(result.stdout) if f.get("type") == "finding"}
    assert findings["expense_account_type"]["level"] == "fail"
    assert "Accounts Payable" in findings["expense_account_type"]["cause"]
    assert findings["todo_resource_unusable"]["level"] == "fail"
    assert "999999" in findings["todo_resource_unusable"]["title"] and findings["todo_resource_unusable"]["fix"]


def test_a_bug_in_the_doctor_exits_1_and_says_so(ready, capsys, monkeypatch):
    import sync.preflight
    from sync.preflight import WriteRefused

    async def broken(*args, **kwargs):
        raise WriteRefused("a read-only check tried to create in qbo")

    w = ready(seed_with_pos(n_ok=1))
    monkeypatch.setattr(sync.preflight, "run_doctor", broken)
    result = in_process(capsys, "doctor", "--json", *w.dd)
    assert result.returncode == 1
    assert "tried to create" in result.stderr and "report it" in result.stderr
    assert json_lines(result.stdout)[-1]["exit_code"] == 1
    assert w.bills() == []


def test_multicurrency_on_in_autotask_only_is_said_once_not_per_po(ready, capsys):
    seed = seed_with_pos(n_ok=3)
    seed.autotask.add_currency("EUR", 0.92)  # a second active currency: Autotask is multi-currency
    w = ready(seed)  # the empty QBO company runs one currency
    result = in_process(capsys, "doctor", "--json", *w.dd)
    assert result.returncode == 3
    lines = json_lines(result.stdout)
    findings = {f["code"]: f for f in lines if f.get("type") == "finding"}
    assert findings["multicurrency_qbo_off"]["level"] == "fail"
    assert "Turn on multi-currency in QuickBooks" in findings["multicurrency_qbo_off"]["fix"]
    assert "3 eligible" in findings["eligible"]["title"]
    assert [line for line in lines if line.get("type") == "po"] == []  # not three copies of one cause


def test_names_from_outside_never_reach_the_terminal_raw(ready):
    seed = empty_seed()
    at = seed.autotask
    vendor = at.add_vendor("Evil\x1b[2J Corp")
    product = at.add_product("Gadget\x07", 3)
    at.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": 1, "unitCost": 3}],
              createDateTime=days_ago(1))
    w = ready(seed, missing_item="error")
    result = atqbo("doctor", *w.dd)
    assert result.returncode == 3
    assert "\x1b" not in result.stdout and "\x07" not in result.stdout
    assert "vendor Evil\\x1b[2J Corp" in result.stdout


def test_the_hostile_seed_reaches_neither_the_terminal_nor_json_raw(ready):
    from sync.sandbox.hostile_text import HOSTILE_SETTINGS
    from sync.text import has_control

    w = ready("hostile", **HOSTILE_SETTINGS)
    human = atqbo("doctor", *w.dd)
    as_json = atqbo("doctor", "--json", *w.dd)
    assert human.returncode in (0, 3) and as_json.returncode == human.returncode, human.stderr
    assert not has_control(human.stdout.replace("\n", "")), human.stdout
    assert not has_control(as_json.stdout.replace("\n", ""))
    assert json_lines(as_json.stdout)[-1]["pos"] > 0  # it did look at the POs


def test_a_refused_quickbooks_token_is_a_finding_with_its_fix_and_autotask_is_still_checked(ready, capsys):
    from sync.store import Store

    w = ready(seed_with_pos(n_ok=1))
    with Store.open(w.data_dir) as store:
        store.secrets.save_qbo_tokens("not-a-refresh-token-intuit-knows")
    result = in_process(capsys, "doctor", "--json", *w.dd)
    assert result.returncode == 3
    findings = {f["code"]: f for f in json_lines(result.stdout) if f.get("type") == "finding"}
    assert findings["qbo_auth"]["level"] == "fail" and "Reconnect QuickBooks" in findings["qbo_auth"]["fix"]
    assert findings["autotask_zone"]["level"] == "ok"
    assert "not-a-refresh-token" not in result.stdout + result.stderr  # a secret is never shown


def test_an_api_user_that_may_not_write_back_or_make_to_dos_fails_the_doctor_with_the_fix(ready, capsys):
    w = ready(seed_with_pos(n_ok=1))
    denied = httpx.put(w.server.url + "/_sandbox/autotask/rights",
                       json={"PurchaseOrders": ["update"], "CompanyToDos": ["create"]}, timeout=10)
    assert denied.status_code == 200
    result = in_process(capsys, "doctor", "--json", *w.dd)
    assert result.returncode == 3
    rights = [f for f in json_lines(result.stdout) if f.get("code") == "autotask_rights"]
    assert {f["title"] for f in rights} == {"the API user may not write the bill number to purchase orders",
                                            "the API user may not create to-dos for failed purchase orders"}
    assert all(f["level"] == "fail" and "Security Levels" in f["fix"] for f in rights)
    assert w.bills() == []  # the doctor writes nothing

    # Scanned all the same: the bill is made once, the refused write-back is said with its fix,
    # and the next scan does not make the bill again.
    httpx.put(w.server.url + "/_sandbox/autotask/rights", json={"PurchaseOrders": ["update"]}, timeout=10)
    for _ in range(2):
        scan = atqbo("--daemon", "--once", *w.dd)
        assert scan.returncode == 3, scan.stdout + scan.stderr
        assert "adequate permissions to update" in scan.stdout and "permission to edit purchase orders" in scan.stdout
    assert len(w.bills()) == 1

    httpx.put(w.server.url + "/_sandbox/autotask/rights", json={}, timeout=10)
    fine = in_process(capsys, "doctor", "--json", *w.dd)
    rights = [f for f in json_lines(fine.stdout) if f.get("code") == "autotask_rights"]
    assert len(rights) == 2 and all(f["level"] == "ok" for f in rights)
