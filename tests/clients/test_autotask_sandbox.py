"""The Autotask client against the Autotask emulator, over real loopback sockets."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest

from client_helpers import fast_retry
from sync.clients.autotask import AutotaskClient
from sync.clients.autotask_filters import F, and_, or_
from sync.clients.http import RetryPolicy
from sync.clients.errors import AutotaskAuthError, AutotaskValidationError, AutotaskZoneError
from sync.sandbox.server import Sandbox, SandboxServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox("empty")) as server:
        yield server


def admin(server: SandboxServer, method: str, path: str, body=None):
    resp = httpx.request(method, server.url + path, json=body, timeout=10)
    assert resp.status_code < 300, resp.text
    return resp.json()


def connect(server: SandboxServer, **kw) -> AutotaskClient:
    creds = server.sandbox.credentials(server.url)["autotask"]
    kw.setdefault("retry", fast_retry(8))
    return AutotaskClient(creds["username"], creds["integration_code"], kw.pop("secret", creds["secret"]),
                          zone_lookup_base=server.url, **kw)


def autotask_stats(server: SandboxServer) -> dict:
    return admin(server, "GET", "/_sandbox/stats")["autotask"]


async def test_every_call_against_the_emulator(sandbox: SandboxServer) -> None:
    async with connect(sandbox) as at:
        zone = await at.zone()
        assert zone.url.startswith(sandbox.url)

        local = await at.get("Companies", 0)
        assert local is not None and local["id"] == 0
        assert await at.get("Companies", 987654) is None

        vendor_id = await at.create("Companies", {"companyName": "Acme Supply", "companyType": 7,
                                                  "phone": "555-0101", "ownerResourceID": 29682885})
        assert vendor_id > 0
        assert await at.update("Companies", vendor_id, {"phone": "555-0199"}) == vendor_id
        vendor = await at.get("Companies", vendor_id)
        assert vendor["phone"] == "555-0199" and vendor["companyName"] == "Acme Supply"

        found = await at.query("Companies", [F.eq("companyType", 7), or_(F.begins_with("companyName", "acme"),
                                                                          F.eq("id", -1))],
                               include_fields=["companyName"])
        assert [c["id"] for c in found] == [vendor_id]
        assert await at.count("Companies", F.eq("companyType", 7)) == 1
        assert await at.count("Companies", and_(F.exist("id"), F.not_in("id", [0]))) == 1

        status = await at.picklist("PurchaseOrders", "status")
        submitted, new = status.value_for("Submitted"), status.value_for("new")
        po_id = await at.create("PurchaseOrders", {"vendorID": vendor_id, "status": new, "shipToName": "Receiving",
                                                   "shipToAddress1": "1 Main Street"})
        product_id = await at.create("Products", {"name": "Widget", "unitCost": 2.5, "isActive": True})
        item_id = await at.create_child("PurchaseOrders", po_id, "Items",
                                        {"productID": product_id, "quantity": 3, "unitCost": 2.5,
                                         "inventoryLocationID": 1})
        assert await at.update_child("PurchaseOrders", po_id, "Items", item_id, {"quantity": 4}) == item_id
        items = await at.query("PurchaseOrderItems", F.eq("orderID", po_id))
        assert [(i["id"], i["quantity"]) for i in items] == [(item_id, 4)]
        assert [i["id"] for i in await at.children("PurchaseOrders", po_id, "Items")] == [item_id]

        await at.update("PurchaseOrders", po_id, {"status": submitted})
        await at.update("PurchaseOrders", po_id, {"externalPONumber": "1001"})
        po = await at.get("PurchaseOrders", po_id)
        assert po["status"] == submitted and po["externalPONumber"] == "1001"

        todo_id = await at.create_child("Companies", 0, "ToDos", {
            "actionType": 3, "assignedToResourceID": 29682886, "activityDescription": "PO failed",
            "startDateTime": "2026-01-01T09:00:00Z", "endDateTime": "2026-01-01T09:30:00Z"})
        todos = await at.query("CompanyToDos", F.eq("companyID", 0))
        assert [t["id"] for t in todos] == [todo_id]

        # The emulator's business rule: items only on a New PO; the API's own message comes through.
        with pytest.raises(AutotaskValidationError) as info:
            await at.create_child("PurchaseOrders", po_id, "Items",
                                  {"productID": product_id, "quantity": 1, "unitCost": 1, "inventoryLocationID": 1})
        assert info.value.errors and info.value.status == 500

        threshold = await at.read_threshold()
        assert threshold.threshold == 10000 and threshold.current > 0
        assert at.calls >= 20


async def test_paging_across_many_pages(sandbox: SandboxServer) -> None:
    for i in range(23):
        admin(sandbox, "POST", "/_sandbox/autotask/entities/Companies",
              {"companyName": f"Vendor {i:02d}", "companyType": 7, "phone": "1", "ownerResourceID": 29682885,
               "isActive": True})
    async with connect(sandbox) as at:
        names = [c["companyName"] async for c in at.query_iter("Companies", F.eq("companyType", 7), page_size=5)]
    assert sorted(names) == [f"Vendor {i:02d}" for i in range(23)]
    routes = autotask_stats(sandbox)["routes"]
    assert sum(n for r, n in routes.items() if "query/next" in r) == 4  # 5 pages of ≤5


async def test_wrong_secret_is_an_auth_error_and_unknown_user_a_zone_error(sandbox: SandboxServer) -> None:
    async with connect(sandbox, secret="wrong-secret-123") as at:
        with pytest.raises(AutotaskAuthError) as info:
            await at.get("Companies", 0)
        assert "wrong-secret-123" not in str(info.value)
    async with AutotaskClient("nobody@nowhere.example", "X", "Y", zone_lookup_base=sandbox.url,
                              retry=fast_retry(2)) as at:
        with pytest.raises(AutotaskZoneError):
            await at.zone()


async def _burst(at: AutotaskClient, n: int) -> list[dict | None]:
    results: list[dict | None] = [None] * n

    async def one(i: int) -> None:
        results[i] = await at.get("Companies", 0)

    async with anyio.create_task_group() as tg:
        for i in range(n):
            tg.start_soon(one, i)
    return results


async def test_semaphore_keeps_three_in_flight_per_endpoint(sandbox: SandboxServer) -> None:
    admin(sandbox, "PATCH", "/_sandbox/knobs", {"latency_ms": 40})
    async with connect(sandbox) as at:
        await at.zone()
        admin(sandbox, "POST", "/_sandbox/stats")
        results = await _burst(at, 24)
    assert all(r is not None and r["id"] == 0 for r in results)
    stats = autotask_stats(sandbox)
    assert stats["throttled"] == 0
    assert max(stats["peak_concurrency"].values()) == 3


async def test_thread_limit_429s_are_absorbed_without_our_semaphore(sandbox: SandboxServer) -> None:
    admin(sandbox, "PATCH", "/_sandbox/knobs", {"latency_ms": 40})
    # Backoff on the scale of the latency, as in production (0.5 s base against real latency).
    patient = RetryPolicy(max_attempts=12, base_delay=0.04, max_delay=0.4)
    async with connect(sandbox, max_in_flight_per_endpoint=12, retry=patient) as at:
        await at.zone()
        admin(sandbox, "POST", "/_sandbox/stats")
        results = await _burst(at, 24)
    assert all(r is not None and r["id"] == 0 for r in results)
    assert autotask_stats(sandbox)["throttled"] > 0  # the emulator did refuse; we did not fail


async def test_injected_429s_and_503s_are_absorbed(sandbox: SandboxServer) -> None:
    admin(sandbox, "POST", "/_sandbox/faults", {"kind": "429", "service": "autotask", "every": 3})
    admin(sandbox, "POST", "/_sandbox/faults", {"kind": "503", "service": "autotask", "every": 5, "method": "GET"})
    async with connect(sandbox) as at:
        for _ in range(12):
            assert (await at.get("Companies", 0))["id"] == 0
        assert len(await at.query("Resources")) == 2
    injected = autotask_stats(sandbox)["injected"]
    assert injected.get("429", 0) >= 3 and injected.get("503", 0) >= 1


async def test_client_slows_down_when_the_tenant_budget_runs_low(sandbox: SandboxServer) -> None:
    admin(sandbox, "PUT", "/_sandbox/autotask/usage", {"count": 9500})
    async with connect(sandbox) as at:
        info = await at.read_threshold()
        assert info.usage >= 0.95
        assert at.pace_interval == pytest.approx(3600 / info.remaining)
    admin(sandbox, "PUT", "/_sandbox/autotask/usage", {"count": 10})
    async with connect(sandbox) as at:
        await at.read_threshold()
        assert at.pace_interval == 0
