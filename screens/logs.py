"""Logs: every error and its outcome, newest first; filter by status (f) and text (/); the
detail of one entry (enter); retry one (r) or all open (R), the status updating live."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Input, Static

from .footer import KeysFooter
from .markup import escape
from .log_list import LogList
from .log_source import STATUSES, LogEntryView

if TYPE_CHECKING:
    from .host import ConsoleHost

STATUS_CYCLE: tuple[str | None, ...] = (None, *STATUSES)
DETAIL_DELAY_S = 0.03


def describe_entry(entry: LogEntryView, *, local_times: bool = True, raw: bool = True) -> str:
    """Console markup for one entry: cause, what to fix and (optionally) the raw API error."""
    esc = escape

    def when(value) -> str:
        if value is None:
            return "—"
        return (value.astimezone() if local_times else value).strftime("%Y-%m-%d %H:%M:%S")

    status_colour = {"open": "$error", "retrying": "$warning", "resolved": "$success"}.get(entry.status, "")
    lines = [
        f"[b]PO {esc(entry.po_label)}[/b] (Autotask id {entry.po_id})   "
        f"[{status_colour}]{entry.status}[/]   attempts: {entry.attempts}   log id: {esc(entry.id)}",
        f"First failed {when(entry.created_at)}   last change {when(entry.updated_at)}",
    ]
    if entry.status == "resolved" and entry.doc_number:
        lines.append(f"[$success]Resolved: bill {esc(entry.doc_number)} in QuickBooks[/]")
    lines.append(f"[b]Cause[/b] ({esc(entry.cause_code) or 'unknown'}): [$error]{esc(entry.cause)}[/]")
    lines.append(f"[b]What to fix:[/b] {esc(entry.fix) or '—'}")
    if entry.todo_id:
        lines.append(f"Autotask to-do: {entry.todo_id}")
    if raw:
        lines.append("[b]Raw API error:[/b]")
        lines.append(f"[dim]{esc(entry.raw_error) or '(none: the cause was found before calling an API)'}[/dim]")
    return "\n".join(lines)


class LogEntryScreen(ModalScreen[str | None]):
    """The whole of one entry. Dismisses with the action the operator chose ("retry", "fix")."""

    BINDINGS = [
        Binding("escape", "dismiss(None)", "Back"),
        Binding("r", "dismiss('retry')", "Retry"),
        Binding("x", "dismiss('fix')", "Demo: fix in QBO"),
    ]

    def __init__(self, entry: LogEntryView, *, demo: bool, local_times: bool) -> None:
        super().__init__()
        self.entry = entry
        self.demo = demo
        self.local_times = local_times

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="entry-box") as box:
            box.border_title = f"Log entry — PO {escape(self.entry.po_label)}"
            yield Static(describe_entry(self.entry, local_times=self.local_times), id="entry-body")
        yield KeysFooter(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "dismiss" and parameters == ("retry",):
            return self.entry.status != "resolved" or None
        if action == "dismiss" and parameters == ("fix",):
            return self.demo and self.entry.status != "resolved"
        return True


class LogsScreen(Screen):
    BINDINGS = [
        Binding("slash", "filter_text", "Filter", tooltip="Filter the entries by text."),
        Binding("f", "cycle_status", "Status", tooltip="Show all, open, retrying or resolved entries."),
        Binding("enter", "detail", "Details"),
        Binding("w", "why", "Why", tooltip="The selected PO's whole story: scans, decisions, writes, retries."),
        Binding("r", "retry", "Retry", tooltip="Retry the selected entry with the current settings."),
        Binding("R", "retry_all", "Retry all", tooltip="Retry every open error with the current settings."),
        Binding("x", "demo_fix", "Demo fix",
                tooltip="Demo only: fix the cause of the selected error in the emulated QuickBooks."),
    ]

    def __init__(self) -> None:
        super().__init__(name="logs")
        self.status: str | None = None
        self.text = ""

    @property
    def console(self) -> ConsoleHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="logs-bar"):
            yield Static(id="logs-filter-label")
            yield Input(placeholder="filter: PO, cause, vendor… (enter to apply, esc to leave)",
                        id="logs-filter")
        yield Static(f"{'When':<16} {'Status':<9} {'PO':<10} {'Try':>3}  Cause", id="logs-header")
        yield LogList(id="logs-list", local_times=self.console.local_times)
        yield Static(id="logs-detail")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one("#logs-filter", Input).display = False
        self._draw_filter_label()
        self.query_one(LogList).focus()
        self.query_one(LogList).reset()

    # ---------------------------------------------------------------- data

    @on(LogList.WindowWanted)
    def _window_wanted(self, message: LogList.WindowWanted) -> None:
        self._read_window(message.generation, message.offset, self.status, self.text)

    @work(group="log-window", exit_on_error=False, description="Reading a window of the error log")
    async def _read_window(self, generation: int, offset: int, status: str | None, text: str) -> None:
        control = self.console.control
        if control is None:
            return
        total, entries = await control.log_window(status, text, offset, 100)
        if self.is_attached:
            self._window_read(generation, total, offset, entries)

    def _window_read(self, generation: int, total: int, offset: int, entries: list[LogEntryView]) -> None:
        log_list = self.query_one(LogList)
        log_list.window_loaded(generation, total, offset, entries)
        self._draw_filter_label()

    def log_changed(self) -> None:
        """Called by the app when the engine wrote to the log (an entry added or moved)."""
        if self.is_attached:
            self.query_one(LogList).invalidate()

    @on(LogList.Highlighted)
    def _highlighted(self, message: LogList.Highlighted) -> None:
        # While a key is held the cursor moves every few ms: draw the detail once it rests.
        self._pending_detail = message.entry
        if getattr(self, "_detail_timer", None) is None:
            self._detail_timer = self.set_timer(DETAIL_DELAY_S, self._draw_detail, name="logs-detail")

    def _draw_detail(self) -> None:
        self._detail_timer = None
        message = LogList.Highlighted(self.query_one(LogList), self._pending_detail)
        detail = self.query_one("#logs-detail", Static)
        if message.entry is None:
            detail.update("[dim]Select an entry to see its cause and what to fix.[/dim]", layout=False)
        else:
            # Fixed height: repaint without a reflow of the screen (keys stay fast).
            detail.update(describe_entry(message.entry, local_times=self.console.local_times, raw=False),
                          layout=False)
        # The footer is rebuilt on refresh_bindings: only when what the keys can do changed.
        can = (message.entry is not None, message.entry is not None and message.entry.status == "resolved")
        if can != getattr(self, "_keys_for", None):
            self._keys_for = can
            self.refresh_bindings()

    def _draw_filter_label(self) -> None:
        log_list = self.query_one(LogList)
        total = "…" if log_list.total is None else f"{log_list.total:,}"
        status = self.status or "all"
        text = f"  text: [b]{self.text.replace('[', chr(92) + '[')}[/b]" if self.text else ""
        self.query_one("#logs-filter-label", Static).update(f"Status: [b]{status}[/b]{text}   {total} entries")

    # ---------------------------------------------------------------- filtering

    def action_filter_text(self) -> None:
        box = self.query_one("#logs-filter", Input)
        box.display = True
        box.value = self.text
        box.focus()

    @on(Input.Submitted, "#logs-filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.text = event.value.strip()
        self._leave_filter()
        self.query_one(LogList).reset()
        self._draw_filter_label()

    def _leave_filter(self) -> None:
        box = self.query_one("#logs-filter", Input)
        box.display = bool(self.text)
        self.query_one(LogList).focus()

    def action_cycle_status(self) -> None:
        index = STATUS_CYCLE.index(self.status)
        self.status = STATUS_CYCLE[(index + 1) % len(STATUS_CYCLE)]
        self.query_one(LogList).reset()
        self._draw_filter_label()

    def on_key(self, event) -> None:
        # esc inside the filter box leaves it (keeping the applied filter) instead of the screen.
        if event.key == "escape" and self.focused is self.query_one("#logs-filter", Input):
            event.stop()
            event.prevent_default()
            self._leave_filter()

    # ---------------------------------------------------------------- actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        selected = self.query_one(LogList).selected
        if action in ("retry", "detail", "why"):
            if selected is None:
                return None
            return selected.status != "resolved" or None if action == "retry" else True
        if action == "demo_fix":
            if not self.console.demo:
                return False
            return selected is not None and selected.status != "resolved" or None
        return True

    def action_detail(self) -> None:
        entry = self.query_one(LogList).selected
        if entry is None:
            return

        def chosen(choice: str | None) -> None:
            if choice == "retry":
                self.console.retry(entry.id)
            elif choice == "fix":
                self.console.demo_fix(entry)

        self.app.push_screen(LogEntryScreen(entry, demo=self.console.demo,
                                            local_times=self.console.local_times), chosen)

    def action_why(self) -> None:
        from .story import StoryScreen

        entry = self.query_one(LogList).selected
        if entry is not None:
            self.app.push_screen(StoryScreen(int(entry.po_id), entry.po_label, self.console.po_story,
                                             local_times=self.console.local_times))

    def action_retry(self) -> None:
        entry = self.query_one(LogList).selected
        if entry is not None and entry.status != "resolved":
            self.console.retry(entry.id)

    def action_retry_all(self) -> None:
        self.console.retry_all()

    def action_demo_fix(self) -> None:
        entry = self.query_one(LogList).selected
        if entry is not None:
            self.console.demo_fix(entry)
