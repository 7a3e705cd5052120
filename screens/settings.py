"""Settings: every setting of DESIGN §1, with QBO accounts, Autotask action types and resources
offered from live data, validation inline (sync.settings' own messages), Cancel and Save.
A saved change applies from the next scan (the engine reads the settings before each scan).

`SettingsForm` is the form itself; the connect screen embeds it as one of its steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Static

from sync.control.api import CommandFailed, CommandRefused, EngineControl
from sync.settings import Settings, SettingsError, parse_value
from sync.text import shown

from .footer import KeysFooter
from .markup import escape

if TYPE_CHECKING:
    from .host import ConsoleHost


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    kind: str  # int | text | email | host | choice | live | bool | secret
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()


SECTIONS: tuple[tuple[str, tuple[Field, ...]], ...] = (
    ("Overview", (
        Field("days_back", "Days back to look (0 = pause)", "int"),
        Field("po_number_source", "Bill number from", "choice", choices=(
            ("QuickBooks (its own sequence)", "quickbooks"),
            ("Autotask (the PO number)", "autotask"))),
        Field("scan_interval_minutes", "Minutes between scans", "int"),
    )),
    ("Matching on vendors, customers and items", (
        Field("missing_item", "When an item is not in QBO", "choice", choices=(
            ("Error out: the PO fails", "error"),
            ("Create a new item", "create"))),
        Field("new_item_expense_account", "Expense account for new items", "live"),
        # A text field, checked by the setting's own parser: "link_above N" carries a number.
        Field("near_match", "Near name: hold|create|link_above N", "text"),
        Field("apply_mode", "What waits for approval", "choice", choices=(
            ("Nothing: sync every PO", "auto"),
            ("POs that would create a vendor, customer or item", "hold_new_records"),
            ("Every PO (approve each one)", "manual"))),
    )),
    ("Other account settings", (
        Field("ap_account", "A/P account for bills", "live"),
    )),
    ("Error handling", (
        Field("todo_action_type", "To-do action type", "live"),
        Field("todo_resource", "To-dos assigned to", "live"),
        Field("notify_email", "E-mail failures to (optional)", "email"),
    )),
    ("Mail server (optional; needed for e-mail)", (
        Field("smtp_host", "SMTP host", "host"),
        Field("smtp_port", "SMTP port", "int"),
        Field("smtp_username", "SMTP user name", "text"),
        Field("smtp_password", "SMTP password (secret)", "secret"),
        Field("smtp_starttls", "Use STARTTLS", "bool"),
        Field("smtp_from", "SMTP sender address", "email"),
    )),
    ("Error log", (
        Field("log_retention_days", "Keep resolved, days (0 = forever)", "int"),
        Field("log_max_entries", "Keep at most, entries", "int"),
    )),
    ("Autotask budget (shared by every integration of the MSP)", (
        Field("autotask_hourly_share", "Share of the hour for atqbo, %", "int"),
    )),
    ("What a PO becomes in QuickBooks", (
        Field("transfer_as", "Transfer as", "choice", choices=(
            ("A bill at once", "bill"),
            ("A purchase order", "purchase_order"),
            ("A purchase order, then bills as goods arrive", "purchase_order_then_bill"))),
    )),
)
FIELDS: dict[str, Field] = {f.key: f for _, fields in SECTIONS for f in fields}
# The label column is 36 cells with one of them a gap (app.tcss .field-label): a longer label
# would wrap, or at 80 columns run into its value ("(0 pauses)30").
LABEL_MAX = 35
assert all(len(f.label) <= LABEL_MAX for f in FIELDS.values()), "a settings label is too long"
SETTING_FIELDS = tuple(k for k in FIELDS if k != "smtp_password")


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


class SettingsForm(VerticalScroll):
    """The fields, their inline errors, and the live choices."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="form")
        self.loaded: Settings = Settings()
        self.options_problems: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        for title, fields in SECTIONS:
            yield Static(f"[b]{title}[/b]", classes="form-section")
            for f in fields:
                with Horizontal(classes="field-row"):
                    yield Label(f.label, id=f"l-{f.key}", classes="field-label")
                    if f.kind in ("choice", "bool"):
                        choices = f.choices if f.kind == "choice" else (("yes", "true"), ("no", "false"))
                        yield Select(choices, id=f"f-{f.key}", allow_blank=False, compact=True)
                    elif f.kind == "live":
                        yield Select([], id=f"f-{f.key}", prompt="(reading choices…)", compact=True)
                    else:
                        yield Input(id=f"f-{f.key}", password=f.kind == "secret", compact=True,
                                    type="integer" if f.kind == "int" else "text",
                                    placeholder="(not set)" if f.kind != "secret" else "(unchanged)")
                yield Static("", id=f"e-{f.key}", classes="field-error")

    # ---------------------------------------------------------------- values in

    def load(self, settings: Settings) -> None:
        self.loaded = settings
        values = settings.to_values()
        for key in SETTING_FIELDS:
            widget = self.query_one(f"#f-{key}")
            text = _to_text(values.get(key))
            if isinstance(widget, Input):
                widget.value = text
            elif isinstance(widget, Select):
                self._select(widget, text)
            self.show_problem(key, "")
        self.query_one("#f-smtp_password", Input).value = ""
        self._sync_visibility()

    def _select(self, widget: Select, value: str) -> None:
        values = [v for _, v in widget._options if v is not Select.NULL]  # type: ignore[attr-defined]
        if value and value not in values:
            # A value set elsewhere (by name, or not among the live choices): keep it offered.
            matches = [v for label, v in widget._options if str(label).split(" (")[0].casefold() == value.casefold()]  # type: ignore[attr-defined]
            if matches:
                value = matches[0]
            else:
                options = [(label, v) for label, v in widget._options if v is not Select.NULL]  # type: ignore[attr-defined]
                widget.set_options([(Content(f"{shown(value)} (current)"), value), *options])
        widget.value = value if value else Select.NULL

    def set_options(self, options: dict[str, list[tuple[str, str]]], problems: dict[str, str]) -> None:
        self.options_problems = problems
        current = self.loaded.to_values()
        for key in ("ap_account", "new_item_expense_account", "todo_action_type", "todo_resource"):
            widget = self.query_one(f"#f-{key}", Select)
            keep = widget.value if widget.value is not Select.NULL else _to_text(current.get(key))
            # Labels are names from the services: plain text, never markup (a "[@click=...]" in an
            # account name must not become an action).
            widget.set_options([(Content(label), value) for label, value in options.get(key, [])])
            widget.prompt = "(choose)" if key in options else "(could not read the choices)"
            self._select(widget, str(keep) if keep else "")
            if key in problems:
                self.show_problem(key, problems[key])

    # ---------------------------------------------------------------- validation

    def show_problem(self, key: str, problem: str) -> None:
        error = self.query_one(f"#e-{key}", Static)
        error.update(escape(shown(problem)))  # quotes what was typed, or what a service said
        error.display = bool(problem)
        self.query_one(f"#f-{key}").set_class(bool(problem), "-invalid")

    def raw_value(self, key: str) -> str:
        widget = self.query_one(f"#f-{key}")
        if isinstance(widget, Select):
            return "" if widget.value is Select.NULL else str(widget.value)
        return widget.value  # type: ignore[union-attr]

    def check_field(self, key: str) -> str:
        if key == "smtp_password":
            value = self.raw_value(key)
            return "must be a single line" if any(c in value for c in "\r\n") else ""
        try:
            parse_value(key, self.raw_value(key))
        except SettingsError as exc:
            return exc.problems[0].message
        return ""

    @on(Input.Changed)
    def _input_changed(self, event: Input.Changed) -> None:
        key = (event.input.id or "")[2:]
        if key in FIELDS:
            self.show_problem(key, self.check_field(key))

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        key = (event.select.id or "")[2:]
        if key in FIELDS:
            self.show_problem(key, "" if key not in self.options_problems else self.options_problems[key])
            if key == "missing_item":
                self._sync_visibility()

    def _sync_visibility(self) -> None:
        # The expense account only matters when items are created (as on the retired app's page).
        creating = self.raw_value("missing_item") == "create"
        self.query_one("#l-new_item_expense_account").parent.display = creating  # type: ignore[union-attr]
        self.query_one("#e-new_item_expense_account").display = creating

    def collect(self) -> Settings | None:
        """The settings in the form, or None after showing every problem next to its field."""
        problems: dict[str, str] = {}
        values: dict[str, Any] = {}
        for key in SETTING_FIELDS:
            problem = self.check_field(key)
            if problem:
                problems[key] = problem
            else:
                values[key] = self.raw_value(key)
        settings: Settings | None = None
        try:
            # The valid fields alone still say which required ones are missing.
            settings = Settings.from_values(values)
        except SettingsError as exc:
            problems.update({p.key: p.message for p in exc.problems})
        if settings is not None:
            for p in settings.missing_for_scan():
                problems.setdefault(p.key, p.message)
        problem = self.check_field("smtp_password")
        if problem:
            problems["smtp_password"] = problem
        for key in FIELDS:
            self.show_problem(key, problems.get(key, ""))
        if problems:
            first = next(k for k in FIELDS if k in problems)
            widget = self.query_one(f"#f-{first}")
            widget.focus()
            widget.scroll_visible(animate=False)
            return None
        return settings

    def smtp_password(self) -> str | None:
        value = self.raw_value("smtp_password")
        return value or None


