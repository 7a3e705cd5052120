"""`atqbo plan` and `atqbo approve` against the sandbox over sockets: the plan names each record
matched (by id) or to be created, the bill's number, amount and lines, or the failure; it
writes nothing and costs the scan's reads plus at most 0.1 calls per PO; the scan right after
does what it said. apply_mode holds POs (no to-do, nothing written), an approval lets the
shown plan through, and a plan that changed after its approval is held again with the
difference."""

from __future__ import annotations

import httpx

from cli_helpers import COGS, atqbo, days_ago, in_process, json_lines, seed_with_pos
from sync.sandbox.demo import DEMO_SETTINGS
from sync.sandbox.empty import empty_seed
from sync.sandbox.qbo import seed as qs
from sync.store import Store
from test_cli_doctor import _clean_seed, _files, _reads_and_writes, _records, _stats


def _plans(stdout: str) -> dict[int, dict]:
    return {p["po_id"]: p for p in json_lines(stdout) if p.get("type") == "po"}


def test_demo_plan_names_each_failure_and_match_and_writes_nothing(ready, capsys):
    w = ready("demo", **{**DEMO_SETTINGS, "missing_item": "error", "po_number_source": "autotask"})
    records, files = _records(w.server), _files(w.data_dir)
    _stats(w.server, reset=True)
    result = atqbo("plan", "--json", *w.dd)
    assert result.returncode == 3, result.stderr
    lines = json_lines(result.stdout)
    summary = lines[-1]
    assert summary["command"] == "plan" and summary["exit_code"] == 3 and summary["would_fail"] >= 6
    plans = _plans(result.stdout)
    failing = {p["cause_code"]: p for p in plans.values() if p["outcome"] == "fail"}
    assert {"name_clash_vendor_is_customer", "name_clash_customer_is_vendor", "missing_item",
            "item_not_purchasable", "currency_mismatch", "doc_number_taken"} <= set(failing)
    assert failing["doc_number_taken"]["doc_number"] == "1007" and failing["doc_number_taken"]["fix"]
    bills = [p for p in plans.values() if p["outcome"] == "bill"]
    assert bills
    for p in bills:
        assert p["vendor"]["action"] in ("matched", "create") and p["lines"] and p["ap_account"]
        assert p["amount"] == f"{sum(float(line['amount']) for line in p['lines']):.2f}"
        for record in [p["vendor"], *[line["item"] for line in p["lines"]]]:
            assert (record["action"] == "matched") == bool(record["qbo_id"])
    matched = [p["vendor"] for p in bills if p["vendor"]["action"] == "matched"]
    assert matched and all(v["by"] == "DisplayName" for v in matched)

    human = in_process(capsys, "plan", *w.dd)
    assert human.returncode == 3
    assert "would fail" in human.stdout and "matched to QBO id" in human.stdout

    reads, writes = _reads_and_writes(_stats(w.server))
    assert writes == 0 and reads > 0
    assert _records(w.server) == records
    assert _files(w.data_dir) == files


def test_the_scan_after_the_plan_does_what_it_said_and_the_plan_costs_the_scans_reads(ready):
    n = 40
    w = ready(_clean_seed(n), missing_item="create", new_item_expense_account=COGS)
    _stats(w.server, reset=True)
    result = atqbo("plan", "--json", *w.dd)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    plan_reads, plan_writes = _reads_and_writes(_stats(w.server))
    assert plan_writes == 0
    plans = _plans(result.stdout)
    assert len(plans) == n and all(p["outcome"] == "bill" for p in plans.values())
    creates = sorted(c for p in plans.values() for c in p["creates"])
    assert creates == ["customer 'Contoso Dental'", "item 'Freight'", "item 'Widget'", "vendor 'Brand New Supply'"]

    _stats(w.server, reset=True)
    scan = atqbo("--daemon", "--once", "--json", *w.dd)
    assert scan.returncode == 0, scan.stdout[-2000:] + scan.stderr
    scan_reads, _ = _reads_and_writes(_stats(w.server))
    assert plan_reads <= scan_reads + 0.1 * n, (plan_reads, scan_reads)
    by_po = {int(b["PrivateNote"].split("PO id ")[1].split(")")[0]): b for b in w.bills()}
    for po_id, p in plans.items():
        bill = by_po[po_id]
        assert bill["DocNumber"] == p["doc_number"]
        assert f"{float(bill['TotalAmt']):.2f}" == p["amount"]


