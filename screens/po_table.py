"""The live screen's table of purchase orders (Line API): one line per PO under a fixed header.

Textual's DataTable re-renders every visible row whenever any cell changes (its render caches
are keyed by a table-wide update counter) and recomputes its row offsets: during a scan, with
rows changing every batch, that was tens of milliseconds per frame on a busy 2-CPU machine,
and key presses waited behind it. Here each row's rendered line is cached under the row's own
version, so a batch costs the rows it changed, and a changed row off screen costs nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from .cursor import follow_cursor

Cell = Text | str


class PoTable(ScrollView, can_focus=True):
    """Rows keyed by a string, in the order they were added; columns of fixed widths."""

    COMPONENT_CLASSES = {"po-table--header", "po-table--cursor"}

    DEFAULT_CSS = """
    PoTable > .po-table--header {
        text-style: bold;
        color: $text-muted;
    }
    PoTable > .po-table--cursor {
        background: $block-cursor-blurred-background;
    }
    PoTable:focus > .po-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
    }
    """

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "First", show=False),
        Binding("end", "jump(-1)", "Last", show=False),
        Binding("enter", "choose", "Open", show=False),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)  # watch_cursor repaints two lines

    @dataclass
    class RowChosen(Message):
        """enter (or a click) on a row."""

        table: "PoTable"
        key: str

        @property
        def control(self) -> "PoTable":
            return self.table

    def __init__(self, columns: tuple[tuple[str, str, int], ...], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns = [list(c) for c in columns]  # [key, label, width]
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._version: dict[str, int] = {}
        self._versions = 0
        self._strips: LRUCache[tuple, Strip] = LRUCache(400)

    # ---------------------------------------------------------------- rows

    @property
    def row_count(self) -> int:
        return len(self._keys)

    @property
    def keys(self) -> list[str]:
        """Row keys, top to bottom."""
        return list(self._keys)

    def row(self, key: str) -> tuple[Cell, ...]:
        return self._cells[key]

    def set_row(self, key: str, cells: tuple[Cell, ...] | list[Cell]) -> bool:
        """Add the row (at the bottom) or replace its cells; True if it was added."""
        self._versions += 1
        self._version[key] = self._versions
        self._cells[key] = tuple(cells)
        index = self._index.get(key)
        if index is None:
            self._index[key] = len(self._keys)
            self._keys.append(key)
            self._resize_virtual()
            return True
        self._refresh_row(index)
        return False

    def remove_rows(self, keys: set[str]) -> None:
        if not keys:
            return
        self._keys = [k for k in self._keys if k not in keys]
        for key in keys:
            self._cells.pop(key, None)
            self._version.pop(key, None)
        self._index = {k: i for i, k in enumerate(self._keys)}
        self._resize_virtual()
        self.refresh()

    def clear(self) -> None:
        self._keys, self._index, self._cells, self._version = [], {}, {}, {}
        self._strips.clear()
        self.cursor = 0
        self._resize_virtual()
        self.refresh()

    def set_label(self, key: str, label: str) -> None:
        """The heading of a column (it may follow a setting: "Bill no." or "QB PO no.")."""
        for column in self.columns:
            if column[0] == key and column[1] != label:
                column[1] = label
                self._repaint_line(0)

    def set_column_width(self, key: str, width: int) -> None:
        for column in self.columns:
            if column[0] == key and column[2] != width:
                column[2] = width
                self._strips.clear()
                self.refresh()

    @property
    def at_bottom(self) -> bool:
        return self.scroll_y >= self.max_scroll_y - 1

    def _resize_virtual(self) -> None:
        width = sum(w + 2 for _, _, w in self.columns)
        self.virtual_size = Size(width, len(self._keys) + 1)  # + the header line

    def _refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self._repaint_line(y)

    def _repaint_line(self, y: int) -> None:
        """Repaint line `y` of the view as shown (0: the header, which never scrolls).
        ScrollView.refresh_line takes a line of the scrolled content instead: given a shown line
        it repainted the wrong one (or none) once the table was scrolled."""
        self.refresh(Region(0, y, max(self.virtual_size.width, self.size.width), 1))

    # ---------------------------------------------------------------- rendering

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            key = ("header", width, tuple((c[1], c[2]) for c in self.columns))
            strip = self._strips.get(key)
            if strip is None:
                text = Text.assemble(*self._cells_text([label for _, label, _ in self.columns]))
                strip = self._strips[key] = self._strip(text, width, self.get_component_rich_style("po-table--header"))
            return strip
        index = int(self.scroll_y) + y - 1
        if index >= len(self._keys):
            return Strip.blank(width, self.rich_style)
        row_key = self._keys[index]
        is_cursor = index == self.cursor
        key = (row_key, self._version[row_key], is_cursor, self.has_focus if is_cursor else None, width)
        strip = self._strips.get(key)
        if strip is None:
            text = Text.assemble(*self._cells_text(self._cells[row_key]))
            style = self.get_component_rich_style("po-table--cursor") if is_cursor else None
            strip = self._strips[key] = self._strip(text, width, style)
        return strip

    def _cells_text(self, cells) -> list[Text]:
        out = []
        for (_, _, width), cell in zip(self.columns, cells):
            text = cell.copy() if isinstance(cell, Text) else Text(str(cell))
            text.no_wrap = True
            text.truncate(width, overflow="ellipsis", pad=True)
            out.append(Text(" ") + text + Text(" "))
        return out

    def _strip(self, text: Text, width: int, style: Style | None) -> Strip:
        base = self.rich_style
        segments = list(text.render(self.app.console, end=""))
        strip = Strip(segments).crop(0, width).extend_cell_length(width, base).apply_style(base)
        if style is not None:
            strip = Strip([Segment(s.text, (s.style or Style()) + style) for s in strip], width)
        return strip

    # ---------------------------------------------------------------- cursor

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, len(self._keys) - 1))

    def watch_cursor(self, old: int, new: int) -> None:
        follow_cursor(self, old, new, self.size.height - 1, self._refresh_row)  # minus the header

    def action_cursor(self, delta: int) -> None:
        self.cursor += delta

    def action_page(self, direction: int) -> None:
        self.cursor += direction * max(1, self.size.height - 2)

    def action_jump(self, where: int) -> None:
        self.cursor = 0 if where == 0 else len(self._keys) - 1

    def action_choose(self) -> None:
        if self._keys:
            self.post_message(self.RowChosen(self, self._keys[self.cursor]))

    def on_click(self, event: events.Click) -> None:
        index = int(self.scroll_y) + event.y - 1
        if event.y >= 1 and 0 <= index < len(self._keys):
            if index == self.cursor:
                self.action_choose()
            self.cursor = index

    def on_focus(self) -> None:
        self._refresh_row(self.cursor)

    def on_blur(self) -> None:
        self._refresh_row(self.cursor)
