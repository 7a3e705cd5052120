"""The story of one purchase order (what `atqbo why` prints), opened from the Logs screen with
w: each scan that saw it, every decision, every write with its request id and answer, errors
with cause and fix, to-dos, retries and who started them. Read through a callable the console
hands over (the screens never open the store themselves)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from sync.text import shown

from .footer import KeysFooter

StoryLoader = Callable[[int], Awaitable[Any]]  # po_id -> sync.audit.why.Story

_KIND_COLOUR = {"failed": "$error", "notice_failed": "$warning", "bill_created": "$success",
                "written_back": "$success", "retry_started": "$warning", "retry_finished": "$warning"}


def _esc(text: object) -> str:
    # Markup-safe, and no control character reaches the terminal (the shared rule).
    return shown(text).replace("[", r"\[")


def story_markup(story: Any, *, local_times: bool = True) -> str:
    # Spaces go inside the tags: content markup drops whitespace that follows a closing tag.
    head = f"[b]PO {_esc(story.po_number or story.po_id)} [/b](Autotask id {story.po_id}): {_esc(story.summary())}"
    if not story.known:
        return head + "\n[dim]atqbo has no record of this purchase order yet.[/dim]"
    lines = [head, ""]
    for step in story.steps:
        when = step.at[:19].replace("T", " ")
        colour = _KIND_COLOUR.get(step.kind, "")
        text = f"[{colour}]{_esc(step.text)}[/]" if colour else _esc(step.text)
        lines.append(f"[dim]{when}  [/dim]{text}")
    if story.errors:
        lines.append("")
        for entry in story.errors:
            lines.append(f"error log {entry.id} [b]{entry.status.value}: [/b]{_esc(entry.cause)}")
            if entry.status.value != "resolved" and entry.fix:
                lines.append(f"  [b]What to fix: [/b]{_esc(entry.fix)}")
    return "\n".join(lines)


class StoryScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape", "dismiss(None)", "Back")]

    def __init__(self, po_id: int, po_label: str, load: StoryLoader, *, local_times: bool = True) -> None:
        super().__init__()
        self.po_id = po_id
        self.po_label = po_label
        self.load = load
        self.local_times = local_times

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="story-box") as box:
            box.border_title = f"Why — PO {self.po_label}"
            yield Static("[dim]Reading the story…[/dim]", id="story-body")
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self._read()

    @work(exclusive=True, exit_on_error=False, description="Reading a PO's story")
    async def _read(self) -> None:
        body = self.query_one("#story-body", Static)
        try:
            story = await self.load(self.po_id)
        except Exception as exc:  # a damaged file: say so, the screen stays usable
            body.update(f"[$error]The story cannot be read: {_esc(exc)}[/]")
            return
        body.update(story_markup(story, local_times=self.local_times))
