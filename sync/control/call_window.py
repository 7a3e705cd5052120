"""Requests sent to Autotask and QBO over a recent window (the live screen's "calls in the last
hour / minute", the control socket's status), from samples of the clients' call counters.

One copy for the console and the control server: each samples the counters once a second and
asks how many requests went out in the last N seconds (the counters now, less the oldest sample
within the window). A little over an hour of samples is kept.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

KEEP = 3700  # one a second: a little over an hour


class CallWindow:
    def __init__(self, clock: Callable[[], float] = time.monotonic, keep: int = KEEP) -> None:
        self._clock = clock
        self._samples: deque[tuple[float, int, int]] = deque(maxlen=keep)

    def sample(self, autotask: int, qbo: int) -> None:
        self._samples.append((self._clock(), int(autotask), int(qbo)))

    def clear(self) -> None:
        self._samples.clear()

    def used(self, seconds: float, now: tuple[int, int] | None = None) -> tuple[int, int]:
        """Requests sent to (Autotask, QBO) in the last `seconds`: `now`'s counters (else the
        newest sample's) less the oldest sample within the window; (0, 0) before any sample."""
        if not self._samples:
            return 0, 0
        if now is None:
            at, at_now, qb_now = self._samples[-1]
        else:
            at, (at_now, qb_now) = self._clock(), now
        base = next((s for s in self._samples if at - s[0] <= seconds), None)
        if base is None:
            return 0, 0
        return at_now - base[1], qb_now - base[2]
