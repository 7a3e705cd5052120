"""API calls over a PO's life in each transfer_as mode (issue 18 "Budgets"), on the sandbox with
latency and every limit on.

Run: nice -n 10 .venv/bin/python tests/bench/bench_accounting.py --transfer-as purchase_order_then_bill
                                 [--pos 1000] [--lines 3] [--latency-ms 50] [--json]

The real daemon (`atqbo --daemon --once --json`, a subprocess) runs against one sandbox seeded
like tests/bench/bench_sync.py (--pos Submitted POs of --lines lines). `bill` and
`purchase_order`: one run makes every PO's document and writes its number back, and a second
run finds nothing left to do (its calls count too: a PO's life includes the scans that look at
it afterwards). `purchase_order_then_bill`: the first run makes the purchase orders; then half of
every item's units arrive (Autotask receiving records), a run bills them; then the rest arrive, a
run bills them and QBO closes every purchase order; a last run finds nothing left. Every request
both services saw (the sandbox's /_sandbox/stats: retries and token calls included) over all
runs, divided by --pos, is the figure; the targets are <= 1.2 (purchase_order) and <= 2.3
(purchase_order_then_bill). Then it is verified: one document per PO, and under
purchase_order_then_bill every receipt on exactly one bill, every purchase order closed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from bench.bench_sandbox import World  # noqa: E402
from bench.bench_sync import bench_seed, calls_of, serve  # noqa: E402
from exactly_once.crash_harness import SandboxAdmin, clean_env, connect_folder, utc_days_ago, verify  # noqa: E402

TARGETS = {"bill": 1.3, "purchase_order": 1.2, "purchase_order_then_bill": 2.3}


def receive(admin: SandboxAdmin, share: float) -> int:
    """Receiving records for `share` of every item's outstanding units (at least one); returns how many."""
    entities = admin.state()["autotask"]["entities"]
    got: dict[int, int] = {}
    for r in entities.get("PurchaseOrderItemReceiving", []):
        got[int(r["purchaseOrderItemID"])] = got.get(int(r["purchaseOrderItemID"]), 0) + int(r["quantityNowReceiving"])
    made = 0
    for item in entities.get("PurchaseOrderItems", []):
        left = int(item["quantity"]) - got.get(int(item["id"]), 0)
        if left <= 0:
            continue
        qty = left if share >= 1 else max(1, int(left * share))
        admin.http.post("/autotask/entities/PurchaseOrderItemReceiving", json={
            "purchaseOrderItemID": int(item["id"]), "quantityNowReceiving": qty,
            "quantityPreviouslyReceived": got.get(int(item["id"]), 0), "quantityBackOrdered": left - qty,
            "receiveDate": utc_days_ago(0), "receivedByResourceID": 29682885}).raise_for_status()
        made += 1
    return made


