"""Batched journal transitions, released records and failures recorded half-way."""

from __future__ import annotations

import os

import pytest

from sync.store import IllegalTransitionError, Journal, JournalState as S, StateMismatchError
from sync.store import journal as journal_module


def test_transition_many_moves_a_group_with_one_write_per_shard_file(tmp_path, monkeypatch):
    journal = Journal(tmp_path)
    ids = list(range(100, 160))  # 60 POs over 32 shard files
    fsyncs = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (fsyncs.append(fd), real_fsync(fd))[1])

    entries = journal.transition_many([(i, None, S.SEEN, {"po_number": f"PO-{i}"}) for i in ids]
                                      + [(i, S.SEEN, S.RESOLVED, {"doc_number": str(i)}) for i in ids])

    # A file write fsyncs the temporary file and the folder: 2 per shard file, not per step.
    assert len(fsyncs) == 2 * len({i % journal_module.SHARDS for i in ids})
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
