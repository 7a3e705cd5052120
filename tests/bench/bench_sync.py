"""Sync benchmark (issue 6 "Fast"): the engine against a naive one-call-at-a-time baseline, on the
sandbox with realistic latency and every limit on.

Run: .venv/bin/python tests/bench/bench_sync.py [--pos 1000] [--lines 3] [--latency-ms 100]
                                                [--baseline-pos 50] [--numbering quickbooks] [--json]

1. The engine: `atqbo --daemon --once --json` (the real daemon, a subprocess) on a fresh sandbox
   seeded with --pos Submitted POs of --lines lines each (40 vendors, 200 products; 90 % of both
   already in QBO, the rest created on first use). Measured: wall time from the daemon's start to
   its exit and the scan's own duration, POs per minute, API calls per PO per service and per
   route (the sandbox's /_sandbox/stats, so retries and token calls are seen as the services
   see them), 429s received, the busiest concurrency per endpoint, the daemon's peak RSS
   (VmHWM, read until it exits) and per-PO latency (PO started → PO synced, timed as the JSON lines arrive).
   Then the result is verified: one bill per PO and every externalPONumber its bill's number.
   The sandbox runs in a process of its own (tests/bench/bench_sandbox.py: it builds the same data
   from the same arguments) and is set up and read through its admin routes, so the daemon, the
   bench and the emulators each have an interpreter; --sandbox-in-process serves it in the
   bench's process instead, as before issue 17.
2. The baseline, in the same run, on a second fresh sandbox with the same seed: for each PO in
   turn, one call at a time, no batching, no cache -- GET the PO, query its items, GET the
   vendor company, GET each product, query the QBO vendor and each item by name (created when
   missing), create the bill, PATCH externalPONumber (plain httpx). Its once-per-run set-up
   (zone lookup, token, eligible PO list, highest bill number) is counted but not per PO. By
   default it runs on a sample of --baseline-pos POs and its throughput is extrapolated (said
   in the output); --baseline-pos 0 runs it on all of them.

Targets (issue 6): <= 1.3 API calls per PO in total, zero 429s, --pos 1000 in under 2 minutes,
at least 10x the baseline's throughput. Each is printed with the measured figure.

--subscribers N (issue 14): N clients attach to the daemon's control socket as soon as it is
served (each in its own thread and event loop, with the product's own RemoteEngineControl) and
subscribe to its events. Measured: the event latency from the engine to each subscriber (from
the moment the engine published it, the socket's "ts", to its arrival; same clock), p50/p99,
and any "missed, resync" markers.
Compare the wall time with a run without subscribers (target: within 5 %; p99 < 50 ms).

--links (issue 16): the engine runs a second time, on a fresh sandbox of the same data (same
Autotask hour, same subscribers), with the links the first run made by exact name to records
QBO already had stored in its data folder first. Its wall time and calls per PO are compared
with the first run's (target: within 5 % of both).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "bench"))  # bench_sandbox, also when imported as bench.bench_sync

import httpx  # noqa: E402

from exactly_once.crash_harness import (AP, COGS, PoSpec, SandboxAdmin, clean_env, connect_folder,  # noqa: E402
                                        money, utc_days_ago, verify)
from sync.sandbox.empty import empty_seed  # noqa: E402
from sync.sandbox.qbo import seed as qs  # noqa: E402
from sync.sandbox.seeds import SeedData  # noqa: E402

from bench_sandbox import Served, World, start  # noqa: E402

TARGET_CALLS_PER_PO = 1.3
TARGET_SECONDS_FOR_1000 = 120.0
TARGET_SPEEDUP = 10.0
TARGET_FLOOR_RATIO = 1.35  # issue 17
TARGET_CALLS_PER_PO_17 = 1.1
TARGET_P99_S = 10.0
TARGET_RSS_RATIO = 1.5
TARGET_LINKS_PERCENT = 5.0  # issue 16


# ---------------------------------------------------------------- the data


def bench_seed(n_pos: int, lines: int, seed: int, n_vendors: int = 40, n_products: int = 200,
               known: float = 0.9) -> tuple[SeedData, dict[int, PoSpec]]:
    """Deterministic for a given `seed`: the engine's and the baseline's sandboxes get equal data."""
    rng = random.Random(seed)
    data = empty_seed()
    at, qbo = data.autotask, data.qbo
    vendors = []
    for i in range(n_vendors):
        name = f"Supplier {i:03d} Ltd"
        vendors.append(at.add_vendor(name))
        if rng.random() < known:
            qbo.vendors.append(qs.vendor(str(1000 + i), name))
    products: list[tuple[int, Decimal]] = []
    for i in range(n_products):
        name = f"Component {i:04d}"
        cost = Decimal(rng.randrange(100, 90_000)) / 100
        products.append((at.add_product(name, float(cost)), cost))
        if rng.random() < known:
            qbo.items.append(qs.item(str(5000 + i), name, expense_account_id=COGS))
    specs: dict[int, PoSpec] = {}
    for n in range(n_pos):
        items, total = [], Decimal(0)
        for product_id, cost in rng.sample(products, lines):
            qty = rng.randint(1, 20)
            items.append({"productID": product_id, "quantity": qty, "unitCost": float(cost)})
            total += money(qty * cost)
        number = f"PO-{10000 + n}"
        po_id = at.add_po(rng.choice(vendors), "Submitted", items=items, createDateTime=utc_days_ago(rng.uniform(0.1, 25)),
                          purchaseOrderNumber=number)
        specs[po_id] = PoSpec(po_id=po_id, number=number, total=money(total), lines=lines)
    return data, specs


@dataclass(frozen=True)
class AutotaskHour:
    """The sandbox's Autotask budget for a run: its threshold per timeframe, the usage other
    integrations start the timeframe with, and the product's share (the setting)."""

    threshold: int = 10_000
    timeframe_minutes: float = 60
    used_by_others: int = 0
    share_percent: int = 50

    @property
    def cap(self) -> int:
        return max(1, self.threshold * self.share_percent // 100)


def serve(world: World, latency_ms: float, workdir: Path, hour: AutotaskHour | None = None,
          in_process: bool = False) -> Served:
    """A fresh sandbox of `world`'s data, every limit on: a process of its own unless `in_process`
    (see bench_sandbox.py); set up, and later read, through its admin routes either way."""
    server = start(world, workdir, in_process)
    server.configure(latency_ms, hour.threshold if hour else None, hour.timeframe_minutes if hour else None,
                     hour.used_by_others if hour else 0)
    return server


# ---------------------------------------------------------------- the floor

STARTUP_ROUND_TRIPS = 12  # the requests one after another before the first write-back can start
AUTOTASK_THREADS = 3


@dataclass(frozen=True)
class Floor:
    """The least time the services' limits allow for a run, each limit's own bound, and which binds."""

    seconds: float
    bounds: dict[str, float]

    @property
    def binding(self) -> str:
        return max(self.bounds, key=self.bounds.get)


def floor_for(n: int, latency_ms: float, autotask_calls: int, qbo_calls: int, hour: AutotaskHour,
              slowdown: list[tuple[float, float]], qbo_limits) -> Floor:
    """Computed from the sandbox's limits and latency, not from the run: n write-backs at 3 in
    flight (each at least one latency, plus the sandbox's slow-down once the timeframe's usage
    passes its steps); ceil(n/30) batches within 40 a minute; every QBO request within 500 a
    minute and 10 a second; the product's Autotask requests within its share of the threshold
    per timeframe (and what the other integrations left); a start-up chain of round trips.
    The request counts other than the write-backs and batches are the run's own (its reads)."""
    lat = latency_ms / 1000
    bounds = {"autotask write-backs (3 in flight)": n * lat / AUTOTASK_THREADS}
    batches = math.ceil(n / qbo_limits.batch_max_items)
    bounds["qbo batches per minute"] = (math.ceil(batches / qbo_limits.batch_per_minute) - 1) * 60.0
    bounds["qbo requests per minute/second"] = max((math.ceil(qbo_calls / qbo_limits.per_minute) - 1) * 60.0,
                                                   (math.ceil(qbo_calls / qbo_limits.per_second) - 1) * 1.0)
    room = min(hour.cap, max(1, hour.threshold - hour.used_by_others))
    bounds["autotask share of the hour"] = max(0, math.ceil(autotask_calls / room) - 1) * hour.timeframe_minutes * 60
    bounds["qbo requests per minute/second"] = max(0.0, bounds["qbo requests per minute/second"])
    # The slow-down: the usage one timeframe sees at the pace the other bounds allow (all of the
    # run's requests when it fits in one timeframe); each write-back past a step is that much slower.
    pace = max(bounds.values()) or 1e-9
    window = hour.timeframe_minutes * 60
    seen = min(autotask_calls, room, autotask_calls * window / pace)
    extra, usage = 0.0, hour.used_by_others + max(0, seen - n)  # the reads come first, roughly
    for _ in range(min(n, int(seen))):
        usage += 1
        delay = 0.0
        for threshold, seconds in sorted(slowdown):
            if usage / hour.threshold >= threshold:
                delay = seconds
        extra += delay
    bounds["autotask write-backs (3 in flight)"] += extra / AUTOTASK_THREADS
    return Floor(seconds=STARTUP_ROUND_TRIPS * lat + max(bounds.values()), bounds=bounds)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


def calls_of(stats: dict, service: str) -> int:
    return int(stats[service]["total"])


# ---------------------------------------------------------------- the engine, as the daemon


@dataclass
class EngineResult:
    pos: int
    synced: int
    failed: int
    wall_s: float
    scan_s: float
    stats: dict
    peak_rss_mib: float
    latencies: list[float]
    exit_code: int
    problems: list[str]
    summary: dict = field(default_factory=dict)
    first_synced_s: float | None = None  # from the daemon's start to its first PO synced
    peak_in_timeframe: int = 0  # the most Autotask requests the sandbox counted in one timeframe
    slowdown: list = field(default_factory=list)
    qbo_limits: Any = None
    hour: AutotaskHour = field(default_factory=lambda: AutotaskHour())
    subscribers: list["Subscriber"] = field(default_factory=list)
    links: list = field(default_factory=list)  # the links the run left in its data folder

    def calls(self, service: str) -> int:
        return calls_of(self.stats, service)


class Subscriber(threading.Thread):
    """One client of the daemon's control socket: attaches as soon as the socket is served and
    records, for every event, how long it took from the engine to here."""

    def __init__(self, socket_path: Path) -> None:
        super().__init__(daemon=True)
        self.socket_path = socket_path
        self.latencies_ms: list[float] = []
        self.events = 0
        self.resyncs = 0
        self.error = ""
        self.by_type: dict[str, list[float]] = {}

    def run(self) -> None:
        import anyio

        try:
            anyio.run(self._follow)
        except Exception as exc:  # reported, never fatal for the bench
            self.error = f"{type(exc).__name__}: {exc}"

    async def _follow(self) -> None:
        import anyio

        from sync.control.api import Resynced
        from sync.control.remote import RemoteEngineControl, ServiceUnavailable

        deadline = time.monotonic() + 60
        remote = None
        while remote is None:
            candidate = RemoteEngineControl(self.socket_path)
            try:
                await candidate.connect(timeout=2)
                remote = candidate
            except ServiceUnavailable:
                if time.monotonic() > deadline:
                    raise
                await anyio.sleep(0.005)

        def sink(event: Any) -> None:
            now = time.time()
            if isinstance(event, Resynced):
                self.resyncs += 1 if event.missed else 0
                return
            self.events += 1
            published = remote.published_at or event.at.timestamp()
            ms = (now - published) * 1000
            self.latencies_ms.append(ms)
            self.by_type.setdefault(type(event).__name__, []).append(ms)

        remote.subscribe(sink)
        await remote.run()  # until the daemon closes the socket at its exit


class HighWaterMark(threading.Thread):
    """The daemon's own peak RSS: VmHWM of its process, read until it exits. (wait4's ru_maxrss
    is not: the child's high-water mark starts from the bench's own size at the fork, and the
    bench holds the sandbox with every seeded record.)"""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.path = Path(f"/proc/{pid}/status")
        self.peak_kib = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                for line in self.path.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak_kib = max(self.peak_kib, int(line.split()[1]))
            except (OSError, ValueError, IndexError):
                pass
            self._done.wait(0.1)

    def stop(self) -> None:
        self._done.set()
        self.join(2)


def run_engine(world: World, specs: dict[int, PoSpec], latency_ms: float, numbering: str, workdir: Path,
               timeout: float, hour: AutotaskHour | None = None, subscribers: int = 0,
               links: list | None = None, in_process: bool = False) -> EngineResult:
    """`links`: stored in the data folder before the daemon starts (--links: the scan with links)."""
    hour = hour or AutotaskHour()
    server = serve(world, latency_ms, workdir, hour, in_process)
    admin = SandboxAdmin(server.url)
    data_dir = workdir / "engine-data"
    try:
        connect_folder(data_dir, server, po_number_source=numbering, autotask_hourly_share=hour.share_percent)
        if links:
            from sync.store.links import LinkBook

            book = LinkBook(data_dir / "links.json")
            book.put_many(links)
            book.close()
        admin.reset_stats()
        arrivals: "queue.Queue[tuple[float, dict] | None]" = queue.Queue()
        started = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "console.cli", "--daemon", "--once", "--json",
                                 "--data-dir", str(data_dir)], cwd=ROOT, env=clean_env(),
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=open(workdir / "engine-stderr.log", "wb"), text=True)

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                line = line.strip()
                if line:
                    try:
                        arrivals.put((time.monotonic(), json.loads(line)))
                    except ValueError:
                        pass
            arrivals.put(None)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        from sync.paths import locate

        followers = [Subscriber(locate(data_dir).control_socket) for _ in range(subscribers)]
        for follower in followers:
            follower.start()
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            hwm = HighWaterMark(proc.pid)
            hwm.start()
            _, status, rusage = os.wait4(proc.pid, 0)
            hwm.stop()
        finally:
            timer.cancel()
        wall = time.monotonic() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        reader.join(10)
        for follower in followers:
            follower.join(10)
        records: list[tuple[float, dict]] = []
        while True:
            item = arrivals.get()
            if item is None:
                break
            records.append(item)
        stats = admin.stats()
        peak_in_timeframe = server.peak_arrived()
        slowdown = server.slowdown()
        qbo_limits = server.qbo_limits()
        verdict = verify(admin, data_dir, specs)
    finally:
        admin.close()
        server.stop()
    begun: dict[int, float] = {}
    latencies: list[float] = []
    synced = failed = 0
    scan_s = 0.0
    summary: dict = {}
    first_synced: float | None = None
    for at, rec in records:
        event = rec.get("event")
        if event == "po_started":
            begun.setdefault(int(rec["po_id"]), at)
        elif event == "po_synced":
            synced += 1
            if first_synced is None:
                first_synced = at - started
            if int(rec["po_id"]) in begun:
                latencies.append(at - begun[int(rec["po_id"])])
        elif event == "po_failed":
            failed += 1
        elif event == "scan_finished":
            scan_s += float(rec.get("duration_s") or 0)
        elif "exit_code" in rec and "event" not in rec:
            summary = rec
    from sync.store.links import LinkBook

    made = LinkBook(data_dir / "links.json").all() if (data_dir / "links.json").exists() else []
    return EngineResult(pos=len(specs), synced=synced, failed=failed, wall_s=wall, scan_s=scan_s, stats=stats, links=made,
                        peak_rss_mib=hwm.peak_kib / 1024 if hwm.peak_kib else rusage.ru_maxrss / 1024,
                        latencies=latencies, exit_code=proc.returncode,
                        problems=verdict.problems(stale_ok=True), summary=summary, first_synced_s=first_synced,
                        peak_in_timeframe=peak_in_timeframe, slowdown=slowdown, qbo_limits=qbo_limits, hour=hour,
                        subscribers=followers)


