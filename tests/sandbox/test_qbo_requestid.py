"""`requestid` (reference/qbo-api.md §7): a repeated request gets the first response verbatim and
creates nothing, even when the first reply was lost after the write committed."""

from __future__ import annotations

import httpx
import pytest

from tests.sandbox.qbo_helpers import fault_of, qbo, qbo_server  # noqa: F401 - fixtures
from sync.sandbox.control import FaultRule

BILL = {"VendorRef": {"value": "102"}, "DocNumber": "RQ-1",
        "Line": [{"DetailType": "ItemBasedExpenseLineDetail", "Amount": 30.0,
                  "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "303"}, "Qty": 3, "UnitPrice": 10}}]}


def bill_count(qbo) -> int:
    return qbo.query("select count(*) from Bill").json()["QueryResponse"]["totalCount"]


def test_same_requestid_replays_and_creates_nothing(qbo):
    first = qbo.post("bill", BILL, params={"requestid": "rq-0001"})
    assert first.status_code == 200
    second = qbo.post("bill", BILL, params={"requestid": "rq-0001"})
    assert second.status_code == 200
    assert second.content == first.content  # verbatim, "time" included
    assert bill_count(qbo) == 2  # the seeded bill and this one
    # Without requestid (or with another one) it is a new bill.
    assert qbo.post("bill", BILL, params={"requestid": "rq-0002"}).json()["Bill"]["Id"] != \
        first.json()["Bill"]["Id"]
    assert bill_count(qbo) == 3


def test_lost_reply_then_retry_gets_the_original(qbo_server, qbo):
    qbo_server.sandbox.faults.add(FaultRule(kind="lost", service="qbo", method="POST", path="/bill", times=1))
    with pytest.raises(httpx.TransportError):
        qbo.post("bill", BILL, params={"requestid": "lost-1", "minorversion": "75"})
    assert bill_count(qbo) == 2  # the write committed although the client never heard
    retry = qbo.post("bill", BILL, params={"requestid": "lost-1", "minorversion": "75"})
    assert retry.status_code == 200
    assert retry.json()["Bill"]["DocNumber"] == "RQ-1"
    assert bill_count(qbo) == 2
    stored = qbo.rows("select * from Bill where DocNumber = 'RQ-1'", "Bill")
    assert [b["Id"] for b in stored] == [retry.json()["Bill"]["Id"]]


def test_reuse_with_another_body_or_path_is_600(qbo):
    assert qbo.post("bill", BILL, params={"requestid": "rq-x"}).status_code == 200
    r = qbo.post("bill", {**BILL, "DocNumber": "RQ-2"}, params={"requestid": "rq-x"})
    assert r.status_code == 400
    err = fault_of(r)
    assert err["code"] == "600" and err["Message"] == "Duplicate Request ID"
    assert fault_of(qbo.post("vendor", {"DisplayName": "X"}, params={"requestid": "rq-x"}))["code"] == "600"
    assert bill_count(qbo) == 2
    # Configurable: replay the first response instead.
    qbo.http.patch("/_sandbox/qbo/settings", json={"requestid_conflict_fault": False})
    again = qbo.post("bill", {**BILL, "DocNumber": "RQ-2"}, params={"requestid": "rq-x"})
    assert again.status_code == 200 and again.json()["Bill"]["DocNumber"] == "RQ-1"


def test_a_fault_is_not_remembered_so_a_fixed_cause_can_be_retried(qbo):
    bad = {**BILL, "Line": [{**BILL["Line"][0], "ItemBasedExpenseLineDetail": {
        "ItemRef": {"value": "302"}, "Qty": 3, "UnitPrice": 10}}]}
    assert fault_of(qbo.post("bill", bad, params={"requestid": "fix-1"}))["code"] == "6000"
    qbo.http.patch("/_sandbox/qbo/entities/Item/302", json={"ExpenseAccountRef": {"value": "22"}})
    assert qbo.post("bill", bad, params={"requestid": "fix-1"}).status_code == 200


def test_requestid_length_limits(qbo):
    assert qbo.post("vendor", {"DisplayName": "Fifty"}, params={"requestid": "r" * 50}).status_code == 200
    assert fault_of(qbo.post("vendor", {"DisplayName": "Fifty-one"}, params={"requestid": "r" * 51}))["code"] == "2050"
    batch = {"BatchItemRequest": [{"bId": "b1", "operation": "create", "Vendor": {"DisplayName": "In Batch"}}]}
    assert fault_of(qbo.post("batch", batch, params={"requestid": "b" * 37}))["code"] == "2050"
    assert qbo.post("batch", batch, params={"requestid": "b" * 36}).status_code == 200


def test_batch_replay(qbo):
    batch = {"BatchItemRequest": [{"bId": "1", "operation": "create", "Vendor": {"DisplayName": "Batch Once"}},
                                  {"bId": "2", "operation": "create", "Bill": BILL}]}
    first = qbo.post("batch", batch, params={"requestid": "batch-rq-1"})
    second = qbo.post("batch", batch, params={"requestid": "batch-rq-1"})
    assert first.status_code == 200 and second.content == first.content
    assert bill_count(qbo) == 2
    assert len(qbo.rows("select * from Vendor where DisplayName = 'Batch Once'", "Vendor")) == 1
    long_bid = {"BatchItemRequest": [{"bId": "b" * 11, "operation": "create", "Vendor": {"DisplayName": "Q"}}]}
    assert fault_of(qbo.post("batch", long_bid, params={"requestid": "batch-rq-2"}))["code"] == "2050"
    assert qbo.post("batch", long_bid).status_code == 200  # without requestid, bIds may be long
