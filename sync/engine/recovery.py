"""Finishing what a crash (or a stop, or a failed write-back) left mid-way in the journal.

Before every scan, so on start before the first one, each record `Journal.unfinished()` lists
is brought to a final state, never by creating a second bill:
- seen / resolved: no bill was requested in this attempt. A PO with an open error-log entry
  (an interrupted retry) goes back to `failed`; any other is `released`, and the scan that
  follows picks it up like any eligible PO.
- bill_requested: the bill is looked up in QBO (number, vendor, PO tag). Found: as below.
  Not found and the PO still blank (or ERROR): it is finished through the one-PO path, which
  looks again and re-sends with the same requestid. Not found and the PO holds some other
  number: released (nothing of ours exists).
- bill_created: the PO is read from Autotask. Already holding the bill's number (a crash after
  the write-back committed, or a lost reply): the journal moves to written_back and the PO's
  open log entry (a failed write-back) is resolved, with no PATCH. Blank or ERROR: the number
  is written back. Another number: the PO fails with `writeback_conflict` (never overwritten).
- failed with `pending`: the failure's ERROR marker, to-do (an existing one is adopted, never
  duplicated) and notice are completed (`failures.finish_pending`).
What was done is reported by one RecoveryFinished event.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync.events import RecoveryFinished


@dataclass
class RecoveryCounts:
    found: int = 0
    written_back: int = 0
    synced: int = 0
    failed: int = 0
    released: int = 0
    failures_completed: int = 0

    def event(self, po_ids: list[int]) -> RecoveryFinished:
        return RecoveryFinished(found=self.found, written_back=self.written_back, synced=self.synced,
                                failed=self.failed, released=self.released,
                                failures_completed=self.failures_completed, po_ids=tuple(sorted(po_ids)))