# ---------------------------------------------------------------- the naive baseline


def q(text: str) -> str:
    """A QBO query string literal (backslash-escaped quotes, as the query language wants)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Naive:
    """One PO at a time, one call at a time, nothing cached or batched: what a simple script does."""

    def __init__(self, creds: dict, ap_account: str, expense_account: str) -> None:
        self.http = httpx.Client(timeout=60)
        self.at_creds = creds["autotask"]
        self.oauth = creds["oauth"]
        self.qbo_base = f"{creds['qbo']['api_url']}/v3/company/{self.oauth['realm_id']}"
        self.ap = ap_account
        self.expense = expense_account
        self.throttled = 0
        self.at_base = ""
        self.token = ""
        self.next_number = 0

    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        for _ in range(20):
            r = self.http.request(method, url, **kw)
            if r.status_code == 429:  # a naive client still has to wait and try again
                self.throttled += 1
                time.sleep(1.0)
                continue
            r.raise_for_status()
            return r
        raise RuntimeError(f"{method} {url}: still throttled")

    # -- Autotask
    def _at(self, method: str, path: str, body: Any = None) -> dict:
        headers = {"ApiIntegrationCode": self.at_creds["integration_code"], "UserName": self.at_creds["username"],
                   "Secret": self.at_creds["secret"], "Content-Type": "application/json"}
        return self._send(method, self.at_base + path, json=body, headers=headers).json()

    # -- QBO
    def _qbo(self, method: str, path: str, **kw: Any) -> dict:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json", **kw.pop("headers", {})}
        params = {"minorversion": "75", **kw.pop("params", {})}
        return self._send(method, f"{self.qbo_base}/{path}", headers=headers, params=params, **kw).json()

    def _query(self, statement: str) -> list[dict]:
        body = self._qbo("POST", "query", content=statement.encode(), headers={"Content-Type": "application/text"})
        response = body.get("QueryResponse") or {}
        return next((v for k, v in response.items() if isinstance(v, list)), [])

    def setup(self, submitted_since: str) -> list[int]:
        """Once per run: zone, token, the eligible POs, the highest bill number."""
        zone = self._send("GET", self.at_creds["zone_lookup_url"], params={"user": self.at_creds["username"]}).json()
        self.at_base = zone["url"].rstrip("/") + "/V1.0/"
        token = self._send("POST", self.oauth["token_url"], auth=(self.oauth["client_id"], self.oauth["client_secret"]),
                           data={"grant_type": "refresh_token", "refresh_token": self.oauth["refresh_token"]},
                           headers={"Accept": "application/json"}).json()
        self.token = token["access_token"]
        ids: list[int] = []
        page = self._at("POST", "PurchaseOrders/query", {"filter": [
            {"op": "eq", "field": "status", "value": 2}, {"op": "gte", "field": "createDateTime", "value": submitted_since}]})
        while True:
            ids += [int(p["id"]) for p in page["items"] if not (p.get("externalPONumber") or "").strip()]
            nxt = (page.get("pageDetails") or {}).get("nextPageUrl")
            if not nxt:
                break
            page = self._send("GET", nxt, headers={"ApiIntegrationCode": self.at_creds["integration_code"],
                                                   "UserName": self.at_creds["username"],
                                                   "Secret": self.at_creds["secret"]}).json()
        numbers = [int(b["DocNumber"]) for b in self._query("select * from Bill maxresults 1000")
                   if str(b.get("DocNumber", "")).isdigit()]
        self.next_number = max(numbers, default=0) + 1
        return sorted(ids)

    def _vendor(self, name: str) -> dict:
        found = self._query(f"select * from Vendor where DisplayName = {q(name)}")
        return found[0] if found else self._qbo("POST", "vendor", json={"DisplayName": name})["Vendor"]

    def _item(self, name: str) -> dict:
        found = self._query(f"select * from Item where Name = {q(name)}")
        if found:
            return found[0]
        return self._qbo("POST", "item", json={"Name": name, "Type": "NonInventory",
                                               "ExpenseAccountRef": {"value": self.expense}})["Item"]

    def sync(self, po_id: int) -> str:
        po = self._at("GET", f"PurchaseOrders/{po_id}")["item"]
        items = self._at("POST", "PurchaseOrderItems/query",
                         {"filter": [{"op": "eq", "field": "orderID", "value": po_id}]})["items"]
        company = self._at("GET", f"Companies/{po['vendorID']}")["item"]
        vendor = self._vendor(company["companyName"])
        lines = []
        for line in sorted(items, key=lambda i: int(i["id"])):
            product = self._at("GET", f"Products/{line['productID']}")["item"]
            item = self._item(product["name"])
            qty, cost = Decimal(str(line["quantity"])), Decimal(str(line["unitCost"]))
            lines.append({"DetailType": "ItemBasedExpenseLineDetail", "Amount": float(money(qty * cost)),
                          "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": float(qty),
                                                         "UnitPrice": float(cost)}})
        number = str(self.next_number)
        self.next_number += 1
        bill = self._qbo("POST", "bill", params={"requestid": uuid.uuid4().hex}, json={
            "VendorRef": {"value": vendor["Id"]}, "APAccountRef": {"value": self.ap}, "DocNumber": number,
            "PrivateNote": f"Autotask purchase order {po.get('purchaseOrderNumber')} (Autotask PO id {po_id})",
            "Line": lines})["Bill"]
        self._at("PATCH", "PurchaseOrders", {"id": po_id, "externalPONumber": bill["DocNumber"]})
        return bill["DocNumber"]


@dataclass
class BaselineResult:
    pos: int
    seconds: float  # the per-PO work only
    setup_s: float
    setup_calls: dict[str, int]
    stats: dict
    throttled: int
    latencies: list[float]

    def calls_per_po(self, service: str) -> float:
        return (calls_of(self.stats, service) - self.setup_calls.get(service, 0)) / self.pos


def run_baseline(world: World, latency_ms: float, sample: int, workdir: Path, days_back: int = 30,
                 in_process: bool = False) -> BaselineResult:
    server = serve(world, latency_ms, workdir, in_process=in_process)
    admin = SandboxAdmin(server.url)
    try:
        admin.reset_stats()
        naive = Naive(server.sandbox.credentials(server.url), AP, COGS)
        t0 = time.monotonic()
        ids = naive.setup(utc_days_ago(days_back))
        setup_s = time.monotonic() - t0
        after_setup = admin.stats()
        setup_calls = {s: calls_of(after_setup, s) for s in ("autotask", "qbo", "oauth")}
        chosen = ids[:sample] if sample else ids
        latencies = []
        t1 = time.monotonic()
        for po_id in chosen:
            t = time.monotonic()
            naive.sync(po_id)
            latencies.append(time.monotonic() - t)
        seconds = time.monotonic() - t1
        stats = admin.stats()
        naive.http.close()
    finally:
        admin.close()
        server.stop()
    return BaselineResult(pos=len(chosen), seconds=seconds, setup_s=setup_s, setup_calls=setup_calls, stats=stats,
                          throttled=naive.throttled, latencies=latencies)


# ---------------------------------------------------------------- the report


def top_routes(stats: dict, service: str, n: int = 8) -> list[tuple[str, int]]:
    return sorted(stats[service]["routes"].items(), key=lambda kv: -kv[1])[:n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pos", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--baseline-pos", type=int, default=50,
                        help="POs the baseline runs (its throughput is extrapolated); 0 = all")
    parser.add_argument("--numbering", choices=["quickbooks", "autotask"], default="quickbooks",
                        help="po_number_source for the engine run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds before the daemon is killed")
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print one JSON object with every figure, last")
    parser.add_argument("--vendors", type=int, default=40)
    parser.add_argument("--products", type=int, default=200)
    parser.add_argument("--autotask-share", type=int, default=50, help="the autotask_hourly_share setting (percent)")
    parser.add_argument("--autotask-threshold", type=int, default=10_000, help="the sandbox's requests per timeframe")
    parser.add_argument("--autotask-timeframe-minutes", type=float, default=60.0,
                        help="the sandbox's timeframe (Autotask: 60; shorter to see a small share bind in minutes)")
    parser.add_argument("--autotask-used", type=int, default=0,
                        help="requests the other integrations have made in the timeframe when the run starts")
    parser.add_argument("--rss-baseline-pos", type=int, default=0,
                        help="first run the engine on this many POs (same products and vendors) to compare peak RSS")
    parser.add_argument("--subscribers", type=int, default=0,
                        help="clients attached to the daemon's control socket during the run")
    parser.add_argument("--sandbox-in-process", action="store_true",
                        help="serve the sandbox in the bench's own process (as before issue 17) instead of its own")
    parser.add_argument("--links", action="store_true",
                        help="run the engine a second time, on a fresh sandbox of the same data, with the links the "
                             "first run made to records QBO already had (issue 16: within 5 %% of the time and calls)")
    args = parser.parse_args(argv)
    if args.pos < 1 or args.lines < 1:
        parser.error("--pos and --lines must be at least 1")

    print(f"bench_sync: {args.pos} POs x {args.lines} lines, {args.latency_ms:g} ms latency per request, "
          f"all limits on, numbering {args.numbering}", flush=True)
    hour = AutotaskHour(threshold=args.autotask_threshold, timeframe_minutes=args.autotask_timeframe_minutes,
                        used_by_others=args.autotask_used, share_percent=args.autotask_share)
    print(f"  Autotask: {hour.threshold:,} requests per {hour.timeframe_minutes:g} min, {hour.used_by_others:,} used "
          f"by others at the start, atqbo's share {hour.share_percent} % = {hour.cap:,}; "
          f"{args.vendors} vendors, {args.products} products", flush=True)
    rss_base = None
    if args.rss_baseline_pos:
        world0 = World(args.rss_baseline_pos, args.lines, args.seed, args.vendors, args.products)
        specs0 = bench_seed(world0.pos, world0.lines, world0.seed, world0.vendors, world0.products)[1]
        with tempfile.TemporaryDirectory(prefix="atqbo-bench-") as tmp:
            rss_base = run_engine(world0, specs0, args.latency_ms, args.numbering, Path(tmp), args.timeout, hour,
                                  in_process=args.sandbox_in_process)
        del specs0
        print(f"  RSS baseline: {rss_base.pos} POs, peak RSS {rss_base.peak_rss_mib:.1f} MiB, "
              f"{rss_base.wall_s:.1f} s", flush=True)
    world = World(args.pos, args.lines, args.seed, args.vendors, args.products)
    specs = bench_seed(world.pos, world.lines, world.seed, world.vendors, world.products)[1]  # the data: its process
    linked = None
    with tempfile.TemporaryDirectory(prefix="atqbo-bench-") as tmp:
        engine = run_engine(world, specs, args.latency_ms, args.numbering, Path(tmp) / "first", args.timeout, hour,
                            subscribers=args.subscribers, in_process=args.sandbox_in_process)
        if args.links:
            from sync.store.links import LinkMethod

            # Records QBO had before the run have the same ids in a fresh sandbox of the same data.
            kept = [link for link in engine.links if link.method is LinkMethod.EXACT_NAME]
            print(f"with links: a second engine run, {len(kept)} links stored first ...", flush=True)
            linked = run_engine(world, specs, args.latency_ms, args.numbering, Path(tmp) / "linked", args.timeout,
                                hour, subscribers=args.subscribers, links=kept, in_process=args.sandbox_in_process)
    e_at, e_qbo, e_oauth = engine.calls("autotask"), engine.calls("qbo"), engine.calls("oauth")
    n = engine.pos
    e_rate = engine.synced / engine.wall_s * 60 if engine.wall_s else 0.0
    e_429 = {s: int(engine.stats[s]["throttled"]) for s in ("autotask", "qbo", "oauth")}
    print(f"\nENGINE (the daemon, --once): exit {engine.exit_code}; {engine.synced}/{n} synced, {engine.failed} failed")
    print(f"  wall time {engine.wall_s:.1f} s (process start to exit; the scan itself {engine.scan_s:.1f} s)"
          f" -> {e_rate:.0f} POs/min")
    print(f"  API calls: autotask {e_at} ({e_at / n:.3f}/PO), qbo {e_qbo} ({e_qbo / n:.3f}/PO), "
          f"total {(e_at + e_qbo) / n:.3f}/PO; OAuth token calls {e_oauth}")
    print(f"  429s received: autotask {e_429['autotask']}, qbo {e_429['qbo']}, oauth {e_429['oauth']}")
    print(f"  peak RSS of the daemon: {engine.peak_rss_mib:.1f} MiB")
    if engine.first_synced_s is not None:
        print(f"  first PO synced {engine.first_synced_s:.1f} s after the daemon started")
    patches = sum(c for r, c in engine.stats["autotask"]["routes"].items() if r.startswith("PATCH") and "purchaseorders" in r)
    batches = engine.stats["qbo"]["routes"].get("POST /v3/company/{id}/batch", 0)
    floor = floor_for(n, args.latency_ms, e_at, e_qbo, hour, engine.slowdown, engine.qbo_limits)
    ratio = engine.wall_s / floor.seconds if floor.seconds else float("nan")
    print(f"  {patches} write-backs, {batches} batch requests; Autotask requests in one timeframe at most "
          f"{engine.peak_in_timeframe:,} (share {hour.cap:,})")
    print(f"  FLOOR {floor.seconds:.1f} s ({STARTUP_ROUND_TRIPS} round trips + the binding limit, {floor.binding}); "
          + ", ".join(f"{k} {v:.1f} s" for k, v in floor.bounds.items()))
    print(f"  measured / floor = {engine.wall_s:.1f} / {floor.seconds:.1f} = {ratio:.2f}x")
    if engine.latencies:
        print(f"  per-PO latency (PO started -> synced): p50 {percentile(engine.latencies, 50):.2f} s, "
              f"p99 {percentile(engine.latencies, 99):.2f} s, max {max(engine.latencies):.2f} s")
    for service in ("autotask", "qbo"):
        print(f"  {service} routes: " + ", ".join(f"{r} {c}" for r, c in top_routes(engine.stats, service)))
        peaks = engine.stats[service]["peak_concurrency"]
        print(f"  {service} peak concurrency: " + ", ".join(f"{k.split('|')[-1]} {v}" for k, v in sorted(peaks.items())))
    sub_latencies = [ms for follower in engine.subscribers for ms in follower.latencies_ms]
    if engine.subscribers:
        counts = ", ".join(str(f.events) for f in engine.subscribers)
        errors = [f.error for f in engine.subscribers if f.error]
        print(f"  {len(engine.subscribers)} subscribers on the control socket: events received {counts}; "
              f"resync markers {sum(f.resyncs for f in engine.subscribers)}"
              + (f"; errors: {'; '.join(errors)}" if errors else ""))
        if sub_latencies:
            print(f"  event latency engine -> subscriber: p50 {percentile(sub_latencies, 50):.2f} ms, "
                  f"p99 {percentile(sub_latencies, 99):.2f} ms, max {max(sub_latencies):.2f} ms "
                  f"(target p99 < 50 ms: {'MET' if percentile(sub_latencies, 99) < 50 else 'NOT MET'})")
            by_type: dict[str, list[float]] = {}
            for follower in engine.subscribers:
                for name, values in follower.by_type.items():
                    by_type.setdefault(name, []).extend(values)
            slowest = sorted(by_type.items(), key=lambda kv: -percentile(kv[1], 99))[:4]
            print("  slowest event kinds (p99): " + ", ".join(f"{k} {percentile(v, 99):.1f} ms" for k, v in slowest))
    if engine.problems:
        print("  VERIFY FAILED: " + "; ".join(engine.problems))
    else:
        print("  verified: one bill per PO, every externalPONumber its bill's DocNumber")

    links_delta: dict | None = None
    if linked is not None:
        l_calls = linked.calls("autotask") + linked.calls("qbo")
        e_calls = e_at + e_qbo
        links_delta = {"time_percent": (linked.wall_s / engine.wall_s - 1) * 100 if engine.wall_s else float("nan"),
                       "calls_percent": (l_calls / e_calls - 1) * 100 if e_calls else float("nan")}
        print(f"\nWITH LINKS (issue 16): exit {linked.exit_code}; {linked.synced}/{n} synced; wall {linked.wall_s:.1f} s "
              f"(without: {engine.wall_s:.1f} s, {links_delta['time_percent']:+.1f} %); API calls "
              f"{l_calls / n:.3f}/PO (without: {e_calls / n:.3f}/PO, {links_delta['calls_percent']:+.1f} %)")
        print(f"  qbo routes: " + ", ".join(f"{r} {c}" for r, c in top_routes(linked.stats, "qbo")))
        if linked.problems:
            print("  VERIFY FAILED: " + "; ".join(linked.problems))

    base = None
    if not args.skip_baseline:
        sample = min(args.baseline_pos, args.pos) if args.baseline_pos else 0
        print(f"\nBASELINE (naive, one PO and one call at a time){f' on a sample of {sample} POs' if sample else ''} ...",
              flush=True)
        with tempfile.TemporaryDirectory(prefix="atqbo-bench-") as tmp:
            base = run_baseline(world, args.latency_ms, sample, Path(tmp), in_process=args.sandbox_in_process)
        b_rate = base.pos / base.seconds * 60 if base.seconds else 0.0
        b_at, b_qbo = base.calls_per_po("autotask"), base.calls_per_po("qbo")
        print(f"  {base.pos} POs in {base.seconds:.1f} s -> {b_rate:.1f} POs/min"
              + (f" (extrapolated: {args.pos} POs in {args.pos / b_rate:.1f} min)" if sample and b_rate else ""))
        print(f"  API calls per PO: autotask {b_at:.2f}, qbo {b_qbo:.2f}, total {b_at + b_qbo:.2f} "
              f"(+ once per run: {base.setup_calls}, {base.setup_s:.1f} s)")
        print(f"  429s received: {base.throttled}; per-PO latency p50 {percentile(base.latencies, 50):.2f} s, "
              f"p99 {percentile(base.latencies, 99):.2f} s")

    total_per_po = (e_at + e_qbo) / n
    print("\nTARGETS")
    ok_calls = total_per_po <= TARGET_CALLS_PER_PO
    print(f"  <= {TARGET_CALLS_PER_PO} API calls per PO in total: {total_per_po:.3f} -> {'MET' if ok_calls else 'NOT MET'}")
    zero = sum(e_429.values()) == 0
    print(f"  zero 429s: {sum(e_429.values())} -> {'MET' if zero else 'NOT MET'}")
    projected = engine.wall_s * 1000 / n
    ok_time = projected < TARGET_SECONDS_FOR_1000
    print(f"  1,000 POs in under 2 minutes: {engine.wall_s:.1f} s for {n}"
          + (f" (scaled to 1,000: {projected:.1f} s)" if n != 1000 else "") + f" -> {'MET' if ok_time else 'NOT MET'}")
    speedup = None
    if base is not None and base.seconds:
        speedup = e_rate / (base.pos / base.seconds * 60)
        print(f"  >= {TARGET_SPEEDUP:g}x the baseline's throughput: {speedup:.1f}x -> "
              f"{'MET' if speedup >= TARGET_SPEEDUP else 'NOT MET'}")
    print("TARGETS (issue 17)")
    checks = [(f"<= {TARGET_FLOOR_RATIO}x the floor", f"{ratio:.2f}x", ratio <= TARGET_FLOOR_RATIO),
              (f"<= {TARGET_CALLS_PER_PO_17} calls per PO", f"{total_per_po:.3f}", total_per_po <= TARGET_CALLS_PER_PO_17),
              ("no 429", str(sum(e_429.values())), zero),
              (f"per-PO latency p99 <= {TARGET_P99_S:g} s", f"{percentile(engine.latencies, 99):.2f} s",
               bool(engine.latencies) and percentile(engine.latencies, 99) <= TARGET_P99_S),
              (f"Autotask requests in a timeframe <= the share ({hour.cap:,})", f"{engine.peak_in_timeframe:,}",
               engine.peak_in_timeframe <= hour.cap)]
    if rss_base is not None:
        rss_ratio = engine.peak_rss_mib / rss_base.peak_rss_mib if rss_base.peak_rss_mib else float("nan")
        checks.append((f"peak RSS <= {TARGET_RSS_RATIO}x the {rss_base.pos}-PO run's ({rss_base.peak_rss_mib:.1f} MiB)",
                       f"{engine.peak_rss_mib:.1f} MiB = {rss_ratio:.2f}x", rss_ratio <= TARGET_RSS_RATIO))
    if links_delta is not None:
        checks.append((f"with links within {TARGET_LINKS_PERCENT:g} % of the time (issue 16)",
                       f"{links_delta['time_percent']:+.1f} %", links_delta["time_percent"] <= TARGET_LINKS_PERCENT))
        checks.append((f"with links within {TARGET_LINKS_PERCENT:g} % of the calls (issue 16)",
                       f"{links_delta['calls_percent']:+.1f} %", links_delta["calls_percent"] <= TARGET_LINKS_PERCENT))
    for what, figure, ok in checks:
        print(f"  {what}: {figure} -> {'MET' if ok else 'NOT MET'}")
    if args.json:
        print(json.dumps({
            "floor": {"seconds": round(floor.seconds, 2), "binding": floor.binding,
                      "bounds": {k: round(v, 2) for k, v in floor.bounds.items()}, "ratio": round(ratio, 3)},
            "autotask_hour": {"threshold": hour.threshold, "timeframe_minutes": hour.timeframe_minutes,
                              "used_by_others": hour.used_by_others, "share_percent": hour.share_percent,
                              "cap": hour.cap, "peak_in_timeframe": engine.peak_in_timeframe},
            "vendors": args.vendors, "products": args.products,
            "rss_baseline": None if rss_base is None else {"pos": rss_base.pos, "peak_rss_mib": round(rss_base.peak_rss_mib, 1),
                                                           "wall_s": round(rss_base.wall_s, 2)},
            "pos": n, "lines": args.lines, "latency_ms": args.latency_ms, "numbering": args.numbering,
            "engine": {"exit_code": engine.exit_code, "synced": engine.synced, "failed": engine.failed,
                       "wall_s": round(engine.wall_s, 2), "scan_s": round(engine.scan_s, 2),
                       "pos_per_min": round(e_rate, 1), "calls": {"autotask": e_at, "qbo": e_qbo, "oauth": e_oauth},
                       "calls_per_po": round(total_per_po, 3), "throttled": e_429,
                       "peak_rss_mib": round(engine.peak_rss_mib, 1),
                       "latency_p50_s": round(percentile(engine.latencies, 50), 3) if engine.latencies else None,
                       "latency_p99_s": round(percentile(engine.latencies, 99), 3) if engine.latencies else None,
                       "routes": {s: engine.stats[s]["routes"] for s in ("autotask", "qbo")},
                       "problems": engine.problems},
            "baseline": None if base is None else {
                "pos": base.pos, "seconds": round(base.seconds, 2),
                "pos_per_min": round(base.pos / base.seconds * 60, 2) if base.seconds else None,
                "calls_per_po": {"autotask": round(base.calls_per_po("autotask"), 2),
                                 "qbo": round(base.calls_per_po("qbo"), 2)},
                "throttled": base.throttled},
            "speedup": round(speedup, 2) if speedup else None,
            "links": None if linked is None else {
                "stored": len([link for link in engine.links if link.method.value == "exact_name"]),
                "exit_code": linked.exit_code, "synced": linked.synced, "wall_s": round(linked.wall_s, 2),
                "calls": {"autotask": linked.calls("autotask"), "qbo": linked.calls("qbo")},
                "calls_per_po": round((linked.calls("autotask") + linked.calls("qbo")) / n, 3),
                "time_percent": round(links_delta["time_percent"], 2),
                "calls_percent": round(links_delta["calls_percent"], 2),
                "problems": linked.problems},
            "subscribers": {
                "count": len(engine.subscribers),
                "events": [f.events for f in engine.subscribers],
                "resyncs": sum(f.resyncs for f in engine.subscribers),
                "latency_p50_ms": round(percentile(sub_latencies, 50), 3) if sub_latencies else None,
                "latency_p99_ms": round(percentile(sub_latencies, 99), 3) if sub_latencies else None,
            },
        }))
    return 0 if not engine.problems and not (linked is not None and linked.problems) else 1


if __name__ == "__main__":
    sys.exit(main())
