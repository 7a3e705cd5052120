"""Sync one PO on request, with its result told: the one copy used by the CLI's `sync-one`, the
console's Sync one screen and the control socket.

Like the retired app, a single-PO sync's result goes to its alternate address, else to
notify_email: a failure gets there through the engine's failure notice (Engine.sync_one), a
success through the notifier's result mail here. A mail that cannot be sent is logged by the
notifier and never fails the sync.
"""

from __future__ import annotations

from typing import Any

import anyio

from . import documents
from .notify import PoResult
from .po_sync import PoOutcome


async def sync_one_and_report(engine: Any, po_id: int, alt_email: str | None = None) -> PoOutcome:
    outcome = await engine.sync_one(po_id, alt_email=alt_email)
    notifier = getattr(engine, "notifier", None)
    send = getattr(notifier, "po_result", None)  # an engine-only Notifier sends failures only
    if outcome.ok and send is not None:
        # Named as the journal records it was sent: a bill, or a QuickBooks purchase order.
        store = getattr(engine, "store", None)
        entry = await anyio.to_thread.run_sync(store.journal.get, outcome.po_id) if store is not None else None
        document = documents.label(documents.document_of(entry))
        await send(PoResult(outcome.po_id, outcome.po_number, bill_number=outcome.doc_number, document=document),
                   to=alt_email)
    return outcome
