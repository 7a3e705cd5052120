"""Clients that read and refuse to write: the doctor runs the engine's own decision code on
these, so a change that made a decision path write would fail loudly instead of touching a
company's books."""

from __future__ import annotations

from typing import Any

_WRITES = frozenset({"create", "update", "delete", "batch", "create_child", "update_child"})


class WriteRefused(RuntimeError):
    """A read-only run tried to write: a bug, never the operator's problem."""


class ReadOnly:
    """Forwards everything to `client` except its write methods, which raise WriteRefused."""

    def __init__(self, client: Any, service: str) -> None:
        object.__setattr__(self, "_client", client)
        object.__setattr__(self, "_service", service)

    def __getattr__(self, name: str) -> Any:
        if name in _WRITES:
            service = self._service

            async def refused(*args: Any, **kwargs: Any) -> Any:
                raise WriteRefused(f"a read-only check tried to {name} in {service}")

            return refused
        return getattr(self._client, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._client, name, value)

    def __repr__(self) -> str:
        return f"ReadOnly({self._client!r})"
