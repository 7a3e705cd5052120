"""QBO rules listed in docs/sandbox-fidelity.md that no other test held: the intuit_tid header on
every answer, any minorversion accepted (answered as 75), and a query on an entity QBO does not
serve refused with 4001."""

from __future__ import annotations

import pytest

from tests.sandbox.qbo_helpers import fault_of, qbo, qbo_server  # noqa: F401 - fixtures


def test_every_answer_carries_an_intuit_tid(qbo):
    answers = [qbo.get("vendor/101"), qbo.get("vendor/99999"), qbo.query("select * from Vendor"),
               qbo.query("select * from Vendor where"), qbo.post("vendor", {"DisplayName": "Ingram Micro"})]
    assert [r.status_code for r in answers] == [200, 400, 200, 400, 400]
    tids = [r.headers.get("intuit_tid") for r in answers]
    assert all(tids) and len(set(tids)) == len(tids)  # one per transaction


@pytest.mark.parametrize("minor", ["4", "65", "75", "999"])
def test_any_minorversion_is_accepted(qbo, minor):
    # Since Aug 2025 a value below 75 is ignored and the answer is minor version 75 (B-MINOR25).
    r = qbo.get("query", params={"query": "select * from Item where Name = 'Laptop'", "minorversion": minor})
    assert r.status_code == 200 and r.json()["QueryResponse"]["Item"][0]["Name"] == "Laptop"


def test_a_query_on_an_entity_qbo_does_not_serve_is_4001(qbo):
    err = fault_of(qbo.query("select * from Widget"))
    assert err["code"] == "4001" and "Widget" in err["Detail"]


def test_a_bill_on_an_account_that_is_not_accounts_payable_is_refused(qbo):
    # REF-bill: APAccountRef "must be Classification=Liability and AccountSubType=AccountsPayable".
    line = {"DetailType": "ItemBasedExpenseLineDetail", "Amount": 900,
            "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "301"}, "Qty": 1, "UnitPrice": 900}}
    r = qbo.post("bill", {"VendorRef": {"value": "101"}, "APAccountRef": {"value": "21"}, "Line": [line]})
    err = fault_of(r)
    assert r.status_code == 400 and err["code"] == "6000" and err["element"] == "APAccountRef"
    ok = qbo.post("bill", {"VendorRef": {"value": "101"}, "APAccountRef": {"value": "33"}, "Line": [line]})
    assert ok.status_code == 200, ok.text
