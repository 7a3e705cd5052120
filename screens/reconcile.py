"""Reconcile: what atqbo made in QuickBooks against what Autotask says (read-only), the same
comparison as `atqbo reconcile`. Runs when the screen opens and again with r; each finding
with what to do. The comparison is a callable the console hands over."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from .footer import KeysFooter
from .story import _esc

Reconciler = Callable[[], Awaitable[Any]]  # -> sync.audit.reconcile.Reconciliation

KIND_TITLES = {"no_write_back": "Bill without write-back", "bill_deleted": "Bill deleted in QuickBooks",
               "bill_voided": "Bill voided in QuickBooks", "bill_changed": "Bill changed in QuickBooks",
               "duplicate_bills": "Two bills for one PO", "cancelled_after_sync": "PO cancelled after sync"}


def findings_markup(result: Any) -> str:
    if not result.findings:
        return (f"[$success]Nothing to reconcile. [/]{result.bills_checked} {result.made_words} made by atqbo and "
                f"{result.pos_checked} purchase orders agree.")
    lines = [f"[b]{len(result.findings)} findings [/b]— {result.bills_checked} {result.made_words} and "
             f"{result.pos_checked} purchase orders checked; nothing was changed.", ""]
    for f in result.findings:
        lines.append(f"[$warning]{KIND_TITLES.get(f.kind, f.kind)}  [/]PO {_esc(f.po_number)} (id {f.po_id})")
        lines.append(f"  {_esc(f.text)}")
        lines.append(f"  [b]What to do: [/b]{_esc(f.fix)}")
        lines.append("")
    return "\n".join(lines).rstrip()


class ReconcileScreen(Screen):
    BINDINGS = [Binding("r", "run", "Run again", tooltip="Compare QuickBooks with Autotask again (read-only).")]

    def __init__(self, reconcile: Reconciler | None = None) -> None:
        super().__init__(name="reconcile")
        self._reconcile = reconcile

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="reconcile-box") as box:
            box.border_title = "Reconcile — QuickBooks against Autotask (read-only)"
            yield Static("[dim]Comparing…[/dim]", id="reconcile-body")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.action_run()

    def action_run(self) -> None:
        self.query_one("#reconcile-body", Static).update("[dim]Comparing…[/dim]")
        self._run()

    @work(exclusive=True, exit_on_error=False, description="Reconciling")
    async def _run(self) -> None:
        body = self.query_one("#reconcile-body", Static)
        reconcile = self._reconcile or getattr(self.app, "reconcile", None)
        if reconcile is None:
            body.update("[$error]Reconcile is not available here.[/]")
            return
        try:
            result = await reconcile()
        except Exception as exc:  # the services refused or are down: say it, stay usable
            body.update(f"[$error]Reconcile cannot run: {_esc(exc)}[/]\nNothing was changed. Press r to try again.")
            return
        body.update(findings_markup(result))
