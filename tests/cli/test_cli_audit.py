"""`atqbo why` and `atqbo export` as subprocesses after real scans on the sandbox: the story
of a synced PO and of a failed one, told in order with their decisions and writes; the export's
rows and its CSV safe in a spreadsheet with hostile names."""

from __future__ import annotations

import csv
import io
import json

from cli_helpers import COGS, atqbo, atqbo_all, days_ago, in_process, json_lines
from sync.sandbox.empty import empty_seed
from sync.sandbox.qbo import seed as qs
from sync.store import Store

# Cells a spreadsheet would run. The customer column carries the Autotask names as they are;
# the vendor column the QuickBooks names (made valid by the name rule: no tab, no colon).
HOSTILE = ["=HYPERLINK(\"http//evil.example\",\"x\")", "+SUM(1)", "-2+3", "@cmd", "\tTab Co", "\rCR Co"]


def hostile_seed():
    seed = empty_seed()
    at = seed.autotask
    dock = at.add_product("USB-C Dock", 120)
    cable = at.add_product("Cable", 5)
    seed.qbo.items.append(qs.item("400", "USB-C Dock", expense_account_id=COGS))
    for name in HOSTILE:
        vendor = at.add_vendor(name)
        buyer = at.add_company(name + " (customer)")
        at.add_po(vendor, "Submitted", items=[{"productID": dock, "quantity": 2, "unitCost": 120}],
                  createDateTime=days_ago(1), purchaseForCompanyID=buyer)
    plain = at.add_vendor("Ingram Micro")
    at.add_po(plain, "Submitted", items=[{"productID": cable, "quantity": 3, "unitCost": 5}],
              createDateTime=days_ago(1))
    return seed


def test_why_tells_the_story_of_a_synced_and_a_failed_po(ready):
    w = ready(hostile_seed())
    scan = atqbo("--daemon", "--once", "--json", *w.dd)
    assert scan.returncode == 3, scan.stderr  # the cable PO fails: missing_item = error
    synced, failed, unknown = atqbo_all((["why", "1", *w.dd], None), (["why", "7", "--json", *w.dd], None),
                                        (["why", "99", *w.dd], None))
    assert synced.returncode == 0, synced.stderr
    lines = synced.stdout.splitlines()
    assert "synced: bill 1" in lines[0]
    story = "\n".join(lines[1:])
    # In order: picked up by the scan, the vendor created, the bill with its requestid, the write-back.
    order = ["picked up by a scan", "started by service", "vendor '=HYPERLINK", "created (Vendor",
             "bill 1 created in QuickBooks", "vendor", "number from the next number of QuickBooks' own bill sequence",
             "requestid ", "externalPONumber set to 1"]
    at = -1
    for text in order:
        found = story.find(text, at + 1)
        assert found > at, (text, story)
        at = found
    assert "\\t" not in lines[0]
    data = json.loads(failed.stdout.splitlines()[-1])
    assert failed.returncode == 0 and data["ok"] is True and data["po_id"] == 7
    kinds = [s["kind"] for s in data["steps"]]
    assert kinds[0] == "seen" and "failed" in kinds and "todo_created" in kinds
    fail_step = next(s for s in data["steps"] if s["kind"] == "failed")
    assert fail_step["details"]["cause_code"] == "missing_item" and fail_step["details"]["fix"]
    assert data["errors"][0]["cause_code"] == "missing_item" and data["state"]["state"] == "failed"
    assert unknown.returncode == 0 and "no record of this purchase order" in unknown.stdout


def test_why_shows_a_retry_and_who_started_it(ready, capsys):
    w = ready(hostile_seed())
    assert atqbo("--daemon", "--once", *w.dd).returncode == 3
    with Store.open(w.data_dir) as store:
        store.settings.set("missing_item", "create")
        store.settings.set("new_item_expense_account", COGS)
        [entry] = store.errors.open_errors()
    retried = atqbo("retry", str(entry.id), *w.dd)
    assert retried.returncode == 0, retried.stderr
    why = in_process(capsys, "why", "7", "--json", *w.dd)
    steps = json.loads(why.stdout.splitlines()[-1])["steps"]
    origins = [(s["kind"], s["origin"]) for s in steps]
    assert ("seen", "service") in origins and ("retry_started", "command line") in origins
    assert [k for k, _ in origins][-4:] == ["item_created", "bill_created", "written_back", "retry_finished"]


def test_export_rows_json_and_csv_neutralised(ready, tmp_path, capsys):
    w = ready(hostile_seed())
    assert atqbo("--daemon", "--once", *w.dd).returncode == 3
    out_file = tmp_path / "bills.csv"
    as_csv, as_json = atqbo_all((["export", "--output", str(out_file), *w.dd], None),
                                (["export", "--format", "json", *w.dd], None))
    assert as_csv.returncode == 0, as_csv.stderr
    assert "7 purchase orders exported" in as_csv.stderr
    assert out_file.stat().st_mode & 0o777 == 0o600
    text = out_file.read_bytes().decode("utf-8")  # keep the CR as it is
    table = list(csv.DictReader(io.StringIO(text, newline="")))
    assert len(table) == 7
    customers = [r["customer"] for r in table[:6]]
    assert customers == ["'" + name + " (customer)" for name in HOSTILE]  # every formula start neutralised
    assert [r["vendor"][:2] for r in table[:4]] == ["'=", "'+", "'-", "'@"]
    for row in table:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), row
    first = table[0]
    assert (first["autotask_po_id"], first["qbo_doc_number"], first["amount"], first["state"]) == ("1", "1", "240.00", "written_back")
    assert first["qbo_bill_id"] and first["synced_at"] and first["qbo_document"] == "Bill"
    assert table[6]["qbo_document"] == ""  # failed: no document in QuickBooks
    assert table[6]["state"] == "failed" and table[6]["last_error"].startswith("missing_item:")
    rows = json_lines(as_json.stdout)
    assert rows[-1] == {"ok": True, "exit_code": 0, "rows": 7}
    assert rows[0]["customer"] == HOSTILE[0] + " (customer)"  # JSON keeps the name as it is
    future = in_process(capsys, "export", "--since", "2999-01-01", "--format", "json", *w.dd)
    assert json_lines(future.stdout) == [{"ok": True, "exit_code": 0, "rows": 0}]
    bad = in_process(capsys, "export", "--since", "yesterday", *w.dd)
    assert bad.returncode == 2 and "must be a date like" in bad.stderr
    unwritable = in_process(capsys, "export", "--output", str(tmp_path / "no" / "such" / "x.csv"), *w.dd)
    assert unwritable.returncode == 2 and "cannot write" in unwritable.stderr