def run_daemon(data_dir: Path, log: Path, timeout: float) -> tuple[int, float, dict]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "console.cli", "--daemon", "--once", "--json",
                           "--data-dir", str(data_dir)], cwd=ROOT, env=clean_env(), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout)
    log.write_text(proc.stderr)
    summary: dict = {}
    for line in proc.stdout.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict) and "exit_code" in rec and "event" not in rec:
            summary = rec
    return proc.returncode, time.monotonic() - started, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfer-as", choices=sorted(TARGETS), default="purchase_order_then_bill")
    parser.add_argument("--pos", type=int, default=1000)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--pause-s", type=float, default=61.0, help="seconds between the runs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.pos < 1 or args.lines < 1:
        parser.error("--pos and --lines must be at least 1")
    mode = args.transfer_as
    print(f"bench_accounting: transfer_as {mode}, {args.pos} POs x {args.lines} lines, "
          f"{args.latency_ms:g} ms latency, all limits on", flush=True)
    specs = bench_seed(args.pos, args.lines, args.seed)[1]
    sandbox_dir = Path(tempfile.mkdtemp(prefix="atqbo-bench-acct-sandbox-"))  # its stderr log
    server = serve(World(args.pos, args.lines, args.seed, 40, 200), args.latency_ms, sandbox_dir)  # bench_seed's defaults
    admin = SandboxAdmin(server.url)
    runs: list[dict] = []
    try:
        with tempfile.TemporaryDirectory(prefix="atqbo-bench-acct-") as tmp:
            data_dir = Path(tmp) / "data"
            connect_folder(data_dir, server, transfer_as=mode)
            admin.reset_stats()
            steps = [("documents", None)]
            if mode == "purchase_order_then_bill":
                steps += [("half received", 0.5), ("rest received", 1.0)]
            steps.append(("nothing new", None))
            for n, (label, share) in enumerate(steps):
                if n:
                    # Goods arrive days later, not within the same minute: QBO's per-minute limits
                    # (500 requests, 40 batches per realm) are not shared with the run before.
                    time.sleep(args.pause_s)
                receipts = receive(admin, share) if share is not None else 0
                before = admin.stats()
                code, wall, summary = run_daemon(data_dir, Path(tmp) / f"daemon-{len(runs)}.log", args.timeout)
                after = admin.stats()
                calls = {s: calls_of(after, s) - calls_of(before, s) for s in ("autotask", "qbo", "oauth")}
                runs.append({"run": label, "receipts_added": receipts, "exit_code": code, "wall_s": round(wall, 1),
                             "synced": summary.get("synced"), "calls": calls})
                print(f"  run '{label}': exit {code}, {wall:.1f} s, receipts added {receipts}, "
                      f"synced {summary.get('synced')}, calls autotask {calls['autotask']} qbo {calls['qbo']} "
                      f"oauth {calls['oauth']}", flush=True)
                if code != 0:
                    tail = (Path(tmp) / f"daemon-{len(runs) - 1}.log").read_text().strip().splitlines()[-6:]
                    print("    daemon said: " + " | ".join(tail), flush=True)
            stats = admin.stats()
            verdict = verify(admin, data_dir, specs, mode)
            throttled = {s: int(stats[s]["throttled"]) for s in ("autotask", "qbo")}
    finally:
        admin.close()
        server.stop()
    total = sum(calls_of(stats, s) for s in ("autotask", "qbo"))
    per_po = total / args.pos
    target = TARGETS[mode]
    routes = {s: sorted(stats[s]["routes"].items(), key=lambda kv: -kv[1])[:8] for s in ("autotask", "qbo")}
    print(f"\n  API calls over the POs' life: autotask {calls_of(stats, 'autotask')}, qbo {calls_of(stats, 'qbo')}, "
          f"total {total} -> {per_po:.3f} per PO (OAuth token calls {calls_of(stats, 'oauth')}, not counted)")
    print(f"  429s received: autotask {throttled['autotask']}, qbo {throttled['qbo']}")
    for s in ("autotask", "qbo"):
        print(f"  {s} routes: " + ", ".join(f"{r} {c}" for r, c in routes[s]))
    problems = verdict.problems(stale_ok=True)
    print("  VERIFY FAILED: " + "; ".join(problems) if problems else
          f"  verified: one {'bill' if mode == 'bill' else 'purchase order'} per PO"
          + (f"; {verdict.receipt_bills} receipt bills, every receipt on one, every purchase order closed"
             if mode == "purchase_order_then_bill" else ""))
    met = per_po <= target
    print(f"\nTARGET <= {target} API calls per PO over its life: {per_po:.3f} -> {'MET' if met else 'NOT MET'}")
    if args.json:
        print(json.dumps({"transfer_as": mode, "pos": args.pos, "lines": args.lines, "latency_ms": args.latency_ms,
                          "runs": runs, "calls_per_po": round(per_po, 3), "target": target, "met": met,
                          "throttled": throttled, "problems": problems}))
    return 0 if met and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
