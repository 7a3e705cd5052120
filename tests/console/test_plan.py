"""The Plan screen, from the command palette and the live run: the same content as `atqbo plan`
(the shop's POs, its two failures with cause and fix), filtered by kind and text, one PO's
detail on enter, nothing written; `a` approves the selected plan as shown (apply_mode), and
`a` on a HELD row of the live run approves that PO's plan."""

from __future__ import annotations

import pytest

from console_harness import default_settings, wait_for
from screens.live import LiveScreen
from screens.plan import PlanScreen
from sync import events as ev
from sync.store.holds import HoldStatus

pytestmark = pytest.mark.anyio


def _records(w) -> tuple:
    state = w.state()
    return state["qbo"], state["autotask"]["entities"]


def _shown(screen: PlanScreen) -> list[str]:
    from screens.po_table import PoTable

    table = screen.query_one(PoTable)
    return [str(table.row(k)[0]) for k in table.keys]


async def _open_plan(pilot, app) -> PlanScreen:
    await pilot.press("ctrl+p")
    await pilot.pause(0.2)
    await pilot.press(*"plan:")
    await pilot.pause(0.3)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, PlanScreen) and app.screen.report is not None,
                   what="the plan")
    return app.screen


async def test_plan_from_the_palette_filters_shows_detail_and_writes_nothing(console_world):
    w = console_world()
    before = _records(w)
    app = w.app(start_engine=False)
    async with app.run_test(size=(110, 32)) as pilot:
        screen = await _open_plan(pilot, app)
        report = screen.report
        assert report.exit_code == 3 and len(report.plans) == 7
        assert {p.po_number: p.cause_code for p in report.plans if p.would_fail} == {
            "PO-1090": "item_not_purchasable", "PO-1091": "name_clash_vendor_is_customer"}
        assert len(_shown(screen)) == 7
        await pilot.press("f")  # would fail
        await pilot.pause(0.1)
        assert sorted(_shown(screen)) == ["PO-1090", "PO-1091"]
        await pilot.press("enter")
        await pilot.pause(0.1)
        detail = str(screen.query_one("#plan-detail").content)
        assert "Would fail:" in detail and "Fix:" in detail
        await pilot.press("f", "f", "f")  # back to all
        await pilot.press("slash", *"1003")
        await pilot.pause(0.2)
        assert _shown(screen) == ["PO-1003"]
        await pilot.press("enter")  # leaves the filter box, the table has the focus
        await pilot.press("enter")
        await pilot.pause(0.1)
        detail = str(screen.query_one("#plan-detail").content)
        assert "line 1: item 'Cat6 Cable 3m'" in detail and "line 2: item 'USB-C Dock'" in detail
        assert "matched to QBO id" in detail or "to be created" in detail
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, LiveScreen)
    assert _records(w) == before


async def test_approve_on_the_plan_screen_and_on_a_held_row(console_world):
    w = console_world(settings=default_settings(apply_mode="hold_new_records"))
    app = w.app(start_engine=False)
    async with app.run_test(size=(110, 32)) as pilot:
        screen = await _open_plan(pilot, app)
        held = [p for p in screen.report.plans if p.hold]
        assert len(held) >= 2, "the shop's new vendors make its POs wait"
        first = held[0]
        await pilot.press("slash", *first.po_number)
        await pilot.pause(0.2)
        await pilot.press("enter", "a")
        await wait_for(pilot, lambda: w.store.journal.holds.get(first.po_id) is not None, what="the approval")
        stored = w.store.journal.holds.get(first.po_id)
        assert stored.status is HoldStatus.APPROVED and stored.fingerprint == first.fingerprint
        await pilot.press("escape", "escape")
        await pilot.pause(0.1)
        assert isinstance(app.screen, LiveScreen)

        # A held row on the live run: `a` approves it (the plan made now is held for that reason).
        other = held[1]
        assert w.store.journal.holds.get(other.po_id) is None
        app._engine_event(ev.PoHeld(po_id=other.po_id, po_number=other.po_number, reason=other.hold))
        await pilot.pause(0.3)
        assert app.live.rows[other.po_id].state == "held"
        app._engine_event(ev.ScanFinished(scan_id="s", scanned=7, synced=0, failed=2, skipped=0, todos_created=2,
                                          api_calls={}, duration_s=1.0, held=5))
        await pilot.pause(0.3)
        assert "5 held[/] for approval" in str(app.screen.query_one("#live-progress").content)
        await pilot.press("end", "a")
        await wait_for(pilot, lambda: (h := w.store.journal.holds.get(other.po_id)) is not None
                       and h.status is HoldStatus.APPROVED, what="the live row's approval")


def test_plan_100x30(console_world, snap_compare):
    """The shop's plan under hold_new_records, the cursor on the first PO with its detail."""
    w = console_world(settings=default_settings(apply_mode="hold_new_records"))
    app = w.app(start_engine=False)

    async def run_before(pilot):
        screen = PlanScreen(app.control)
        await app.push_screen(screen)
        await wait_for(pilot, lambda: screen.report is not None, what="the plan")
        await pilot.press("down", "down", "enter")
        await pilot.pause(0.2)

    assert snap_compare(app, run_before=run_before, terminal_size=(100, 30))
