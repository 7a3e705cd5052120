"""`atqbo links`, `atqbo link KIND AUTOTASK_ID QBO_ID`, `atqbo unlink KIND AUTOTASK_ID` (issue 16)
as subprocesses against the sandbox: checked against both services, human and JSON output,
the contract's exit codes, and the link the next scan uses."""

from __future__ import annotations

from cli_helpers import COGS, atqbo, days_ago, in_process, json_lines
from sync.sandbox.empty import empty_seed
from sync.sandbox.qbo import seed as qs
from sync.store import Store


def _seed():
    seed = empty_seed()
    at = seed.autotask
    seed.qbo.vendors.extend([qs.vendor("200", "Dell Technologies"), qs.vendor("201", "Old Dell", active=False)])
    seed.qbo.items.extend([qs.item("400", "USB-C Dock", expense_account_id=COGS),
                           qs.item("402", "Docking Station Pro", expense_account_id=COGS),
                           qs.item("401", "Consulting", income_account_id="79", type="Service")])
    org = at.add_vendor("Dell Technologies, Inc.")
    dock = at.add_product("USB-C Dock")
    at.add_po(org, "Submitted", items=[{"productID": dock, "quantity": 1, "unitCost": 9}], createDateTime=days_ago(1))
    return seed, org, dock


def test_a_held_po_is_approved_by_linking_and_the_next_scan_syncs_it(ready):
    seed, org, dock = _seed()
    w = ready(seed)
    first = atqbo("--daemon", "--once", "--json", *w.dd)
    assert first.returncode == 0, first.stderr
    assert w.bills() == [] and any("did you mean 'Dell Technologies' (100 %)?" in line
                                   for line in first.stdout.splitlines())

    made = atqbo("link", "vendor", str(org), "200", "--json", *w.dd)
    assert made.returncode == 0, made.stderr
    [record] = json_lines(made.stdout)
    assert record["link"]["qbo_id"] == "200" and record["link"]["method"] == "near_name_approved"
    assert record["link"]["score"] == 100 and record["link"]["qbo_name"] == "Dell Technologies"

    second = atqbo("--daemon", "--once", "--json", *w.dd)
    assert second.returncode == 0, second.stderr
    [bill] = w.bills()
    assert bill["VendorRef"]["value"] == "200"

    listed = atqbo("links", *w.dd)
    assert listed.returncode == 0
    assert "near name approved (100 %)" in listed.stdout and "Dell Technologies" in listed.stdout
    assert "exact name" in listed.stdout  # the dock's item, matched by name on that scan, seeded
    only = json_lines(atqbo("links", "--kind", "vendor", "--json", *w.dd).stdout)
    assert [l["kind"] for l in only[:-1]] == ["vendor"] and only[-1]["shown"] == 1


def test_link_is_checked_against_both_services_and_nothing_is_stored_on_refusal(ready, capsys):
    seed, org, dock = _seed()
    w = ready(seed)
    refusals = [
        (["link", "vendor", "999999", "200"], "Autotask has no organization with id 999999"),
        (["link", "vendor", str(org), "9999"], "QuickBooks has no vendor with id 9999"),
        (["link", "vendor", str(org), "201"], "is inactive"),
        (["link", "item", str(dock), "401"], "no expense account"),
        (["unlink", "vendor", str(org)], f"no vendor link for Autotask organization {org}"),
    ]
    for args, words in refusals:
        ran = atqbo(*args, *w.dd)
        assert ran.returncode == 2 and words in ran.stderr, (args, ran.stderr)
    with Store.open(w.data_dir) as store:
        assert store.links.all() == []
    for bad in (["link", "thing", "1", "2"], ["link", "vendor", "x", "2"], ["link", "vendor", "1", "-2"],
                ["unlink", "vendor"], ["links", "--kind", "po"]):
        assert in_process(capsys, *bad, *w.dd).returncode == 2, bad


def test_link_by_hand_replaces_and_unlink_forgets(ready):
    seed, org, dock = _seed()
    w = ready(seed)
    made = atqbo("link", "item", str(dock), "400", *w.dd)
    assert made.returncode == 0, made.stderr
    assert "linked: item" in made.stdout and "exact name" not in made.stdout
    again = atqbo("link", "item", str(dock), "402", "--json", *w.dd)  # "Docking Station Pro": not near
    assert json_lines(again.stdout)[0]["link"]["method"] == "by_hand"
    with Store.open(w.data_dir) as store:
        assert [(l.qbo_id, l.method.value) for l in store.links.all()] == [("402", "by_hand")]
    gone = atqbo("unlink", "item", str(dock), "--json", *w.dd)
    assert gone.returncode == 0 and json_lines(gone.stdout)[0]["link"]["qbo_id"] == "402"
    with Store.open(w.data_dir) as store:
        assert store.links.all() == []


def test_names_from_outside_are_shown_never_raw(tmp_path):
    """A link's names came from both services: an escape sequence in one reaches the terminal
    as visible text (sync.text.shown), in the list and in JSON."""
    from sync.store.links import Link, LinkMethod

    data = tmp_path / "data"
    with Store.open(data) as store:
        store.links.put(Link("vendor", 7, "45", LinkMethod.EXACT_NAME, autotask_name="Evil\x1b[2J Corp",
                             qbo_name="Evil\x1b]0;pwned\x07 Corp"))
    ran = atqbo("links", "--data-dir", str(data))
    assert ran.returncode == 0, ran.stderr
    assert "\x1b" not in ran.stdout and "\x07" not in ran.stdout
    assert "Evil\\x1b[2J Corp" in ran.stdout and "exact name" in ran.stdout
    as_json = atqbo("links", "--json", "--data-dir", str(data))
    assert "\x1b" not in as_json.stdout and json_lines(as_json.stdout)[0]["qbo_id"] == "45"
