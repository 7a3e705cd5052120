"""The QBO client and Intuit OAuth against the QBO and OAuth emulators, over real sockets."""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import httpx
import pytest

from client_helpers import fast_retry
from sync.clients.errors import OAuthError, QboValidationError
from sync.clients.http import RetryPolicy
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import BatchItem, QboClient
from sync.clients.qbo_query import Select

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator:
    from sync.sandbox.server import Sandbox, SandboxServer

    with SandboxServer(Sandbox("empty")) as server:
        yield server


def admin(server, method: str, path: str, body=None):
    resp = httpx.request(method, server.url + path, json=body, timeout=10)
    assert resp.status_code < 300, resp.text
    return resp.json()


class Store:
    """What the secrets store does for the clients: keep the latest TokenSet."""

    def __init__(self, tokens: TokenSet) -> None:
        self.tokens = tokens
        self.saves = 0

    def save(self, tokens: TokenSet) -> None:
        self.tokens = tokens
        self.saves += 1


def seeded(server) -> tuple[dict, Store]:
    creds = server.sandbox.credentials(server.url)
    oauth = creds["oauth"]
    return creds, Store(TokenSet.from_refresh_token(oauth["refresh_token"], oauth["realm_id"]))


def connect(server, store: Store, **kw) -> QboClient:
    creds = server.sandbox.credentials(server.url)
    o = creds["oauth"]
    oauth = IntuitOAuth(o["client_id"], o["client_secret"], tokens=store.tokens, on_tokens=store.save,
                        endpoints=IntuitEndpoints(o["auth_url"], o["token_url"], o["revoke_url"]))
    kw.setdefault("retry", fast_retry())
    return QboClient(oauth, api_url=creds["qbo"]["api_url"], **kw)


def qbo_stats(server) -> dict:
    return admin(server, "GET", "/_sandbox/stats")["qbo"]


async def test_every_call_against_the_emulator(sandbox) -> None:
    _, store = seeded(sandbox)
    async with connect(sandbox, store) as qbo:
        prefs = await qbo.preferences()
        assert "CurrencyPrefs" in prefs
        assert store.saves == 1 and store.tokens.access_token  # first call refreshed and persisted
        info = await qbo.company_info()
        assert info.get("CompanyName")

        vendor = await qbo.create("Vendor", {"DisplayName": "O'Brien \\ Sons"})
        assert vendor["Id"] and vendor["SyncToken"] == "0"
        again = await qbo.get("Vendor", vendor["Id"])
        assert again is not None and again["DisplayName"] == "O'Brien \\ Sons"
        assert await qbo.get("Vendor", "999999") is None
        found = await qbo.find_one(Select("Vendor").eq("DisplayName", "O'Brien \\ Sons"))
        assert found is not None and found["Id"] == vendor["Id"]
        assert await qbo.count(Select("Vendor")) == 1

        updated = await qbo.update("Vendor", {"Id": vendor["Id"], "SyncToken": vendor["SyncToken"], "sparse": True,
                                              "CompanyName": "OB"})
        assert updated["SyncToken"] == "1"

        with pytest.raises(QboValidationError) as dup:
            await qbo.create("Customer", {"DisplayName": "o'brien \\ sons"})
        assert dup.value.code == "6240" and dup.value.api_message

        with pytest.raises(QboValidationError) as bad:
            await qbo.query("SELECT * FROM Vendor WHERE DisplayName = 'unterminated")
        assert bad.value.code.startswith("400")


async def test_requestid_replay_returns_the_original_create(sandbox) -> None:
    _, store = seeded(sandbox)
    async with connect(sandbox, store) as qbo:
        first = await qbo.create("Vendor", {"DisplayName": "Replay Co"}, requestid="po-1-vendor")
        second = await qbo.create("Vendor", {"DisplayName": "Replay Co"}, requestid="po-1-vendor")
        assert first["Id"] == second["Id"]
        assert await qbo.count(Select("Vendor").eq("DisplayName", "Replay Co")) == 1


