"""Links: which QuickBooks record each Autotask organization and product is (issue 16).

One row per link: kind, the Autotask id and name, the QuickBooks id and name, how it was made
(created, exact name, near name approved, by hand) and when. Keys: / filter by text, k cycle
the kind, l link (a small form: KIND AUTOTASK_ID QBO_ID, checked against both services),
u unlink the selected one, g read again. Reaches the engine only through the engine-control
interface (sync.control): the same screen beside a running daemon or standalone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from sync.control.api import CommandFailed, CommandRefused
from sync.text import shown

from .footer import KeysFooter
from .markup import escape

if TYPE_CHECKING:
    from .host import ConsoleHost

KINDS: tuple[str | None, ...] = (None, "vendor", "customer", "item")


def row_of(view: Any) -> tuple[str, ...]:
    """The cells of one link (every name from outside shown safely, sync.text.shown)."""
    how = view.how + (f" ({view.score} %)" if view.score is not None else "")
    return (view.kind, str(view.autotask_id), shown(view.autotask_name), shown(view.qbo_id), shown(view.qbo_name),
            how, shown(view.made_at[:16].replace("T", " ")))


def matches(view: Any, kind: str | None, text: str) -> bool:
    if kind is not None and view.kind != kind:
        return False
    if not text:
        return True
    needle = text.casefold()
    return any(needle in cell.casefold() for cell in row_of(view))


def parse_link_form(text: str) -> tuple[str, int, str]:
    """'vendor 29683501 45' -> ("vendor", 29683501, "45"); ValueError in plain words."""
    parts = text.split()
    if len(parts) != 3:
        raise ValueError("type KIND AUTOTASK_ID QBO_ID, e.g. vendor 29683501 45")
    kind, at_id, qbo_id = parts
    if kind.lower() not in ("vendor", "customer", "item"):
        raise ValueError(f"the kind is vendor, customer or item, not {kind!r}")
    if not at_id.isascii() or not at_id.isdigit() or not qbo_id.isascii() or not qbo_id.isdigit():
        raise ValueError("both ids are whole numbers")
    return kind.lower(), int(at_id), qbo_id


class LinksScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter_text", "Filter", tooltip="Filter the links by text."),
        Binding("k", "cycle_kind", "Kind", tooltip="Show all, vendor, customer or item links."),
        Binding("l", "link", "Link", tooltip="Link an Autotask record to a QuickBooks record."),
        Binding("u", "unlink", "Unlink", tooltip="Forget the selected link (the next scan matches by name)."),
        Binding("g", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__(name="links")
        self.kind: str | None = None
        self.text = ""
        self.views: list[Any] = []
        self.shown_views: list[Any] = []

    @property
    def console(self) -> ConsoleHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="links-bar"):
            yield Static(id="links-label")
            yield Input(placeholder="filter: name, id, how… (enter to apply, esc to leave)", id="links-filter")
            yield Input(placeholder="link: KIND AUTOTASK_ID QBO_ID, e.g. vendor 29683501 45 (enter; esc to cancel)",
                        id="links-form")
        table: DataTable = DataTable(id="links-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Kind", "Autotask id", "Autotask name", "QBO id", "QBO name", "How", "When (UTC)")
        yield table
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#links-filter", Input).display = False
        self.query_one("#links-form", Input).display = False
        self.query_one(DataTable).focus()
        self.action_reload()

    # ---------------------------------------------------------------- data

    def action_reload(self) -> None:
        self._load()

    @work(group="links", exclusive=True, exit_on_error=False, description="Reading the links")
    async def _load(self) -> None:
        control = self.console.control
        if control is None:
            return
        views = await control.links_list(None)
        if self.is_attached:
            self.views = list(views)
            self._draw()

    def _draw(self) -> None:
        table = self.query_one(DataTable)
        table.clear()
        self.shown_views = [v for v in self.views if matches(v, self.kind, self.text)]
        for view in self.shown_views:
            table.add_row(*(escape(c) for c in row_of(view)))
        kind = self.kind or "all"
        text = f"  text: [b]{escape(self.text)}[/b]" if self.text else ""
        self.query_one("#links-label", Static).update(
            f"Kind: [b]{kind}[/b]{text}   {len(self.shown_views):,} of {len(self.views):,} links")

    @property
    def selected(self) -> Any | None:
        table = self.query_one(DataTable)
        if not self.shown_views or table.cursor_row is None or not 0 <= table.cursor_row < len(self.shown_views):
            return None
        return self.shown_views[table.cursor_row]

    # ---------------------------------------------------------------- filtering

    def action_filter_text(self) -> None:
        box = self.query_one("#links-filter", Input)
        box.display = True
        box.value = self.text
        box.focus()

    @on(Input.Submitted, "#links-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.text = event.value.strip()
        self._leave(event.input)
        self._draw()

    def action_cycle_kind(self) -> None:
        self.kind = KINDS[(KINDS.index(self.kind) + 1) % len(KINDS)]
        self._draw()

    def _leave(self, box: Input) -> None:
        box.display = bool(self.text) if box.id == "links-filter" else False
        self.query_one(DataTable).focus()

    def on_key(self, event) -> None:
        # esc inside a box leaves it instead of the screen.
        if event.key == "escape" and isinstance(self.focused, Input):
            event.stop()
            event.prevent_default()
            self._leave(self.focused)

    # ---------------------------------------------------------------- link and unlink

    def action_link(self) -> None:
        form = self.query_one("#links-form", Input)
        form.display = True
        selected = self.selected
        form.value = f"{selected.kind} {selected.autotask_id} " if selected is not None else ""
        form.focus()

    @on(Input.Submitted, "#links-form")
    def _form_submitted(self, event: Input.Submitted) -> None:
        try:
            kind, at_id, qbo_id = parse_link_form(event.value)
        except ValueError as exc:
            self.notify(str(exc), title="Not linked", severity="error")
            return
        self._leave(event.input)
        self._link(kind, at_id, qbo_id)

    @work(group="links-write", exit_on_error=False, description="Linking")
    async def _link(self, kind: str, at_id: int, qbo_id: str) -> None:
        control = self.console.control
        if control is None:
            return
        try:
            view = await control.link(kind, at_id, qbo_id)
        except (CommandRefused, CommandFailed) as exc:
            self.notify(shown(str(exc)), title="Not linked", severity="error", timeout=10)
            return
        self.notify(f"{view.kind} {view.autotask_id} → QuickBooks {shown(view.qbo_id)} {shown(view.qbo_name)} "
                    f"({view.how}); the next scan uses it", title="Linked", markup=False)
        self._load()

    def action_unlink(self) -> None:
        selected = self.selected
        if selected is not None:
            self._unlink(selected.kind, selected.autotask_id)

    @work(group="links-write", exit_on_error=False, description="Unlinking")
    async def _unlink(self, kind: str, at_id: int) -> None:
        control = self.console.control
        if control is None:
            return
        try:
            await control.unlink(kind, at_id)
        except (CommandRefused, CommandFailed) as exc:
            self.notify(shown(str(exc)), title="Not unlinked", severity="error", timeout=10)
            return
        self.notify(f"{kind} {at_id}: unlinked; the next scan matches it by name", title="Unlinked")
        self._load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "unlink" and self.is_mounted:
            return self.selected is not None or None
        return True
