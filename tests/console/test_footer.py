"""Issue 7: every action is on a key shown in the footer, at 80x24 (operators work over SSH at
that size). On a screen with many keys (logs in demo mode) the footer takes a second line
rather than cutting keys off or drawing the palette key over them."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from console_harness import wait_for
from screens.footer import KeysFooter

pytestmark = pytest.mark.anyio


def footer_problems(app) -> list[str]:
    """Shown actions whose key is missing, off screen, or drawn over by another key."""
    footer = app.screen.query_one(KeysFooter)
    keys = [k for k in footer.query(FooterKey)]
    width, height = app.size
    problems = []
    for key in keys:
        region = key.region
        if region.width == 0 or region.right > width or region.bottom > height:
            problems.append(f"{key.key_display!r} not fully on screen: {region}")
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            if a.region.overlaps(b.region):
                problems.append(f"{a.key_display!r} and {b.key_display!r} overlap")
    shown = {k.action for k in keys}  # one key per action: "?" stands for "?,f1"
    for _, binding, _, _ in app.screen.active_bindings.values():
        if binding.show and binding.action not in shown:
            problems.append(f"{binding.key} ({binding.description}) not in the footer")
    return problems


@pytest.mark.parametrize("screen_key", ["1", "2", "3", "4", "5", "question_mark"])
async def test_every_shown_key_fits_the_footer_at_80x24_in_demo_mode(console_world, screen_key):
    app = console_world().app(demo=True, start_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press(screen_key)
        await wait_for(pilot, lambda: app.screen.query(KeysFooter) and app.screen.query(FooterKey),
                       what="the footer")
        await pilot.pause()
        await pilot.pause()
        assert footer_problems(app) == []


async def test_logs_footer_takes_two_lines_at_80_and_one_when_wide(console_world):
    app = console_world().app(demo=True, start_engine=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("2")
        await wait_for(pilot, lambda: app.screen.query(FooterKey), what="the footer")
        await pilot.pause()
        footer = app.screen.query_one(KeysFooter)
        assert footer.region.height == 2
        assert {"x", "R", "q", "question_mark", "ctrl+p"} <= {k.key for k in footer.query(FooterKey)}
        await pilot.resize_terminal(160, 24)
        await wait_for(pilot, lambda: app.screen.query_one(KeysFooter).region.height == 1,
                       what="a one-line footer when there is room")
        await pilot.pause()
        assert footer_problems(app) == []
