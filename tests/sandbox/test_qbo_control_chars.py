"""QBO text fields cannot hold a C0 control character other than tab, LF and CR: QBO serves
its records as XML too (reference/qbo-api.md §2, without Accept: application/json), and XML 1.0
(§2.2, production Char) has no way to write one. The emulator takes that stricter reading and
refuses them with 6000; DEL, C1 and the bidi characters are valid XML and accepted."""

from __future__ import annotations

import pytest

from tests.sandbox.qbo_helpers import fault_of, qbo, qbo_server  # noqa: F401 - fixtures

LINE = {"DetailType": "ItemBasedExpenseLineDetail", "Amount": 1,
        "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "301"}, "Qty": 1, "UnitPrice": 1}}


@pytest.mark.parametrize("path, body", [
    ("vendor", {"DisplayName": "Evil\x1b]0;PWNED\x07"}),
    ("customer", {"DisplayName": "Nul\x00Byte"}),
    ("item", {"Name": "Bell\x07", "ExpenseAccountRef": {"value": "21"}}),
    ("bill", {"VendorRef": {"value": "101"}, "PrivateNote": "note\x1b[31m", "Line": [LINE]}),
    ("bill", {"VendorRef": {"value": "101"}, "Line": [{**LINE, "Description": "form\x0cfeed"}]}),
])
def test_c0_control_characters_are_refused(qbo, path, body):
    r = qbo.post(path, body)
    assert r.status_code == 400, r.text
    fault = fault_of(r)
    assert fault["code"] == "6000" and "control characters" in fault["Detail"]


def test_xml_valid_characters_are_accepted(qbo):
    r = qbo.post("vendor", {"DisplayName": "Del\x7f C1\x9b Bidi \u202eX\u202c"})
    assert r.status_code == 200, r.text
    note = qbo.post("bill", {"VendorRef": {"value": "101"}, "PrivateNote": "two\r\nlines\tand a tab",
                             "Line": [LINE]})
    assert note.status_code == 200, note.text
