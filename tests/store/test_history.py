"""The per-PO history: one file per block of ids, owner-only, a torn last line skipped, each PO's
story in order, the newest entry of a kind per PO (export), finished scans kept to a bound."""

from __future__ import annotations

import os
import stat

from sync.store.history import BLOCK, History, HistoryEntry


def test_story_in_order_by_block_and_a_torn_line_skipped(tmp_path):
    h = History(tmp_path / "history")
    h.append_many([HistoryEntry(po_id=5, kind="seen", text="a"), HistoryEntry(po_id=6, kind="seen", text="x"),
                   HistoryEntry(po_id=5, kind="bill_created", text="b", details={"amount": "1.00"}),
                   HistoryEntry(po_id=BLOCK + 5, kind="seen", text="other block")])
    h.append(HistoryEntry(po_id=55, kind="seen", text="not 5"))  # a prefix of no other id
    assert [e.text for e in h.story(5)] == ["a", "b"]
    assert h.story(5)[1].details == {"amount": "1.00"}
    files = sorted(p.name for p in (tmp_path / "history").iterdir())
    assert files == ["000000.log", "000001.log"]
    assert stat.S_IMODE(os.stat(tmp_path / "history" / "000000.log").st_mode) == 0o600
    h.close()
    with open(tmp_path / "history" / "000000.log", "a", encoding="utf-8") as f:
        f.write('5\t{"at":"2026-01-01","kind":"seen","te')  # a crash mid-write
    reopened = History(tmp_path / "history")
    assert [e.text for e in reopened.story(5)] == ["a", "b"]
    reopened.append(HistoryEntry(po_id=5, kind="written_back", text="c"))
    # The torn line is ended before the next entry: only the torn one is lost.
    assert [e.text for e in reopened.story(5)] == ["a", "b", "c"]
    assert reopened.story(404) == []
    latest = reopened.latest_of_kind("bill_created")
    assert set(latest) == {5} and latest[5].text == "b"


def test_finished_scans_kept_to_a_bound(tmp_path):
    h = History(tmp_path / "history")
    assert h.recent_scans() == []
    for i in range(5):
        h.record_scan({"scan_id": str(i)}, keep=3)
    assert [s["scan_id"] for s in h.recent_scans()] == ["2", "3", "4"]
    (tmp_path / "history" / "scans.json").write_text("{damaged")
    assert h.recent_scans() == []
