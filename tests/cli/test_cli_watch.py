"""The daemon as a monitored service: Prometheus metrics scraped over HTTP while it runs, and
the systemd notify messages (READY=1, STATUS=, WATCHDOG=1, STOPPING=1) received on a datagram
socket the test creates, as systemd would with Type=notify and WatchdogSec."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time

import httpx
from prometheus_client.parser import text_string_to_metric_families

from cli_helpers import atqbo, clean_env, in_process, seed_with_pos, spawn
from sync.sandbox.control import FaultRule


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _read_until(proc, needle: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return line
    raise AssertionError("".join(seen))


class Listener:
    """What systemd does with $NOTIFY_SOCKET: a datagram socket, read as messages arrive."""

    def __init__(self, path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.got: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                self.got.append(self.sock.recv(4096).decode())
            except socket.timeout:
                continue
            except OSError:
                return

    def wait_for(self, text: str, timeout: float = 30.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(text in m for m in list(self.got)):
                return list(self.got)
            time.sleep(0.02)
        raise AssertionError(f"no {text!r} among {self.got}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


def test_a_notify_reader_that_does_not_keep_up_never_stalls_the_daemon(tmp_path):
    from sync.sdnotify import SdNotify

    path = tmp_path / "slow.sock"
    reader = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    reader.bind(str(path))
    try:
        notify = SdNotify(str(path))
        started = time.monotonic()
        sent = [notify.watchdog() for _ in range(500)]  # far more than the queue holds
        assert time.monotonic() - started < 2
        assert sent[0] is True and sent[-1] is False  # the rest dropped, not waited for
        notify.close()
    finally:
        reader.close()


def test_metrics_scraped_and_systemd_told_ready_status_watchdog(ready, tmp_path):
    w = ready(seed_with_pos(n_ok=2, n_missing_item=1))
    w.server.sandbox.faults.add(FaultRule(kind="429", service="qbo", times=1))
    notify_path = tmp_path / "notify.sock"
    listener = Listener(notify_path)
    port = free_port()
    env = clean_env(NOTIFY_SOCKET=str(notify_path), WATCHDOG_USEC="200000")
    proc = spawn("--daemon", "--metrics-port", str(port), *w.dd, env=env)
    try:
        _read_until(proc, "next scan at")
        early = listener.wait_for("next in")
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        pings = listener.wait_for("WATCHDOG=1")
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
        late = listener.wait_for("STOPPING=1")
    finally:
        proc.kill()
        listener.close()
    assert proc.returncode == 0
    assert early[0].startswith("READY=1")
    status = [m for m in early if m.startswith("STATUS=")]
    assert "STATUS=scan 1: 2 synced, 1 failed, next in 15 min" in status, status
    assert "WATCHDOG=1" in pings and "STOPPING=1" in late
    assert scraped.status_code == 200
    m = samples(scraped.text)
    assert m[("atqbo_scans_total", (("result", "ok"),))] == 1
    assert m[("atqbo_scan_duration_seconds_count", ())] == 1
    assert m[("atqbo_purchase_orders_total", (("outcome", "synced"),))] == 2
    assert m[("atqbo_purchase_orders_total", (("outcome", "failed"),))] == 1
    assert m[("atqbo_purchase_orders_total", (("outcome", "held"),))] == 0
    assert m[("atqbo_api_calls_total", (("service", "autotask"),))] > 0
    assert m[("atqbo_api_calls_total", (("service", "qbo"),))] > 0
    assert m[("atqbo_api_throttled_total", (("service", "qbo"),))] == 1
    assert m[("atqbo_api_retries_total", (("service", "qbo"),))] >= 1
    assert m[("atqbo_api_throttled_total", (("service", "autotask"),))] == 0
    assert m[("atqbo_open_errors", ())] == 1
    assert abs(m[("atqbo_last_successful_scan_timestamp_seconds", ())] - time.time()) < 60
    assert m[("atqbo_qbo_refresh_token_expiry_timestamp_seconds", ())] > time.time()


def test_metrics_port_in_use_or_without_daemon_is_a_usage_error(ready):
    w = ready(seed_with_pos(n_ok=1))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = atqbo("--daemon", "--once", "--metrics-port", str(port), *w.dd)
    assert taken.returncode == 2 and "cannot serve metrics on 127.0.0.1:" in taken.stdout + taken.stderr
    alone = atqbo("--metrics-port", "9464", *w.dd)
    assert alone.returncode == 2 and "only works with --daemon" in alone.stderr
    bad = atqbo("--daemon", "--metrics-port", "99999", *w.dd)
    assert bad.returncode == 2 and "port number from 1 to 65535" in bad.stderr


def test_held_pos_counted_in_metrics_status_health_and_history(ready, tmp_path, capsys):
    w = ready(seed_with_pos(n_ok=2), apply_mode="manual")
    notify_path = tmp_path / "notify.sock"
    listener = Listener(notify_path)
    port = free_port()
    proc = spawn("--daemon", "--metrics-port", str(port), *w.dd, env=clean_env(NOTIFY_SOCKET=str(notify_path)))
    try:
        _read_until(proc, "next scan at")
        early = listener.wait_for("next in")
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
        listener.close()
    assert proc.returncode == 0 and w.bills() == [] and w.todos() == []
    m = samples(scraped.text)
    assert m[("atqbo_purchase_orders_total", (("outcome", "held"),))] == 2
    assert m[("atqbo_purchase_orders_total", (("outcome", "synced"),))] == 0
    assert m[("atqbo_purchase_orders_total", (("outcome", "failed"),))] == 0
    assert "STATUS=scan 1: 0 synced, 2 held for approval, next in 15 min" in early, early
    health = in_process(capsys, "health", "--json", *w.dd)
    held = json.loads(health.stdout.splitlines()[-1])["checks"]["held"]
    assert held == {"status": "ok", "value": 2,
                    "text": "the last scan held 2 purchase orders for approval (atqbo plan; atqbo approve)"}
    po_id = sorted(p["id"] for p in w.pos())[0]
    why = in_process(capsys, "why", str(po_id), *w.dd)
    assert why.returncode == 0 and "held for approval: would create vendor 'Ingram Micro'" in why.stdout, why.stdout
