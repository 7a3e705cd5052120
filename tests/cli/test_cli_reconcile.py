"""`atqbo reconcile` end to end: six POs synced by a real scan, then QuickBooks and Autotask
edited behind atqbo's back through the sandbox's admin API (as a person would in their UIs),
one edit per kind of finding; reconcile names each with what to do and changes nothing."""

from __future__ import annotations

import json

import httpx

from cli_helpers import atqbo, atqbo_all, in_process, json_lines, seed_with_pos


def _bill_of(w, po_id: int) -> dict:
    return next(b for b in w.bills() if f"(Autotask PO id {po_id})" in b.get("PrivateNote", ""))


def test_reconcile_finds_one_of_each_kind_and_changes_nothing(ready, tmp_path, capsys):
    w = ready(seed_with_pos(n_ok=6))
    assert atqbo("--daemon", "--once", *w.dd).returncode == 0
    clean = in_process(capsys, "reconcile", *w.dd)
    assert clean.returncode == 0, clean.stderr
    assert "0 findings; 6 bills made by atqbo and 6 purchase orders checked" in clean.stdout

    admin = w.server.url + "/_sandbox"
    with httpx.Client(base_url=admin, timeout=10) as http:
        def ok(r: httpx.Response) -> dict:
            assert r.status_code in (200, 201), r.text
            return r.json()

        # 1: the write-back undone in Autotask.
        ok(http.patch("/autotask/entities/PurchaseOrders/1", json={"externalPONumber": ""}))
        # 2: the bill deleted in QuickBooks.
        ok(http.delete(f"/qbo/entities/Bill/{_bill_of(w, 2)['Id']}"))
        # 3: the bill voided in QuickBooks (amounts 0, memo "Voided").
        b3 = _bill_of(w, 3)
        zero = [{**line, "Amount": 0, "ItemBasedExpenseLineDetail": {**line["ItemBasedExpenseLineDetail"], "Qty": 0}}
                for line in b3["Line"]]
        ok(http.patch(f"/qbo/entities/Bill/{b3['Id']}", json={"Line": zero, "PrivateNote": "Voided - " + b3["PrivateNote"]}))
        # 4: the bill's quantity changed in QuickBooks.
        b4 = _bill_of(w, 4)
        more = [{**line, "Amount": 360, "ItemBasedExpenseLineDetail": {**line["ItemBasedExpenseLineDetail"], "Qty": 3}}
                for line in b4["Line"]]
        ok(http.patch(f"/qbo/entities/Bill/{b4['Id']}", json={"Line": more}))
        # 5: a second bill for the same PO.
        b5 = _bill_of(w, 5)
        ok(http.post("/qbo/entities/Bill", json={k: b5[k] for k in ("VendorRef", "APAccountRef", "Line", "PrivateNote")}
                     | {"DocNumber": "5-copy"}))
        # 6: the PO cancelled in Autotask after it was synced.
        ok(http.patch("/autotask/entities/PurchaseOrders/6", json={"status": 5}))
    bills_before, pos_before = w.bills(), w.pos()

    human, as_json = atqbo_all((["reconcile", *w.dd], None), (["reconcile", "--json", *w.dd], None))
    assert human.returncode == 3, human.stderr
    lines = json_lines(as_json.stdout)
    summary, findings = lines[-1], lines[:-1]
    assert as_json.returncode == 3 and summary["exit_code"] == 3 and summary["findings"] == 6
    assert summary["by_kind"] == {"no_write_back": 1, "bill_deleted": 1, "bill_voided": 1, "bill_changed": 1,
                                  "duplicate_bills": 1, "cancelled_after_sync": 1}
    by_kind = {f["kind"]: f for f in findings}
    assert {k: f["po_id"] for k, f in by_kind.items()} == {
        "no_write_back": 1, "bill_deleted": 2, "bill_voided": 3, "bill_changed": 4, "duplicate_bills": 5,
        "cancelled_after_sync": 6}
    assert "atqbo sync-one 1" in by_kind["no_write_back"]["fix"]
    assert "amount 240.00 → 360.00" in by_kind["bill_changed"]["text"]
    assert "keep bill 5, the number Autotask holds" in by_kind["duplicate_bills"]["fix"]
    assert all(f["fix"] for f in findings)
    for f in findings:
        assert f"{f['kind']}: " in human.stdout
    assert "what to do: " in human.stdout
    # Read-only: both systems exactly as before.
    assert w.bills() == bills_before and w.pos() == pos_before


def test_reconcile_cannot_run_exit_2(ready, tmp_path, capsys):
    unconnected = in_process(capsys, "reconcile", "--json", "--data-dir", str(tmp_path / "nothing"))
    assert unconnected.returncode == 2
    assert json.loads(unconnected.stdout.splitlines()[-1])["exit_code"] == 2
    assert "reconcile cannot run: Autotask is not connected" in unconnected.stderr
    w = ready(seed_with_pos(n_ok=1))
    w.server.stop()  # the services are down
    down = in_process(capsys, "reconcile", *w.dd)
    assert down.returncode == 2 and "reconcile cannot run:" in down.stderr and "nothing was changed" in down.stderr
