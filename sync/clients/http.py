"""The one retry policy and the pacing primitives both API clients share.

Retry rule (the same for both services):
- a connection that never got through (connect error, connect/pool timeout) is always retried;
- HTTP 429 is always retried: the service refused the request without doing it;
- 5xx, read timeouts and lost replies are retried only when the request is *safe*: a read or
  query, or a write that carries an idempotency key (QBO `requestid`). An unsafe write whose
  reply was lost raises `TransportError(maybe_committed=True)` so the caller looks first;
- every wait is exponential backoff with full jitter, or the server's Retry-After when longer;
- an answer that missed its overall deadline (bounded.py) counts as a lost reply; one over the
  size limit, or in an encoding that does not decode, is never retried (it would come again).

Pacing: `SlidingWindowLimiter` (at most N request starts in any window of W seconds),
`KeyedSemaphores` (at most N in flight per key), `MinInterval` (space request starts).
"""

from __future__ import annotations

import email.utils
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
import httpx

from .bounded import BadEncoding, DeadlineExceeded, ResponseTooLarge
from .errors import AnswerTooLargeError, DeadlineError, TransportError

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass
class RetryPolicy:
    """How often and how long to retry. `max_attempts` counts the first try."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    # Retry-After above this is not waited out: the error surfaces instead.
    max_retry_after: float = 120.0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait before try number `attempt + 1` (`attempt` starts at 1)."""
        cap = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        delay = self.rng.uniform(cap / 2, cap)  # "equal jitter": never zero, never in lockstep
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or garbled."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


# Errors raised before a single byte of the request reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


