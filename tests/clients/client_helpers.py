"""Helpers for the client tests."""

from __future__ import annotations

import anyio

from sync.clients.http import RetryPolicy


def fast_retry(attempts: int = 6) -> RetryPolicy:
    """Real backoff shape, millisecond scale, so retry tests take no time."""
    return RetryPolicy(max_attempts=attempts, base_delay=0.001, max_delay=0.01, max_retry_after=5)


class SleepLog:
    """A sleep that records what it was asked to wait, and waits not at all."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await anyio.sleep(0)
