"""Doctor: the pre-flight report (what `atqbo doctor` prints), read-only, in the console.

The screen does not know how the report is made: it is given `produce`, an async callable
that returns a `sync.preflight.DoctorReport` (the console builds it from its runtime). A
`CannotRun` or any other exception from it is shown as a message, never a crash.
`DoctorView` is the report itself, also shown on the Connect screen's review page.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.markup import escape
from textual.screen import Screen
from textual.widgets import Static

from sync.preflight.report import DoctorReport, Level
from sync.preflight.text import (CREATES_HEADING, LEVEL_WORDS, PO_HEADING, create_line, finding_detail,
                                 group_by_area, heading, human_text, po_line, po_word, verdict)

from .footer import KeysFooter

Produce = Callable[[], Awaitable[DoctorReport]]

LEVEL_STYLE = {Level.OK: "$success", Level.NOTE: "$text-muted", Level.ATTENTION: "bold $warning",
               Level.FAIL: "bold $error"}
PO_STYLE = {"bill": "$success", "resume": "$text-muted", "fail": "bold $error"}


def _resolve(style: str, variables: dict[str, str]) -> str:
    """Rich styles do not know theme variables: resolve `$name` against the theme."""
    return " ".join(p for p in (variables.get(w[1:], "") if w.startswith("$") else w for w in style.split()) if p)


def _grid() -> Table:
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=11, no_wrap=True)  # the level word, indented under the heading
    grid.add_column(ratio=1)  # what was found; wrapped lines keep this column's indent
    return grid


def report_renderable(report: DoctorReport, variables: dict[str, str]) -> Group:
    """The report as the CLI prints it, laid out so that wrapped lines stay in their column."""
    parts: list[Any] = []
    for area, findings in group_by_area(report.findings):
        grid = _grid()
        for f in findings:
            text = Text(f.title)
            for line in finding_detail(f):
                text.append("\n" + line, style=_resolve("$text-muted", variables))
            grid.add_row(Text("  " + LEVEL_WORDS[f.level], style=_resolve(LEVEL_STYLE[f.level], variables)), text)
        parts += [Text(heading(area), style="bold"), grid, Text("")]
    if report.pos:
        grid = _grid()
        for p in report.pos:
            grid.add_row(Text("  " + po_word(p), style=_resolve(PO_STYLE[p.outcome], variables)),
                         Text(po_line(p)))
        parts += [Text(PO_HEADING, style="bold"), grid, Text("")]
    if report.creates:
        grid = _grid()
        for c in report.creates:
            grid.add_row(Text("  new", style=_resolve("$text-muted", variables)), Text(create_line(c)))
        parts += [Text(CREATES_HEADING, style="bold"), grid]
    return Group(*parts)


def verdict_markup(report: DoctorReport) -> str:
    style = "b $success" if report.exit_code == 0 else "b $warning"
    words = verdict(report)
    return f"[{style}]{escape(words[:1].upper() + words[1:])}[/]"


class DoctorView(Static):
    """A doctor report (or why there is none)."""

    DEFAULT_CSS = """
    DoctorView { height: auto; padding: 0 1; }
    """

    plain_text = ""  # what is shown, as the CLI's text (tests, and a copy for the operator)

    def show_report(self, report: DoctorReport) -> None:
        variables = getattr(self.app, "theme_variables", None) or self.app.get_css_variables()
        self.plain_text = human_text(report)
        self.update(report_renderable(report, variables))

    def show_message(self, text: str) -> None:
        self.plain_text = text
        self.update(Text(text))


class DoctorScreen(Screen):
    """Pushed from the command palette; escape goes back."""

    DEFAULT_CSS = """
    DoctorScreen #doctor-status { height: auto; padding: 0 1; background: $panel; }
    DoctorScreen #doctor-box { height: 1fr; border: round $primary-darken-2; border-title-color: $text-primary; }
    DoctorScreen #doctor-box:focus { border: round $primary; }
    """
    BINDINGS = [
        Binding("r", "check", "Check again", tooltip="Run every check again (read-only)."),
        Binding("escape", "close", "Back", tooltip="Back to the screen before."),
    ]

    def __init__(self, produce: Produce) -> None:
        super().__init__(name="doctor")
        self.produce = produce
        self.report: DoctorReport | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        yield Static("", id="doctor-status")
        with VerticalScroll(id="doctor-box") as box:
            box.border_title = "Doctor: what the next scan would do (read-only)"
            yield DoctorView("", id="doctor-report")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#doctor-box").focus()  # so up/down/page keys scroll the report
        self.action_check()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check" and self.running:
            return None  # greyed while a check runs
        return True

    def action_close(self) -> None:
        self.dismiss()

    def action_check(self) -> None:
        self.running = True
        self.refresh_bindings()
        self.query_one("#doctor-status", Static).update(
            "[b $warning]Checking…[/] both connections, the settings and every eligible purchase order; "
            "nothing is written.")
        self._run()

    @work(exclusive=True, group="doctor", description="Doctor: checking both services, read-only")
    async def _run(self) -> None:
        status = self.query_one("#doctor-status", Static)
        view = self.query_one(DoctorView)
        try:
            report = await self.produce()
        except Exception as exc:  # noqa: BLE001 (shown, never a crash: see the module docstring)
            self.report = None
            status.update("[b $error]The doctor cannot run.[/]")
            view.show_message(str(exc) or type(exc).__name__)
        else:
            self.report = report
            status.update(verdict_markup(report) + "  [$text-muted](r checks again)[/]")
            view.show_report(report)
        finally:
            self.running = False
            self.refresh_bindings()

