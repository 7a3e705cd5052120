"""Property: any name QBO can hold goes through the query builder and is found back exactly, or,
when it holds a character QBO's query lexer cannot read (above U+00FF), `queryable` says so and
the query builder refuses it (QBO itself would answer a 4000 lexical error; the engine matches
such names from a listing)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import anyio
import anyio.from_thread
import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from client_helpers import fast_retry
from sync.clients.oauth import IntuitEndpoints, IntuitOAuth, TokenSet
from sync.clients.qbo import QboClient
from sync.clients.errors import QboValidationError
from sync.clients.qbo_query import Select, UnqueryableText, queryable

# QBO DisplayName: at most 500 characters, no colon, tab or newline (reference §4.1). We also
# leave out other control characters and surrogates (not text) and edge whitespace (QBO trims).
names = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters=":"),
    min_size=1, max_size=60,
).filter(lambda s: s.strip() == s and s != "")

_counter = itertools.count()


@pytest.fixture(scope="module")
def qbo() -> Iterator[tuple[anyio.from_thread.BlockingPortal, QboClient]]:
    """One sandbox, one event loop (a blocking portal) and one client for every example."""
    from sync.sandbox.server import Sandbox, SandboxServer

    with SandboxServer(Sandbox("empty")) as server:
        # Many examples in a row: the rate limits are not what this test is about.
        httpx.patch(server.url + "/_sandbox/knobs", json={"limits_enabled": False}).raise_for_status()
        creds = server.sandbox.credentials(server.url)
        o = creds["oauth"]

        async def make() -> QboClient:
            oauth = IntuitOAuth(o["client_id"], o["client_secret"],
                                endpoints=IntuitEndpoints(o["auth_url"], o["token_url"], o["revoke_url"]),
                                tokens=TokenSet.from_refresh_token(o["refresh_token"], o["realm_id"]))
            return QboClient(oauth, api_url=creds["qbo"]["api_url"], retry=fast_retry(),
                             per_second=10_000, per_minute=1_000_000)

        async def close(client: QboClient) -> None:
            await client.aclose()
            await client.oauth.aclose()

        with anyio.from_thread.start_blocking_portal() as portal:
            client = portal.call(make)
            yield portal, client
            portal.call(close, client)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
@example(name="O'Brien's")
@example(name="ends with a backslash \\")
@example(name="\\'")
@example(name="''")
@example(name="Zoë – Ünïcødé 株式会社 😀")
@example(name="Zoë Ünïcødé ÿ")
@example(name="100% _like_ %")
def test_any_valid_name_is_found_back_exactly(qbo, name: str) -> None:
    portal, client = qbo
    # A unique prefix: QBO names are unique case-insensitively, and hypothesis repeats itself.
    display = f"N{next(_counter)} {name}"

    async def run() -> None:
        created = await client.create("Vendor", {"DisplayName": display})
        if not queryable(display):
            # Refused before the wire, with words; sent raw, QBO (and the sandbox) answer 4000.
            with pytest.raises(UnqueryableText):
                Select("Vendor").eq("DisplayName", display)
            literal = "'" + display.replace("\\", "\\\\").replace("'", "\\'") + "'"
            with pytest.raises(QboValidationError) as refused:
                await client.query(f"SELECT * FROM Vendor WHERE DisplayName = {literal}")
            assert refused.value.code == "4000" and "Lexical error" in refused.value.detail
            return
        page = await client.query(Select("Vendor").eq("DisplayName", display))
        assert [v["Id"] for v in page.entities] == [created["Id"]]
        assert page.entities[0]["DisplayName"] == display

    portal.call(run)
