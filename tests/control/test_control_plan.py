"""Plan and approve over the control socket (issue 15): a console attached to a running service
sees the service's plan, and an approval names the plan shown by its fingerprint; the service
makes the plan again and refuses one that changed since (never approving on trust)."""

from __future__ import annotations

import anyio
import pytest

from control_harness import seed_with_pos
from sync.control.api import CommandRefused
from sync.store.holds import HoldStatus

pytestmark = pytest.mark.anyio


async def test_plan_and_approve_through_the_service(world_factory, served):
    w = await world_factory(seed_with_pos(2, failing=True), apply_mode="manual")
    async with served(w, run_engine=False) as svc:
        remote = await svc.remote()
        async with anyio.create_task_group() as tg:
            tg.start_soon(remote.run)
            report = await remote.plan()
            by_number = {p.po_number: p for p in report.plans}
            assert by_number["PO-BAD"].cause_code == "item_not_purchasable" and by_number["PO-BAD"].would_fail
            good = by_number["PO-100"]
            assert good.outcome == "bill" and good.hold and good.fingerprint and good.lines
            assert good.lines[0].item.name == "Cat6 Cable 3m"

            approved, refused = await remote.approve([good])
            assert [p.po_id for p in approved] == [good.po_id] and refused == []
            stored = w.store.journal.holds.get(good.po_id)
            assert stored.status is HoldStatus.APPROVED and stored.fingerprint == good.fingerprint

            # A plan shown before the PO changed: refused, nothing stored for it.
            other = by_number["PO-101"]
            po_item = next(i for i in w.at_list("PurchaseOrderItems") if i["orderID"] == other.po_id)
            w.at_admin("PATCH", f"entities/PurchaseOrderItems/{po_item['id']}", {"quantity": 9})
            approved, refused = await remote.approve([other])
            assert approved == [] and "changed since it was shown" in refused[0][1]
            assert w.store.journal.holds.get(other.po_id) is None

            with pytest.raises(CommandRefused):
                await remote.approve([])  # nothing named: refused with why
            await remote.stop()
            tg.cancel_scope.cancel()
