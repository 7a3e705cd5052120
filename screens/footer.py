"""The footer of every screen: Textual's Footer, made cheap to keep current.

Textual's Footer rebuilds itself (removes and mounts a dozen widgets, then re-lays out the
screen: tens of milliseconds on a busy 2-CPU machine) on every `refresh_bindings()` — on each
focus change, screen switch, or when a key becomes usable or not (the logs screen's `r` as the
cursor crosses open and resolved entries). Most of the time the same keys are shown and only
whether each is usable changed: then this footer greys or ungreys its keys in place and
rebuilds only when the set of keys itself changed.
"""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey


class KeysFooter(Footer):
    """A Footer that updates in place when only the keys' usable state changed."""

    _shown: tuple[Any, ...] | None = None

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
        if self._bindings_ready:
            self._shown = self._bindings_now()[0]
        yield from super().compose()

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
