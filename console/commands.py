"""The command palette (ctrl+p): every action of the console by name, built from the current
screen and state, so what it offers is what works now."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen


@dataclass(frozen=True)
class PaletteCommand:
    title: str  # "category: what it does"
    run: Callable[[], object]
    help: str


class PaletteHost(Protocol):
    """The app as the palette sees it (the app imports this module, not the other way)."""

    def palette_commands(self, screen: Screen) -> list[PaletteCommand]: ...


class AtqboCommands(Provider):
    def _commands(self) -> list[PaletteCommand]:
        app: PaletteHost = self.app  # type: ignore[assignment]
        return app.palette_commands(self.screen)

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
