"""The footer of every screen: Textual's Footer, made cheap to keep current.

Textual's Footer rebuilds itself (removes and mounts a dozen widgets, then re-lays out the
screen: tens of milliseconds on a busy 2-CPU machine) on every `refresh_bindings()` — on each
focus change, screen switch, or when a key becomes usable or not (the logs screen's `r` as the
cursor crosses open and resolved entries). Most of the time the same keys are shown and only
whether each is usable changed: then this footer greys or ungreys its keys in place and
rebuilds only when the set of keys itself changed.

At 80 columns (operators over SSH) the screen's keys plus the app's keys (help, screens, quit,
palette) do not fit on one line: then the footer takes two lines, the screen's keys above the
app's, so no key is cut off.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import groupby
from typing import Any

from rich.cells import cell_len
from textual.containers import HorizontalGroup
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel, KeyGroup


class KeysFooter(Footer):
    """A Footer that updates in place when only the keys' usable state changed."""

    DEFAULT_CSS = """
    KeysFooter.-two-rows { height: 2; layout: vertical; }
    KeysFooter .footer-row { width: 1fr; height: 1; }
    KeysFooter.-compact KeyGroup FooterKey.-grouped { margin: 0 1 0 0; }
    """

    _shown: tuple[Any, ...] | None = None
    _two_rows: bool = False

    def _rows(self) -> list[list[tuple[Any, bool, str]]]:
        """The shown bindings split into (the screen's, the app's), in footer order."""
        own: list[tuple[Any, bool, str]] = []
        app: list[tuple[Any, bool, str]] = []
        for node, binding, usable, tooltip in self.screen.active_bindings.values():
            if binding.show:
                (app if node is self.app else own).append((binding, usable, tooltip))
        return [own, app]

    def _keys(self, bindings: list[tuple[Any, bool, str]]):
        """FooterKeys for these bindings, as Textual's Footer makes them (groups combined)."""
        by_action: defaultdict[str, list[tuple[Any, bool, str]]] = defaultdict(list)
        for item in bindings:
            by_action[item[0].action].append(item)
        for group, items in groupby(by_action.values(), lambda multi: multi[0][0].group):
            items = list(items)
            if group is not None and len(items) > 1:
                with KeyGroup(classes="-compact" if group.compact else ""):
                    for multi in items:
                        binding, usable, tooltip = multi[0]
                        yield FooterKey(binding.key, self.app.get_key_display(binding), "", binding.action,
                                        disabled=not usable, tooltip=tooltip or binding.description,
                                        classes="-grouped").data_bind(compact=Footer.compact)
                yield FooterLabel(group.description)
            else:
                for multi in items:
                    binding, usable, tooltip = multi[0]
                    yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                                    binding.action, disabled=not usable,
                                    tooltip=tooltip).data_bind(compact=Footer.compact)

    def _palette_key(self):
        if self.show_command_palette and self.app.ENABLE_COMMAND_PALETTE:
            found = self.screen.active_bindings.get(self.app.COMMAND_PALETTE_BINDING)
            if found is not None:
                _, binding, usable, _ = found
                yield FooterKey(binding.key, self.app.get_key_display(binding), binding.description,
                                binding.action, classes="-command-palette", disabled=not usable,
                                tooltip=binding.tooltip or binding.description)

    def _width_needed(self, rows: list[list[tuple[Any, bool, str]]]) -> int:
        """Columns the keys take on one line (compact style), the palette key included."""
        width = 0
        for bindings in rows:
            seen: set[str] = set()
            for group, items in groupby([b for b in bindings if not (b[0].action in seen or seen.add(b[0].action))],
                                        lambda item: item[0].group):
                items = list(items)
                if group is not None and len(items) > 1:
                    width += sum(cell_len(self.app.get_key_display(b)) + 1 for b, _, _ in items)
                    width += cell_len(group.description) + 1
                else:
                    width += sum(cell_len(self.app.get_key_display(b)) + 1 + cell_len(b.description) + 1
                                 for b, _, _ in items)
        for key in self._palette_key():
            width += 2 + cell_len(key.key_display) + 1 + cell_len(key.description)
        return width

    def _bindings_now(self) -> tuple[tuple[Any, ...], dict[tuple[str, str], bool]]:
        """(what the footer shows, in order; whether each key is usable)."""
        shape: list[tuple[Any, ...]] = []
        enabled: dict[tuple[str, str], bool] = {}
        for _, binding, usable, tooltip in self.screen.active_bindings.values():
            if binding.show:
                shape.append((binding.key, binding.action, binding.description, binding.group, tooltip))
                enabled[(binding.key, binding.action)] = usable
        return (tuple(shape), self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE), enabled

    def compose(self):  # type: ignore[override]
        if not self._bindings_ready:
            return
        self._shown = self._bindings_now()[0]
        rows = self._rows()
        self._two_rows = self._width_needed(rows) > self.app.size.width
        self.set_class(self._two_rows, "-two-rows")
        if not self._two_rows:
            yield from self._keys(rows[0] + rows[1])
            yield from self._palette_key()
            return
        with HorizontalGroup(classes="footer-row"):
            yield from self._keys(rows[0])
        with HorizontalGroup(classes="footer-row"):
            yield from self._keys(rows[1])
            yield from self._palette_key()

    def on_resize(self) -> None:
        if self._bindings_ready and self.is_attached and self._two_rows != (
                self._width_needed(self._rows()) > self.app.size.width):
            self.call_after_refresh(self.recompose)

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._update_keys)

    async def _update_keys(self) -> None:
        if not self.is_attached:
            return
        shape, enabled = self._bindings_now()
        if shape != self._shown or not self.children:
            await self.recompose()
            return
        for key in self.query(FooterKey):
            usable = enabled.get((key.key, key.action))
            if usable is None:
                continue  # the command palette's key: always usable
            if key._disabled == usable:  # noqa: SLF001 - FooterKey keeps its state there
                key._disabled = not usable
                key.set_class(not usable, "-disabled")
