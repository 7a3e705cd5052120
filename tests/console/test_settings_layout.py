"""The Settings form at 80 columns (the smallest terminal the console supports): every label
fits its column and keeps a gap before its value (it once read "(0 pauses)30"), also when a
field shows its error line. Checked on the widgets' regions, the way a person would see it."""

from __future__ import annotations

import os

import pytest
from textual.widgets import Input, Label

from console_harness import wait_for
from screens.settings import FIELDS, SettingsForm

pytestmark = pytest.mark.anyio


async def _settings(app, pilot) -> SettingsForm:
    await wait_for(pilot, lambda: app.live.last_scan is not None, what="the first scan")
    await pilot.press("4")
    await pilot.pause()
    form = app.screen.query_one(SettingsForm)
    await wait_for(pilot, lambda: form.query_one("#f-days_back", Input).value == "30", what="the form")
    return form


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
async def test_every_label_fits_and_keeps_a_gap_before_its_value(console_world, size):
    w = console_world()
    app = w.app()
    async with app.run_test(size=size) as pilot:
        form = await _settings(app, pilot)
        form.query_one("#f-days_back", Input).value = "-3"  # an error line shown too
        await pilot.pause(0.2)
        shot = os.environ.get("ATQBO_SCREENSHOT_DIR")  # to look at it: SVG → PNG with rsvg-convert
        if shot:
            app.save_screenshot(filename=f"settings-{size[0]}x{size[1]}-top.svg", path=shot)
        for key, field in FIELDS.items():
            form.query_one(f"#f-{key}").scroll_visible(animate=False)
            await pilot.pause()
            label = form.query_one(f"#l-{key}", Label)
            value = form.query_one(f"#f-{key}")
            assert label.region.height == 1, f"{field.label!r} wraps at {size[0]} columns"
            text = label.content_region  # (the label's own cells, without its padding)
            assert len(field.label) <= text.width, f"{field.label!r} is cut at {size[0]} columns"
            assert text.x + len(field.label) < value.region.x, (
                f"{field.label!r} runs into its value at {size[0]} columns: {text} {value.region}")
            assert value.region.width >= 20, f"{key}'s value has {value.region.width} columns"
            assert value.region.right <= form.region.right
        if shot:
            app.save_screenshot(filename=f"settings-{size[0]}x{size[1]}-bottom.svg", path=shot)
