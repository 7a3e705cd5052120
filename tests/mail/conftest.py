"""Fixtures: a real SMTP server on loopback (see smtp_server.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smtp_server import PASSWORD, USER, SmtpServer, plain_server, self_signed, starttls_server  # noqa: F401


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_starttls(tls_files) -> Iterator[SmtpServer]:
    with starttls_server(tls_files) as server:
        yield server


@pytest.fixture
def smtp_plain() -> Iterator[SmtpServer]:
    with plain_server() as server:
        yield server