class SettingsScreen(Screen):
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", priority=True, tooltip="Save; the next scan uses the new settings."),
        Binding("ctrl+r", "reload_options", "Reload choices",
                tooltip="Read accounts, action types and resources from the services again."),
        Binding("escape", "cancel", "Cancel", tooltip="Forget the changes and go back."),
    ]

    def __init__(self) -> None:
        super().__init__(name="settings")

    @property
    def console(self) -> ConsoleHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("Settings — a saved change applies from the next scan.", id="settings-title")
        yield SettingsForm(id="settings-form")
        with Horizontal(id="settings-buttons", classes="buttons"):
            yield Button("Cancel", id="settings-cancel", compact=True)
            yield Button("Save", id="settings-save", variant="primary", compact=True)
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.reload()

    def reload(self) -> None:
        self._read_settings()
        self.action_reload_options()

    @work(group="settings-read", exclusive=True, exit_on_error=False, description="Reading the settings")
    async def _read_settings(self) -> None:
        try:
            settings, problem = await self._control().settings_get(), ""
        except Exception as exc:  # a damaged file: show it and start from the defaults
            settings, problem = Settings(), str(exc)
        self._settings_read(settings, problem)

    def _control(self) -> EngineControl:
        control = self.console.control
        if control is None:
            raise CommandRefused("not connected: connect first")
        return control

    def _settings_read(self, settings: Settings, problem: str) -> None:
        form = self.query_one(SettingsForm)
        form.load(settings)
        if problem:
            self.notify(problem, title="The saved settings could not be read", severity="error", timeout=10)

    def action_reload_options(self) -> None:
        self._read_options()

    @work(group="settings-options", exclusive=True, exit_on_error=False,
          description="Reading accounts, action types and resources")
    async def _read_options(self) -> None:
        options, problems = await self._control().options()
        self.query_one(SettingsForm).set_options(options, problems)

    @on(Button.Pressed, "#settings-save")
    def action_save(self) -> None:
        form = self.query_one(SettingsForm)
        settings = form.collect()
        if settings is None:
            self.notify("Some settings need attention (shown in red).", severity="error")
            return
        self._save(settings, form.smtp_password())

    @work(group="settings-save", exclusive=True, exit_on_error=False, description="Saving the settings")
    async def _save(self, settings: Settings, smtp_password: str | None) -> None:
        try:
            changed = await self._control().settings_set(settings.to_values(), smtp_password)
        # OSError: disk full, read-only folder (the store names the path and what to do).
        except (CommandRefused, CommandFailed, SettingsError, OSError) as exc:
            self.notify(str(exc), title="Settings not saved", severity="error", timeout=10)
            return
        self._saved(settings, changed)

    def _saved(self, settings: Settings, changed: tuple[str, ...]) -> None:
        self.query_one(SettingsForm).load(settings)
        self.console.settings_saved(changed)

    @on(Button.Pressed, "#settings-cancel")
    def action_cancel(self) -> None:
        self.query_one(SettingsForm).load(self.query_one(SettingsForm).loaded)
        self.console.go_back()
