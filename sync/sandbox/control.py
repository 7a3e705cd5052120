"""Knobs, injected faults and request statistics shared by every emulator in the sandbox.

The emulators (Autotask, QBO, Intuit OAuth) own their business rules and their own limits;
this module holds what cuts across them: added latency, deterministic faults and the
per-route counters that benchmarks read.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .hostile import HOSTILE_KINDS, URL_KINDS

FaultKind = Literal["429", "500", "502", "503", "lost", "zone_url", "next_page_url", "prev_page_url",
                    "wrong_shape", "oversized", "trickle"]
FAULT_KINDS: tuple[str, ...] = ("429", "500", "502", "503", "lost") + HOSTILE_KINDS
# What a hostile kind may carry (hostile.py says what each does).
HOSTILE_FIELDS: tuple[str, ...] = ("url", "body", "size", "declare_length", "delay_ms")
SERVICES: tuple[str, ...] = ("autotask", "qbo", "oauth")


@dataclass
class FaultRule:
    """Fire a fault on requests matching (service, method, path regex).

    Deterministic by construction: the n-th matching request fires when n > skip and
    (n - skip) is a multiple of `every`, at most `times` times. `probability` (with `seed`)
    adds a reproducible random element for storm tests.
    "lost" lets the handler run (the write commits) and then drops the connection before the
    response reaches the client: the one fault that makes blind retries create duplicates.
    The hostile kinds (hostile.py) also let the handler run, then answer as a hostile service:
    `url` for zone_url / next_page_url / prev_page_url, `body` for wrong_shape, `size` and
    `declare_length` for oversized, `delay_ms` (per byte) for trickle.
    """

    kind: FaultKind
    service: str = "any"
    method: str | None = None
    path: str | None = None
    every: int = 1
    skip: int = 0
    times: int | None = None
    probability: float | None = None
    seed: int = 0
    url: str | None = None
    body: Any = None
    size: int = 40 * 1024 * 1024
    declare_length: bool = True
    delay_ms: float = 1000.0
    id: int = 0
    matched: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {', '.join(FAULT_KINDS)}")
        if self.service != "any" and self.service not in SERVICES:
            raise ValueError(f"unknown service {self.service!r}; expected any or one of {', '.join(SERVICES)}")
        if self.every < 1 or self.skip < 0 or (self.times is not None and self.times < 0):
            raise ValueError("every must be >= 1, skip >= 0, times >= 0")
        if self.probability is not None and not 0.0 <= self.probability <= 1.0:
            raise ValueError("probability must lie between 0 and 1")
        if self.kind in URL_KINDS and (not isinstance(self.url, str) or not self.url):
            raise ValueError(f"a {self.kind} fault needs a url (the one the answer will name)")
        if not isinstance(self.size, int) or isinstance(self.size, bool) or self.size < 1:
            raise ValueError("size must be a whole number of bytes >= 1")
        if not isinstance(self.declare_length, bool):
            raise ValueError("declare_length must be true or false")
        if isinstance(self.delay_ms, bool) or not isinstance(self.delay_ms, (int, float)) or self.delay_ms < 0:
            raise ValueError("delay_ms must be a number >= 0")
        self._pattern = re.compile(self.path, re.IGNORECASE) if self.path else None
        self._rng = random.Random(self.seed)

    def _matches(self, service: str, method: str, path: str) -> bool:
        if self.service != "any" and self.service != service:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        return self._pattern is None or bool(self._pattern.search(path))

    def decide(self, service: str, method: str, path: str) -> bool:
        if not self._matches(service, method, path):
            return False
        self.matched += 1
        if self.times is not None and self.fired >= self.times:
            return False
        n = self.matched - self.skip
        if n <= 0 or n % self.every:
            return False
        if self.probability is not None and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def to_dict(self) -> dict:
        d = asdict(self)
        return d


@dataclass
class Knobs:
    """Cross-service behaviour switches. Each emulator also reads `limits_enabled`."""

    latency_ms: float = 0.0
    limits_enabled: bool = True


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> FaultRule:
        with self._lock:
            rule.id = self._next_id
            self._next_id += 1
            self._rules.append(rule)
        return rule

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, service: str, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request, if any (every rule still counts it)."""
        chosen = None
        with self._lock:
            for rule in self._rules:
                if rule.decide(service, method, path) and chosen is None:
                    chosen = rule
        return chosen


_ID_SEGMENT = re.compile(r"/-?\d+(?=/|$)")


def route_of(path: str) -> str:
    """A path with its numeric segments folded, so counters group by route, not by record."""
    return _ID_SEGMENT.sub("/{id}", path.lower())


@dataclass
class Stats:
    """Request counters for benchmarks and tests. Thread-safe: the demo reads them from the UI thread."""

    requests: Counter = field(default_factory=Counter)  # (service, "METHOD route") -> n
    statuses: Counter = field(default_factory=Counter)  # (service, status) -> n
    throttled: Counter = field(default_factory=Counter)  # service -> 429s sent
    injected: Counter = field(default_factory=Counter)  # (service, kind) -> injected faults
    inflight: Counter = field(default_factory=Counter)  # (service, endpoint) -> in flight now
    peak: Counter = field(default_factory=Counter)  # (service, endpoint) -> highest seen
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def started(self, service: str, endpoint: str, method: str, path: str) -> int:
        with self._lock:
            self.requests[(service, f"{method.upper()} {route_of(path)}")] += 1
            key = (service, endpoint)
            self.inflight[key] += 1
            now = self.inflight[key]
            if now > self.peak[key]:
                self.peak[key] = now
            return now

    def finished(self, service: str, endpoint: str, status: int | None) -> None:
        with self._lock:
            self.inflight[(service, endpoint)] -= 1
            if status is not None:
                self.statuses[(service, status)] += 1
                if status == 429:
                    self.throttled[service] += 1

    def in_flight(self, service: str, endpoint: str) -> int:
        with self._lock:
            return self.inflight[(service, endpoint)]

    def note_injected(self, service: str, kind: str) -> None:
        with self._lock:
            self.injected[(service, kind)] += 1

    def reset(self) -> None:
        with self._lock:
            for counter in (self.requests, self.statuses, self.throttled, self.injected, self.peak):
                counter.clear()
            # in-flight requests keep counting down to zero; peaks restart from what is in flight now
            for key, n in self.inflight.items():
                if n:
                    self.peak[key] = n

    def snapshot(self) -> dict:
        with self._lock:
            per_service: dict[str, dict] = {s: {"total": 0, "routes": {}, "statuses": {}, "throttled": 0,
                                                "injected": {}, "peak_concurrency": {}} for s in SERVICES}
            for (service, route), n in self.requests.items():
                per_service[service]["routes"][route] = n
                per_service[service]["total"] += n
            for (service, status), n in self.statuses.items():
                per_service[service]["statuses"][str(status)] = n
            for service, n in self.throttled.items():
                per_service[service]["throttled"] = n
            for (service, kind), n in self.injected.items():
                per_service[service]["injected"][kind] = n
            for (service, endpoint), n in self.peak.items():
                per_service[service]["peak_concurrency"][endpoint] = n
            return per_service