async def test_lost_reply_on_a_create_is_retried_safely_with_its_requestid(sandbox) -> None:
    _, store = seeded(sandbox)
    admin(sandbox, "POST", "/_sandbox/faults", {"kind": "lost", "service": "qbo", "method": "POST",
                                                 "path": "/vendor", "times": 1})
    async with connect(sandbox, store) as qbo:
        await qbo.preferences()
        vendor = await qbo.create("Vendor", {"DisplayName": "Lost Reply Ltd"})
        assert await qbo.count(Select("Vendor").eq("DisplayName", "Lost Reply Ltd")) == 1
        assert vendor["DisplayName"] == "Lost Reply Ltd"
    assert qbo_stats(sandbox)["injected"].get("lost") == 1


async def test_paging_and_batch_with_per_item_faults(sandbox) -> None:
    _, store = seeded(sandbox)
    async with connect(sandbox, store) as qbo:
        items = [BatchItem.create("Vendor", {"DisplayName": f"Batch Vendor {i:02d}"}) for i in range(23)]
        items.append(BatchItem.create("Vendor", {"DisplayName": "Batch Vendor 00"}, bid="dup"))
        items.append(BatchItem.select(Select("Vendor").eq("DisplayName", "Batch Vendor 00"), bid="q"))
        results = await qbo.batch(items)
        assert all(r.ok and r.entity_name == "Vendor" for r in results[:23])
        assert results[23].bid == "dup" and not results[23].ok and results[23].fault.code == "6240"
        assert results[24].ok and results[24].query is not None
        names = [v["DisplayName"] async for v in qbo.query_iter(Select("Vendor").order("DisplayName"), page_size=5)]
        assert names == [f"Batch Vendor {i:02d}" for i in range(23)]
    routes = qbo_stats(sandbox)["routes"]
    assert sum(n for r, n in routes.items() if r.endswith("/batch")) == 3  # 25 items in chunks of 10


async def test_token_expiring_mid_run_is_refreshed_transparently(sandbox) -> None:
    _, store = seeded(sandbox)
    async with connect(sandbox, store) as qbo:
        await qbo.preferences()
        saves = store.saves
        admin(sandbox, "POST", "/_sandbox/oauth/expire-access-tokens")
        assert await qbo.company_info()  # 401 → one refresh → retried
        assert qbo.oauth.refreshes == 2 and store.saves == saves + 1

        admin(sandbox, "PATCH", "/_sandbox/oauth/settings", {"access_ttl": 1})
        qbo.oauth.refresh_margin = 0
        await qbo.oauth.refresh()
        await anyio.sleep(1.2)
        assert await qbo.preferences()  # expired by the clock: refreshed before or after the 401


async def test_rotated_refresh_token_with_zero_grace_survives_a_restart(sandbox) -> None:
    admin(sandbox, "PATCH", "/_sandbox/oauth/settings", {"grace_seconds": 0})
    _, store = seeded(sandbox)
    seed_rt = store.tokens.refresh_token
    async with connect(sandbox, store) as qbo:  # first run: refresh rotates the token
        await qbo.preferences()
    assert store.tokens.refresh_token != seed_rt

    # The old refresh token is dead at once: only the persisted one can work.
    stale = Store(TokenSet.from_refresh_token(seed_rt, store.tokens.realm_id))
    async with connect(sandbox, stale) as qbo:
        with pytest.raises(OAuthError) as info:
            await qbo.preferences()
        assert info.value.error == "invalid_grant"

    # Second run from what was persisted, forced to refresh again.
    admin(sandbox, "POST", "/_sandbox/oauth/expire-access-tokens")
    second = Store(TokenSet.from_dict(store.tokens.to_dict()))
    async with connect(sandbox, second) as qbo:
        assert await qbo.company_info()
        assert second.saves == 1
    async with connect(sandbox, Store(second.tokens)) as qbo:  # and a third, on the rotated token
        assert await qbo.preferences()


