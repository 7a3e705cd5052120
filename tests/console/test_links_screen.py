"""The Links screen (issue 16): the links the first scan seeded, each with how it was made;
filter by kind (k) and text (/), unlink (u) and link (l) from the keyboard, through the
engine-control interface, with the store checked."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Input, Static

from console_harness import wait_for
from screens.links import LinksScreen, parse_link_form

pytestmark = pytest.mark.anyio


def _kinds(screen: LinksScreen) -> list[str]:
    return [v.kind for v in screen.shown_views]


async def test_links_screen_filter_unlink_and_link_from_the_keyboard(console_world):
    w = console_world()
    app = w.app(demo=True)
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
        titles = [c.title for c in app.palette_commands(app.screen)]
        assert "go: Links" in titles
        app.push_screen(LinksScreen())
        await wait_for(pilot, lambda: isinstance(app.screen, LinksScreen) and app.screen.views, what="the links")
        screen = app.screen
        seeded = {(l.kind, l.autotask_id): l for l in w.store.links.all()}
        assert len(screen.views) == len(seeded) >= 5  # two vendors and three items, at least
        assert {v.how for v in screen.views} >= {"created"}

        await pilot.press("k")  # vendor links only
        assert set(_kinds(screen)) == {"vendor"}
        await pilot.press("slash", *"ingram", "enter")
        await pilot.pause()
        assert [v.autotask_name for v in screen.shown_views] == ["Ingram Micro"]
        assert "1 of" in str(screen.query_one("#links-label", Static).render())
        ingram = screen.shown_views[0]

        await pilot.press("u")
        await wait_for(pilot, lambda: w.store.links.get("vendor", ingram.autotask_id) is None, what="the unlink")
        await wait_for(pilot, lambda: screen.shown_views == [], what="the list to reload")

        # link it again by hand from the form (l), to the same QBO vendor
        await pilot.press("l")
        assert isinstance(app.focused, Input)
        await pilot.press(*f"vendor {ingram.autotask_id} {ingram.qbo_id}", "enter")
        await wait_for(pilot, lambda: w.store.links.get("vendor", ingram.autotask_id) is not None, what="the link")
        link = w.store.links.get("vendor", ingram.autotask_id)
        assert link.qbo_id == ingram.qbo_id and link.method.value == "near_name_approved"  # same name: score 100
        await wait_for(pilot, lambda: len(screen.shown_views) == 1, what="the list to reload")
        assert len(screen.query_one(DataTable).rows) == 1

        # a refused link (no such QBO vendor) stores nothing and says why
        await pilot.press("l")
        await pilot.press("ctrl+u", *f"vendor {ingram.autotask_id} 987654", "enter")
        await pilot.pause(0.5)
        assert w.store.links.get("vendor", ingram.autotask_id).qbo_id == ingram.qbo_id


def test_the_link_form_is_read_strictly():
    assert parse_link_form(" Vendor 12 45 ") == ("vendor", 12, "45")
    for bad in ("vendor 12", "po 1 2", "vendor x 2", "vendor 1 ٣"):
        with pytest.raises(ValueError):
            parse_link_form(bad)
