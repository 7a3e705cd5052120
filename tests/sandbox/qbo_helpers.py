"""Fixtures for the QBO and OAuth emulator tests: a sandbox over real sockets serving just these two
emulators (so these tests do not depend on the Autotask emulator), and an httpx client that
connects the way an app does (refresh token → access token → Bearer calls)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from sync.sandbox.oauth import OAuthEmulator, OAuthSeed, empty_oauth_seed
from sync.sandbox.qbo import QboEmulator, QboSeed, empty_qbo_seed
from sync.sandbox.qbo import seed as qs
from sync.sandbox.server import Sandbox, SandboxServer


class QboSandbox(Sandbox):
    """A Sandbox whose emulators are the OAuth and QBO ones built from the given seeds."""

    def __init__(self, qbo: QboSeed | None = None, oauth: OAuthSeed | None = None) -> None:
        self._qbo_seed = qbo or empty_qbo_seed()
        self._oauth_seed = oauth or empty_oauth_seed(self._qbo_seed.realm_id)
        super().__init__(seed="empty")

    def reset(self, seed: object) -> None:
        oauth = OAuthEmulator(self._oauth_seed, self)
        self.seed = "empty"
        self.emulators = {"oauth": oauth, "qbo": QboEmulator(self._qbo_seed, self, oauth)}
        self.faults.clear()
        self.stats.reset()

    @property
    def qbo(self) -> QboEmulator:
        return self.emulators["qbo"]  # type: ignore[return-value]

    @property
    def oauth(self) -> OAuthEmulator:
        return self.emulators["oauth"]  # type: ignore[return-value]


def rich_seed(multi_currency: bool = False, warn_duplicates: bool = False) -> QboSeed:
    """A company with something of everything: purchasable and sales-only items, an inactive vendor,
    and (with multi-currency) a CAD vendor with its CAD A/P account."""
    seed = empty_qbo_seed()
    seed.prefs = qs.QboPrefs(multi_currency=multi_currency, warn_duplicate_bill_number=warn_duplicates,
                             exchange_rates={"CAD": 0.75})
    seed.vendors = [qs.vendor("101", "Ingram Micro"), qs.vendor("102", "Bob's Burger Joint"),
                    qs.vendor("103", "Old Supplier", active=False)]
    seed.customers = [qs.customer("201", "Acme Dental"), qs.customer("202", "Zeta Law")]
    seed.employees = [qs.employee("250", "Emily Employee")]
    seed.items = [qs.item("301", "Laptop", expense_account_id="21", income_account_id="79", purchase_cost=900),
                  qs.item("302", "Consulting", income_account_id="79", type="Service"),  # not purchasable
                  qs.item("303", "Freight", expense_account_id="20"),
                  qs.item("304", "Retired Widget", expense_account_id="21", active=False)]
    if multi_currency:
        seed.accounts.append(qs.ap_account("34", "Accounts Payable (A/P) - CAD", currency="CAD"))
        seed.vendors.append(qs.vendor("104", "Maple Parts", currency="CAD"))
    seed.bills = [qs.bill("401", "101", [qs.item_line("301", 2, 900)], doc_number="1001", ap_account_id="33",
                          currency="USD" if multi_currency else None)]
    return seed


@pytest.fixture
def qbo_server() -> Iterator[SandboxServer]:
    sandbox = QboSandbox(rich_seed())
    sandbox.knobs.limits_enabled = False  # tests fire requests back to back; the limit tests turn it on
    with SandboxServer(sandbox) as server:
        yield server


class Qbo:
    """A minimal client written for these tests: raw HTTP, nothing shared with the product's client."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        sandbox: QboSandbox = server.sandbox  # type: ignore[assignment]
        creds = sandbox.credentials(server.url)
        self.oauth_creds = creds["oauth"]
        self.realm = creds["qbo"]["realm_id"]
        self.http = httpx.Client(base_url=server.url, timeout=10)
        self.token = self.fresh_token()

    def fresh_token(self) -> str:
        c = self.oauth_creds
        r = self.http.post(c["token_url"], auth=(c["client_id"], c["client_secret"]),
                           data={"grant_type": "refresh_token", "refresh_token": c["refresh_token"]},
                           headers={"Accept": "application/json"})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def url(self, path: str) -> str:
        return f"/v3/company/{self.realm}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **kw: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json",
                   **kw.pop("headers", {})}  # type: ignore[dict-item]
        return self.http.request(method, self.url(path), headers=headers, **kw)  # type: ignore[arg-type]

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: object, **kw: object) -> httpx.Response:
        return self.request("POST", path, json=body, **kw)

    def query(self, text: str, method: str = "POST") -> httpx.Response:
        if method == "GET":
            return self.get("query", params={"query": text})
        return self.request("POST", "query", content=text.encode("utf-8"),
                            headers={"Content-Type": "application/text"})

    def rows(self, text: str, entity: str) -> list[dict]:
        r = self.query(text)
        assert r.status_code == 200, r.text
        return r.json()["QueryResponse"].get(entity, [])

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def qbo(qbo_server: SandboxServer) -> Iterator[Qbo]:
    client = Qbo(qbo_server)
    yield client
    client.close()


def fault_of(r: httpx.Response) -> dict:
    body = r.json()
    assert "Fault" in body, body
    return body["Fault"]["Error"][0]
