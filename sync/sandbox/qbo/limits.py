"""QBO's throttles (reference/qbo-api.md §6): 500 requests/min per realm, 10 requests/s per realm
and app, 40 batch requests/min per realm and app (120 per realm across apps, which one emulated
app cannot exceed before 40). Sliding windows on a monotonic clock; only admitted requests count,
so a client that backs off gets through again as soon as the window has room."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass
class QboLimits:
    per_second: int = 10
    per_minute: int = 500
    batch_per_minute: int = 40
    batch_max_items: int = 30  # §6: 30 enforced (the sources conflict: 10/30/50); over → 1040

    def to_dict(self) -> dict:
        return asdict(self)


class _Window:
    def __init__(self, span: float) -> None:
        self.span = span
        self.times: deque[float] = deque()

    def room(self, now: float, limit: int) -> bool:
        while self.times and self.times[0] <= now - self.span:
            self.times.popleft()
        return len(self.times) < limit


class RateLimiter:
    def __init__(self, limits: QboLimits | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or QboLimits()
        self.clock = clock
        self._lock = threading.Lock()
        self._windows: dict[tuple[str, str], _Window] = {}

    def _window(self, key: str, kind: str, span: float) -> _Window:
        w = self._windows.get((key, kind))
        if w is None:
            w = self._windows[(key, kind)] = _Window(span)
        return w

    def admit(self, realm: str, app: str, batch: bool) -> bool:
        """Count this request if every window has room; False means answer 429."""
        now = self.clock()
        lim = self.limits
        with self._lock:
            checks = [(self._window(f"{realm}/{app}", "second", 1.0), lim.per_second),
                      (self._window(realm, "minute", 60.0), lim.per_minute)]
            if batch:
                checks.append((self._window(f"{realm}/{app}", "batch", 60.0), lim.batch_per_minute))
            if not all(w.room(now, limit) for w, limit in checks):
                return False
            for w, _ in checks:
                w.times.append(now)
            return True

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