def test_named_pos_unknown_and_already_transferred(ready, capsys):
    w = ready(seed_with_pos(n_ok=2))
    first = w.pos()[0]["id"]
    assert atqbo("sync-one", str(first), *w.dd).returncode == 0
    result = in_process(capsys, "plan", "--json", str(first), "999999", *w.dd)
    assert result.returncode == 3
    plans = _plans(result.stdout)
    assert plans[first]["cause_code"] == "po_already_synced"
    assert plans[999999]["cause_code"] == "po_not_found"


def _new_vendor_seed():
    """Two POs: one for a vendor QBO has, one for a vendor it does not."""
    seed = empty_seed()
    at = seed.autotask
    known, new = at.add_vendor("Ingram Micro"), at.add_vendor("Fresh\x1b[31m Supply")
    dock = at.add_product("USB-C Dock", 120)
    seed.qbo.vendors.append(qs.vendor("1", "Ingram Micro"))
    seed.qbo.items.append(qs.item("400", "USB-C Dock", expense_account_id=COGS))
    for vendor in (known, new):
        at.add_po(vendor, "Submitted", items=[{"productID": dock, "quantity": 2, "unitCost": 120}],
                  createDateTime=days_ago(1))
    return seed


def _po_items(w) -> dict:
    return w.server.sandbox.emulators["autotask"].store.tables["PurchaseOrderItems"]


def test_hold_new_records_holds_approve_applies_the_shown_plan_and_a_change_holds_again(ready, capsys):
    w = ready(_new_vendor_seed(), apply_mode="hold_new_records")
    known_po, new_po = (p["id"] for p in w.pos())
    planned = _plans(in_process(capsys, "plan", "--json", *w.dd).stdout)
    assert planned[known_po]["hold"] == "" and planned[new_po]["hold"].startswith("would create vendor 'Fresh")
    # A held PO takes QuickBooks' next number only when it goes ahead: the plan says so.
    assert planned[new_po]["doc_number"] == "" and planned[known_po]["doc_number"]
    text = in_process(capsys, "plan", *w.dd).stdout
    assert f"(id {new_po}): bill (numbered when approved), 240.00" in text, text

    scan = atqbo("--daemon", "--once", *w.dd)
    assert scan.returncode == 0, scan.stdout + scan.stderr
    # The name as QBO would get it (the escape character removed), never raw on the terminal.
    assert "held: would create vendor 'Fresh[31m Supply'" in scan.stdout
    assert "\x1b" not in scan.stdout
    assert len(w.bills()) == 1 and w.todos() == []
    assert "1 synced, 0 failed, 0 skipped, 1 held, 0 to-dos" in scan.stdout  # a hold is not a skip
    assert {p["id"]: p["externalPONumber"] for p in w.pos()}[new_po] in (None, "")
    with Store.open(w.data_dir) as store:  # held is in the journal's folder, and the journal untouched
        assert [h.po_id for h in store.journal.holds.held()] == [new_po]
        assert store.journal.get(new_po) is None

    why = in_process(capsys, "why", str(new_po), *w.dd)  # the PO's history says it is held, and why
    assert "held for approval: would create vendor 'Fresh[31m Supply'" in why.stdout, why.stdout + why.stderr

    # Approve, then the PO changes in Autotask before the scan: held again, with the difference.
    approved = in_process(capsys, "approve", str(new_po), *w.dd)
    assert approved.returncode == 0 and "approved: PO" in approved.stdout
    item = next(i for i in _po_items(w).values() if i["orderID"] == new_po)
    item["quantity"] = 3
    again = atqbo("--daemon", "--once", *w.dd)
    assert again.returncode == 0
    assert "held again" in again.stdout and "line 1:" in again.stdout and "× 2" in again.stdout and "× 3" in again.stdout
    assert len(w.bills()) == 1

    # Approving the plan as it is now lets it through: the vendor is created, the bill made.
    assert in_process(capsys, "approve", "--all-held", *w.dd).returncode == 0
    last = atqbo("--daemon", "--once", *w.dd)
    assert last.returncode == 0, last.stdout + last.stderr
    assert len(w.bills()) == 2 and "held" not in last.stdout.replace("threshold", "")
    with Store.open(w.data_dir) as store:
        assert store.journal.holds.all() == []
    assert in_process(capsys, "approve", "--all-held", *w.dd).stdout.strip() == "no purchase order is held"


