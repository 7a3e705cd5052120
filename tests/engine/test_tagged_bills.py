"""The tagged-bill index's own rules, on a recording stand-in for the QBO client (no network:
the engine tests prove it against the sandbox): which window each read asks for, that a read
is never repeated for a covered day, and which bills count as naming a PO."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from sync.clients.qbo_query import Select
from sync.engine.resolve import private_note, tagged_po_ids
from sync.engine.tagged_bills import MARGIN, TaggedBills

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 3, 6, 0, tzinfo=timezone.utc)


class RecordingQbo:
    def __init__(self, bills: list[dict]) -> None:
        self.bills = bills
        self.statements: list[str] = []

    async def query_iter(self, select: Select):
        self.statements.append(select.build())
        for bill in self.bills:
            yield bill


def _bill(id_: str, po_id: int | None, note: str | None = None) -> dict:
    return {"Id": id_, "DocNumber": f"D{id_}",
            "PrivateNote": note if note is not None else (private_note(f"AT-{po_id}", po_id) if po_id else "")}


async def test_one_read_from_the_floor_serves_every_po_of_the_scan():
    qbo = RecordingQbo([_bill("12", 5), _bill("9", 5), _bill("30", 6)])
    index = TaggedBills(qbo, floor=NOW - timedelta(days=30))  # type: ignore[arg-type]

    assert (await index.bill_of(5, NOW - timedelta(days=1)))["Id"] == "9"  # the oldest of two
    assert (await index.bill_of(6, NOW - timedelta(days=29)))["Id"] == "30"
    assert await index.bill_of(7, NOW) is None

    since = (NOW - timedelta(days=30) - MARGIN).isoformat()
    assert qbo.statements == [f"SELECT * FROM Bill WHERE MetaData.CreateTime >= '{since}' "
                              "ORDERBY MetaData.CreateTime"]


async def test_an_older_po_widens_the_window_by_the_missing_days_only():
    qbo = RecordingQbo([])
    index = TaggedBills(qbo)  # type: ignore[arg-type]
    await index.cover(NOW - timedelta(days=3))
    await index.cover(NOW - timedelta(days=2))  # covered: no read
    await index.cover(NOW - timedelta(days=40))

    first, wider = (NOW - timedelta(days=3) - MARGIN).isoformat(), (NOW - timedelta(days=40) - MARGIN).isoformat()
    assert qbo.statements == [
        f"SELECT * FROM Bill WHERE MetaData.CreateTime >= '{first}' ORDERBY MetaData.CreateTime",
        f"SELECT * FROM Bill WHERE MetaData.CreateTime >= '{wider}' AND MetaData.CreateTime < '{first}' "
        "ORDERBY MetaData.CreateTime"]


async def test_reload_reads_the_covered_window_again_and_forgets_nothing_it_still_finds():
    qbo = RecordingQbo([_bill("4", 8)])
    index = TaggedBills(qbo)  # type: ignore[arg-type]
    await index.cover(NOW - timedelta(days=1))
    qbo.bills.append(_bill("5", 9))  # created after the first read
    assert index.first(9) is None

    await index.reload(NOW - timedelta(days=1))

    assert index.first(9)["Id"] == "5" and index.first(8)["Id"] == "4"
    assert len(qbo.statements) == 2 and qbo.statements[0] == qbo.statements[1]


def test_only_the_tag_with_ascii_digits_names_a_po():
    assert tagged_po_ids(_bill("1", 42)) == {42}
    assert tagged_po_ids(_bill("1", None, "(Autotask PO id 7) and (Autotask PO id 8)")) == {7, 8}
    for note in ("Autotask PO id 7", "(Autotask PO id ٣)", "(Autotask PO id -7)", "(Autotask PO id 7 )",
                 "(Autotask PO id 1234567890123456789)", ""):
        assert tagged_po_ids(_bill("1", None, note)) == set(), note
    assert tagged_po_ids({"Id": "1", "PrivateNote": None}) == set()
