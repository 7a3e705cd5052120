"""Secrets: owner-only file from the first byte, masked everywhere, never in logs or other files."""

from __future__ import annotations

import logging
import os
import stat
import traceback
from datetime import datetime, timedelta, timezone

import pytest

from sync.store import (
    AutotaskConnection,
    QboConnection,
    SecretStr,
    Store,
)
from sync.store.errors import CorruptFileError

AUTOTASK = "at-SECRET-7f3a9c"
CLIENT = "qbo-CLIENT-SECRET-b41d"
REFRESH = "AB11-REFRESH-9e2e0c"
ACCESS = "eyJ-ACCESS-TOKEN-55aa"
SMTP = "smtp-PASSWORD-c0ffee"
ALL = (AUTOTASK, CLIENT, REFRESH, ACCESS, SMTP)


def test_secretstr_masks_every_rendering():
    s = SecretStr(REFRESH)
    for shown in (repr(s), str(s), f"{s}", f"{s!r}", f"{s:>30}", "%s" % s, "{}".format(s), repr([s]), repr({"k": s})):
        assert REFRESH not in shown and "*" in shown
    assert s.get_secret_value() == REFRESH
    assert s == SecretStr(REFRESH) and s != SecretStr("other")
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(s)


def _fill(store: Store) -> None:
    store.secrets.set_autotask_secret(AUTOTASK)
    store.secrets.set_qbo_client_secret(SecretStr(CLIENT))
    store.secrets.save_qbo_tokens(REFRESH, ACCESS, datetime.now(timezone.utc) + timedelta(hours=1))
    store.set_setting("smtp_password", SMTP)
    store.connection.set_autotask(AutotaskConnection("api@example.com", "INTCODE", "https://webservices5.autotask.net/"))
    store.connection.set_qbo(QboConnection("client-id-1", realm_id="9130", token_url="https://oauth.example/token"))
    store.set_setting("days_back", "30")
    store.errors.add(po_id=1, cause_code="qbo_error", cause="QBO refused", fix="check", raw_error="{}")
    store.journal.transition(1, None, "seen")


def test_secrets_round_trip_file_mode_and_separate_connection_file(tmp_path):
    data = tmp_path / "data"
    store = Store.open(data)
    _fill(store)
    again = Store.open(data)
    assert again.secrets.get_autotask_secret() == SecretStr(AUTOTASK)
    assert again.secrets.get_qbo_client_secret().get_secret_value() == CLIENT
    tokens = again.secrets.get_qbo_tokens()
    assert tokens.refresh_token.get_secret_value() == REFRESH and tokens.access_token.get_secret_value() == ACCESS
    assert tokens.access_token_expires_at > datetime.now(timezone.utc)
    assert again.secrets.get_smtp_password().get_secret_value() == SMTP
    assert again.connection.get_autotask().username == "api@example.com"
    assert again.connection.get_qbo().realm_id == "9130"
    secrets_file = data / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    # Tokens rotate: the new one replaces the old, durably (a fresh reader sees it).
    store.secrets.save_qbo_tokens("ROTATED-REFRESH", None, None)
    fresh = Store.open(data).secrets.get_qbo_tokens()
    assert fresh.refresh_token.get_secret_value() == "ROTATED-REFRESH" and fresh.access_token is None


def test_secrets_file_is_never_readable_by_others_even_with_a_loose_umask(tmp_path):
    old = os.umask(0)
    try:
        store = Store.open(tmp_path / "data")
        store.secrets.set_autotask_secret(AUTOTASK)
    finally:
        os.umask(old)
    for path in (tmp_path / "data").rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path} has mode {mode:o}"


def test_a_loose_secrets_file_is_tightened_on_open(tmp_path):
    store = Store.open(tmp_path)
    store.secrets.set_autotask_secret(AUTOTASK)
    (tmp_path / "secrets.json").chmod(0o644)
    Store.open(tmp_path)
    assert stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode) == 0o600


def test_secrets_appear_in_no_log_no_exception_and_no_other_file(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    data = tmp_path / "data"
    store = Store.open(data)
    _fill(store)
    reopened = Store.open(data)
    shown = [
        repr(reopened.secrets.get_qbo_tokens()),
        str(reopened.secrets.get_autotask_secret()),
        repr(reopened.secrets),
        repr(reopened.secrets.names_set()),
    ]
    # Damage the secrets file: the error must name the file but not show its contents.
    secrets_file = data / "secrets.json"
    secrets_file.write_text(secrets_file.read_text()[:-7])
    with pytest.raises(CorruptFileError) as info:
        Store.open(data).secrets.get_autotask_secret()
    shown.append("".join(traceback.format_exception(info.value)))
    assert str(secrets_file) in str(info.value)
    shown.append(caplog.text)
    shown.extend(repr(r.__dict__) for r in caplog.records)
    for text in shown:
        for secret in ALL:
            assert secret not in text
    # Only the secrets file (and the copy kept aside of its damaged version) holds them.
    holders = sorted(
        p.name for p in data.rglob("*") if p.is_file() and any(s.encode() in p.read_bytes() for s in ALL)
    )
    assert holders[0] == "secrets.json" and all(h.startswith("secrets.json.corrupt-") for h in holders[1:])
    for path in data.rglob("secrets.json*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_refresh_token_expiry_survives_a_restart(tmp_path):
    """The console shows how long the QBO connection has before it must be renewed; after a
    restart that comes from what was saved with the refresh token."""
    renew_by = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
    store = Store.open(tmp_path)
    store.secrets.save_qbo_tokens("RT", "AT", datetime.now(timezone.utc), refresh_expires_at=renew_by)
    store.close()
    again = Store.open(tmp_path)
    assert again.secrets.get_qbo_tokens().refresh_token_expires_at == renew_by
    again.close()


def test_expiry_times_must_be_timezone_aware(tmp_path):
    store = Store.open(tmp_path)
    with pytest.raises(ValueError, match="timezone-aware"):
        store.secrets.save_qbo_tokens("RT", refresh_expires_at=datetime(2027, 3, 1))
    assert store.secrets.get_qbo_tokens() is None, "nothing was saved"
