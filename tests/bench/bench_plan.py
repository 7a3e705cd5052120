"""Plan before apply (issue 15): what a plan costs, and how fast the Plan screen shows it.

Run: .venv/bin/python tests/bench/bench_plan.py [--pos 300] [--rows 1000]

1. Cost. A sandbox company with `--pos` eligible POs (known and new vendors, items QBO has and
   items to create, some for a customer, freight on some) served over loopback; `make_plan` on
   it, counting every request the sandbox answered, then the scan right after it, counting its
   reads (its writes, the creates, bills and write-backs, are what a plan leaves out).
   Budget: plan requests <= scan reads + 0.1 x POs.
2. Screen. The real Plan screen (headless, 100x30) given a report of `--rows` POs by a stub
   engine control: the time from the report arriving (the control's answer) to the screen
   having processed it and painted its table (every row in the table, the first frame
   composed), and a filter keystroke over those rows. Budget: 1 s from the data arriving.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sync.clients.autotask import AutotaskClient  # noqa: E402
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet  # noqa: E402
from sync.clients.qbo import QboClient  # noqa: E402
from sync.engine import Engine  # noqa: E402
from sync.plan import make_plan  # noqa: E402
from sync.plan.model import LinePlanView, PlanReport, PoPlan, RecordPlan  # noqa: E402
from sync.sandbox.empty import empty_seed  # noqa: E402
from sync.sandbox.qbo import seed as qs  # noqa: E402
from sync.sandbox.server import Sandbox, SandboxServer  # noqa: E402
from sync.settings import Settings  # noqa: E402
from sync.store import Store  # noqa: E402

COGS, AP = "80", "33"
WRITE_ROUTES: list[str] = []


def _days_ago(n: float) -> str:
    from datetime import timedelta

    return (datetime.now(timezone.utc) - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def cost_seed(n: int):
    seed = empty_seed()
    at = seed.autotask
    vendors = [at.add_vendor(f"Vendor {k:02d}") for k in range(12)]
    for k in range(0, 12, 2):  # half the vendors are in QBO
        seed.qbo.vendors.append(qs.vendor(str(600 + k), f"Vendor {k:02d}"))
    customer = at.add_company("Contoso Dental", "Customer")
    products = [at.add_product(f"Part {k:02d}", 10) for k in range(20)]
    for k in range(0, 20, 2):
        seed.qbo.items.append(qs.item(str(700 + k), f"Part {k:02d}", expense_account_id=COGS))
    for i in range(n):
        extra = {"purchaseForCompanyID": customer} if i % 5 == 0 else {}
        at.add_po(vendors[i % 12], "Submitted", createDateTime=_days_ago(1 + (i % 50) / 10), freight=5 if i % 9 == 0 else 0,
                  items=[{"productID": products[i % 20], "quantity": 1 + i % 4, "unitCost": 12.5},
                         {"productID": products[(i * 7) % 20], "quantity": 2, "unitCost": 3}], **extra)
    return seed


def _is_write(service: str, route: str) -> bool:
    method, _, path = route.partition(" ")
    if method in ("PATCH", "PUT", "DELETE"):
        return True
    if method != "POST":
        return False
    if service == "autotask":
        return not path.endswith(("/query", "/query/count", "/query/next"))  # paging is a read too
    return not path.endswith("/query")


def _counts(url: str, reset: bool = False) -> tuple[int, int]:
    """(reads, writes) the sandbox answered since the last reset; `reset` starts counting anew."""
    stats = httpx.get(url + "/_sandbox/stats", timeout=10).json()
    if reset:
        httpx.post(url + "/_sandbox/stats", timeout=10)
    reads = writes = 0
    for service in ("autotask", "qbo"):
        for route, k in stats.get(service, {}).get("routes", {}).items():
            if _is_write(service, route):
                WRITE_ROUTES.append(f"{service} {route} x{k}")
                writes += k
            else:
                reads += k
    return reads, writes


async def bench_cost(n: int) -> bool:
    sandbox = Sandbox(cost_seed(n))
    sandbox.knobs.limits_enabled = False
    server = SandboxServer(sandbox).start()
    try:
        creds = sandbox.credentials(server.url)
        with tempfile.TemporaryDirectory() as folder:
            store = Store.open(Path(folder))
            store.settings.save(Settings.from_values(dict(days_back=30, ap_account=AP, todo_action_type=3,
                                                          todo_resource=29682886, missing_item="create",
                                                          new_item_expense_account=COGS)))
            a, o = creds["autotask"], creds["oauth"]
            at = AutotaskClient(a["username"], a["integration_code"], a["secret"], zone_lookup_base=server.url)
            oauth = IntuitOAuth(o["client_id"], o["client_secret"], endpoints=IntuitEndpoints.local(server.url),
                                tokens=TokenSet.from_refresh_token(o["refresh_token"], o["realm_id"]))
            qbo = QboClient(oauth, o["realm_id"], api_url=server.url, per_second=1000, per_minute=60000)
            await at.zone()  # the zone look-up and the first token are start-up, not the plan's
            await qbo.preferences()
            _counts(server.url, reset=True)
            started = time.perf_counter()
            report = await make_plan(store.settings.load(), at, qbo, store.journal, now=datetime.now(timezone.utc))
            plan_s = time.perf_counter() - started
            plan_reads, plan_writes = _counts(server.url, reset=True)
            if plan_writes:
                print("  plan write routes: " + ", ".join(WRITE_ROUTES))
            summary = await Engine(store, at, qbo).scan_once()
            scan_reads, scan_writes = _counts(server.url)
            await at.aclose()
            await qbo.aclose()
            await oauth.aclose()
            store.close()
    finally:
        server.stop()
    synced = sum(1 for o in summary.outcomes if o.ok)
    extra = (plan_reads - scan_reads) / n
    print(f"plan cost ({n} POs): plan {plan_reads} requests ({plan_writes} writes) in {plan_s:.2f} s; "
          f"scan after it: {scan_reads} reads + {scan_writes} writes, {synced} synced; "
          f"plan - scan reads = {plan_reads - scan_reads} ({extra:+.3f} per PO; budget +0.100)")
    agree = synced == sum(1 for p in report.plans if p.outcome == "bill")
    print(f"  the plan said {sum(1 for p in report.plans if p.outcome == 'bill')} bills: "
          f"{'agrees' if agree else 'DISAGREES'} with the scan")
    return plan_writes == 0 and extra <= 0.1 and agree


def screen_report(rows: int) -> PlanReport:
    plans = []
    for i in range(rows):
        vendor = RecordPlan("Vendor", f"Vendor {i % 40:02d}", "matched" if i % 3 else "create",
                            qbo_id=str(600 + i % 40) if i % 3 else "", by="DisplayName")
        item = RecordPlan("Item", f"Part {i % 25:02d}", "matched", qbo_id=str(700 + i % 25), by="Name")
        fail = i % 17 == 0
        plans.append(PoPlan(po_id=1000 + i, po_number=f"PO-{1000 + i}", outcome="fail" if fail else "bill",
                            vendor_name=vendor.name, vendor=vendor,
                            lines=(LinePlanView(item, "2", "12.50", "25.00"),), doc_number="" if fail else str(5000 + i),
                            amount="25.00", ap_account="Accounts Payable (A/P) (id 33)",
                            creates=() if i % 3 else (f"vendor '{vendor.name}'",),
                            cause_code="missing_item" if fail else "", cause="The item is not in QuickBooks." if fail else "",
                            fix="Create it." if fail else "", hold="" if i % 3 else f"would create vendor '{vendor.name}'",
                            fingerprint=f"{i:032x}"))
    return PlanReport(plans=tuple(plans), api_calls={"autotask": 9, "qbo": 7})


async def bench_screen(rows: int) -> bool:
    from textual.app import App

    from screens.plan import PlanScreen
    from screens.po_table import PoTable

    report = screen_report(rows)
    arrived: dict[str, float] = {}
    release = asyncio.Event()

    class StubControl:
        async def plan(self, po_ids=None):
            await release.wait()
            arrived["t"] = time.perf_counter()
            return report

        async def approve(self, plans):
            return list(plans), []

    class BenchApp(App):
        pass

    app = BenchApp()
    ok = True
    async with app.run_test(size=(100, 30)) as pilot:
        screen = PlanScreen(StubControl())
        await app.push_screen(screen)
        await pilot.pause(0.2)
        release.set()
        while screen.report is None:
            await asyncio.sleep(0)
        await pilot.pause()  # the messages the report caused, and the frame after them
        table = screen.query_one(PoTable)
        shown = time.perf_counter() - arrived["t"]
        assert table.row_count == rows, table.row_count
        print(f"Plan screen: {rows} POs shown {shown * 1000:.0f} ms after the data arrived (budget 1000 ms)")
        ok = shown < 1.0
        times = []
        for text in ("PO-1", "PO-12", "PO-123"):
            started = time.perf_counter()
            screen.text = text
            screen.redraw()
            await pilot.pause()
            times.append(time.perf_counter() - started)
        print(f"  filter over {rows} rows: " + ", ".join(f"{t * 1000:.0f} ms" for t in times) + " per keystroke")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pos", type=int, default=300)
    parser.add_argument("--rows", type=int, default=1000)
    args = parser.parse_args()
    ok = asyncio.run(bench_cost(args.pos))
    ok = asyncio.run(bench_screen(args.rows)) and ok
    print("within budget" if ok else "OVER BUDGET")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
