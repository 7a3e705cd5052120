"""The exactly-once proof as a black box: the real daemon (`python -m console.cli --daemon`) in
a subprocess, SIGKILLed at random moments while the sandbox injects lost replies, 429 storms and
5xx on both services; then the faults go away and clean runs finish the work. The sandbox runs
in *this* process (a SandboxServer thread), so it outlives every daemon it serves and its state
is the ground truth the verdict reads (over its admin API, not from the engine's memory).

Used by tests/exactly_once/test_exactly_once.py (CI size) and tests/bench/bench_exactly_once.py
(full size). Nothing here imports the engine: bills are matched to POs by the PO reference the
engine writes into a bill's PrivateNote ("... (Autotask PO id 123) ..."), the journal is read
through the store the daemon wrote.

Three ways a kill is timed, picked at random each round:
- "server": the sandbox itself kills the daemon when the n-th request of a kind reaches it,
  either before handling it (the request never happened) or after the handler committed it
  (the write is done, the reply never arrives) -- the narrowest windows a crash can hit;
- "event": after the daemon reported the k-th PO started, plus a random pause (mid-PO);
- "timer": a random delay after start (start-up, token refresh, reading the POs included).
"""

from __future__ import annotations

import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any, Callable

import httpx

from sync.sandbox.empty import empty_seed
from sync.sandbox.qbo import seed as qs
from sync.sandbox.seeds import SeedData
from sync.sandbox.server import Sandbox, SandboxServer
from sync.store import AutotaskConnection, QboConnection, Store

ROOT = Path(__file__).resolve().parents[2]
# Where the daemons' code comes from: this checkout, or another tree of atqbo (to check an
# older or newer version against the same proof, e.g. a `git archive <commit>` unpacked there).
CODE_UNDER_TEST = Path(os.environ.get("ATQBO_CODE_UNDER_TEST") or ROOT)
AP = "33"  # the empty QBO company's Accounts Payable (A/P)
COGS = "80"  # its Cost of Goods Sold: the expense account of items the engine creates
BUYER = 29682886  # the resource error to-dos go to (seeded in the empty Autotask tenant)
ACTION_GENERAL = 3  # a to-do action type of the empty tenant
SEEDED_BILLS = 12  # earlier bills in QBO (numbers 1001..1012): the sequence continues after them

# How the engine names the PO in a bill (sync/engine/resolve.py `po_marker`), read as a user would.
PO_REF = re.compile(r"\(Autotask PO id (\d+)\)")

VENDOR_NAMES = ["Ingram Micro", "TD Synnex", "Dell Technologies", "Amazon Business", "O'Reilly Supply Co.",
                "Smith & Sons Cabling", "CDW Canada", "Müller Elektronik", "Pax8", "Arrow ECS",
                "Insight Direct", "SHI International", "Connection", "Zones LLC", "Climb Global"]
CUSTOMER_NAMES = ["Contoso Dental", "Fabrikam Law Group", "Tailspin Toys", "Woodgrove Bank", "Litware Inc"]


