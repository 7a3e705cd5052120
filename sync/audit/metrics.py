"""Prometheus metrics of a running engine (`atqbo --daemon --metrics-port PORT`), with the
Prometheus project's own client library on its own registry (never the process-global one:
two engines in one test process must not mix).

    metrics = EngineMetrics(store, engine)           # subscribes to the engine's events
    server = metrics.serve("127.0.0.1", 9464)        # GET /metrics; server.shutdown() to stop

Counters follow the engine's events; API calls come straight from the clients' own counts
(every request, retries included), retries and 429s from the clients' retry callback."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import start_http_server

from sync import events as ev

SERVICES = ("autotask", "qbo")


class _Live:
    """Values read at scrape time: API calls per service, open errors, token expiry."""

    def __init__(self, store: Any, engine: Any) -> None:
        self.store, self.engine = store, engine

    def collect(self):
        calls = CounterMetricFamily("atqbo_api_calls", "HTTP requests sent, retries included", labels=["service"])
        for service, client in (("autotask", self.engine.autotask), ("qbo", self.engine.qbo)):
            calls.add_metric([service], float(getattr(client, "calls", 0)))
        yield calls
        errors = GaugeMetricFamily("atqbo_open_errors", "error-log entries not resolved")
        try:
            counts = self.store.errors.count_by_status()
            errors.add_metric([], float(sum(n for status, n in counts.items() if status.value != "resolved")))
        except Exception:  # a damaged log must not break the scrape; health says why
            errors.add_metric([], float("nan"))
        yield errors
        expiry = GaugeMetricFamily("atqbo_qbo_refresh_token_expiry_timestamp_seconds",
                                   "when the QuickBooks refresh token expires (Unix time; NaN unknown)")
        try:
            tokens = self.store.secrets.get_qbo_tokens()
            when = tokens.refresh_token_expires_at if tokens else None
            expiry.add_metric([], when.timestamp() if when else float("nan"))
        except Exception:
            expiry.add_metric([], float("nan"))
        yield expiry


class EngineMetrics:
    def __init__(self, store: Any, engine: Any) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.scans = Counter("atqbo_scans", "scans finished", ["result"], registry=r)
        self.scan_duration = Histogram("atqbo_scan_duration_seconds", "how long a scan took", registry=r,
                                       buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, float("inf")))
        self.pos = Counter("atqbo_purchase_orders", "purchase orders handled, by outcome", ["outcome"], registry=r)
        self.retries = Counter("atqbo_api_retries", "requests sent again after a refusal or a fault",
                               ["service"], registry=r)
        self.throttled = Counter("atqbo_api_throttled", "HTTP 429 answers", ["service"], registry=r)
        self.last_success = Gauge("atqbo_last_successful_scan_timestamp_seconds",
                                  "when the last scan that was not stopped ended (Unix time)", registry=r)
        for outcome in ("synced", "failed", "held"):
            self.pos.labels(outcome)
        for result in ("ok", "stopped", "paused"):
            self.scans.labels(result)
        for service in SERVICES:
            self.retries.labels(service)
            self.throttled.labels(service)
        r.register(_Live(store, engine))
        self._chain(engine.autotask, "autotask")
        self._chain(engine.qbo, "qbo")
        self.unsubscribe = engine.subscribe(self.on_event)
        self._server: Any = None

    def _chain(self, client: Any, service: str) -> None:
        previous = getattr(client, "on_retry", None)

        def on_retry(reason: str, delay: float) -> None:
            self.retries.labels(service).inc()
            if str(reason) == "429":
                self.throttled.labels(service).inc()
            if previous is not None:
                previous(reason, delay)

        client.on_retry = on_retry

    def on_event(self, event: ev.Event) -> None:
        if isinstance(event, ev.ScanFinished):
            result = "stopped" if event.stopped else "paused" if event.paused else "ok"
            self.scans.labels(result).inc()
            self.scan_duration.observe(event.duration_s)
            if not event.stopped:
                self.last_success.set(event.at.timestamp() if event.at else time.time())
        elif isinstance(event, ev.PoSynced):
            self.pos.labels("synced").inc()
        elif isinstance(event, ev.PoFailed):
            self.pos.labels("failed").inc()
        elif isinstance(event, ev.PoHeld):
            # Once per scan that holds it (apply_mode or a near-name hold), as failed counts
            # each failing attempt: a PO waiting three scans counts three.
            self.pos.labels("held").inc()

    def serve(self, address: str, port: int) -> Any:
        """Listen now (so a port in use is an error at start, not later); a daemon thread."""
        server, _thread = start_http_server(port, addr=address, registry=self.registry)
        self._server = server
        return server

    def close(self) -> None:
        self.unsubscribe()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
