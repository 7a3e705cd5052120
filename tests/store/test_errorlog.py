"""The error log: records, status moves, queries, segments and their indexes, retention."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from sync.store import CorruptFileError, ErrorLog, ErrorStatus, IllegalTransitionError


def _fail(log: ErrorLog, po_id: int, code: str = "missing_item", **kw):
    return log.record_failure(
        po_id=po_id,
        po_number=kw.pop("po_number", f"PO-{po_id}"),
        cause_code=code,
        cause=kw.pop("cause", f"Item for PO {po_id} is not in QuickBooks"),
        fix=kw.pop("fix", "Create the item in QuickBooks, then retry"),
        raw_error=kw.pop("raw_error", '{"Fault":{"Error":[{"code":"610"}]}}'),
        **kw,
    )


def test_entry_fields_round_trip_and_status_moves(tmp_path):
    log = ErrorLog(tmp_path)
    entry = _fail(log, 42, todo_id=77, alt_email="buyer@example.com")
    assert (entry.id, entry.po_id, entry.status, entry.attempts, entry.todo_id) == (1, 42, ErrorStatus.OPEN, 1, 77)
    assert entry.created_at == entry.updated_at and entry.resolved_at is None
    assert ErrorLog(tmp_path).get(1) == entry
    as_json = json.loads(json.dumps(entry.as_dict()))
    assert as_json["id"] == 1 and as_json["status"] == "open" and as_json["alt_email"] == "buyer@example.com"
    retrying = log.mark_retrying(1)
    assert retrying.status is ErrorStatus.RETRYING
    done = log.resolve(1)
    assert done.status is ErrorStatus.RESOLVED and done.resolved_at is not None
    with pytest.raises(IllegalTransitionError):
        log.update(1, status=ErrorStatus.OPEN)
    with pytest.raises(TypeError):
        log.update(1, colour="red")
    with pytest.raises(ValueError):
        _fail(log, 5, code="Not A Code")
    assert ErrorLog(tmp_path).get(1).status is ErrorStatus.RESOLVED


def test_a_retry_that_fails_again_updates_the_open_entry(tmp_path):
    log = ErrorLog(tmp_path)
    first = _fail(log, 9)
    log.mark_retrying(first.id)
    again = _fail(log, 9, code="qbo_validation", cause="QBO said no")
    assert again.id == first.id and again.attempts == 2 and again.status is ErrorStatus.OPEN
    assert again.cause_code == "qbo_validation" and len(log) == 1
    log.resolve(first.id)
    later = _fail(log, 9)  # after resolution a new failure is a new entry
    assert later.id == 2 and log.latest_open_for_po(9).id == 2
    assert [e.id for e in log.for_po(9)] == [2, 1]


def test_queries_across_segments_and_reopen_from_sidecars(tmp_path):
    log = ErrorLog(tmp_path, segment_size=10)
    for i in range(1, 36):
        _fail(log, 1000 + i, code="name_clash" if i % 7 == 0 else "missing_item")
    for entry_id in range(1, 36, 3):
        log.resolve(entry_id)
    segments = sorted(p.name for p in tmp_path.glob("errors-*.json") if ".idx" not in p.name)
    assert segments == ["errors-000001.json", "errors-000002.json", "errors-000003.json", "errors-000004.json"]
    assert sorted(p.name for p in tmp_path.glob("*.idx.json")) == [s.replace(".json", ".idx.json") for s in segments[:3]]

    for reader in (log, ErrorLog(tmp_path, segment_size=10)):
        assert len(reader) == 35
        assert reader.count_by_status() == {ErrorStatus.OPEN: 23, ErrorStatus.RETRYING: 0, ErrorStatus.RESOLVED: 12}
        assert [e.id for e in reader.page(5)] == [35, 34, 33, 32, 31]
        assert [e.id for e in reader.page(5, offset=32)] == [3, 2, 1]
        assert [e.id for e in reader.page(3, status=ErrorStatus.RESOLVED)] == [34, 31, 28]
        open_ids = [e.id for e in reader.open_errors()]
        assert len(open_ids) == 23 and open_ids[:3] == [35, 33, 32] and 34 not in open_ids
        assert reader.latest_open_for_po(1002).id == 2 and reader.latest_open_for_po(1001) is None
        assert [e.id for e in reader.search("NAME_CLASH")] == [35, 28, 21, 14, 7]
        assert [e.id for e in reader.search("po-1017")] == [17]
        assert [e.id for e in reader.search("not in quickbooks", limit=2)] == [35, 34]
    reopened = ErrorLog(tmp_path, segment_size=10)
    assert _fail(reopened, 5).id == 36  # ids continue


def test_stale_or_damaged_sidecar_is_rebuilt_from_the_segment(tmp_path):
    log = ErrorLog(tmp_path, segment_size=5)
    for i in range(12):
        _fail(log, i)
    # Simulate a crash between the segment write and its sidecar write: segment changed.
    sidecar = tmp_path / "errors-000001.idx.json"
    old_sidecar = sidecar.read_bytes()
    log.resolve(2)
    sidecar.write_bytes(old_sidecar)
    (tmp_path / "errors-000002.idx.json").write_text("{garbage")
    reopened = ErrorLog(tmp_path, segment_size=5)
    assert reopened.get(2).status is ErrorStatus.RESOLVED
    assert reopened.count_by_status()[ErrorStatus.RESOLVED] == 1 and len(reopened) == 12
    assert json.loads(sidecar.read_text())["rows"][1][2] == "resolved"
    assert json.loads((tmp_path / "errors-000002.idx.json").read_text())["v"] == 1


def test_damaged_segment_is_a_clear_error_and_kept(tmp_path):
    log = ErrorLog(tmp_path, segment_size=5)
    for i in range(7):
        _fail(log, i)
    segment = tmp_path / "errors-000002.json"
    segment.write_text(segment.read_text()[:-10])
    with pytest.raises(CorruptFileError) as info:
        ErrorLog(tmp_path, segment_size=5)
    assert str(segment) in str(info.value) and "not valid JSON" in str(info.value)
    assert list(tmp_path.glob("errors-000002.json.corrupt-*"))


def test_retention_removes_old_resolved_entries_only(tmp_path):
    log = ErrorLog(tmp_path, segment_size=4, retention_days=30, max_entries=10_000)
    for i in range(12):
        _fail(log, i)
    for entry_id in (1, 2, 3, 4, 6, 11):
        log.resolve(entry_id)
    assert log.apply_retention(now=datetime.now(timezone.utc) + timedelta(days=10)) == 0
    # 40 days later: resolved entries in sealed segments go; the whole first segment disappears.
    removed = log.apply_retention(now=datetime.now(timezone.utc) + timedelta(days=40))
    assert removed == 5  # 1-4 and 6; 11 is in the active segment
    assert not (tmp_path / "errors-000001.json").exists() and not (tmp_path / "errors-000001.idx.json").exists()
    assert log.get(1) is None and log.get(6) is None and log.get(5).status is ErrorStatus.OPEN
    reopened = ErrorLog(tmp_path, segment_size=4)
    assert len(reopened) == 7 and reopened.get(6) is None and reopened.get(11) is not None


def test_retention_caps_the_number_of_entries_oldest_resolved_first(tmp_path):
    log = ErrorLog(tmp_path, segment_size=3, retention_days=0, max_entries=5)
    for i in range(4):
        _fail(log, i)
    for entry_id in (1, 2, 3):
        log.resolve(entry_id)
    for i in range(4, 9):
        _fail(log, i)  # sealing a segment applies retention: 9 entries, the oldest resolved goes
    assert len(log) == 8 and log.get(1) is None and log.get(2) is not None
    # Applied again: the other resolved ones go; open entries stay even above the cap.
    assert log.apply_retention() == 2
    assert len(log) == 6 and all(e.status is ErrorStatus.OPEN for e in log.page(10))


def test_ids_are_never_reused_after_retention_removed_everything_sealed(tmp_path):
    log = ErrorLog(tmp_path, segment_size=2, retention_days=1)
    for i in range(4):
        log.resolve(_fail(log, i).id)
    log.apply_retention(now=datetime.now(timezone.utc) + timedelta(days=5))
    reopened = ErrorLog(tmp_path, segment_size=2)
    assert _fail(reopened, 99).id == 5


def test_bulk_add_fills_segments_and_matches_single_adds(tmp_path):
    log = ErrorLog(tmp_path, segment_size=10)
    _fail(log, 1)
    n = log.bulk_add(
        {"po_id": 100 + i, "cause_code": "missing_item", "cause": "c", "fix": "f",
         "status": ErrorStatus.RESOLVED if i % 2 else ErrorStatus.OPEN}
        for i in range(25)
    )
    assert n == 25 and len(log) == 26
    reopened = ErrorLog(tmp_path, segment_size=10)
    assert [e.id for e in reopened.page(3)] == [26, 25, 24]
    assert reopened.count_by_status()[ErrorStatus.RESOLVED] == 12
    assert reopened.get(26).po_id == 124 and _fail(reopened, 7).id == 27
    assert len(list(tmp_path.glob("errors-*.idx.json"))) == 2


def test_search_sees_updates_and_new_entries_after_a_first_search(tmp_path):
    log = ErrorLog(tmp_path, segment_size=4)
    for i in range(6):
        _fail(log, i)
    assert log.search("vendor currency") == []
    log.update(2, cause="The vendor currency differs", cause_code="currency_mismatch")
    new = _fail(log, 77, cause="Vendor currency EUR in Autotask, USD in QuickBooks")
    assert [e.id for e in log.search("VENDOR CURRENCY")] == [new.id, 2]
    assert [e.id for e in log.search("currency_mismatch")] == [2]


def test_a_reader_picks_up_what_another_writer_added_on_refresh(tmp_path):
    writer = ErrorLog(tmp_path, segment_size=3)
    reader = ErrorLog(tmp_path, segment_size=3)
    assert reader.refresh() is False
    for i in range(5):
        _fail(writer, i)
    writer.resolve(1)
    assert len(reader) == 0
    assert reader.refresh() is True
    assert len(reader) == 5 and reader.get(1).status is ErrorStatus.RESOLVED
    assert reader.refresh() is False
    # The writer's own bookkeeping matches the files: it has nothing to reload.
    assert writer.refresh() is False


def test_concurrent_readers_in_threads_while_one_thread_writes(tmp_path):
    import threading

    log = ErrorLog(tmp_path, segment_size=20)
    stop = threading.Event()
    problems: list[BaseException] = []

    def read() -> None:
        try:
            while not stop.is_set():
                page = log.page(50)
                assert [e.id for e in page] == sorted((e.id for e in page), reverse=True)
                counts = log.count_by_status()
                assert sum(counts.values()) >= len(page)
                log.open_errors(limit=10)
                log.search("po-1")
        except BaseException as exc:  # reported to the main thread
            problems.append(exc)

    readers = [threading.Thread(target=read) for _ in range(3)]
    for t in readers:
        t.start()
    for i in range(150):
        entry = _fail(log, i)
        if i % 3 == 0:
            log.resolve(entry.id)
    stop.set()
    for t in readers:
        t.join()
    assert problems == []
    assert len(ErrorLog(tmp_path, segment_size=20)) == 150


def test_search_finds_text_with_quotes_backslashes_and_accents(tmp_path):
    log = ErrorLog(tmp_path, segment_size=2)
    _fail(log, 1, raw_error='{"Message": "Duplicate Name Exists Error"}')
    _fail(log, 2, cause="Le fournisseur « Café Müller » n'existe pas")
    _fail(log, 3, raw_error="path C:\\temp\\x")
    for i in range(4, 9):
        _fail(log, i)
    fresh = ErrorLog(tmp_path, segment_size=2)  # nothing parsed yet: the raw-text path
    assert [e.id for e in fresh.search('"message": "duplicate')] == [1]
    assert [e.id for e in fresh.search("CAFÉ MÜLLER")] == [2]
    assert [e.id for e in fresh.search("c:\\temp")] == [3]
    assert fresh.search("cause_code") == []  # field names are not content
