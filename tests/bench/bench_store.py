"""Benchmark of the store: error log and journal, next to TinyDB's default JSONStorage.

Run: .venv/bin/python tests/bench/bench_store.py [--sizes 10000 100000] [--dir DIR]

For each size N the log is first filled to N entries (ours: bulk_add, one write per segment;
default: one json file written in one go), then measured:
  insert     per-entry add() on top of N entries (each durable: ours fsyncs, the default does not)
  open       opening the log (ours reads the small per-segment indexes)
  queries    open errors (newest 100), latest open entry of a PO, text search (a hit near the
             newest end; a miss, which must look at every segment: ours skips the segments
             whose raw text lacks the words without parsing them), a newest-first page deep
             inside, counts by status. Medians of a few calls; "1st call" is a single one.
TinyDB's default storage rewrites and re-parses the whole file on every call, so at large N
its figures are measured on a few operations (capped by time) — said in the output.
Journal: transitions/s for 2,000 POs × 5 steps, ours (32 shards, fsync) vs one default file;
then the same steps for 500 new POs on a journal that already holds H written-back POs (a busy
year of them, `--history`), against an empty one: the journal keeps every PO it ever synced.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tinydb import Query, TinyDB  # noqa: E402
from tinydb.storages import JSONStorage  # noqa: E402

from sync.store import ErrorLog, ErrorStatus, Journal, JournalState  # noqa: E402

RAW = json.dumps({"Fault": {"Error": [{"Message": "Object Not Found", "Detail": "Something you're trying to use has been made inactive. Check the fields with accounts, customers, items, vendors or employees.", "code": "610", "element": ""}], "type": "ValidationFault"}, "time": "2026-11-25T10:00:00.000-08:00"})


def record(i: int) -> dict:
    return {
        "po_id": 10_000 + i,
        "po_number": f"PO-{10_000 + i}",
        "cause_code": ("missing_item", "name_clash", "qbo_validation", "autotask_error")[i % 4],
        "cause": f"The item 'Widget {i % 500}' of purchase order {10_000 + i} is not in QuickBooks.",
        "fix": "Create the item in QuickBooks (or set missing_item = create), then retry the purchase order.",
        "raw_error": RAW,
        # Most old failures get resolved; keep 2% open.
        "status": ErrorStatus.OPEN if i % 50 == 0 else ErrorStatus.RESOLVED,
    }


def timed(fn: Callable[[], object], repeat: int = 5, budget_s: float = 10.0) -> tuple[float, int]:
    """Median seconds per call over up to `repeat` calls, stopping after `budget_s`."""
    times = []
    start = time.perf_counter()
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if time.perf_counter() - start > budget_s:
            break
    return statistics.median(times), len(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:9.2f} ms"


def bench_ours(folder: Path, n: int) -> dict[str, str]:
    log = ErrorLog(folder, retention_days=0, max_entries=10**9)
    t = time.perf_counter()
    log.bulk_add(record(i) for i in range(n))
    fill = time.perf_counter() - t
    inserts = 1000
    t = time.perf_counter()
    for i in range(n, n + inserts):
        log.add(**{k: v for k, v in record(i).items() if k != "status"})
    insert_rate = inserts / (time.perf_counter() - t)
    total = n + inserts
    log.close()
    t = time.perf_counter()
    log = ErrorLog(folder, retention_days=0, max_entries=10**9)
    open_s = time.perf_counter() - t
    rng = random.Random(1)
    open_po = 10_000 + (n // 2 // 50) * 50
    out = {
        "fill (bulk)": f"{n / fill:9.0f} /s",
        "insert (add, fsync)": f"{insert_rate:9.0f} /s",
        "open": ms(open_s),
        "open errors, newest 100": ms(timed(lambda: log.open_errors(limit=100))[0]),
        "latest open for a PO": ms(timed(lambda: log.latest_open_for_po(open_po))[0]),
        "by PO, random": ms(timed(lambda: log.for_po(10_000 + rng.randrange(total)), repeat=50)[0]),
        "search, recent hit": ms(timed(lambda: log.search(f"PO-{10_000 + total - 300}", limit=1))[0]),
        "search, miss, 1st call": ms(timed(lambda: log.search("no such text anywhere"), repeat=1)[0]),
        "search, miss (reads all)": ms(timed(lambda: log.search("no such text anywhere either"), repeat=3)[0]),
        "page 100 at offset N/2": ms(timed(lambda: log.page(100, offset=total // 2))[0]),
        "newest page 100": ms(timed(lambda: log.page(100))[0]),
        "count by status": ms(timed(lambda: log.count_by_status())[0]),
    }
    assert len(log) == total and log.latest_open_for_po(open_po) is not None
    log.close()
    return out


def bench_default(folder: Path, n: int) -> dict[str, str]:
    path = folder / "errors.json"
    # Fill in one go (what inserting one by one would end with, without waiting for it).
    table = {str(i + 1): {**record(i), "status": record(i)["status"].value} for i in range(n)}
    path.write_text(json.dumps({"errors": table}))
    db = TinyDB(path, storage=JSONStorage)
    errors = db.table("errors", cache_size=0)
    q = Query()
    insert_s, insert_n = timed(
        lambda: errors.insert({**{k: v for k, v in record(n).items() if k != "status"}, "status": "open"}),
        repeat=200, budget_s=8.0,
    )
    open_po = 10_000 + (n // 2 // 50) * 50
    budget = 4.0

    def newest_open() -> list:
        docs = errors.search(q.status == "open")
        return sorted(docs, key=lambda d: d.doc_id, reverse=True)[:100]

    def page_mid() -> list:
        docs = errors.all()
        return docs[len(docs) // 2 : len(docs) // 2 + 100]

    def search_miss() -> list:
        needle = "no such text anywhere"
        return errors.search(q.cause.test(lambda v: needle in v.lower()))

    out = {
        "insert (JSONStorage)": f"{1 / insert_s:9.2f} /s  ({insert_n} inserts timed)",
        "open errors, newest 100": ms(timed(newest_open, budget_s=budget)[0]),
        "latest open for a PO": ms(timed(lambda: errors.search((q.po_id == open_po) & (q.status == "open")), budget_s=budget)[0]),
        "search, miss (reads all)": ms(timed(search_miss, repeat=3, budget_s=budget)[0]),
        "page 100 at offset N/2": ms(timed(page_mid, budget_s=budget)[0]),
        "count by status": ms(timed(lambda: errors.count(q.status == "resolved"), budget_s=budget)[0]),
    }
    db.close()
    return out


def bench_journal(folder: Path, pos: int = 2000) -> tuple[float, float, int]:
    steps = [
        (None, JournalState.SEEN),
        (JournalState.SEEN, JournalState.RESOLVED),
        (JournalState.RESOLVED, JournalState.BILL_REQUESTED),
        (JournalState.BILL_REQUESTED, JournalState.BILL_CREATED),
        (JournalState.BILL_CREATED, JournalState.WRITTEN_BACK),
    ]
    journal = Journal(folder / "ours")
    t = time.perf_counter()
    for po in range(1, pos + 1):
        for before, after in steps:
            journal.transition(po, before, after, request_id=f"req-{po}")
    ours = pos * len(steps) / (time.perf_counter() - t)
    journal.close()
    # The default: one TinyDB file, one record per PO, upsert per transition; capped by time.
    (folder / "default").mkdir()
    db = TinyDB(folder / "default" / "journal.json", storage=JSONStorage)
    table = db.table("journal", cache_size=0)
    q = Query()
    done = 0
    t = time.perf_counter()
    for po in range(1, pos + 1):
        for _before, after in steps:
            table.upsert({"po_id": po, "state": after.value, "request_id": f"req-{po}"}, q.po_id == po)
            done += 1
        if time.perf_counter() - t > 15:
            break
    default = done / (time.perf_counter() - t)
    db.close()
    return ours, default, done


def bench_journal_history(folder: Path, history: int, pos: int = 500) -> float:
    """Transitions/s for `pos` new POs on a journal holding `history` written-back records."""
    from dataclasses import replace
    from datetime import datetime, timedelta, timezone

    from sync.store.journal import JournalEntry

    journal = Journal(folder)
    old = (datetime.now(timezone.utc) - timedelta(days=400)).isoformat(timespec="microseconds")
    walk = tuple((s.value, old) for s in (JournalState.SEEN, JournalState.RESOLVED, JournalState.BILL_REQUESTED,
                                          JournalState.BILL_CREATED, JournalState.WRITTEN_BACK))
    journal.restore(replace(JournalEntry(po_id=po, state=JournalState.WRITTEN_BACK), po_number=f"PO-{po}",
                            request_id=f"{po:032x}", bill_id=str(po), doc_number=str(1000 + po), vendor_id="58",
                            document="Bill", updated_at=old, history=walk)
                    for po in range(1, history + 1))
    steps = [(None, JournalState.SEEN), (JournalState.SEEN, JournalState.RESOLVED),
             (JournalState.RESOLVED, JournalState.BILL_REQUESTED), (JournalState.BILL_REQUESTED, JournalState.BILL_CREATED),
             (JournalState.BILL_CREATED, JournalState.WRITTEN_BACK)]
    t = time.perf_counter()
    for po in range(history + 1, history + pos + 1):
        for before, after in steps:
            journal.transition(po, before, after)
    rate = pos * len(steps) / (time.perf_counter() - t)
    journal.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--dir", type=Path, default=None, help="where to put the files (default: a temp folder)")
    parser.add_argument("--history", type=int, default=50_000,
                        help="written-back POs already in the journal for the history figures")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="atqbo-bench-", dir=args.dir))
    print(f"atqbo store benchmark — files in {base} (Python {sys.version.split()[0]}, {os.cpu_count()} CPUs)")
    try:
        for n in args.sizes:
            print(f"\n== error log with {n:,} entries (+1,000 inserted one by one) ==")
            ours = bench_ours(base / f"ours-{n}", n)
            (base / f"default-{n}").mkdir()
            default = bench_default(base / f"default-{n}", n)
            print(f"{'':28} {'ours (segmented, fsync)':>26} {'TinyDB JSONStorage':>30}")
            keys = list(dict.fromkeys([*ours, *default]))
            for key in keys:
                print(f"{key:28} {ours.get(key, ''):>26} {default.get(key, '-'):>30}")
        print("\n== journal: 2,000 POs × 5 transitions ==")
        mine, theirs, done = bench_journal(base / "journal")
        print(f"ours (32 shards, fsync each):   {mine:9.0f} transitions/s")
        print(f"TinyDB JSONStorage, one file:   {theirs:9.0f} transitions/s  ({done:,} transitions timed, capped at 15 s)")
        print("\n== journal: 500 new POs × 5 transitions on top of written-back POs ==")
        for held in (0, args.history):
            rate = bench_journal_history(base / f"history-{held}", held)
            print(f"holding {held:>7,} written-back POs: {rate:9.0f} transitions/s")
        print("\nNote: JSONStorage neither fsyncs nor writes atomically; ours does both on every write.")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
