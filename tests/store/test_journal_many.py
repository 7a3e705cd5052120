"""Batched journal transitions, released records and failures recorded half-way."""

from __future__ import annotations

import os

import pytest

from sync.store import IllegalTransitionError, Journal, JournalState as S, StateMismatchError
from sync.store import journal as journal_module


def test_transition_many_moves_a_group_with_one_write_per_shard_file(tmp_path, monkeypatch):
    journal = Journal(tmp_path)
    ids = list(range(100, 160))  # 60 POs with close ids, as a scan's groups have them
    fsyncs = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])

    entries = journal.transition_many([(i, None, S.SEEN, {"po_number": f"PO-{i}"}) for i in ids]
                                      + [(i, S.SEEN, S.RESOLVED, {"doc_number": str(i)}) for i in ids])

    # A file write fsyncs the temporary file and the folder: 2 per shard file, not per step;
    # close ids share a file (blocks of 32), so 120 steps cost 2 file writes.
    files = {journal_module.shard_of(i) for i in ids}
    assert len(files) == 2 and len(fsyncs) == 2 * len(files)
    assert [e.state for e in entries[-len(ids):]] == [S.RESOLVED] * len(ids)
    fresh = Journal(tmp_path)  # on disk
    assert all(fresh.get(i).state is S.RESOLVED and fresh.get(i).doc_number == str(i) for i in ids)
    assert [h[0] for h in fresh.get(100).history] == ["seen", "resolved"]


def test_a_refused_step_writes_nothing(tmp_path):
    journal = Journal(tmp_path)
    journal.transition(1, None, S.SEEN)
    with pytest.raises(StateMismatchError):
        journal.transition_many([(2, None, S.SEEN, {}), (1, S.RESOLVED, S.BILL_REQUESTED, {})])
    with pytest.raises(IllegalTransitionError):
        journal.transition_many([(2, None, S.SEEN, {}), (1, S.SEEN, S.BILL_CREATED, {})])
    with pytest.raises(TypeError):
        journal.transition_many([(2, None, S.SEEN, {"colour": "red"})])
    fresh = Journal(tmp_path)
    assert fresh.get(2) is None and fresh.get(1).state is S.SEEN


def test_released_is_finished_and_a_new_try_is_a_new_attempt(tmp_path):
    journal = Journal(tmp_path)
    journal.transition(5, None, S.SEEN)
    journal.transition(5, S.SEEN, S.RESOLVED)
    journal.transition(5, S.RESOLVED, S.RELEASED)
    assert journal.unfinished() == []
    again = journal.transition(5, S.RELEASED, S.SEEN)
    assert again.attempt == 2
    with pytest.raises(IllegalTransitionError):
        journal.transition(5, S.SEEN, S.WRITTEN_BACK)


def test_a_failure_recorded_half_way_is_unfinished_until_completed(tmp_path):
    journal = Journal(tmp_path)
    journal.transition(6, None, S.SEEN)
    journal.transition(6, S.SEEN, S.FAILED, pending="failure")
    assert [e.po_id for e in Journal(tmp_path).unfinished()] == [6]
    journal.transition(6, S.FAILED, S.FAILED, pending=None, error_id=3)
    assert journal.unfinished() == [] and journal.get(6).error_id == 3 and journal.get(6).attempt == 1


def test_a_failed_write_back_found_done_moves_to_written_back(tmp_path):
    journal = Journal(tmp_path)
    for step in ([(7, None, S.SEEN, {}), (7, S.SEEN, S.RESOLVED, {}), (7, S.RESOLVED, S.BILL_REQUESTED, {}),
                  (7, S.BILL_REQUESTED, S.BILL_CREATED, {"bill_id": "9", "doc_number": "12"}),
                  (7, S.BILL_CREATED, S.FAILED, {})]):
        journal.transition_many([step])
    assert journal.transition(7, S.FAILED, S.WRITTEN_BACK).state is S.WRITTEN_BACK


def test_records_placed_by_an_older_layout_are_moved_to_their_file(tmp_path):
    from tinydb import TinyDB

    from sync.store.storage import AtomicJSONStorage

    journal = Journal(tmp_path)
    journal.transition(40, None, S.SEEN, po_number="PO-40")
    journal.transition(40, S.SEEN, S.RESOLVED, doc_number="7")
    journal.close()
    # As an older version stored it: by po_id % 32 (file 08), not in its block's file (02).
    right = tmp_path / "journal-v1-02.json"
    old = tmp_path / "journal-v1-08.json"
    right.rename(old)

    moved = Journal(tmp_path)
    entry = moved.get(40)
    assert entry is not None and entry.state is S.RESOLVED and entry.doc_number == "7"
    assert moved.transition(40, S.RESOLVED, S.BILL_REQUESTED).state is S.BILL_REQUESTED
    moved.close()
    assert TinyDB(old, storage=AtomicJSONStorage).table("journal").all() == []
    assert [e.state for e in Journal(tmp_path).all()] == [S.BILL_REQUESTED]


def test_a_long_journal_is_not_held_in_memory_whole_and_loses_nothing(tmp_path):
    # A scan walks the ids in order: only the last few files stay parsed (issue 17: memory does
    # not grow with the POs of a scan); a file let go is read again, and written without loss.
    journal = Journal(tmp_path)
    ids = list(range(1, 3001))  # 3,000 POs: every one of the 32 files, about 94 records each
    for start in range(0, len(ids), 30):  # a scan's groups of 30
        group = ids[start:start + 30]
        journal.transition_many([(i, None, S.SEEN, {"po_number": f"PO-{i}"}) for i in group])
    held = [shard for shard, db in journal._dbs.items() if db.storage._cache is not None]
    assert len(journal._dbs) == journal_module.SHARDS and len(held) <= journal_module.PARSED
    assert journal_module.shard_of(1) not in held  # the first file was let go long ago

    journal.transition(1, S.SEEN, S.RESOLVED, doc_number="1")  # a file let go, written again
    assert journal.get(2).po_number == "PO-2" and journal.get(1).state is S.RESOLVED
    assert [e.po_id for e in journal.all()] == ids
    assert len(journal.unfinished()) == len(ids)
    fresh = Journal(tmp_path)
    assert fresh.get(1).doc_number == "1" and fresh.get(2).state is S.SEEN and fresh.get(3000).po_number == "PO-3000"
