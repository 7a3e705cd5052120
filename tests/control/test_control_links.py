"""Links over the control socket (issue 16): a console attached to a running service lists,
links (checked against both services) and unlinks through the same commands."""

from __future__ import annotations

import anyio
import pytest

from control_harness import seed_with_pos
from sync import events as ev
from sync.control.api import CommandRefused

pytestmark = pytest.mark.anyio


async def test_links_list_link_and_unlink_through_the_socket(world_factory, served):
    w = await world_factory(seed_with_pos(2))
    async with served(w) as svc:
        with anyio.fail_after(15):
            while not w.of(ev.ScanFinished):
                await anyio.sleep(0.02)
        remote = await svc.remote()
        async with anyio.create_task_group() as tg:
            tg.start_soon(remote.run)
            links = await remote.links_list()
            vendor = next(v for v in links if v.kind == "vendor")
            assert vendor.autotask_name == "Ingram Micro" and vendor.how == "created"
            assert [v.kind for v in await remote.links_list("item")] == ["item"]

            removed = await remote.unlink("vendor", vendor.autotask_id)
            assert removed.qbo_id == vendor.qbo_id and w.store.links.get("vendor", vendor.autotask_id) is None
            with pytest.raises(CommandRefused, match="no vendor link"):
                await remote.unlink("vendor", vendor.autotask_id)

            made = await remote.link("vendor", vendor.autotask_id, vendor.qbo_id)
            assert made.qbo_id == vendor.qbo_id and w.store.links.get("vendor", vendor.autotask_id) is not None
            with pytest.raises(CommandRefused, match="QuickBooks has no vendor"):
                await remote.link("vendor", vendor.autotask_id, "987654")
            with pytest.raises(CommandRefused, match="kind"):
                await remote.links_list("po")
            tg.cancel_scope.cancel()
