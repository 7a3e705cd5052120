"""One scan of the demo company under the demo settings does what the demo promises: most POs
sync, each planted cause fails its PO with a to-do, and a fix in QBO followed by a retry works."""

from __future__ import annotations

import httpx
import pytest

from sync.clients.autotask import AutotaskClient
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient
from sync.engine import Engine
from sync.sandbox.demo import DEMO_SETTINGS
from sync.sandbox.server import Sandbox, SandboxServer
from sync.settings import Settings
from sync.store import Store


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def demo(tmp_path):
    with SandboxServer(Sandbox("demo")) as server:
        creds = server.sandbox.credentials(server.url)
        store = Store.open(tmp_path)
        store.settings.save(Settings.from_values(DEMO_SETTINGS))
        a, o = creds["autotask"], creds["oauth"]
        at = AutotaskClient(a["username"], a["integration_code"], a["secret"], zone_lookup_base=server.url)
        oauth = IntuitOAuth(o["client_id"], o["client_secret"], endpoints=IntuitEndpoints.local(server.url),
                            tokens=TokenSet.from_refresh_token(o["refresh_token"], o["realm_id"]))
        qbo = QboClient(oauth, o["realm_id"], api_url=server.url)
        try:
            yield server, store, Engine(store, at, qbo)
        finally:
            await at.aclose()
            await qbo.aclose()
            await oauth.aclose()
            store.close()


def _state(server) -> dict:
    return httpx.get(server.url + "/_sandbox/state", timeout=10).json()


@pytest.mark.anyio
async def test_demo_scan_syncs_most_and_fails_each_planted_cause_then_a_fix_and_retry_succeeds(demo):
    server, store, engine = demo
    summary = await engine.scan_once()

    assert summary.stopped is None
    assert summary.synced == 23
    assert summary.failed == 4
    causes = sorted(o.cause.code for o in summary.outcomes if not o.ok)
    assert causes == ["currency_mismatch", "item_not_purchasable",
                      "name_clash_customer_is_vendor", "name_clash_vendor_is_customer"]

    state = _state(server)
    pos = state["autotask"]["entities"]["PurchaseOrders"]
    marked = [p for p in pos if p.get("externalPONumber") == "ERROR"]
    assert len(marked) == 1 + 4, "the PO marked before, and the four that failed now"
    todos = state["autotask"]["entities"].get("CompanyToDos", [])
    assert len(todos) == 4 and all(t["companyID"] == 0 for t in todos)
    numbers = sorted(int(b["DocNumber"]) for b in state["qbo"]["Bill"])
    assert numbers == list(range(1001, 1013 + 23)), "QBO's own sequence continues after 1012"
    euro = next(v for v in state["qbo"]["Vendor"] if v["DisplayName"].startswith("M\u00fcller"))
    assert euro["CurrencyRef"]["value"] == "EUR", "a new vendor is created in its Autotask currency"

    # The demo's fix: give the retainer item an expense account in QBO, then retry its entry.
    retainer = next(i for i in state["qbo"]["Item"] if i["Name"] == "Managed Services Retainer")
    r = httpx.patch(f"{server.url}/_sandbox/qbo/entities/Item/{retainer['Id']}",
                    json={"ExpenseAccountRef": {"value": "62"}}, timeout=10)
    assert r.status_code < 300, r.text
    entry = next(e for e in store.errors.open_errors(100, 0) if e.cause_code == "item_not_purchasable")
    outcome = await engine.retry(entry.id)
    assert outcome.ok, outcome
    assert store.errors.get(entry.id).status.value == "resolved"
    po = next(p for p in _state(server)["autotask"]["entities"]["PurchaseOrders"] if p["id"] == entry.po_id)
    assert po["externalPONumber"] == outcome.doc_number


@pytest.mark.anyio
async def test_demo_under_purchase_order_then_bill_bills_the_goods_already_received(demo):
    """The demo's submitted POs that were partly or fully received before the first scan get
    their QBO purchase order and, in the same scan, bills for what arrived (issue 18)."""
    server, store, engine = demo
    store.settings.save(Settings.from_values({**DEMO_SETTINGS, "transfer_as": "purchase_order_then_bill"}))
    summary = await engine.scan_once()

    assert summary.stopped is None and (summary.synced, summary.failed) == (23, 4)  # the same rules, every cause
    state = _state(server)
    ours = [p for p in state["qbo"]["PurchaseOrder"] if "(Autotask PO id " in (p.get("PrivateNote") or "")]
    assert len(ours) == 23
    receipt_bills = [b for b in state["qbo"]["Bill"] if "(Autotask receipts " in (b.get("PrivateNote") or "")]
    assert len(receipt_bills) == 3  # the three submitted POs with goods in: one fully, two partly
    status = {p["Id"]: p["POStatus"] for p in ours}
    linked = [{l["LinkedTxn"][0]["TxnId"] for l in b["Line"]} for b in receipt_bills]
    assert all(len(ids) == 1 for ids in linked)
    assert sorted(status[next(iter(ids))] for ids in linked) == ["Closed", "Open", "Open"]
