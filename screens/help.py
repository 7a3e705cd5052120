"""Help (?): what each screen is for and every key, read from the live bindings so it never
drifts from what the keys really do."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from .footer import KeysFooter

INTRO = """\
[b]atqbo[/b] moves Autotask purchase orders into QuickBooks Online as bills, exactly once. \
A scan picks up POs that are [i]Submitted[/i], created within the last [i]days_back[/i] days and \
have a blank External PO Number. A PO that fails gets [i]ERROR[/i] in that field, an Autotask \
to-do and an entry in the log: fix the cause, then retry it from the log (r).

[b]Screens[/b]
  Live        the current scan, each PO as it moves, to-dos and retries, next scan, API use
  Logs        every error and its outcome; filter, details, a PO's whole story (w), retry
  Sync one    push one PO by its Autotask id, now
  Settings    what the sync does (applies from the next scan)
  Connect     sign in to QuickBooks Online and Autotask (reconnecting keeps the settings)
  Plan        what the next scan would do to each PO, read-only (l on Live); approve held POs (a)
  Links       which QuickBooks record each Autotask organization and product is (palette)
  Reconcile   (6) the bills atqbo made against Autotask, read-only: what to look at

Everything is on a key; the mouse is never needed. [b]ctrl+p[/b] opens the command palette, \
which lists every action by name. Up/down or page keys scroll this help.
"""


def _key_label(app, key: str) -> str:
    return ", ".join(app.get_key_display(Binding(k.strip(), "")) for k in key.split(","))


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close help")]

    def on_mount(self) -> None:
        self.query_one("#help-box").focus()  # so up/down/page keys scroll it

    def __init__(self, for_screen: Screen | None = None) -> None:
        super().__init__()
        self.for_screen = for_screen

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-box") as box:
            box.border_title = "Help"
            yield Static(INTRO, id="help-intro")
            yield Static(self._keys(), id="help-keys")
        yield KeysFooter(compact=True)

    def _keys(self) -> str:
        rows: list[str] = []
        sections: list[tuple[str, list[Binding]]] = []
        if self.for_screen is not None:
            sections.append((f"This screen ({self.for_screen.name or 'screen'})",
                             list(type(self.for_screen).BINDINGS)))  # type: ignore[arg-type]
        sections.append(("Everywhere", list(type(self.app).BINDINGS)))  # type: ignore[arg-type]
        for title, bindings in sections:
            rows.append(f"[b]{title}[/b]")
            seen: set[str] = set()
            for binding in bindings:
                if not isinstance(binding, Binding) or not binding.description:
                    continue
                if binding.description in seen:
                    continue
                seen.add(binding.description)
                keys = _key_label(self.app, binding.key)
                tip = f" — {binding.tooltip}" if binding.tooltip else ""
                rows.append(f"  [b]{keys:<12}[/b] {binding.description}{tip}")
            rows.append("")
        return "\n".join(rows)