async def test_two_processes_on_one_folder_share_rotated_tokens(sandbox) -> None:
    """The daemon and a CLI command each hold tokens in memory; when one rotates the refresh
    token (zero grace), the other reads the saved one before refreshing instead of failing."""
    admin(sandbox, "PATCH", "/_sandbox/oauth/settings", {"grace_seconds": 0})
    _, store = seeded(sandbox)
    creds = sandbox.sandbox.credentials(sandbox.url)["oauth"]
    endpoints = IntuitEndpoints(creds["auth_url"], creds["token_url"], creds["revoke_url"])

    def client(load: bool) -> QboClient:
        oauth = IntuitOAuth(creds["client_id"], creds["client_secret"], tokens=store.tokens, on_tokens=store.save,
                            load_tokens=(lambda: store.tokens) if load else None, endpoints=endpoints)
        return QboClient(oauth, api_url=sandbox.url, retry=fast_retry())

    daemon, daemon_unaware = client(load=True), client(load=False)
    async with client(load=True) as cli:
        await cli.preferences()  # the CLI command rotates the refresh token
    admin(sandbox, "POST", "/_sandbox/oauth/expire-access-tokens")
    async with daemon:
        assert await daemon.company_info()  # refreshed with the token the CLI saved
    async with daemon_unaware:
        with pytest.raises(OAuthError) as info:
            await daemon_unaware.preferences()
        assert info.value.error == "invalid_grant", "without reading the saved tokens it would fail"


async def test_revoke_ends_the_connection(sandbox) -> None:
    _, store = seeded(sandbox)
    async with connect(sandbox, store) as qbo:
        await qbo.preferences()
        rt = store.tokens.refresh_token
        await qbo.oauth.revoke()
    async with connect(sandbox, Store(TokenSet.from_refresh_token(rt, store.tokens.realm_id))) as qbo:
        with pytest.raises(OAuthError):
            await qbo.preferences()


async def test_a_burst_never_exceeds_the_rate_limits(sandbox) -> None:
    _, store = seeded(sandbox)
    async with connect(sandbox, store) as qbo:
        await qbo.preferences()
        admin(sandbox, "POST", "/_sandbox/stats")
        async with anyio.create_task_group() as tg:
            for _ in range(30):
                tg.start_soon(qbo.preferences)
    stats = qbo_stats(sandbox)
    assert stats["total"] == 30 and stats["throttled"] == 0, stats


async def test_without_pacing_the_same_burst_is_throttled_and_absorbed(sandbox) -> None:
    # Control for the test above: the emulator does enforce 10/s, and 429s are retried.
    _, store = seeded(sandbox)
    patient = RetryPolicy(max_attempts=12, base_delay=0.2, max_delay=1.0)
    async with connect(sandbox, store, per_second=1000, retry=patient) as qbo:
        await qbo.preferences()
        admin(sandbox, "POST", "/_sandbox/stats")
        async with anyio.create_task_group() as tg:
            for _ in range(15):
                tg.start_soon(qbo.preferences)
    assert qbo_stats(sandbox)["throttled"] > 0


async def test_injected_5xx_and_429_are_absorbed(sandbox) -> None:
    _, store = seeded(sandbox)
    admin(sandbox, "POST", "/_sandbox/faults", {"kind": "429", "service": "qbo", "every": 3})
    admin(sandbox, "POST", "/_sandbox/faults", {"kind": "503", "service": "qbo", "every": 4})
    async with connect(sandbox, store) as qbo:
        for i in range(5):
            await qbo.create("Vendor", {"DisplayName": f"Faulty {i}"})
        assert await qbo.count(Select("Vendor")) == 5  # no write repeated
    assert sum(qbo_stats(sandbox)["injected"].values()) >= 3


async def test_concurrent_401s_after_expiry_share_one_refresh(sandbox) -> None:
    _, store = seeded(sandbox)
    async with connect(sandbox, store) as qbo:
        await qbo.preferences()
        before = qbo.oauth.refreshes
        admin(sandbox, "POST", "/_sandbox/oauth/expire-access-tokens")
        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(qbo.company_info)
        assert qbo.oauth.refreshes == before + 1
