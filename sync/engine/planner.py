"""How a scan cuts its POs into groups of bills (one QBO batch request per group).

The first group is one PO: its bill shows at once, and it proves the run's set-up (accounts,
numbering, permissions) before thirty bills depend on it. Once a group has created a bill,
every group is full (QBO admits 40 batch requests a minute: 30 bills each keeps 1,000 POs
within 34 of them). While no group has created a bill, the size doubles from one, so a run
whose POs all fail is not held to one PO per batch either.
"""

from __future__ import annotations

from dataclasses import dataclass

from .pipeline import MAX_BATCH


@dataclass
class BatchPlanner:
    full: int = MAX_BATCH
    _size: int = 1
    proven: bool = False  # a group has created a bill

    def __post_init__(self) -> None:
        if not 1 <= self.full <= MAX_BATCH:
            raise ValueError(f"the full batch size must be between 1 and {MAX_BATCH}")

    def next_size(self) -> int:
        return self.full if self.proven else min(self._size, self.full)

    def record(self, bills_created: int) -> None:
        """The group just sent created this many bills (or adopted them)."""
        if bills_created > 0:
            self.proven = True
        else:
            self._size = min(self._size * 2, self.full)