async def send_with_retry(
    send: Callable[[], Awaitable[httpx.Response]],
    *,
    service: str,
    safe: bool,
    policy: RetryPolicy,
    should_retry: Callable[[httpx.Response, bool], bool],
    sleep: Sleep = anyio.sleep,
    on_retry: Callable[[str, float], None] | None = None,
) -> httpx.Response:
    """Run `send` until it yields a response `should_retry(response, safe)` accepts, or the
    attempts run out (then the last response is returned for the caller to turn into an error).

    Transport failures become `TransportError`; `safe` says whether the request may be repeated
    after it may have reached the server.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await send()
        except _NOT_SENT as exc:
            if attempt >= policy.max_attempts:
                raise TransportError(service, f"cannot reach {service}: {_describe(exc)}") from None
            delay = policy.backoff(attempt)
            if on_retry:
                on_retry("connect", delay)
            await sleep(delay)
            continue
        except ResponseTooLarge as exc:
            raise AnswerTooLargeError(service, f"{service} sent {exc}; refused without reading it",
                                      maybe_committed=not safe) from None
        except (BadEncoding, httpx.DecodingError) as exc:
            raise TransportError(service, f"{service} sent {_describe(exc)}", maybe_committed=not safe) from None
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            # The request went out; the reply did not come back (timeout, reset, truncated).
            cls = DeadlineError if isinstance(exc, DeadlineExceeded) else TransportError
            if not safe:
                raise cls(
                    service,
                    f"{service} did not answer ({_describe(exc)}); the request may have been "
                    "carried out, so it was not repeated",
                    maybe_committed=True) from None
            if attempt >= policy.max_attempts:
                raise cls(service, f"{service} did not answer: {_describe(exc)}") from None
            delay = policy.backoff(attempt)
            if on_retry:
                on_retry("transport", delay)
            await sleep(delay)
            continue
        if attempt >= policy.max_attempts or not should_retry(response, safe):
            return response
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        if retry_after is not None and retry_after > policy.max_retry_after:
            return response
        delay = policy.backoff(attempt, retry_after)
        if on_retry:
            on_retry(str(response.status_code), delay)
        await response.aclose()
        await sleep(delay)


def _describe(exc: Exception) -> str:
    if isinstance(exc, (DeadlineExceeded, BadEncoding)):
        return str(exc)  # our own words: the deadline, or which encoding
    if isinstance(exc, httpx.DecodingError):
        return "an answer whose content encoding does not decode"
    kind = {
        httpx.ConnectError: "connection failed",
        httpx.ConnectTimeout: "connect timeout",
        httpx.PoolTimeout: "connection pool timeout",
        httpx.ReadTimeout: "read timeout",
        httpx.WriteTimeout: "write timeout",
        httpx.RemoteProtocolError: "connection closed mid-reply",
        httpx.ReadError: "connection reset",
    }
    for cls, text in kind.items():
        if isinstance(exc, cls):
            return text
    return type(exc).__name__


def json_body(response: httpx.Response, service: str) -> object:
    """The JSON body, or a TransportError naming what came instead (HTML page, truncated)."""
    ctype = response.headers.get("content-type", "")
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
        pass
    kind = "an HTML page" if "html" in ctype.lower() else (
        "an empty body" if not response.content else "a body that is not valid JSON")
    raise TransportError(service, f"{service} answered HTTP {response.status_code} with {kind}",
                         status=response.status_code)


class SlidingWindowLimiter:
    """At most `limit` requests in any `window` seconds, as the *server* counts them.

    The server stamps a request somewhere between our send and our receipt of the answer,
    so a slot is taken before sending, counts as "now" while the request is in flight, and
    expires `window` seconds after the answer came back (`release`). Stamping at send time
    alone lets network jitter squeeze 11 requests into the server's second.
    """

    def __init__(self, limit: int, window: float, *, clock: Clock = time.monotonic,
                 sleep: Sleep = anyio.sleep) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("limit must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._in_flight = 0
        self._done: deque[float] = deque()  # release times, oldest first
        self._lock = anyio.Lock()
        self._released = anyio.Event()

    def _used(self, now: float) -> int:
        while self._done and self._done[0] <= now - self.window:
            self._done.popleft()
        return self._in_flight + len(self._done)

    async def acquire(self) -> None:
        async with self._lock:  # waiters are served in order
            while True:
                now = self._clock()
                if self._used(now) < self.limit:
                    self._in_flight += 1
                    return
                if self._done:
                    # A release never frees a slot (it starts the slot's window), so the next
                    # free slot is the oldest finished one's expiry.
                    await self._sleep(self._done[0] + self.window - now + 0.001)
                else:
                    await self._released.wait()  # all slots in flight: wait for an answer

    async def wait_free(self) -> None:
        """Return once `acquire` would not wait (without taking the slot): work that ends in a
        request is started only when the request can go, so its clock does not run in a queue."""
        while True:
            now = self._clock()
            if self._used(now) < self.limit:
                return
            if self._done:
                await self._sleep(self._done[0] + self.window - now + 0.001)
            else:
                await self._released.wait()

    def release(self) -> None:
        """The answer to a request that acquired a slot has arrived (or it failed)."""
        self._in_flight -= 1
        self._done.append(self._clock())
        event, self._released = self._released, anyio.Event()
        event.set()

    def in_window(self) -> int:
        return self._used(self._clock())


class KeyedSemaphores:
    """At most `limit` holders per key (e.g. Autotask's 3 threads per object endpoint)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sems: dict[str, anyio.Semaphore] = {}

    def __call__(self, key: str) -> anyio.Semaphore:
        sem = self._sems.get(key)
        if sem is None:
            sem = self._sems[key] = anyio.Semaphore(self.limit)
        return sem


class MinInterval:
    """Spaces request starts at least `interval` seconds apart (0 = no spacing)."""

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = anyio.sleep) -> None:
        self.interval = 0.0
        self._clock = clock
        self._sleep = sleep
        self._next = 0.0
        self._lock = anyio.Lock()

    async def wait(self) -> None:
        if self.interval <= 0:
            return
        async with self._lock:
            now = self._clock()
            if self._next > now:
                await self._sleep(self._next - now)
                now = self._clock()
            self._next = max(now, self._next) + self.interval
