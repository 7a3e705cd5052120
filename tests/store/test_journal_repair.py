"""What `atqbo repair journal` needs from the journal: every readable record despite a damaged
file (survey), records written as the services show them (restore), and a message for a damaged
journal file that points to the repair, never to deleting it."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sync.store import CorruptFileError, Journal, JournalEntry, JournalState as S


def _billed(journal: Journal, po_id: int) -> None:
    journal.transition(po_id, None, S.SEEN, po_number=f"PO-{po_id}")
    journal.transition(po_id, S.SEEN, S.RESOLVED)
    journal.transition(po_id, S.RESOLVED, S.BILL_REQUESTED)
    journal.transition(po_id, S.BILL_REQUESTED, S.BILL_CREATED, bill_id=str(100 + po_id), doc_number=str(po_id))


def test_a_damaged_journal_file_is_named_with_the_repair_never_with_deleting_it(tmp_path):
    journal = Journal(tmp_path)
    _billed(journal, 7)
    journal.close()
    journal.file_of(7).write_text('{"journal": {"7": {"po_id": 7, "sta')  # truncated by a crash

    with pytest.raises(CorruptFileError) as caught:
        Journal(tmp_path).get(7)

    text = str(caught.value)
    assert "atqbo repair journal" in text and str(journal.file_of(7)) in text
    assert "remove" not in text and "delete" not in text


def test_survey_reads_around_a_damaged_file_and_restore_rebuilds_it(tmp_path):
    journal = Journal(tmp_path)
    for po_id in (7, 40):  # different files (blocks of 32 ids)
        _billed(journal, po_id)
    assert journal.file_of(7) != journal.file_of(40)
    journal.close()
    damaged_file = journal.file_of(7)
    damaged_file.write_text("not json")

    entries, damaged = Journal(tmp_path).survey()

    assert [e.po_id for e in entries] == [40] and damaged == [damaged_file]
    rebuilt = JournalEntry(po_id=7, state=S.WRITTEN_BACK, bill_id="107", doc_number="7", po_number="PO-7")
    kept = replace(entries[0], state=S.WRITTEN_BACK)
    Journal(tmp_path).restore([rebuilt, kept], damaged)

    fresh = Journal(tmp_path)
    assert fresh.get(7).state is S.WRITTEN_BACK and fresh.get(7).bill_id == "107"
    assert fresh.get(40).state is S.WRITTEN_BACK and fresh.get(40).bill_id == "140"
    assert fresh.unfinished() == []
    assert list(tmp_path.glob(damaged_file.name + ".corrupt-*"))  # the damaged copy stays aside


def test_restore_refuses_to_overwrite_a_damaged_file_it_was_not_told_about(tmp_path):
    journal = Journal(tmp_path)
    _billed(journal, 7)
    journal.close()
    journal.file_of(7).write_text("not json")

    with pytest.raises(CorruptFileError):
        Journal(tmp_path).restore([JournalEntry(po_id=7, state=S.WRITTEN_BACK)])
    assert journal.file_of(7).read_text() == "not json"
