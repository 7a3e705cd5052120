"""Autotask answers a wrong integration code or an unknown API user with HTTP 500, not 401
(apigrate/autotask-restapi#19), and so does the emulator. The client tells that apart from a
refused request and from an outage, without retrying; the connection test says it in words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from client_helpers import fast_retry
from sync.clients.autotask import AutotaskClient
from sync.clients.autotask_connect import AutotaskConnectFailed, check_autotask_connection, connect_client
from sync.clients.errors import AutotaskCredentialsRefused, AutotaskUnavailable, AutotaskValidationError
from sync.sandbox.control import FaultRule
from sync.sandbox.server import Sandbox, SandboxServer

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(Sandbox("empty")) as server:
        yield server


def creds(server: SandboxServer) -> dict:
    return server.sandbox.credentials(server.url)["autotask"]


def client(server: SandboxServer, **override: str) -> AutotaskClient:
    c = {**creds(server), **override}
    return AutotaskClient(c["username"], c["integration_code"], c["secret"], zone_lookup_base=server.url,
                          retry=fast_retry(4))


async def test_wrong_integration_code_is_a_credentials_refusal_found_without_retries(sandbox) -> None:
    async with client(sandbox, integration_code="NOT-THE-CODE") as at:
        with pytest.raises(AutotaskCredentialsRefused) as refused:
            await at.get("Companies", 0)
        assert refused.value.status == 500 and "integration code" in refused.value.message
        assert "NOT-THE-CODE" not in refused.value.message
        assert at.calls == 3  # the zone lookup, the read, one ThresholdInformation probe; no retry


async def test_a_refused_request_stays_a_refusal_after_one_probe(sandbox) -> None:
    async with client(sandbox) as at:
        await at.zone()
        with pytest.raises(AutotaskValidationError) as refused:
            await at.create("Companies", {"companyType": 7})  # no companyName: Autotask's own 500
        assert not isinstance(refused.value, AutotaskCredentialsRefused)
        assert at.calls == 3


async def test_an_outage_is_not_taken_for_credentials(sandbox) -> None:
    # Autotask's transient 500 ("... Please try again.") everywhere: retried, then not credentials.
    sandbox.sandbox.faults.add(FaultRule(kind="500", service="autotask", path="V1.0/(Companies|ThresholdInformation)"))
    async with client(sandbox) as at:
        with pytest.raises(AutotaskValidationError) as failed:
            await at.get("Companies", 0)
        assert not isinstance(failed.value, AutotaskCredentialsRefused)
        assert at.calls == 1 + 4 + 1  # zone, four tries, the probe
    sandbox.sandbox.faults.clear()
    sandbox.sandbox.faults.add(FaultRule(kind="503", service="autotask", path="Companies"))
    async with client(sandbox) as at:
        with pytest.raises(AutotaskUnavailable):
            await at.get("Companies", 0)


@pytest.mark.parametrize("override, kind, words", [
    ({"username": "nobody@nowhere.example"}, "unknown_user", "Autotask does not know the API user 'nobody@nowhere.example'"),
    ({"secret": "wrong-secret-123"}, "credentials", "Autotask refused the credentials of"),
    ({"integration_code": "NOT-THE-CODE"}, "credentials", "Autotask refused the credentials of"),
])
async def test_the_connection_test_names_each_wrong_credential(sandbox, override, kind, words) -> None:
    c = {**creds(sandbox), **override}
    at = connect_client(c["username"], c["integration_code"], c["secret"], sandbox.url)
    async with at:
        with pytest.raises(AutotaskConnectFailed) as failed:
            await check_autotask_connection(at)
    assert failed.value.kind == kind and words in failed.value.message
    assert "wrong-secret-123" not in failed.value.message and "NOT-THE-CODE" not in failed.value.message
    assert at.calls <= 4  # fails fast: no backoff (a 401 looks the zone up once more, as designed)


async def test_the_connection_test_passes_and_tells_an_outage_from_credentials(sandbox) -> None:
    c = creds(sandbox)
    async with connect_client(c["username"], c["integration_code"], c["secret"], sandbox.url) as at:
        connected = await check_autotask_connection(at)
    assert connected.zone.url.startswith(sandbox.url) and connected.local_organization
    sandbox.sandbox.faults.add(FaultRule(kind="503", service="autotask", path="PurchaseOrders"))
    async with connect_client(c["username"], c["integration_code"], c["secret"], sandbox.url) as at:
        at.retry.base_delay = at.retry.max_delay = 0.01
        with pytest.raises(AutotaskConnectFailed) as failed:
            await check_autotask_connection(at)
    assert failed.value.kind == "unavailable" and "not the credentials" in failed.value.message
    with pytest.raises(AutotaskConnectFailed) as missing:
        connect_client(c["username"], "", c["secret"], sandbox.url)
    assert missing.value.kind == "input"
