"""Benchmark of the audit trail: what recording each PO's story costs a scan, `atqbo why` on a
large history, and `atqbo export` of many rows.

Run: .venv/bin/python tests/bench/bench_audit.py [--entries 100000] [--rows 10000] [--dir DIR]

  record   the engine's history subscriber fed the events of a 1,000-PO scan (PoStarted,
           VendorCreated/ItemCreated for some, PoSynced, a few PoFailed+TodoCreated): total
           and per PO, next to the same events published with no subscriber
  why      the story of one PO (history + journal + error log) with --entries history lines
           and --entries error-log entries; median and worst of 200 look-ups of random POs
           (target: under 50 ms), and the first call after opening the store
  export   rows + CSV of --rows POs (journal, history, error log); target under 2 s
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sync import events as ev  # noqa: E402
from sync.audit.export import rows, to_csv  # noqa: E402
from sync.audit.why import why  # noqa: E402
from sync.engine.history import HistoryRecorder  # noqa: E402
from sync.store import ErrorStatus, HistoryEntry, JournalState, Store  # noqa: E402

S = JournalState


def scan_events(n: int, first_id: int = 1) -> list[ev.Event]:
    out: list[ev.Event] = [ev.ScanStarted(scan_id="bench", trigger="schedule", days_back=7)]
    for i in range(first_id, first_id + n):
        out.append(ev.PoStarted(po_id=i, po_number=f"PO-{i}", source="scan"))
        if i % 25 == 0:
            out.append(ev.VendorCreated(name=f"Vendor {i}", vendor_id=str(i)))
        if i % 10 == 0:
            out.append(ev.ItemCreated(name=f"Item {i}", item_id=str(i), expense_account="Cost of Goods Sold"))
        if i % 50 == 0:
            out.append(ev.TodoCreated(todo_id=i, po_id=i, resource_id=7))
            out.append(ev.PoFailed(po_id=i, po_number=f"PO-{i}", cause_code="missing_item", cause="No item",
                                   fix="Create it", log_id=str(i), todo_id=i))
        else:
            out.append(ev.PoSynced(po_id=i, po_number=f"PO-{i}", bill_id=str(i), doc_number=str(i),
                                   vendor=f"Vendor {i % 40}", amount=Decimal("240.00"), currency="", lines=3,
                                   customer="Contoso", request_id="ab" * 16, number_from="quickbooks"))
    out.append(ev.ScanFinished(scan_id="bench", scanned=n, synced=n, failed=0, skipped=0, todos_created=0,
                               api_calls={"autotask": n, "qbo": n // 10}, duration_s=1.0))
    return out


def bench_record(folder: Path, n: int = 1000) -> dict:
    events = scan_events(n)
    handlers: list = []

    def publish(e: ev.Event) -> None:  # what Engine._publish does per handler
        for h in handlers:
            h(e)

    start = time.perf_counter()
    for e in events:
        publish(e)
    bare = time.perf_counter() - start
    with Store.open(folder / "record") as store:
        handlers.append(HistoryRecorder(store.history, lambda: "service"))
        start = time.perf_counter()
        for e in events:
            publish(e)
        recorded = time.perf_counter() - start
    return {"pos": n, "events": len(events), "bare_s": bare, "recorded_s": recorded,
            "per_po_us": (recorded - bare) / n * 1e6}


def fill(folder: Path, entries: int, pos: int) -> Store:
    store = Store.open(folder)
    rng = random.Random(7)
    steps = ("seen", "vendor_created", "item_created", "bill_created", "written_back", "retry_started",
             "failed", "todo_created", "retry_finished", "seen")
    batch = []
    for k in range(entries):
        po_id = 1 + (k % pos)
        kind = steps[(k // pos) % len(steps)]
        batch.append(HistoryEntry(po_id=po_id, kind=kind, text=f"step {kind} of PO {po_id}",
                                  details={"bill_id": str(po_id), "doc_number": str(po_id), "amount": "240.00",
                                           "vendor": f"Vendor {po_id % 40}", "customer": "Contoso", "lines": 3},
                                  scan_id=f"s{k // pos}", origin="service"))
        if len(batch) >= 5000:
            store.history.append_many(batch)
            batch = []
    store.history.append_many(batch)
    store.errors.bulk_add({"po_id": 1 + rng.randrange(pos), "po_number": "PO", "cause_code": "missing_item",
                           "cause": "No item", "fix": "Create it", "raw_error": "{}",
                           "status": ErrorStatus.RESOLVED if i % 20 else ErrorStatus.OPEN} for i in range(entries))
    steps_j = []
    for po_id in range(1, pos + 1):
        steps_j += [(po_id, None, S.SEEN, {"po_number": f"PO-{po_id}"}), (po_id, S.SEEN, S.RESOLVED, {}),
                    (po_id, S.RESOLVED, S.BILL_REQUESTED, {"request_id": "r"}),
                    (po_id, S.BILL_REQUESTED, S.BILL_CREATED, {"bill_id": str(po_id), "doc_number": str(po_id)}),
                    (po_id, S.BILL_CREATED, S.WRITTEN_BACK, {})]
        if len(steps_j) >= 5000:
            store.journal.transition_many(steps_j)
            steps_j = []
    store.journal.transition_many(steps_j)
    store.close()
    return Store.open(folder)


def bench_why(folder: Path, entries: int) -> dict:
    pos = max(1, entries // 10)
    t0 = time.perf_counter()
    fill(folder / "why", entries, pos).close()
    filled = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = Store.open(folder / "why")
    first = why(store, pos // 2)
    first_s = time.perf_counter() - t0
    rng = random.Random(3)
    times = []
    for _ in range(200):
        po_id = 1 + rng.randrange(pos)
        t = time.perf_counter()
        story = why(store, po_id)
        times.append(time.perf_counter() - t)
        assert story.steps and story.state is not None
    store.close()
    return {"entries": entries, "pos": pos, "fill_s": filled, "first_call_incl_open_s": first_s,
            "steps_per_po": len(first.steps), "median_ms": statistics.median(times) * 1000, "max_ms": max(times) * 1000}


def bench_export(folder: Path, n: int) -> dict:
    store = fill(folder / "export", n, n)
    t = time.perf_counter()
    found = rows(store)
    text = to_csv(found)
    took = time.perf_counter() - t
    store.close()
    return {"rows": len(found), "bytes": len(text), "seconds": took}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--dir")
    args = parser.parse_args()
    folder = Path(args.dir or tempfile.mkdtemp(prefix="atqbo-bench-audit-"))
    try:
        r = bench_record(folder)
        print(f"record  {r['pos']} POs, {r['events']} events: {r['recorded_s'] * 1000:.1f} ms with the history "
              f"subscriber, {r['bare_s'] * 1000:.2f} ms without; {r['per_po_us']:.0f} µs per PO")
        w = bench_why(folder, args.entries)
        print(f"why     {w['entries']:,} history lines and {w['entries']:,} error-log entries over {w['pos']:,} POs "
              f"(filled in {w['fill_s']:.1f} s): median {w['median_ms']:.2f} ms, worst {w['max_ms']:.2f} ms of 200 "
              f"look-ups ({w['steps_per_po']} steps each); first call incl. opening the store "
              f"{w['first_call_incl_open_s'] * 1000:.0f} ms; target < 50 ms: "
              + ("MET" if w["max_ms"] < 50 else "MISSED"))
        e = bench_export(folder, args.rows)
        print(f"export  {e['rows']:,} rows, {e['bytes'] / 1e6:.1f} MB of CSV in {e['seconds']:.2f} s; target < 2 s: "
              + ("MET" if e["seconds"] < 2 else "MISSED"))
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
