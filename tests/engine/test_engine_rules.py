"""Unit tests of the engine's pure rules: names, amounts, numbering, currency, causes, eligibility."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from sync import events
from sync.engine import causes
from sync.engine.amounts import json_number, line_amount, round_money, to_decimal
from sync.engine.currency import (CurrencyContext, CurrencyMode, CurrencyProblem, autotask_is_multicurrency,
                                  bill_currency, decide_mode, pick_ap_account, vendor_currency_in_autotask)
from sync.engine.names import InvalidName, qbo_name
from sync.engine.numbering import (BillSequence, DocNumberTooLong, autotask_doc_number, highest_numeric,
                                   next_after)
from sync.engine.scan import is_eligible, parse_autotask_datetime, sync_one_refusal, window_start


# ---------------------------------------------------------------- names

@pytest.mark.parametrize("raw, kind, expected", [
    ("Acme: West", "vendor", "Acme- West"),
    ("Tab\there", "vendor", "Tab here"),
    ("Line\r\nbreak\n", "customer", "Line break"),
    ("  lots   of    space ", "item", "lots of space"),
    ("O'Brien & Sons \"Ltd\"", "vendor", "O'Brien & Sons \"Ltd\""),
    ("Müller Straße Ærø", "vendor", "Müller Straße Ærø"),
    ("Cable: Cat6\t3m", "item", "Cable- Cat6 3m"),
])
def test_qbo_name_rule(raw, kind, expected):
    assert qbo_name(raw, kind) == expected


def test_qbo_name_truncates_at_the_limit_by_characters():
    assert qbo_name("é" * 150, "item") == "é" * 100
    assert qbo_name("x" * 600, "vendor") == "x" * 500
    # a cut that lands after a space does not leave a trailing space
    assert qbo_name("a" * 99 + " b", "item") == "a" * 99


@pytest.mark.parametrize("raw", ["", "   ", "\t\n", None])
def test_qbo_name_rejects_empty(raw):
    with pytest.raises(InvalidName):
        qbo_name(raw, "vendor")


@given(st.text(max_size=700), st.sampled_from(["vendor", "customer", "item"]))
def test_qbo_name_is_always_valid_and_idempotent(raw, kind):
    try:
        name = qbo_name(raw, kind)
    except InvalidName:
        return
    assert not any(c in name for c in ":\t\n\r")
    assert 0 < len(name) <= {"vendor": 500, "customer": 500, "item": 100}[kind]
    assert qbo_name(name, kind) == name  # a name we created is matched by the same rule


# ---------------------------------------------------------------- amounts

@pytest.mark.parametrize("qty, price, expected", [
    (3, 19.99, "59.97"),
    (1, 0.005, "0.01"),  # half-up, not banker's rounding
    (1, 2.675, "2.68"),  # float 2.675 is 2.67499999...; read as the decimal the user typed
    (2, 0.125, "0.25"),
    (7, 1.1, "7.70"),
    (3, 0.1, "0.30"),
    (0, 10, "0.00"),
    (-1, 0.005, "-0.01"),
])
def test_line_amount_round_half_up(qty, price, expected):
    assert line_amount(qty, price) == Decimal(expected)


def test_to_decimal_rejects_garbage():
    for bad in ("abc", float("nan"), float("inf"), True):
        with pytest.raises(ValueError):
            to_decimal(bad)
    assert to_decimal(None) == 0


@given(st.integers(0, 10_000), st.decimals(min_value=0, max_value=100_000, places=4))
def test_json_number_round_trips(qty, price):
    amount = round_money(Decimal(qty) * price)
    assert Decimal(str(json_number(amount))) == amount


# ---------------------------------------------------------------- numbering

def test_highest_numeric_ignores_non_numeric_and_compares_as_numbers():
    assert highest_numeric(["9", "10", "PO-99", None, "", "A12", "²"]) == "10"
    assert highest_numeric(["PO-1"]) is None
    assert highest_numeric(["007", "7"]) == "007"


def test_next_after_keeps_padding():
    assert next_after(None) == "1"
    assert next_after("0041") == "0042"
    assert next_after("99") == "100"


def test_bill_sequence_hands_out_consecutive_numbers():
    seq = BillSequence(["1001", "PO-5000", "999"])
    assert [seq.take(), seq.take()] == ["1002", "1003"]
    seq.observe("2000")
    assert seq.take() == "2001"
    with pytest.raises(DocNumberTooLong):
        BillSequence(["9" * 21]).take()


def test_autotask_doc_number():
    assert autotask_doc_number({"id": 5, "purchaseOrderNumber": "PO-77"}) == "PO-77"
    assert autotask_doc_number({"id": 5, "purchaseOrderNumber": None}) == "5"
    assert autotask_doc_number({"id": 5, "purchaseOrderNumber": "x" * 21}) == "x" * 21
    with pytest.raises(DocNumberTooLong):
        autotask_doc_number({"id": 5, "purchaseOrderNumber": "x" * 22})


# ---------------------------------------------------------------- currency

def test_the_three_currency_cases():
    assert decide_mode(qbo_multicurrency=False, autotask_multicurrency=False) is CurrencyMode.SINGLE
    assert decide_mode(qbo_multicurrency=True, autotask_multicurrency=False) is CurrencyMode.HOME_ONLY
    assert decide_mode(qbo_multicurrency=True, autotask_multicurrency=True) is CurrencyMode.MATCH_VENDOR
    assert decide_mode(qbo_multicurrency=False, autotask_multicurrency=True) is CurrencyMode.BLOCKED


def test_autotask_multicurrency_needs_more_than_one_active():
    assert not autotask_is_multicurrency(None)
    assert not autotask_is_multicurrency([{"id": 1, "isActive": True}, {"id": 2, "isActive": False}])
    assert autotask_is_multicurrency([{"id": 1, "isActive": True}, {"id": 2, "isActive": True}])


def test_bill_currency_rules():
    both = CurrencyContext(CurrencyMode.MATCH_VENDOR, "USD", {1: "USD", 2: "EUR"}, "USD")
    assert bill_currency(both, "EUR", "EUR", "V") == "EUR"
    with pytest.raises(CurrencyProblem) as exc:
        bill_currency(both, "EUR", "USD", "V")
    assert exc.value.code == "currency_mismatch"
    home = CurrencyContext(CurrencyMode.HOME_ONLY, "USD", {})
    assert bill_currency(home, "", "", "V") == "USD"
    with pytest.raises(CurrencyProblem):
        bill_currency(home, "", "CAD", "V")
    assert bill_currency(CurrencyContext(CurrencyMode.SINGLE, "USD", {}), "", "", "V") == ""
    assert vendor_currency_in_autotask(both, {"currencyID": 2}) == "EUR"
    assert vendor_currency_in_autotask(both, {"currencyID": None}) == "USD"
    with pytest.raises(CurrencyProblem):
        vendor_currency_in_autotask(both, {"currencyID": 9, "companyName": "X"})


def test_pick_ap_account_by_currency():
    usd = {"Id": "33", "CurrencyRef": {"value": "USD"}}
    eur = {"Id": "44", "CurrencyRef": {"value": "EUR"}, "Active": True}
    assert pick_ap_account(usd, [usd, eur], "EUR", "USD") is eur
    assert pick_ap_account(usd, [usd, eur], "USD", "USD") is usd
    assert pick_ap_account(usd, [usd], "", "USD") is usd
    with pytest.raises(CurrencyProblem) as exc:
        pick_ap_account(usd, [usd], "GBP", "USD")
    assert exc.value.code == "currency_no_ap_account"


# ---------------------------------------------------------------- causes

def test_every_cause_has_plain_words_and_a_fix():
    for code in causes.CATALOGUE:
        c = causes.make(code, name="N", api="the API said no")
        assert c.code == code and c.cause and c.fix
        assert "Traceback" not in c.cause
        assert "{" not in c.cause + c.fix  # every template field is known


def test_cause_details_are_filled_and_kept_on_one_line():
    c = causes.make("missing_item", name="Widget\nPro")
    assert "Widget Pro" in c.cause and "Widget Pro" in c.fix and "\n" not in c.cause
    assert causes.make("no_such_code").code == "unexpected"
    assert causes.make("qbo_auth", api="x").scan_level


# ---------------------------------------------------------------- eligibility

NOW = datetime(2026, 3, 10, 15, 30, tzinfo=timezone.utc)


def test_window_is_whole_calendar_days_in_utc():
    assert window_start(NOW, 1) == datetime(2026, 3, 9, tzinfo=timezone.utc)
    assert window_start(NOW, 30) == datetime(2026, 2, 8, tzinfo=timezone.utc)
    with pytest.raises(ValueError):
        window_start(NOW, -1)


@pytest.mark.parametrize("po, ok", [
    ({"status": 2, "createDateTime": "2026-03-09T00:00:00.000Z", "externalPONumber": None}, True),
    ({"status": 2, "createDateTime": "2026-03-08T23:59:59.999Z", "externalPONumber": None}, False),
    ({"status": 1, "createDateTime": "2026-03-10T00:00:00Z", "externalPONumber": None}, False),
    ({"status": 2, "createDateTime": "2026-03-10T00:00:00Z", "externalPONumber": "  "}, True),
    ({"status": 2, "createDateTime": "2026-03-10T00:00:00Z", "externalPONumber": "ERROR"}, False),
    ({"status": 2, "createDateTime": "2026-03-10T00:00:00Z", "externalPONumber": "1001"}, False),
    ({"status": 2, "createDateTime": None, "externalPONumber": ""}, False),
])
def test_is_eligible(po, ok):
    assert is_eligible(po, 2, window_start(NOW, 1)) is ok


def test_parse_autotask_datetime_forms():
    expected = datetime(2024, 1, 2, 9, 0, tzinfo=timezone.utc)
    for text in ("2024-01-02T09:00:00.000Z", "2024-01-02T09:00:00Z", "2024-01-02T09:00:00", "2024-01-02T10:00:00+01:00"):
        assert parse_autotask_datetime(text) == expected
    assert parse_autotask_datetime("yesterday") is None


def test_sync_one_refuses_only_a_real_number():
    assert sync_one_refusal({"externalPONumber": "ERROR"}) is None
    assert sync_one_refusal({"externalPONumber": ""}) is None
    assert sync_one_refusal({"externalPONumber": "1002"}) == "1002"


# ---------------------------------------------------------------- events

def test_events_are_frozen_keyword_only_and_timestamped():
    e = events.PoSynced(po_id=1, po_number="1", bill_id="9", doc_number="1001", vendor="V",
                        amount=Decimal("1.00"), currency="", lines=1)
    assert e.at.tzinfo is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.po_id = 2  # type: ignore[misc]
    for cls in events.EVENT_TYPES:
        assert issubclass(cls, events.Event) and cls.__name__[0].isupper()
