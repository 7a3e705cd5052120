"""The per-PO journal: explicit transitions, durability across reopen, recovery list."""

from __future__ import annotations

import pytest

from sync.store import IllegalTransitionError, Journal, JournalState as S, StateMismatchError


def _walk(journal: Journal, po_id: int) -> None:
    journal.transition(po_id, None, S.SEEN, po_number=f"PO-{po_id}")
    journal.transition(po_id, S.SEEN, S.RESOLVED, vendor_id="56")
    journal.transition(po_id, S.RESOLVED, S.BILL_REQUESTED, request_id=f"req-{po_id}")
    journal.transition(po_id, S.BILL_REQUESTED, S.BILL_CREATED, bill_id="145", doc_number="1042")
    journal.transition(po_id, S.BILL_CREATED, S.WRITTEN_BACK)


def test_full_walk_is_stored_with_fields_and_history(tmp_path):
    journal = Journal(tmp_path)
    _walk(journal, 7)
    entry = Journal(tmp_path).get(7)  # a fresh reader sees it on disk
    assert entry.state is S.WRITTEN_BACK
    assert (entry.po_number, entry.vendor_id, entry.request_id, entry.bill_id, entry.doc_number) == (
        "PO-7", "56", "req-7", "145", "1042",
    )
    assert [h[0] for h in entry.history] == ["seen", "resolved", "bill_requested", "bill_created", "written_back"]
    assert Journal(tmp_path).get(8) is None


def test_illegal_transitions_and_state_mismatch_are_refused_and_change_nothing(tmp_path):
    journal = Journal(tmp_path)
    with pytest.raises(IllegalTransitionError):
        journal.transition(1, None, S.BILL_CREATED)
    journal.transition(1, None, S.SEEN)
    with pytest.raises(StateMismatchError, match="PO 1: expected state resolved, found seen"):
        journal.transition(1, S.RESOLVED, S.BILL_REQUESTED)
    with pytest.raises(IllegalTransitionError, match="cannot go from seen to bill_created"):
        journal.transition(1, S.SEEN, S.BILL_CREATED)
    with pytest.raises(StateMismatchError):
        journal.transition(1, None, S.SEEN)  # already known: no second record
    with pytest.raises(TypeError):
        journal.transition(1, S.SEEN, S.RESOLVED, colour="red")
    _walk(journal, 2)
    with pytest.raises(IllegalTransitionError):
        journal.transition(2, S.WRITTEN_BACK, S.SEEN)  # done is done
    assert Journal(tmp_path).get(1).state is S.SEEN


def test_a_created_bill_only_moves_forward_or_fails(tmp_path):
    journal = Journal(tmp_path)
    journal.transition(3, None, S.SEEN)
    journal.transition(3, S.SEEN, S.RESOLVED)
    journal.transition(3, S.RESOLVED, S.BILL_REQUESTED, request_id="r1")
    journal.transition(3, S.BILL_REQUESTED, S.BILL_REQUESTED)  # re-sent with the same request id
    journal.transition(3, S.BILL_REQUESTED, S.BILL_CREATED, bill_id="9")
    for back in (S.SEEN, S.RESOLVED, S.BILL_REQUESTED):
        with pytest.raises(IllegalTransitionError):
            journal.transition(3, S.BILL_CREATED, back)
    failed = journal.transition(3, [S.BILL_CREATED, S.BILL_REQUESTED], S.FAILED, error_id=12)
    assert failed.bill_id == "9" and failed.error_id == 12  # what is known about the bill is kept
    retried = journal.transition(3, S.FAILED, S.SEEN)
    assert retried.attempt == 2 and retried.bill_id == "9"


def test_unfinished_lists_everything_to_recover(tmp_path):
    journal = Journal(tmp_path)
    _walk(journal, 10)
    journal.transition(11, None, S.SEEN)
    journal.transition(12, None, S.SEEN)
    journal.transition(12, S.SEEN, S.RESOLVED)
    journal.transition(12, S.RESOLVED, S.BILL_REQUESTED, request_id="r12")
    journal.transition(13, None, S.SEEN)
    journal.transition(13, S.SEEN, S.FAILED)
    recovered = Journal(tmp_path).unfinished()
    assert [(e.po_id, e.state) for e in recovered] == [(11, S.SEEN), (12, S.BILL_REQUESTED)]
    assert recovered[1].request_id == "r12"
    assert {e.po_id for e in Journal(tmp_path).all()} == {10, 11, 12, 13}
