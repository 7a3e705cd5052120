"""The live run: the scan in progress, each PO's row changing state as it moves, the to-dos and
retries as they happen, the next scan's countdown and the API budgets used.

It renders from the app's `LiveState` (screens.state); the app tells it which rows an event
touched and it updates just those, inside `batch_update()`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from .footer import KeysFooter
from .markup import escape
from .po_table import PoTable
from .state import AUTOTASK_PER_HOUR, QBO_PER_MINUTE, LiveState, PoRow

if TYPE_CHECKING:
    from .host import ConsoleHost

COLUMNS = (("po", "PO", 9), ("state", "State", 9), ("vendor", "Vendor", 16),
           ("lines", "Lines", 5), ("amount", "Amount", 14), ("outcome", "Bill no. / cause", 40))
# The outcome column's heading under transfer_as purchase_order*: the number is a QuickBooks PO's.
OUTCOME_HEADING = {"Bill": "Bill no. / cause", "PurchaseOrder": "QB PO no. / cause"}
FIXED_WIDTH = sum(width + 2 for _, _, width in COLUMNS[:-1])  # cells have one space of padding each side

STATE_STYLE = {"working": "bold $warning", "retrying": "bold $warning",
               "synced": "bold $success", "failed": "bold $error", "held": "bold $accent"}
STATE_LABEL = {"working": "syncing…", "retrying": "retrying…", "synced": "synced", "failed": "FAILED",
               "held": "HELD"}


def format_amount(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    text = f"{amount:,.2f}"
    return f"{text} {currency}" if currency else text


def format_countdown(seconds: float) -> str:
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class LiveScreen(Screen):
    """Home of the console (the `live` mode)."""

    BINDINGS = [
        Binding("s", "scan_now", "Scan now", tooltip="Start a scan now, without waiting for the schedule."),
        Binding("p", "toggle_pause", "Pause/resume",
                tooltip="Pause the scheduler (no new scan starts) or resume it; the status line says which."),
        Binding("l", "plan", "Plan", tooltip="What the next scan would do to each PO (read-only); approve held ones."),
        Binding("a", "approve", "Approve", tooltip="Approve the held PO under the cursor (its plan as held)."),
    ]

    def __init__(self) -> None:
        super().__init__(name="live")
        self._row_shown: dict[str, tuple] = {}  # per table row: what it shows now
        self._shown_text: dict[str, str] = {}  # per Static: the markup it shows now

    @property
    def console(self) -> ConsoleHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="live-top"):
            yield Static(id="live-status")
            yield Static(id="live-progress")
            yield Static(id="live-budgets")
        table = PoTable(COLUMNS, id="live-table")
        table.border_title = "Purchase orders"
        yield table
        activity = Static(id="live-activity")
        activity.border_title = "To-dos, retries and changes"
        yield activity
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.redraw_all()
        self.on_resize()
        self.set_interval(1.0, self.refresh_clock, name="live-countdown")

    def on_screen_resume(self) -> None:
        self.console.live_shown()

    def on_resize(self) -> None:
        # The cause column takes what is left, so nothing needs a horizontal scroll.
        # screen width less the table's border (2), the cell padding (2) and a scrollbar (2)
        self.query_one(PoTable).set_column_width("outcome", max(12, self.size.width - FIXED_WIDTH - 6))

    # ---------------------------------------------------------------- drawing

    @property
    def state(self) -> LiveState:
        return self.console.live

    def _variables(self) -> dict[str, str]:
        # The theme's variables as the app last computed them (get_css_variables() rebuilds the
        # whole colour system: milliseconds, too dear for every batch of engine events).
        return getattr(self.app, "theme_variables", None) or self.app.get_css_variables()

    def _set_text(self, selector: str, markup: str) -> None:
        """Update a fixed-size Static only when its text changed (an update re-renders it)."""
        if self._shown_text.get(selector) != markup:
            self._shown_text[selector] = markup
            self.query_one(selector, Static).update(markup, layout=False)

    def _cells(self, row: PoRow, style: dict[str, str]) -> list[Text | str]:
        state_text = Text(STATE_LABEL.get(row.state, row.state),
                          style=_resolve(STATE_STYLE.get(row.state, ""), style))
        outcome = Text(row.outcome, style=_resolve("$error", style) if row.state == "failed" else "")
        return [row.po_number or str(row.po_id), state_text, row.vendor,
                "" if row.lines is None else str(row.lines),
                format_amount(row.amount, row.currency), outcome]

    def redraw_all(self) -> None:
        table = self.query_one(PoTable)
        variables = self._variables()
        with self.app.batch_update():
            table.clear()
            self._row_shown.clear()
            for row in self.state.rows.values():
                self._row_shown[str(row.po_id)] = _shown_as(row)
                table.set_row(str(row.po_id), self._cells(row, variables))
            if table.row_count:
                table.call_after_refresh(table.scroll_end, animate=False, immediate=True)
            self._draw_header()
            self._draw_activity()
        table.border_subtitle = f"{len(self.state.rows)} shown"

    def rows_changed(self, po_ids: tuple[int, ...]) -> None:
        """Redraw the rows of these POs, then the counters. Rows keep the order in which the
        POs first appeared (newest at the bottom, followed while the cursor is on the last row)."""
        table = self.query_one(PoTable)
        # Follow the newest rows while the view is at the bottom, by scrolling (the cursor stays).
        follow = table.at_bottom
        variables = self._variables()
        with self.app.batch_update():
            added = False
            for po_id in po_ids:
                row = self.state.rows.get(po_id)
                if row is None:
                    continue
                key = str(po_id)
                shown = _shown_as(row)
                if self._row_shown.get(key) == shown:
                    continue  # an event that changed nothing on screen
                self._row_shown[key] = shown
                added = table.set_row(key, self._cells(row, variables)) or added
            if added and table.row_count > len(self.state.rows):
                # The state dropped its oldest rows; so does the table.
                stale = {key for key in table.keys if int(key) not in self.state.rows}
                table.remove_rows(stale)
                for key in stale:
                    self._row_shown.pop(key, None)
            if added and follow:
                table.call_after_refresh(table.scroll_end, animate=False, immediate=True)
            table.border_subtitle = f"{len(self.state.rows)} shown"
            self._draw_header()
            self._draw_activity()

    def activity_changed(self) -> None:
        with self.app.batch_update():
            self._draw_header()
            self._draw_activity()

    def _draw_header(self) -> None:
        s = self.state
        self.query_one(PoTable).set_label("outcome", OUTCOME_HEADING[s.document])  # (the state keeps one of its keys)
        # The footer is rebuilt on refresh_bindings (costly): only when what the keys can do changes.
        usable = s.engine not in ("stopped", "failed", "starting")
        if usable != getattr(self, "_keys_usable", None):
            self._keys_usable = usable
            self.refresh_bindings()
        now = self.console.now()
        status = {
            "starting": "[b]Starting…[/b]",
            "idle": "[b $success]● Running[/]",
            "scanning": "[b $warning]● Scanning[/]",
            "paused": "[b $warning]‖ Paused[/] — no scan starts until you resume (p)",
            "stopped": "[b]■ Stopped[/]",
            "failed": "[b $error]■ Engine stopped by an error[/]",
        }.get(s.engine, s.engine)
        if s.next_scan_at is not None and s.engine not in ("paused", "stopped", "failed", "scanning"):
            status += f"   Next scan in [b]{format_countdown((s.next_scan_at - now).total_seconds())}[/b]"
        if self.console.demo:
            status += "   [dim]demo: the built-in sandbox[/dim]"
        if self.console.attached:
            control = self.console.control
            pid = control.status().pid if control is not None else 0
            status += (f"   [b $warning]the service (pid {pid}) stopped[/] — e runs the engine here"
                       if self.console.service_gone else f"   [b]attached to the service (pid {pid})[/b]")
        self._set_text("#live-status", status)  # fixed size: no reflow

        if s.scan_started_at is not None:
            took = format_countdown((now - s.scan_started_at).total_seconds())
            progress = (f"Scan ({s.scan_trigger}) running {took}: [b]{s.scan_done}[/b] done — "
                        f"[$success]{s.scan_synced} synced[/], [$error]{s.scan_failed} failed[/]")
        elif s.last_scan is not None:
            last = s.last_scan
            progress = (f"Last scan: {last.scanned} found, [$success]{last.synced} synced[/], "
                        f"[$error]{last.failed} failed[/], {last.skipped} skipped"
                        + (f", [$accent]{last.held} held[/] for approval (l: plan)" if last.held else ""))
        else:
            progress = "No scan yet"
        if s.stop_reason:
            progress += f"\n[$error]Stopped: {_escape(s.stop_reason)}[/]"
        self._set_text("#live-progress", progress)

        autotask, _ = self.console.calls_in_window(3600)
        _, qbo = self.console.calls_in_window(60)
        budget = self.console.autotask_budget()
        limit = int(budget.get("threshold") or AUTOTASK_PER_HOUR)
        share = f", share {budget['share_percent']} %" if budget.get("share_percent") else ""
        budgets = (f"API used — Autotask [b]{autotask:,}[/b]/{limit:,} per hour{share} · "
                   f"QBO [b]{qbo:,}[/b]/{QBO_PER_MINUTE} per min")
        self._set_text("#live-budgets", budgets)

    def _draw_activity(self) -> None:
        widget = self.query_one("#live-activity", Static)
        lines = []
        height = max(1, widget.size.height) if widget.size.height else 4
        style = {"todo": "$warning", "retry": "$accent", "problem": "$error", "limit": "$warning"}
        for item in list(self.state.activity)[-height:]:
            colour = style.get(item.kind)
            stamp = item.at.astimezone().strftime("%H:%M:%S") if self.console.local_times else item.at.strftime("%H:%M:%S")
            text = _escape(item.text)
            lines.append(f"[dim]{stamp}[/dim] " + (f"[{colour}]{text}[/]" if colour else text))
        self._set_text("#live-activity", "\n".join(lines) if lines else "[dim]Nothing yet: to-dos, retries and "
                                                                 "records created in QBO appear here.[/dim]")

    def refresh_clock(self) -> None:
        self._draw_header()

    # ---------------------------------------------------------------- actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_pause":
            return self.state.engine not in ("stopped", "failed", "starting") or None
        if action == "plan":
            return self.console.connected or None
        if action == "scan_now":
            # While a scan runs the request waits for it to end (the engine queues it).
            return self.state.engine not in ("stopped", "failed", "starting") or None
        return True

    def action_scan_now(self) -> None:
        self.console.scan_now()

    def action_toggle_pause(self) -> None:
        if self.state.engine == "paused":
            self.console.resume_engine()
        else:
            self.console.pause_engine()

    def _selected_row(self) -> PoRow | None:
        table = self.query_one(PoTable)
        keys = table.keys
        if not keys:
            return None
        return self.state.rows.get(int(keys[min(table.cursor, len(keys) - 1)]))

    def action_plan(self) -> None:
        row = self._selected_row()
        self.console.open_plan(row.po_id if row is not None and row.state == "held" else None)

    def action_approve(self) -> None:
        row = self._selected_row()
        if row is not None and row.state == "held":
            self.console.approve_held(row.po_id, row.hold)
        else:
            self.notify("Only a held PO waits for approval: move to a HELD row, or open the plan (l).",
                        severity="warning", markup=False)

    def on_po_table_row_chosen(self, event: PoTable.RowChosen) -> None:
        """enter on a failed PO opens its log entry (cause, what to fix, retry)."""
        row = self.state.rows.get(int(event.key))
        if row is not None and row.log_id:
            self.console.show_log_entry(row.log_id)


def _shown_as(row: PoRow) -> tuple:
    return (row.po_number, row.state, row.vendor, row.lines, row.amount, row.currency, row.outcome)


def _resolve(style: str, variables: dict[str, str]) -> str:
    """Rich styles do not know theme variables: resolve `$name` against the theme."""
    parts = []
    for part in style.split():
        parts.append(variables.get(part[1:], "") if part.startswith("$") else part)
    return " ".join(p for p in parts if p)


def _escape(text: str) -> str:
    return escape(text)
