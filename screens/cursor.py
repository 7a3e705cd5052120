"""Keeping a keyboard cursor in view in the console's line-API lists (logs, live POs)."""

from __future__ import annotations

from collections.abc import Callable

from textual.scroll_view import ScrollView


def follow_cursor(view: ScrollView, old: int, new: int, rows_visible: int,
                  repaint_row: Callable[[int], None]) -> None:
    """Scroll so row `new` is visible; when it already is, repaint only the two rows that
    changed instead of the whole view (a full repaint per key is what made keys slow)."""
    top = int(view.scroll_y)
    height = max(1, rows_visible)
    if new < top:
        view.scroll_to(y=new, animate=False, immediate=True)
        view.refresh()
    elif new >= top + height:
        view.scroll_to(y=new - height + 1, animate=False, immediate=True)
        view.refresh()
    else:
        repaint_row(old)
        repaint_row(new)