def test_manual_holds_every_po_and_approve_json(ready, capsys):
    w = ready(seed_with_pos(n_ok=2), apply_mode="manual")
    scan = atqbo("--daemon", "--once", "--json", *w.dd)
    assert scan.returncode == 0 and w.bills() == [] and w.todos() == []
    assert json_lines(scan.stdout)[-1]["held"] == 2 and json_lines(scan.stdout)[-1]["skipped"] == 0
    scan = atqbo("--daemon", "--once", *w.dd)  # held again next scan, told again, nothing written
    assert scan.stdout.count(") held: would create vendor 'Ingram Micro'") == 2
    ids = sorted(p["id"] for p in w.pos())
    out = in_process(capsys, "approve", "--json", str(ids[0]), "424242", *w.dd)
    assert out.returncode == 3
    lines = json_lines(out.stdout)
    assert lines[-1]["approved"] == 1 and lines[-1]["refused"] == 1
    assert atqbo("--daemon", "--once", *w.dd).returncode == 0
    assert len(w.bills()) == 1


def test_approve_usage(ready, capsys):
    w = ready(seed_with_pos(n_ok=1))
    assert atqbo("approve", *w.dd).returncode == 2
    assert atqbo("approve", "1", "--all-held", *w.dd).returncode == 2
    assert atqbo("settings", "set", "apply_mode", "sometimes", *w.dd).returncode == 2
    httpx.get(w.server.url + "/_sandbox/state", timeout=10)  # the sandbox still answers


def test_names_from_outside_never_reach_the_terminal_raw(ready, capsys):
    seed = empty_seed()
    at = seed.autotask
    vendor = at.add_vendor("Evil\x1b[2J Corp")
    product = at.add_product("Gadget\x07", 3)
    at.add_po(vendor, "Submitted", items=[{"productID": product, "quantity": 1, "unitCost": 3}],
              createDateTime=days_ago(1), purchaseOrderNumber="PO\x1b]0;x\x07-1")
    w = ready(seed, missing_item="error")
    human = atqbo("plan", *w.dd)
    assert human.returncode == 3
    assert "\x1b" not in human.stdout and "\x07" not in human.stdout
    assert "PO PO\\x1b]0;x\\x07-1" in human.stdout
    as_json = in_process(capsys, "plan", "--json", *w.dd)
    assert "\x1b" not in as_json.stdout  # escaped in the JSON text, exact in its value
    (plan,) = _plans(as_json.stdout).values()
    assert plan["vendor_name"] == "Evil\x1b[2J Corp" and plan["po_number"] == "PO\x1b]0;x\x07-1"


def test_plan_and_approve_go_through_the_running_service(ready, capsys, monkeypatch):
    import signal
    import time

    import sync.plan
    from cli_helpers import spawn

    w = ready(_new_vendor_seed(), apply_mode="hold_new_records")
    new_po = [p["id"] for p in w.pos()][1]
    proc = spawn("--daemon", *w.dd)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the service's first scan holds the new vendor's PO
            with Store.open(w.data_dir) as store:
                if store.journal.holds.held() and store.locations.control_socket.exists():
                    break
            time.sleep(0.1)

        def not_here(*args, **kwargs):
            raise AssertionError("approved in the CLI's process, not by the service")

        monkeypatch.setattr(sync.plan, "approve_plans", not_here)
        planned = in_process(capsys, "plan", "--json", *w.dd)
        assert planned.returncode == 0, planned.stderr
        assert _plans(planned.stdout)[new_po]["approval"] == "held"
        approved = in_process(capsys, "approve", "--all-held", *w.dd)
        assert approved.returncode == 0, approved.stderr
        assert f"approved: PO {new_po}" in approved.stdout
        with Store.open(w.data_dir) as store:
            assert store.journal.holds.get(new_po).status.value == "approved"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
