"""What a scan keeps while it streams its POs is bounded (issue 17 "Scale"): the caches of names
and records forget their oldest entries, QBO's tagged bills are kept slim."""

from __future__ import annotations

import pytest

from sync.engine.resolve import BoundedCache
from sync.engine.sources import References
from sync.engine.tagged_bills import TaggedBills

pytestmark = pytest.mark.anyio


def test_a_bounded_cache_forgets_its_oldest_entries():
    cache = BoundedCache(3)
    for key in "abcd":
        cache[key] = key.upper()
    assert list(cache) == ["b", "c", "d"]
    cache["b"] = "B2"  # set again: now the newest
    cache["e"] = "E"
    assert list(cache) == ["d", "b", "e"] and cache["b"] == "B2"


class _Autotask:
    """Answers `in` queries by id and counts them (the only call References makes)."""

    def __init__(self) -> None:
        self.asked: list[list[int]] = []

    async def query(self, entity, filters):
        ids = list(filters[0].value)
        self.asked.append(ids)
        return [{"id": i, "name": f"{entity} {i}"} for i in ids]


async def test_references_ask_only_for_records_not_seen_and_keep_at_most_the_limit():
    at, refs = _Autotask(), References(limit=4)
    assert set(await refs.fetch(at, "Products", {1, 2, 3})) == {1, 2, 3}
    assert set(await refs.fetch(at, "Products", {2, 3, 4, 5})) == {2, 3, 4, 5}
    assert at.asked == [[1, 2, 3], [4, 5]]
    assert list(refs.products) == [2, 3, 4, 5]  # 1 was the oldest
    await refs.fetch(at, "Companies", {7})
    assert list(refs.companies) == [7] and at.asked[-1] == [7]


def test_a_bill_the_run_made_is_kept_with_only_what_adopting_it_needs():
    bills = TaggedBills(qbo=None)  # type: ignore[arg-type]
    bills.add({"Id": "9", "DocNumber": "1001", "VendorRef": {"value": "5", "name": "Acme"}, "TotalAmt": 10,
               "PrivateNote": "Autotask purchase order PO-1 (Autotask PO id 42)",
               "Line": [{"Amount": 10, "Description": "x" * 1000}], "MetaData": {"CreateTime": "2026-01-01"}})
    kept = bills.first(42)
    assert kept == {"Id": "9", "DocNumber": "1001", "VendorRef": {"value": "5"}, "TotalAmt": 10}
    assert bills.first(41) is None


class _Qbo:
    """Answers every query with fresh copies of the company's items, as JSON parsing does."""

    def __init__(self, items: list[dict]) -> None:
        self.items = items

    async def query_iter(self, select):
        for item in self.items:
            yield dict(item)

    async def query_all(self, select):
        return [dict(item) for item in self.items]


async def test_a_looked_up_record_the_listing_holds_unchanged_is_kept_once():
    from sync.engine.resolve import Resolver

    qbo = _Qbo([{"Id": "1", "Name": "Cable", "SyncToken": "0"}, {"Id": "2", "Name": "Disk", "SyncToken": "0"}])
    resolver = Resolver(qbo=qbo, publish=lambda event: None)  # type: ignore[arg-type]
    listed = await resolver._listing("Item", "Name")
    qbo.items[1] = {**qbo.items[1], "SyncToken": "1"}  # changed since the listing: its own copy
    found = await resolver._lookup_keys("Item", "Name", {"cable": "Cable", "disk": "Disk"})
    assert found["cable"] is listed["cable"]
    assert found["disk"] is not listed["disk"] and found["disk"]["SyncToken"] == "1"
