"""Sync one PO: the Autotask PO id, an optional alternate e-mail, "do it now", and the result —
or the error in red with its cause — as it happens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Static

from .footer import KeysFooter
from .markup import escape

from sync.ids import IdError, parse_po_id
from sync.settings import SettingsError, parse_value
from sync.text import shown

from .messages import SyncOneFinished

if TYPE_CHECKING:
    from .host import ConsoleHost

def validate_po_id(text: str) -> tuple[int | None, str]:
    """(the id, "") or (None, what is wrong): the same parser as `atqbo sync-one`."""
    if not text.strip():
        return None, "Enter the Autotask purchase order id (a whole number, e.g. 1042)."
    try:
        return parse_po_id(text), ""  # (as typed: the parser decides what spaces it allows)
    except IdError as exc:
        return None, f"The PO id {exc}."


def validate_email(text: str) -> tuple[str | None, str]:
    value = text.strip()
    if not value:
        return None, ""
    try:
        return parse_value("notify_email", value), ""
    except SettingsError as exc:
        return None, "The alternate e-mail " + exc.problems[0].message + "."


class SyncOneScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "do_it", "Do it now", priority=True,
                tooltip="Sync this purchase order now with the current settings."),
    ]

    def __init__(self) -> None:
        super().__init__(name="sync_one")
        self.running_po: int | None = None

    @property
    def console(self) -> ConsoleHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(id="sync-form", classes="form") as form:
            form.border_title = "Sync one purchase order"
            yield Static("Push one Autotask purchase order to QuickBooks Online now, with the "
                         "current settings. It may be outside the scan window or marked ERROR; "
                         "a PO that already has a QuickBooks number is not synced again.",
                         classes="form-help")
            yield Label("Autotask PO id (required)")
            yield Input(placeholder="e.g. 1042", id="po-id", max_length=12, compact=True)
            yield Static("", id="po-id-error", classes="field-error")
            yield Label("Alternate e-mail for the result (optional)")
            yield Input(placeholder="name@example.com", id="alt-email", max_length=254, compact=True)
            yield Static("", id="alt-email-error", classes="field-error")
            yield Button("Do it now", id="do-it", variant="primary", compact=True)
        yield Static("", id="sync-result")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        for error in self.query(".field-error"):
            error.display = False
        self.query_one("#po-id", Input).focus()

    @on(Input.Changed, "#po-id")
    def _po_changed(self, event: Input.Changed) -> None:
        # Judge as the operator types, but do not shout about an empty field until they submit.
        _, problem = validate_po_id(event.value) if event.value else (None, "")
        self._show_problem("#po-id", problem)

    @on(Input.Changed, "#alt-email")
    def _email_changed(self, event: Input.Changed) -> None:
        self._show_problem("#alt-email", "")

    @on(Input.Submitted, "#po-id")
    def _po_submitted(self) -> None:
        self.query_one("#alt-email", Input).focus()

    @on(Input.Submitted, "#alt-email")
    @on(Button.Pressed, "#do-it")
    def _submitted(self) -> None:
        self.action_do_it()

    def _show_problem(self, field: str, problem: str) -> None:
        self.query_one(field, Input).set_class(bool(problem), "-invalid")
        error = self.query_one(f"{field}-error", Static)
        error.update(problem)
        error.display = bool(problem)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "do_it":
            return self.running_po is None or None
        return True

    def action_do_it(self) -> None:
        if self.running_po is not None:
            return
        po_id, po_problem = validate_po_id(self.query_one("#po-id", Input).value)
        email, email_problem = validate_email(self.query_one("#alt-email", Input).value)
        self._show_problem("#po-id", po_problem)
        self._show_problem("#alt-email", email_problem)
        if po_problem:
            self.query_one("#po-id", Input).focus()
            return
        if email_problem:
            self.query_one("#alt-email", Input).focus()
            return
        assert po_id is not None
        self.running_po = po_id
        self.query_one("#do-it", Button).disabled = True
        self.refresh_bindings()
        self.query_one("#sync-result", Static).update(f"[b $warning]Syncing PO {po_id}…[/]")
        self.console.sync_one(po_id, email)

    def show_progress(self, text: str) -> None:
        """A live line while the PO is on its way (from the engine's events)."""
        if self.running_po is not None:
            self.query_one("#sync-result", Static).update(f"[b $warning]{_esc(text)}[/]")

    def finished(self, result: SyncOneFinished) -> None:
        self.running_po = None
        self.query_one("#do-it", Button).disabled = False
        self.refresh_bindings()
        box = self.query_one("#sync-result", Static)
        if result.ok:
            box.update(f"[b $success]PO {result.po_id} synced: bill {_esc(result.doc_number)} "
                       f"in QuickBooks Online.[/]")
        else:
            text = f"[b $error]PO {result.po_id} was not synced: {_esc(result.cause)}[/]"
            if result.fix:
                text += f"\n[$error]What to fix: {_esc(result.fix)}[/]"
            if result.detail:
                text += f"\n[dim]{_esc(result.detail)}[/dim]"
            box.update(text)


def _esc(text: object) -> str:
    # Text from outside (a cause, what an API said): control characters shown as escapes
    # (sync.text), and literal inside markup.
    return escape(shown(text))
