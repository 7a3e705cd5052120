"""The shared retry/pacing primitives and the QBO query builder, in isolation."""

from __future__ import annotations

import ast
import pathlib
import random
from datetime import date
from decimal import Decimal

import anyio
import pytest

from sync.clients.http import RetryPolicy, SlidingWindowLimiter, parse_retry_after
from sync.clients.qbo_query import Select, literal, quote

CLIENTS = pathlib.Path(__file__).resolve().parents[2] / "sync" / "clients"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await anyio.sleep(0)


@pytest.mark.anyio
async def test_sliding_window_counts_a_slot_until_window_after_its_answer() -> None:
    t = FakeTime()
    lim = SlidingWindowLimiter(3, 1.0, clock=t.clock, sleep=t.sleep)
    starts = []
    for _ in range(7):
        await lim.acquire()
        starts.append(round(t.now, 3))
        t.now += 0.25  # the request takes 250 ms
        lim.release()
    # 3 in the first second; each next start waits for the slot 3 back: answer + 1 s.
    assert starts[:3] == [0.0, 0.25, 0.5]
    assert starts[3] >= 0.25 + 1.0 and starts[4] >= starts[1] + 0.25 + 1.0
    for i in range(3, 7):
        assert starts[i] >= starts[i - 3] + 0.25 + 1.0 - 1e-9


@pytest.mark.anyio
async def test_sliding_window_waits_for_in_flight_requests() -> None:
    lim = SlidingWindowLimiter(1, 0.05)
    await lim.acquire()
    order = []

    async def second() -> None:
        await lim.acquire()
        order.append("second started")
        lim.release()

    async with anyio.create_task_group() as tg:
        tg.start_soon(second)
        await anyio.sleep(0.1)  # longer than the window: only the answer frees the slot
        order.append("first answered")
        lim.release()
    assert order == ["first answered", "second started"]


@pytest.mark.anyio
async def test_wait_free_returns_when_a_slot_would_be_granted_and_takes_none() -> None:
    t = FakeTime()
    lim = SlidingWindowLimiter(2, 60.0, clock=t.clock, sleep=t.sleep)
    await lim.wait_free()
    assert t.now == 0.0 and lim.in_window() == 0  # free: no wait, no slot taken
    for _ in range(2):
        await lim.acquire()
        t.now += 1.0
        lim.release()
    await lim.wait_free()  # both slots used: free 60 s after the first answer (at 1 s)
    assert t.now == pytest.approx(61.0, abs=0.01) and lim.in_window() == 1
    await lim.acquire()  # and acquire does not wait after it
    assert t.now == pytest.approx(61.0, abs=0.01)


def test_retry_after_parsing_and_backoff_bounds() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    policy = RetryPolicy(base_delay=0.5, max_delay=8, rng=random.Random(1))
    for attempt in range(1, 10):
        cap = min(8, 0.5 * 2 ** (attempt - 1))
        assert cap / 2 <= policy.backoff(attempt) <= cap
    assert policy.backoff(1, retry_after=30) == 30


def test_quote_escapes_backslash_before_quote() -> None:
    assert quote("Adam's") == "'Adam\\'s'"
    assert quote("a\\b") == "'a\\\\b'"
    assert quote("\\'") == "'\\\\\\''"
    assert quote("Zoë Ærø ÿ") == "'Zoë Ærø ÿ'"  # Latin-1 passes QBO's lexer
    with pytest.raises(ValueError):
        quote("nul\x00")
    for text in ("Zoë – 株", "O’Neil", "“x”", "Łódź"):  # above U+00FF: QBO answers a lexical error
        with pytest.raises(ValueError, match=r"cannot carry .* \(U\+[0-9A-F]{4}\)"):
            quote(text)


def test_select_builds_every_clause_and_refuses_injection() -> None:
    q = (Select("Bill").eq("DocNumber", "PO-1").where("TxnDate", ">=", date(2026, 1, 2))
         .where("Id", "IN", ["1", "2"]).where("Active", "=", True).where("TotalAmt", ">", Decimal("10.50"))
         .order("MetaData.CreateTime", descending=True).page(11, 5))
    assert q.build() == ("SELECT * FROM Bill WHERE DocNumber = 'PO-1' AND TxnDate >= '2026-01-02' AND "
                         "Id IN ('1', '2') AND Active = true AND TotalAmt > 10.50 "
                         "ORDERBY MetaData.CreateTime DESC STARTPOSITION 11 MAXRESULTS 5")
    assert Select("Vendor").counting().build() == "SELECT count(*) FROM Vendor"
    assert literal(False) == "false" and literal(3) == "3"
    with pytest.raises(ValueError):
        Select("Vendor").where("DisplayName = 'x' OR 1", "=", "y")
    with pytest.raises(ValueError):
        Select("Vendor; DROP").build()
    with pytest.raises(ValueError):
        Select("Vendor").where("Name", "OR", "x")
    with pytest.raises(ValueError):
        Select("Vendor").page(0, 10)
    with pytest.raises(ValueError):
        Select("Vendor").page(1, 1001)


def test_clients_share_no_code_with_the_sandbox() -> None:
    for path in CLIENTS.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any("sandbox" in n for n in names), f"{path.name} imports {names}"