def utc_days_ago(n: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(days=n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")


# ---------------------------------------------------------------- seed


@dataclass
class PoSpec:
    """What the harness seeded for one PO, to check the bill against."""

    po_id: int
    number: str
    total: Decimal
    lines: int


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def campaign_seed(n_pos: int, rng: random.Random, *, lines: tuple[int, int] = (1, 3),
                  n_vendors: int = 12, n_products: int = 30) -> tuple[SeedData, dict[int, PoSpec]]:
    """Empty companies plus `n_pos` Submitted POs of `lines` items. Half the vendors and products
    already exist in QBO (matched), the rest are created by the engine on first use; a third of
    the POs are "purchased for" a customer, a fifth carry freight; QBO already holds earlier
    bills, so the bill number sequence starts at 1013."""
    seed = empty_seed()
    at, qbo = seed.autotask, seed.qbo
    vendors = []
    for i in range(n_vendors):
        name = VENDOR_NAMES[i] if i < len(VENDOR_NAMES) else f"Vendor {i:03d}"
        vendors.append(at.add_vendor(name))
        if i % 2 == 0:
            qbo.vendors.append(qs.vendor(str(500 + i), name))
    customers = [at.add_company(name, "Customer") for name in CUSTOMER_NAMES]
    qbo.customers.append(qs.customer("700", CUSTOMER_NAMES[0]))
    products: list[tuple[int, Decimal]] = []
    for i in range(n_products):
        name = f"Part {i:03d} {rng.choice(['Dock', 'Switch', 'Cable', 'SSD', 'Licence', 'Toner'])}"
        cost = Decimal(rng.randrange(100, 250_000)) / 100
        products.append((at.add_product(name, float(cost)), cost))
        if i % 2 == 0:
            qbo.items.append(qs.item(str(800 + i), name, expense_account_id=COGS))
    first_vendor = qbo.vendors[0]["Id"] if qbo.vendors else "1"
    qbo.bills = [qs.bill(str(900 + n), first_vendor, [qs.item_line(qbo.items[0]["Id"], 1, 10.0)],
                         doc_number=str(1000 + n), ap_account_id=AP, txn_date="2026-09-01",
                         private_note=f"Entered by hand {1000 + n}") for n in range(1, SEEDED_BILLS + 1)]
    specs: dict[int, PoSpec] = {}
    for n in range(n_pos):
        count = rng.randint(*lines)
        items, total = [], Decimal(0)
        for product_id, cost in rng.sample(products, count):
            qty = rng.randint(1, 12)
            items.append({"productID": product_id, "quantity": qty, "unitCost": float(cost), "memo": f"line {qty}"})
            total += money(qty * cost)
        fields: dict[str, Any] = {"createDateTime": utc_days_ago(rng.uniform(0.1, 20)),
                                  "purchaseOrderNumber": f"AT-{5000 + n}"}
        freight = Decimal(0)
        if n % 5 == 0:
            freight = Decimal(rng.randrange(500, 9_000)) / 100
            fields["freight"] = float(freight)
        if n % 3 == 0:
            fields["purchaseForCompanyID"] = customers[n % len(customers)]
        po_id = at.add_po(vendors[n % len(vendors)], "Submitted", items=items, **fields)
        specs[po_id] = PoSpec(po_id=po_id, number=fields["purchaseOrderNumber"], total=money(total + freight),
                              lines=count + (1 if freight > 0 else 0))
    return seed, specs


SETTINGS: dict[str, Any] = dict(days_back=30, ap_account=AP, todo_action_type=ACTION_GENERAL, todo_resource=BUYER,
                                missing_item="create", new_item_expense_account=COGS, po_number_source="quickbooks")


def connect_folder(data_dir: Path, server: SandboxServer, **settings: Any) -> None:
    """What `atqbo connect autotask`, `connect quickbooks` and `settings set` save, written through
    the store (the same calls console/runtime_headless.py's demo folder makes)."""
    creds = server.sandbox.credentials(server.url)
    at, oauth, qbo = creds["autotask"], creds["oauth"], creds["qbo"]
    with Store.open(data_dir) as store:
        store.connection.set_autotask(AutotaskConnection(at["username"], at["integration_code"], server.url))
        store.secrets.set_autotask_secret(at["secret"])
        store.connection.set_qbo(QboConnection(oauth["client_id"], oauth["realm_id"], qbo["api_url"],
                                               oauth["auth_url"], oauth["token_url"]))
        store.secrets.set_qbo_client_secret(oauth["client_secret"])
        store.secrets.save_qbo_tokens(oauth["refresh_token"])
        for key, value in {**SETTINGS, **settings}.items():
            store.set_setting(key, value)


# ---------------------------------------------------------------- the daemon


def snapshot_code(dest: Path) -> Path:
    """Copy the code the daemons run (sync/, console/, screens/) to `dest`, so that one campaign
    runs one version even while the working tree is being edited. Returns `dest`."""
    import shutil

    for package in ("sync", "console", "screens"):
        if (ROOT / package).is_dir():
            shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def code_version() -> str:
    """HEAD's short hash, and whether the tree under test differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "sync", "console", "screens"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head or 'unknown'}{' + uncommitted changes' if dirty else ''}"


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATQBO_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Daemon:
    """`atqbo --daemon --once --json --data-dir D` (or another atqbo command) as a subprocess;
    its JSON lines are read by a thread into `lines` as they come."""

    def __init__(self, data_dir: Path, *args: str, log: Path | None = None, events: Path | None = None,
                 label: str = "", code: Path | None = None) -> None:
        argv = list(args) or ["--daemon", "--once", "--json"]
        self.argv = argv
        self.label = label
        self._events = open(events, "a", encoding="utf-8") if events else None
        self._stderr = open(log, "ab") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen([sys.executable, "-m", "console.cli", *argv, "--data-dir", str(data_dir)],
                                     cwd=code or CODE_UNDER_TEST, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self._stderr, text=True, encoding="utf-8")
        self.started = time.monotonic()
        self.lines: list[dict] = []
        self._queue: queue.Queue[dict | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.killed = False
        self.hung = False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            raw = raw.strip()
            if not raw:
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                record = {"event": "unparsed", "text": raw}
            self.lines.append(record)
            if self._events is not None:
                self._events.write(json.dumps({"run": self.label, "pid": self.proc.pid, **record}) + "\n")
            self._queue.put(record)
        if self._events is not None:
            self._events.write(json.dumps({"run": self.label, "pid": self.proc.pid, "event": "exit",
                                           "code": self.proc.wait()}) + "\n")
            self._events.close()
        self._queue.put(None)

    def next_line(self, timeout: float) -> dict | None:
        """The next line, None at end of output; raises queue.Empty on timeout."""
        return self._queue.get(timeout=timeout)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> bool:
        """SIGKILL it if still running; True when this kill ended it."""
        if self.proc.poll() is not None:
            return False
        try:
            os.kill(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        self.killed = True
        return True

    def wait(self, timeout: float) -> int:
        """Its exit code (negative: killed by that signal). One still running after `timeout`
        is killed (then `hung` is set) so that no loop waits for ever."""
        try:
            try:
                return self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.hung = True
                self.kill()
                return self.proc.wait(30)
        finally:
            self._reader.join(5)
            if self._stderr is not subprocess.DEVNULL:
                self._stderr.close()

    def events(self, name: str) -> list[dict]:
        return [r for r in self.lines if r.get("event") == name]

    def summary(self) -> dict | None:
        """The final JSON summary line (it has "exit_code"), if the run got that far."""
        for record in reversed(self.lines):
            if "exit_code" in record and "event" not in record:
                return record
        return None


# ---------------------------------------------------------------- the server-side kill switch


class KillSwitch:
    """ASGI middleware around the sandbox app: when armed, the n-th request matching (method,
    path regex) SIGKILLs the daemon, either before the sandbox handles it or right after the
    handler committed it (its reply then goes to a dead process). Install it before the
    SandboxServer is built: `sandbox.app = KillSwitch(sandbox.app)`."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._arm: dict | None = None
        self.fired: list[str] = []

    def arm(self, pid: int, *, method: str | None, path: str, nth: int, after_commit: bool, label: str,
            action: Callable[[], None] | None = None) -> None:
        """`action`, when given, runs instead of the kill (on the server's thread, so it must not
        call the sandbox over HTTP): a change to the emulated world at an exact moment."""
        with self._lock:
            self._arm = {"pid": pid, "method": method, "path": re.compile(path, re.IGNORECASE), "nth": nth,
                         "seen": 0, "after": after_commit, "label": label, "action": action}

    def disarm(self) -> None:
        with self._lock:
            self._arm = None

    def _take(self, scope: dict) -> dict | None:
        """The armed trigger if this request fires it (then disarmed)."""
        path = scope.get("path", "")
        if path.startswith("/_sandbox"):
            return None
        with self._lock:
            arm = self._arm
            if arm is None:
                return None
            if arm["method"] and arm["method"] != scope.get("method"):
                return None
            if not arm["path"].search(path):
                return None
            arm["seen"] += 1
            if arm["seen"] < arm["nth"]:
                return None
            self._arm = None
            return arm

    def _kill(self, arm: dict, scope: dict) -> None:
        if arm["action"] is not None:
            arm["action"]()
            return
        try:
            os.kill(arm["pid"], signal.SIGKILL)
            self.fired.append(f"{arm['label']} #{arm['nth']} {'after commit' if arm['after'] else 'before'}: "
                              f"{scope.get('method')} {scope.get('path')}")
        except ProcessLookupError:
            pass

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        arm = self._take(scope) if scope.get("type") == "http" else None
        if arm is None:
            await self.inner(scope, receive, send)
            return
        if not arm["after"]:
            # The client dies with its request in the air; the sandbox never acts on it.
            self._kill(arm, scope)
            if arm["action"] is None:
                return
            await self.inner(scope, receive, send)
            return
        try:
            await self.inner(scope, receive, send)
        finally:
            self._kill(arm, scope)


# ---------------------------------------------------------------- the sandbox, over its admin API


class SandboxAdmin:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.http = httpx.Client(base_url=self.url + "/_sandbox", timeout=60)

    def state(self) -> dict:
        return self.http.get("/state").json()

    def stats(self) -> dict:
        return self.http.get("/stats").json()

    def reset_stats(self) -> dict:
        return self.http.post("/stats").json()

    def add_fault(self, **rule: Any) -> dict:
        r = self.http.post("/faults", json=rule)
        r.raise_for_status()
        return r.json()

    def faults(self) -> list[dict]:
        return self.http.get("/faults").json()

    def clear_faults(self) -> list[dict]:
        """Remove every fault rule; returns the rules as they were (with their fired counts)."""
        rules = self.faults()
        self.http.delete("/faults").raise_for_status()
        return rules

    def knobs(self, **values: Any) -> dict:
        return self.http.patch("/knobs", json=values).json()

    def close(self) -> None:
        self.http.close()


def storm_faults(seed: int, intensity: float = 1.0) -> list[dict]:
    """Lost replies (bill committed, reply dropped; a write-back committed, reply dropped), 429
    storms and 5xx on both services. Probabilistic with fixed seeds: reproducible per seed."""
    p = lambda x: min(1.0, x * intensity)  # noqa: E731
    return [
        # the bill is created, then the connection drops mid-reply (bill and batch paths): surely
        # the second such request, then at random (not scaled: it is the fault that matters most)
        {"kind": "lost", "service": "qbo", "method": "POST", "path": r"/(bill|batch|purchaseorder)$", "skip": 1, "times": 1},
        {"kind": "lost", "service": "qbo", "method": "POST", "path": r"/(bill|batch|purchaseorder)$", "probability": 0.3,
         "seed": seed},
        # externalPONumber is written, then the reply is lost
        {"kind": "lost", "service": "autotask", "method": "PATCH", "path": r"/PurchaseOrders$",
         "probability": p(0.15), "seed": seed + 1},
        # 429 storms: bursts of refusals on every QBO and Autotask route
        {"kind": "429", "service": "qbo", "probability": p(0.12), "seed": seed + 2},
        {"kind": "429", "service": "autotask", "probability": p(0.10), "seed": seed + 3},
        # storms proper: runs of consecutive 429s (the client's six attempts ride out four; the
        # last QBO one, of seven, outlasts them, so a scan stops and the next run resumes).
        # Below intensity 1 (the CI size) one short run per service: each costs seconds of backoff.
        *([{"kind": "429", "service": service, "skip": skip, "times": length}
           for service, skip, length in [("qbo", 40, 4), ("qbo", 150, 4), ("qbo", 300, 7),
                                         ("autotask", 30, 4), ("autotask", 120, 4), ("autotask", 260, 4)]]
          if intensity >= 1.0 else
          [{"kind": "429", "service": "qbo", "skip": 40, "times": 3},
           {"kind": "429", "service": "autotask", "skip": 30, "times": 3}]),
        # 5xx on both services
        {"kind": "503", "service": "qbo", "probability": p(0.05), "seed": seed + 4},
        {"kind": "500", "service": "qbo", "method": "POST", "path": r"/(bill|batch|purchaseorder)$", "probability": p(0.08),
         "seed": seed + 5},
        {"kind": "500", "service": "autotask", "probability": p(0.04), "seed": seed + 6},
        {"kind": "503", "service": "autotask", "probability": p(0.04), "seed": seed + 7},
    ]


# ---------------------------------------------------------------- the campaign


@dataclass
class CampaignConfig:
    n_pos: int = 60
    kills: int = 20
    seed: int = 1
    lines: tuple[int, int] = (1, 3)
    fault_intensity: float = 1.0
    latency_ms: float = 0.0
    limits_enabled: bool = True
    max_rounds: int = 0  # 0: kills * 4 + 10
    round_timeout_s: float = 60.0  # a daemon run that takes longer is killed and reported as hung
    clean_runs: int = 4  # at most this many clean runs to finish the work
    numbering: str = "quickbooks"  # po_number_source: QBO's sequence, or the Autotask PO number
    transfer_as: str = "bill"  # bill | purchase_order | purchase_order_then_bill (issue 18)
    snapshot: bool = True  # daemons run a copy of the code taken at the start (one version throughout)
    log: Callable[[str], None] = lambda text: None


@dataclass
class Verdict:
    pos: int = 0
    bills: int = 0  # bills that name one of our POs
    pos_without_bill: list[int] = field(default_factory=list)
    duplicates: dict[int, list[str]] = field(default_factory=dict)  # po id -> DocNumbers of its bills
    number_mismatch: dict[int, tuple[str, str]] = field(default_factory=dict)  # po -> (externalPONumber, DocNumber)
    wrong_content: dict[int, str] = field(default_factory=dict)
    shared_doc_numbers: dict[str, list[int]] = field(default_factory=dict)  # DocNumber used by several bills
    unknown_bills: list[str] = field(default_factory=list)  # bills naming a PO we did not seed
    journal_unfinished: list[str] = field(default_factory=list)  # "po 12: bill_requested (...)": not done
    # Records behind the truth: the PO holds its bill's number, the journal still shows an earlier
    # state (a crash between the write-back and the journal's last step). Harmless to the books,
    # but the record stays "unfinished" for ever.
    journal_stale: list[str] = field(default_factory=list)
    journal_missing: list[int] = field(default_factory=list)
    open_errors: list[str] = field(default_factory=list)
    # transfer_as purchase_order_then_bill: receipts billed twice or not at all, wrong quantities
    receipt_problems: list[str] = field(default_factory=list)
    receipt_bills: int = 0

    def problems(self, *, stale_ok: bool = False) -> list[str]:
        """What is wrong, in words (empty: exactly once held). `stale_ok` leaves out journal
        records that lag behind a PO already finished in both systems."""
        out = list(self.receipt_problems[:10])
        if self.pos_without_bill:
            out.append(f"{len(self.pos_without_bill)} POs without a bill: {self.pos_without_bill[:10]}")
        if self.duplicates:
            out.append(f"{len(self.duplicates)} POs with more than one bill: {dict(list(self.duplicates.items())[:10])}")
        if self.number_mismatch:
            out.append(f"{len(self.number_mismatch)} POs whose externalPONumber is not their bill's DocNumber: "
                       f"{dict(list(self.number_mismatch.items())[:10])}")
        if self.wrong_content:
            out.append(f"{len(self.wrong_content)} bills whose content is not their PO's: "
                       f"{dict(list(self.wrong_content.items())[:5])}")
        if self.shared_doc_numbers:
            out.append(f"{len(self.shared_doc_numbers)} DocNumbers used by more than one bill: "
                       f"{dict(list(self.shared_doc_numbers.items())[:10])}")
        if self.unknown_bills:
            out.append(f"bills naming a PO that does not exist: {self.unknown_bills[:10]}")
        if self.journal_unfinished:
            out.append(f"{len(self.journal_unfinished)} journal records left mid-way: {self.journal_unfinished[:10]}")
        if self.journal_stale and not stale_ok:
            out.append(f"{len(self.journal_stale)} journal records left behind a finished PO: {self.journal_stale[:10]}")
        if self.journal_missing:
            out.append(f"{len(self.journal_missing)} synced POs with no journal record: {self.journal_missing[:10]}")
        if self.open_errors:
            out.append(f"{len(self.open_errors)} error-log entries still open: {self.open_errors[:10]}")
        return out


def verify(admin: SandboxAdmin, data_dir: Path, specs: dict[int, PoSpec], transfer_as: str = "bill") -> Verdict:
    """Read both emulated systems and the data folder's journal and error log; say what is wrong.
    Under transfer_as purchase_order*, the PO's one document is its QBO purchase order (and no
    bill of ours may exist but receipt bills, checked by `_check_receipts`)."""
    state = admin.state()
    document = "Bill" if transfer_as == "bill" else "PurchaseOrder"
    bills = state["qbo"].get(document) or []
    pos = {int(p["id"]): p for p in state["autotask"]["entities"].get("PurchaseOrders", [])}
    v = Verdict(pos=len(specs))
    by_po: dict[int, list[dict]] = {}
    by_number: dict[str, list[int]] = {}
    for bill in bills:
        match = PO_REF.search(str(bill.get("PrivateNote") or ""))
        if match is None:
            continue  # a bill entered by hand (the seeded ones)
        po_id = int(match.group(1))
        if po_id not in specs:
            v.unknown_bills.append(f"bill {bill.get('Id')} -> PO {po_id}")
            continue
        by_po.setdefault(po_id, []).append(bill)
    for bill in bills:
        by_number.setdefault(str(bill.get("DocNumber") or ""), []).append(int(bill["Id"]) if str(bill.get("Id", "")).isdigit() else -1)
    v.bills = sum(len(b) for b in by_po.values())
    v.shared_doc_numbers = {n: ids for n, ids in by_number.items() if n and len(ids) > 1}
    for po_id, spec in sorted(specs.items()):
        found = by_po.get(po_id, [])
        if not found:
            v.pos_without_bill.append(po_id)
            continue
        if len(found) > 1:
            v.duplicates[po_id] = [str(b.get("DocNumber")) for b in found]
            continue
        bill = found[0]
        external = str(pos.get(po_id, {}).get("externalPONumber") or "")
        doc = str(bill.get("DocNumber") or "")
        if external != doc:
            v.number_mismatch[po_id] = (external, doc)
        total = money(Decimal(str(bill.get("TotalAmt", "0"))))
        lines = len([ln for ln in bill.get("Line") or [] if ln.get("DetailType") != "SubTotalLineDetail"])
        if total != spec.total or lines != spec.lines:
            v.wrong_content[po_id] = f"bill total {total} with {lines} lines, PO {spec.total} with {spec.lines}"
    if transfer_as == "purchase_order":
        ours = [b for b in state["qbo"].get("Bill") or [] if PO_REF.search(str(b.get("PrivateNote") or ""))]
        v.receipt_problems += [f"bill {b['Id']} made in purchase_order mode" for b in ours]
    elif transfer_as == "purchase_order_then_bill":
        v.receipt_problems += _check_receipts(state, specs)
        v.receipt_bills = sum(1 for b in state["qbo"].get("Bill") or [] if RECEIPTS_REF.search(str(b.get("PrivateNote") or "")))
    with Store.open(data_dir) as store:
        journal = {e.po_id: e for e in store.journal.all()}
        for po_id in sorted(specs):
            entry = journal.get(po_id)
            if entry is None:
                if po_id in by_po:
                    v.journal_missing.append(po_id)
                continue
            if entry.state.value != "written_back":
                ext = str(pos.get(po_id, {}).get("externalPONumber") or "")
                text = f"po {po_id}: {entry.state.value} (doc {entry.doc_number}, externalPONumber {ext!r})"
                bills_of_po = by_po.get(po_id, [])
                done = (len(bills_of_po) == 1 and ext and ext == str(entry.doc_number or "")
                        and ext == str(bills_of_po[0].get("DocNumber") or ""))
                (v.journal_stale if done else v.journal_unfinished).append(text)
        for entry in store.errors.open_errors():
            v.open_errors.append(f"log {entry.id} po {entry.po_id}: {entry.cause_code}")
    return v


@dataclass
class CampaignReport:
    config: CampaignConfig
    kills: int = 0
    kill_modes: Counter = field(default_factory=Counter)
    kills_mid_po: int = 0  # the daemon had reported a PO started and not finished
    rounds: int = 0
    completed_runs: int = 0  # storm runs that ended by themselves (scan done or stopped)
    hung_runs: int = 0
    storm_po_synced: int = 0
    storm_po_failed: Counter = field(default_factory=Counter)  # cause code -> n
    storm_scan_stopped: Counter = field(default_factory=Counter)
    injected: dict[str, dict[str, int]] = field(default_factory=dict)  # service -> kind -> n
    throttled: dict[str, int] = field(default_factory=dict)  # 429s the sandbox sent, per service
    unprovoked_429: dict[str, int] = field(default_factory=dict)  # 429s that were not injected
    clean_runs: list[dict] = field(default_factory=list)  # summaries of the clean runs
    retried: dict | None = None
    resumed_pos: int = 0  # PoSynced with resumed=True: an earlier attempt's bill was found and reused
    verdict: Verdict | None = None
    wall_s: float = 0.0
    server_kills: list[str] = field(default_factory=list)
    causes_seen: list[str] = field(default_factory=list)  # the first failures' words, for the report
    topped_up: int = 0  # POs added during the storm because the seeded ones were all done
    code_version: str = ""

    def figures(self) -> str:
        v = self.verdict or Verdict()
        lost = sum(s.get("lost", 0) for s in self.injected.values())
        n429 = sum(s.get("429", 0) for s in self.injected.values())
        n5xx = sum(n for s in self.injected.values() for k, n in s.items() if k.startswith("5"))
        per = lambda kind: ", ".join(f"{svc} {d.get(kind, 0)}" for svc, d in sorted(self.injected.items()))  # noqa: E731
        dup_bills = sum(len(b) - 1 for b in v.duplicates.values())
        lines = [
            f"exactly-once campaign: {v.pos} POs ({self.config.n_pos} seeded, {self.topped_up} added during "
            f"the storm), seed {self.config.seed}, fault intensity {self.config.fault_intensity}, "
            f"numbering {self.config.numbering}; code {self.code_version}",
            f"  kills (SIGKILL):         {self.kills} in {self.rounds} storm rounds "
            f"({', '.join(f'{k} {n}' for k, n in sorted(self.kill_modes.items()))}); {self.kills_mid_po} with a PO in flight",
            f"  storm runs ending alone: {self.completed_runs} (hung and killed: {self.hung_runs})",
            f"  lost replies injected:   {lost} ({per('lost')})",
            f"  429s injected:           {n429} ({per('429')})",
            f"  5xx injected:            {n5xx} (qbo {sum(n for k, n in self.injected.get('qbo', {}).items() if k.startswith('5'))}, "
            f"autotask {sum(n for k, n in self.injected.get('autotask', {}).items() if k.startswith('5'))})",
            f"  429s not injected:       {sum(self.unprovoked_429.values())} {self.unprovoked_429 or ''}".rstrip(),
            f"  during the storm:        {self.storm_po_synced} PO synced events, failed {dict(self.storm_po_failed) or 0}, "
            f"scans stopped {dict(self.storm_scan_stopped) or 0}",
            f"  retry --all-failed:      {self.retried if self.retried is not None else 'not needed'}",
            f"  clean runs:              {len(self.clean_runs)} "
            + "; ".join(f"exit {c.get('exit_code')} synced {c.get('synced')} failed {c.get('failed')}" for c in self.clean_runs),
            f"  resumed POs (bill found after a crash or lost reply): {self.resumed_pos}",
            f"  POs {v.pos}, bills {v.bills}, duplicate bills {dup_bills}, POs without a bill {len(v.pos_without_bill)}, "
            f"externalPONumber != DocNumber {len(v.number_mismatch)}, DocNumbers shared {len(v.shared_doc_numbers)}",
            (f"  receipt bills {v.receipt_bills}\n" if v.receipt_bills else "") +
            f"  journal left mid-way {len(v.journal_unfinished)} (behind a finished PO: {len(v.journal_stale)}), "
            f"open error-log entries {len(v.open_errors)}",
            f"  wall time {self.wall_s:.1f} s",
        ]
        return "\n".join(lines)


def top_up(admin: SandboxAdmin, specs: dict[int, PoSpec], rng: random.Random, n: int) -> None:
    """Add `n` more Submitted POs through the Autotask admin API (new work arriving), so a
    campaign whose daemons were quicker than planned still has POs to be killed on."""
    entities = admin.state()["autotask"]["entities"]
    vendors = [c["id"] for c in entities["Companies"] if c.get("companyType") == 7]
    products = [(p["id"], Decimal(str(p["unitCost"]))) for p in entities["Products"]]
    submitted = next(int(v["value"]) for v in admin.http.get("/autotask/picklists/PurchaseOrders/status").json()
                     if v["label"] == "Submitted")
    for _ in range(n):
        number = f"AT-{6000 + len(specs)}"
        r = admin.http.post("/autotask/entities/PurchaseOrders", json={
            "vendorID": rng.choice(vendors), "status": submitted, "createDateTime": utc_days_ago(0.05),
            "purchaseOrderNumber": number, "freight": 0.0, "shipToName": "Receiving",
            "shipToAddress1": "1 Main Street", "creatorResourceID": 29682885})
        r.raise_for_status()
        po_id = int(r.json()["id"])
        total = Decimal(0)
        lines = rng.sample(products, 2)
        for product_id, cost in lines:
            qty = rng.randint(1, 5)
            admin.http.post("/autotask/entities/PurchaseOrderItems", json={
                "orderID": po_id, "productID": product_id, "quantity": qty, "unitCost": float(cost),
                "inventoryLocationID": 1}).raise_for_status()
            total += money(qty * cost)
        specs[po_id] = PoSpec(po_id=po_id, number=number, total=money(total), lines=len(lines))


RECEIPTS_REF = re.compile(r"\(Autotask receipts ([0-9,]+)")


def receive_some(admin: SandboxAdmin, specs: dict[int, PoSpec], rng: random.Random, *, everything: bool = False) -> None:
    """Goods arrive: receiving records for some (or, `everything`, all) outstanding PO items,
    part of an item at a time, written through the Autotask admin API."""
    entities = admin.state()["autotask"]["entities"]
    got: dict[int, int] = {}
    for r in entities.get("PurchaseOrderItemReceiving", []):
        got[int(r["purchaseOrderItemID"])] = got.get(int(r["purchaseOrderItemID"]), 0) + int(r["quantityNowReceiving"])
    for item in entities.get("PurchaseOrderItems", []):
        if int(item["orderID"]) not in specs:
            continue
        left = int(item["quantity"]) - got.get(int(item["id"]), 0)
        if left <= 0 or (not everything and rng.random() > 0.3):
            continue
        qty = left if everything else rng.randint(1, left)
        admin.http.post("/autotask/entities/PurchaseOrderItemReceiving", json={
            "purchaseOrderItemID": int(item["id"]), "quantityNowReceiving": qty,
            "quantityPreviouslyReceived": got.get(int(item["id"]), 0), "quantityBackOrdered": left - qty,
            "receiveDate": utc_days_ago(0), "receivedByResourceID": 29682885}).raise_for_status()


def _check_receipts(state: dict, specs: dict[int, PoSpec]) -> list[str]:
    """Every receiving record of our POs is on exactly one bill, each bill's quantities are its
    receipts', and every bill links to its PO's purchase order."""
    entities = state["autotask"]["entities"]
    items = {int(i["id"]): i for i in entities.get("PurchaseOrderItems", []) if int(i["orderID"]) in specs}
    receipts = {int(r["id"]): r for r in entities.get("PurchaseOrderItemReceiving", [])
                if int(r["purchaseOrderItemID"]) in items}
    qpo_of = {int(m.group(1)): str(p["Id"]) for p in state["qbo"].get("PurchaseOrder") or []
              for m in [PO_REF.search(str(p.get("PrivateNote") or ""))] if m}
    problems: list[str] = []
    billed: dict[int, list[str]] = {}
    for bill in state["qbo"].get("Bill") or []:
        m = PO_REF.search(str(bill.get("PrivateNote") or ""))
        if m is None or int(m.group(1)) not in specs:
            continue
        tag = RECEIPTS_REF.search(str(bill.get("PrivateNote") or ""))
        if tag is None:
            problems.append(f"bill {bill['Id']} of PO {m.group(1)} names no receipts")
            continue
        ids = [int(i) for i in tag.group(1).split(",")]
        for rid in ids:
            billed.setdefault(rid, []).append(str(bill["Id"]))
        links = {ln["LinkedTxn"][0]["TxnId"] for ln in bill.get("Line") or [] if ln.get("LinkedTxn")}
        if links != {qpo_of.get(int(m.group(1)))}:
            problems.append(f"bill {bill['Id']} links {sorted(links)}, not PO {m.group(1)}'s purchase order")
        want: dict[str, int] = {}
        for rid in ids:
            r = receipts.get(rid)
            if r is not None:
                want[str(items[int(r["purchaseOrderItemID"])]["id"])] = want.get(
                    str(items[int(r["purchaseOrderItemID"])]["id"]), 0) + int(r["quantityNowReceiving"])
        item_qty = sum(ln["ItemBasedExpenseLineDetail"]["Qty"] for ln in bill.get("Line") or []
                       if ln["ItemBasedExpenseLineDetail"]["ItemRef"].get("name") != "Freight")
        if item_qty != sum(want.values()):
            problems.append(f"bill {bill['Id']}: {item_qty} units billed for {sum(want.values())} received")
    for rid, bills in billed.items():
        if len(bills) > 1:
            problems.append(f"receipt {rid} billed {len(bills)} times: bills {bills}")
    missing = sorted(set(receipts) - set(billed))
    if missing:
        problems.append(f"{len(missing)} receipts never billed: {missing[:10]}")
    open_pos = [p["DocNumber"] for p in state["qbo"].get("PurchaseOrder") or [] if p.get("POStatus") != "Closed"
                and PO_REF.search(str(p.get("PrivateNote") or ""))]
    if open_pos:
        problems.append(f"{len(open_pos)} purchase orders still open with everything received: {open_pos[:10]}")
    return problems


def refuse_write_backs(admin: SandboxAdmin, po_id: int, refuse: bool = True) -> None:
    """Make Autotask refuse (or accept again) every update of a PO for a business reason, as a
    real tenant does when a required field is empty: "Missing required field(s): shipToName."
    A refusal, not a transient fault, so the client does not repeat it."""
    admin.http.patch(f"/autotask/entities/PurchaseOrders/{po_id}",
                     json={"shipToName": "" if refuse else "Receiving"}).raise_for_status()


def _remaining(admin: SandboxAdmin, specs: dict[int, PoSpec]) -> int:
    pos = admin.state()["autotask"]["entities"].get("PurchaseOrders", [])
    return sum(1 for p in pos if int(p["id"]) in specs and not str(p.get("externalPONumber") or "").strip())


def _server_trigger(rng: random.Random, per_run: int) -> dict:
    """A random request to die on: which kind, which occurrence, before or after the commit."""
    kind = rng.choices(["bill", "writeback", "qbo", "autotask", "any"], weights=[4, 3, 2, 2, 1])[0]
    if kind == "bill":
        return dict(method="POST", path=r"/v3/company/[^/]+/(bill|batch|purchaseorder)$", nth=rng.randint(1, per_run), label="bill create")
    if kind == "writeback":
        return dict(method="PATCH", path=r"/PurchaseOrders$", nth=rng.randint(1, per_run), label="PO write-back")
    if kind == "qbo":
        return dict(method=None, path=r"/v3/company/", nth=rng.randint(1, 6 + 3 * per_run), label="qbo request")
    if kind == "autotask":
        return dict(method=None, path=r"/atservicesrest/", nth=rng.randint(1, 6 + 2 * per_run), label="autotask request")
    return dict(method=None, path=r".", nth=rng.randint(1, 12 + 5 * per_run), label="any request")


def _in_flight(lines: list[dict]) -> bool:
    started = {r.get("po_id") for r in lines if r.get("event") == "po_started"}
    ended = {r.get("po_id") for r in lines if r.get("event") in ("po_synced", "po_failed")}
    return bool(started - ended)


def _collect(report: CampaignReport, daemon: Daemon) -> None:
    report.storm_po_synced += len(daemon.events("po_synced"))
    report.resumed_pos += sum(1 for r in daemon.events("po_synced") if r.get("resumed"))
    for r in daemon.events("po_failed"):
        report.storm_po_failed[r.get("cause_code", "?")] += 1
        if len(report.causes_seen) < 12:
            report.causes_seen.append(f"PO {r.get('po_id')} failed: {r.get('cause_code')}: {r.get('cause')}")
    for r in daemon.events("scan_stopped"):
        report.storm_scan_stopped[r.get("cause_code", "?")] += 1
        if len(report.causes_seen) < 12:
            report.causes_seen.append(f"scan stopped: {r.get('cause_code')}: {r.get('cause')}")


def run_storm_round(report: CampaignReport, rng: random.Random, data_dir: Path, switch: KillSwitch,
                    per_run: int, timeout: float, log_file: Path, code: Path | None) -> None:
    mode = rng.choices(["server", "event", "timer"], weights=[5, 3, 2])[0]
    daemon = Daemon(data_dir, log=log_file, events=log_file.with_name("daemon-events.jsonl"),
                    label=f"storm {report.rounds} ({mode})", code=code)
    if mode == "server":
        trigger = _server_trigger(rng, per_run)
        switch.arm(daemon.pid, after_commit=rng.random() < 0.7, **trigger)
    deadline = time.monotonic() + timeout
    # A daemon needs about a second to start and connect, then a few tenths per PO: the window
    # covers start-up (imports, token refresh, reading the POs) and the first POs alike.
    kill_at = time.monotonic() + rng.uniform(0.05, 1.5 + 0.4 * per_run) if mode == "timer" else None
    target_starts = rng.randint(1, per_run) if mode == "event" else None
    starts = 0
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                if daemon.kill():
                    report.hung_runs += 1
                break
            if kill_at is not None and now >= kill_at:
                if daemon.kill():
                    report.kills += 1
                    report.kill_modes[mode] += 1
                    report.kills_mid_po += _in_flight(daemon.lines)
                break
            wait = min(0.05, max(0.001, (kill_at or deadline) - now))
            try:
                line = daemon.next_line(timeout=wait)
            except queue.Empty:
                continue
            if line is None:  # output closed: it exited (by itself or by the server's kill)
                break
            if target_starts is not None and line.get("event") == "po_started":
                starts += 1
                if starts >= target_starts:
                    kill_at = time.monotonic() + rng.uniform(0.0, 0.3)
                    target_starts = None
        code = daemon.wait(30)
    finally:
        switch.disarm()
        daemon.kill()
    if daemon.hung:  # still running 30 s after its output ended
        report.hung_runs += 1
    elif mode == "server" and code == -signal.SIGKILL and not daemon.killed:
        report.kills += 1
        report.kill_modes["server"] += 1
        report.kills_mid_po += _in_flight(daemon.lines)
    elif not daemon.killed and code != -signal.SIGKILL:
        report.completed_runs += 1
    _collect(report, daemon)


def run_campaign(cfg: CampaignConfig, workdir: Path) -> CampaignReport:
    """Seed, storm with kills, clean up, verify. Never raises for what it finds: read
    `report.verdict.problems()`."""
    started = time.monotonic()
    rng = random.Random(cfg.seed)
    seed, specs = campaign_seed(cfg.n_pos, rng, lines=cfg.lines)
    sandbox = Sandbox(seed)
    sandbox.knobs.latency_ms = cfg.latency_ms
    sandbox.knobs.limits_enabled = cfg.limits_enabled
    switch = KillSwitch(sandbox.app)
    sandbox.app = switch  # type: ignore[assignment]
    server = SandboxServer(sandbox).start()
    admin = SandboxAdmin(server.url)
    report = CampaignReport(config=cfg)
    data_dir = workdir / "data"
    log_file = workdir / "daemon-stderr.log"
    code = snapshot_code(workdir / "code") if cfg.snapshot else None
    report.code_version = code_version()
    try:
        connect_folder(data_dir, server, po_number_source=cfg.numbering, transfer_as=cfg.transfer_as)
        for rule in storm_faults(cfg.seed * 1000, cfg.fault_intensity):
            admin.add_fault(**rule)
        max_rounds = cfg.max_rounds or cfg.kills * 4 + 10
        while report.kills < cfg.kills and report.rounds < max_rounds:
            remaining = _remaining(admin, specs)
            if remaining == 0:
                added = max(5, cfg.kills - report.kills)
                cfg.log(f"all POs done after {report.kills} kills: {added} more arrive")
                top_up(admin, specs, rng, added)
                report.topped_up += added
                remaining = added
            per_run = max(1, round(remaining / max(1, cfg.kills - report.kills) * 0.8))
            report.rounds += 1
            t0 = time.monotonic()
            if cfg.transfer_as == "purchase_order_then_bill":
                receive_some(admin, specs, rng)  # goods arrive between the runs
            run_storm_round(report, rng, data_dir, switch, per_run, cfg.round_timeout_s, log_file, code)
            cfg.log(f"round {report.rounds}: {time.monotonic() - t0:.1f} s, kills {report.kills}, "
                    f"POs left {remaining}")
        if cfg.transfer_as == "purchase_order_then_bill":
            receive_some(admin, specs, rng, everything=True)  # the last goods arrive before the clean runs
        report.server_kills = list(switch.fired)
        admin.clear_faults()
        # Clean: faults off. Failed POs are retried (as an operator would), then scans finish.
        events = workdir / "daemon-events.jsonl"
        retry = Daemon(data_dir, "retry", "--all-failed", "--json", log=log_file, events=events, label="retry",
                       code=code)
        code = retry.wait(cfg.round_timeout_s * 4)
        if retry.events("retry_started"):
            report.retried = {"exit_code": code, "retried": len(retry.events("retry_started")),
                              "ok": sum(1 for r in retry.events("retry_finished") if r.get("ok"))}
        report.resumed_pos += sum(1 for r in retry.events("po_synced") if r.get("resumed"))
        for n in range(cfg.clean_runs):
            daemon = Daemon(data_dir, log=log_file, events=events, label=f"clean {n + 1}", code=code)
            code = daemon.wait(cfg.round_timeout_s * 4)
            record = dict(daemon.summary() or {"exit_code": code})
            record.setdefault("exit_code", code)
            report.clean_runs.append(record)
            report.resumed_pos += sum(1 for r in daemon.events("po_synced") if r.get("resumed"))
            if code == 0 and _remaining(admin, specs) == 0:
                break
        stats = admin.stats()
        for service in ("qbo", "autotask", "oauth"):
            report.injected[service] = dict(stats[service]["injected"])
        for service in ("qbo", "autotask"):
            report.throttled[service] = int(stats[service]["throttled"])
            injected_429 = report.injected.get(service, {}).get("429", 0)
            extra = report.throttled[service] - injected_429
            if extra > 0:
                report.unprovoked_429[service] = extra
        report.verdict = verify(admin, data_dir, specs, cfg.transfer_as)
        if report.verdict.problems(stale_ok=True):  # evidence for the post-mortem (kept with --keep)
            (workdir / "sandbox-state.json").write_text(json.dumps(admin.state(), indent=1, default=str))
            (workdir / "sandbox-stats.json").write_text(json.dumps(admin.stats(), indent=1))
    finally:
        admin.close()
        server.stop()
        report.wall_s = time.monotonic() - started
    return report
