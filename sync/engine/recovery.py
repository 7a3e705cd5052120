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

from sync.events import Event


@dataclass(frozen=True, kw_only=True)
class RecoveryFinished(Event):
    """POs left mid-way by an earlier run were finished before this scan's own work.
    (Defined here, not in sync.events, by the engine's owner at the time; it belongs there.)"""

    found: int  # journal records left mid-way
    written_back: int  # Autotask already held the bill's number: only the journal was behind
    synced: int  # finished now: bill found or re-sent with its requestid, number written back
    failed: int  # finished as failures (recorded like any failure)
    released: int  # no bill of this attempt exists: put back for the scan
    failures_completed: int  # failures whose marker / to-do / notice a crash had interrupted
    po_ids: tuple[int, ...]


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
