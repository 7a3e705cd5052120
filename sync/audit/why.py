"""`atqbo why PO_ID`: one purchase order's whole story, in order, from the three records that
know about it: the history (every step), the journal (where it stands now), the error log
(each failure, its cause and fix, open or resolved)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sync.store.errorlog import ErrorEntry
from sync.store.history import HistoryEntry
from sync.store.journal import JournalEntry


@dataclass(frozen=True)
class Story:
    po_id: int
    steps: tuple[HistoryEntry, ...]
    state: JournalEntry | None
    errors: tuple[ErrorEntry, ...] = field(default=())  # newest first

    @property
    def known(self) -> bool:
        return bool(self.steps or self.state or self.errors)

    @property
    def po_number(self) -> str:
        if self.state and self.state.po_number:
            return self.state.po_number
        for step in self.steps:
            if step.details.get("po_number"):
                return str(step.details["po_number"])
        return next((e.po_number for e in self.errors if e.po_number), "") or ""

    def summary(self) -> str:
        """Where the PO stands now, in one sentence."""
        if self.state is None:
            return "not in the journal (never handled, or pruned long after it was synced)"
        s = self.state
        words = {"written_back": f"synced: bill {s.doc_number} (QuickBooks Bill {s.bill_id}), number written back",
                 "failed": "failed: see the open error below",
                 "bill_created": f"bill {s.doc_number} created; the write-back to Autotask is still due",
                 "bill_requested": "a bill was requested; the next run checks QuickBooks before anything else",
                 "released": "put back untouched: a later scan may pick it up again",
                 "seen": "picked up, nothing written yet", "resolved": "names matched, no bill sent yet"}
        return words.get(s.state.value, s.state.value) + f" (attempt {s.attempt})"

    def as_dict(self) -> dict[str, Any]:
        return {"po_id": self.po_id, "po_number": self.po_number, "known": self.known,
                "now": self.summary(), "state": self.state.as_dict() if self.state else None,
                "steps": [s.as_dict() for s in self.steps],
                "errors": [e.as_dict() for e in self.errors]}


def why(store: Any, po_id: int) -> Story:
    """Read-only; cost: one history file, one journal record, the error log's index for the PO."""
    steps = tuple(store.history.story(po_id))
    state = store.journal.get(po_id)
    errors = tuple(store.errors.for_po(po_id))
    return Story(po_id=po_id, steps=steps, state=state, errors=errors)
