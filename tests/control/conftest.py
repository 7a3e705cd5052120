"""Fixtures of the control-socket tests: an engine on the sandbox (tests/engine's world) served
on a real Unix socket, and clients of it."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))

from engine_world import anyio_backend, world_factory  # noqa: E402,F401  (pytest fixtures)
from control_harness import served  # noqa: E402,F401
