"""What the QBO client learns about its tokens reaches the data folder and comes back after a
restart: the console's "time left before the connection must be renewed" depends on it."""

from __future__ import annotations

import time

import pytest

from cli_helpers import connect_store
from console.runtime_headless import open_runtime


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_refresh_token_expiry_is_saved_and_read_back_after_a_restart(tmp_path, sandbox):
    data = tmp_path / "data"
    connect_store(data, sandbox)  # as after `atqbo connect quickbooks` with a refresh token only

    first = await open_runtime(data)
    try:
        assert first.qbo.oauth.tokens.refresh_expires_at is None, "not known before the first refresh"
        await first.qbo.company_info()  # refreshes, learns x_refresh_token_expires_in, saves
    finally:
        await first.aclose()

    again = await open_runtime(data)
    try:
        renew_by = again.qbo.oauth.tokens.refresh_expires_at
        assert renew_by is not None
        assert 90 * 86400 < renew_by - time.time() <= 101 * 86400, "Intuit's 100-day refresh-token lifetime"
    finally:
        await again.aclose()
