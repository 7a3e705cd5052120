"""Fixtures of the engine tests; the harness itself is engine_world.py."""

from engine_world import anyio_backend, world_factory  # noqa: F401  (pytest fixtures)
