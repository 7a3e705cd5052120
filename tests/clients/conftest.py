"""Client tests run their async code on asyncio through anyio's pytest plugin."""

from __future__ import annotations

import warnings

import pytest

# authlib 1.9 warns that it prefers httpx2; httpx is what the project uses.
warnings.filterwarnings("ignore", message="The httpx module is deprecated")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
