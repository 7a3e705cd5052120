"""Approving shown plans: each approval stores the fingerprint (and basis) of the plan the
operator saw, in the journal's hold book. The next scan applies it only if its own plan of
the PO has that fingerprint; otherwise the PO is held again with the difference."""

from __future__ import annotations

from typing import Any

import anyio

from sync.store.holds import Hold, HoldStatus

from .model import PoPlan


async def approve_plans(journal: Any, plans: list[PoPlan]) -> tuple[list[PoPlan], list[tuple[PoPlan, str]]]:
    """(approved, refused with the reason). A plan without a fingerprint (not found, already
    transferred, left mid-way) has nothing to approve."""
    approved: list[PoPlan] = []
    refused: list[tuple[PoPlan, str]] = []
    records: list[Hold] = []
    for plan in plans:
        if plan.outcome == "resume":
            refused.append((plan, "nothing to approve: the next scan finishes it (no second bill)"))
        elif not plan.fingerprint:
            refused.append((plan, f"nothing to approve: {plan.cause or 'no plan'}"))
        else:
            records.append(Hold(plan.po_id, HoldStatus.APPROVED, po_number=plan.po_number, reason=plan.hold,
                                fingerprint=plan.fingerprint, basis=plan.basis))
            approved.append(plan)
    await anyio.to_thread.run_sync(journal.holds.put_many, records)
    return approved, refused
