"""The two Autotask limits (reference §6.2): a thread limit per (integration code, object
endpoint) and an hourly request budget per database with a usage-based slow-down."""

from __future__ import annotations

import threading
import time
from collections import deque

from .seed import AutotaskLimits

# The error code n8n matches alongside the text (reference §6.2); where the API puts it is
# UNVERIFIED, so the emulator sends the message alone, as observed with HTTP 429.
THREAD_CODE = "Itgenatr005"
THREAD_MESSAGE = "Thread Threshold Exceeded — The Autotask API thread threshold of 3 threads has been exceeded."


def thread_message(limit: int) -> str:
    return THREAD_MESSAGE.replace("of 3 threads", f"of {limit} threads")


def budget_message(threshold: int, minutes: int) -> str:
    # UNVERIFIED: neither the status nor the text of the hourly refusal is documented (§6.2).
    return (f"Request threshold exceeded: the Autotask API allows {threshold} requests per {minutes} minutes "
            "for this database. Retry when usage drops.")


class HourlyBudget:
    """Requests in a rolling timeframe, all integrations of the database together."""

    def __init__(self, limits: AutotaskLimits, clock=time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._times: deque[float] = deque()
        # The requests that really arrived (not the usage a test set), for `peak_arrived`.
        self._arrived: deque[float] = deque()
        self.peak_arrived = 0  # the most requests that arrived within one timeframe
        self._lock = threading.Lock()

    def _trim(self, now: float) -> None:
        horizon = now - self.limits.timeframe_minutes * 60
        while self._times and self._times[0] <= horizon:
            self._times.popleft()
        while self._arrived and self._arrived[0] <= horizon:
            self._arrived.popleft()

    def count(self) -> int:
        with self._lock:
            self._trim(self._clock())
            return len(self._times)

    def admit(self) -> int | None:
        """Counts this request and returns the usage including it, or None when over budget
        (refused requests are not counted, so usage drains as the window rolls)."""
        with self._lock:
            now = self._clock()
            self._trim(now)
            if len(self._times) >= self.limits.hourly_threshold:
                return None
            self._times.append(now)
            self._arrived.append(now)
            self.peak_arrived = max(self.peak_arrived, len(self._arrived))
            return len(self._times)

    def set_count(self, n: int) -> None:
        """Pretends `n` requests were made just now (tests and demos, instead of n real calls):
        the other integrations' share of the hour. Starts `peak_arrived` afresh."""
        with self._lock:
            self._times = deque([self._clock()] * n)
            self._arrived.clear()
            self.peak_arrived = 0

    def delay_for(self, usage: int) -> float:
        fraction = usage / self.limits.hourly_threshold if self.limits.hourly_threshold else 0.0
        delay = 0.0
        for threshold, seconds in sorted(self.limits.slowdown):
            if fraction >= threshold:
                delay = seconds
        return delay
