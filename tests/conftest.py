"""Shared fixtures: a sandbox served over real HTTP on an ephemeral loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sync.sandbox.server import Sandbox, SandboxServer


@pytest.fixture
def empty_sandbox() -> Iterator[SandboxServer]:
    """A fresh sandbox seeded with empty companies; its state dies with the test."""
    with SandboxServer(Sandbox("empty")) as server:
        yield server
