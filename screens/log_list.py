"""A virtualised list of error-log entries (Line API).

Only the rows in view are rendered, and only windows of `WINDOW` entries around them are held:
the list asks its owner for a window it lacks (`WindowWanted`), the owner reads it in a thread
and hands it back with `window_loaded`. So opening or scrolling a log of 100,000 entries costs
one page read, never the whole log.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .cursor import follow_cursor
from .log_source import LogEntryView

WINDOW = 100
MAX_WINDOWS = 40  # 4,000 entries held at most

STATUS_LABEL = {"open": "open", "retrying": "retrying", "resolved": "resolved"}


class LogList(ScrollView, can_focus=True):
    """Newest first; one line per entry: when, status, PO, attempts, cause."""

    COMPONENT_CLASSES = {
        "loglist--cursor", "loglist--open", "loglist--retrying", "loglist--resolved", "loglist--dim",
    }

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown,space", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)  # watch_cursor repaints two lines

    @dataclass
    class WindowWanted(Message):
        """The list needs entries [offset, offset + WINDOW) of the current generation."""

        log_list: "LogList"
        generation: int
        offset: int

        @property
        def control(self) -> "LogList":
            return self.log_list

    @dataclass
    class Highlighted(Message):
        log_list: "LogList"
        entry: LogEntryView | None

        @property
        def control(self) -> "LogList":
            return self.log_list

    def __init__(self, *, id: str | None = None, local_times: bool = True) -> None:
        super().__init__(id=id)
        self.total: int | None = None  # unknown until the first window arrives
        self.generation = 0
        self.local_times = local_times
        self._windows: OrderedDict[int, list[LogEntryView]] = OrderedDict()
        # Rendered lines, keyed by what they show: a cursor move re-renders two lines at most.
        self._strips: LRUCache[tuple, Strip] = LRUCache(1000)
        self._pending: set[int] = set()
        self._stale = False

    # ---------------------------------------------------------------- data in

    def reset(self) -> None:
        """Forget everything (the filter changed): the next render asks afresh."""
        self.generation += 1
        self._windows.clear()
        self._pending.clear()
        self._stale = False
        self.total = None
        self.cursor = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self._want(0)
        self.refresh()

    def invalidate(self) -> None:
        """The log changed (new entry, status moved): re-read what is in view, keeping the old
        rows on screen until the new ones arrive (no flicker)."""
        self.generation += 1
        self._pending.clear()
        self._stale = True
        for offset in self._visible_windows():
            self._want(offset)

    def window_loaded(self, generation: int, total: int, offset: int, entries: list[LogEntryView]) -> None:
        if generation != self.generation:
            return
        if self._stale:
            self._windows.clear()
            self._stale = False
        self._pending.discard(offset)
        self.total = total
        self._windows[offset] = entries
        self._windows.move_to_end(offset)
        while len(self._windows) > MAX_WINDOWS:
            self._windows.popitem(last=False)
        self.virtual_size = Size(self.size.width, total)
        if total and self.cursor >= total:
            self.cursor = total - 1
        else:
            self._announce()
        self.refresh()

    def entry_at(self, index: int) -> LogEntryView | None:
        window = self._windows.get(index - index % WINDOW)
        if window is None:
            return None
        position = index % WINDOW
        return window[position] if position < len(window) else None

    @property
    def selected(self) -> LogEntryView | None:
        return self.entry_at(self.cursor) if self.total else None

    # ---------------------------------------------------------------- fetching

    def _visible_windows(self) -> list[int]:
        first = int(self.scroll_y)
        last = first + max(1, self.size.height)
        return sorted({i - i % WINDOW for i in (first, last, self.cursor)})

    def _want(self, offset: int) -> None:
        if offset in self._pending or (offset in self._windows and not self._stale):
            return
        self._pending.add(offset)
        self.post_message(self.WindowWanted(self, self.generation, offset))

    # ---------------------------------------------------------------- rendering

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_y) + y
        width = self.size.width
        if self.total is None:
            return self._text_strip(Text("Reading the log…", style="italic") if y == 0 else Text(""), width)
        if self.total == 0:
            return self._text_strip(Text("No entries match." if y == 0 else ""), width)
        if index >= self.total:
            return Strip.blank(width, self.rich_style)
        entry = self.entry_at(index)
        if entry is None:
            self._want(index - index % WINDOW)
            return self._text_strip(Text("…", style=self.get_component_rich_style("loglist--dim")), width)
        is_cursor = index == self.cursor and self.has_focus
        key = (entry.id, entry.status, entry.attempts, entry.updated_at, is_cursor, width)
        strip = self._strips.get(key)
        if strip is None:
            style = self.get_component_rich_style("loglist--cursor") if is_cursor else None
            strip = self._strips[key] = self._text_strip(self._line(entry), width, style)
        return strip

    def _line(self, e: LogEntryView) -> Text:
        when = e.updated_at or e.created_at
        stamp = _fmt_time(when, self.local_times)
        status_style = self.get_component_rich_style(f"loglist--{e.status}", partial=True) \
            if e.status in STATUS_LABEL else Style()
        text = Text(no_wrap=True, overflow="ellipsis")
        text.append(f"{stamp:<16} ")
        text.append(f"{STATUS_LABEL.get(e.status, e.status):<9}", style=status_style)
        po = e.po_label if len(e.po_label) <= 10 else e.po_label[:9] + "…"  # a long number keeps the columns
        text.append(f" {po:<10} ")
        text.append(f"{e.attempts:>3}  ")
        text.append(e.cause.replace("\n", " "))
        return text

    def _text_strip(self, text: Text, width: int, style: Style | None = None) -> Strip:
        base = self.rich_style
        segments = list(text.render(self.app.console, end=""))
        strip = Strip(segments).crop(0, width).extend_cell_length(width, base)
        strip = strip.apply_style(base)
        if style is not None:
            strip = Strip([Segment(s.text, (s.style or Style()) + style) for s in strip], width)
        return strip

    # ---------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        if self.total:
            clamped = max(0, min(new, self.total - 1))
            if clamped != new:
                self.cursor = clamped
                return
        follow_cursor(self, old, new, self.size.height, self.refresh_line)
        self._announce()

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self, self.selected))

    def action_cursor(self, delta: int) -> None:
        self.cursor = self.cursor + delta

    def action_page(self, direction: int) -> None:
        self.cursor = self.cursor + direction * max(1, self.size.height - 1)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else max(0, (self.total or 1) - 1)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.total:
            for offset in self._visible_windows():
                if offset < self.total:
                    self._want(offset)


def _fmt_time(when: datetime | None, local: bool) -> str:
    if when is None:
        return ""
    if local:
        when = when.astimezone()
    return when.strftime("%Y-%m-%d %H:%M")
