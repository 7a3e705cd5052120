"""Mail from the command line, against a real SMTP server on loopback: a single-PO sync's
result goes to its alternate address (STARTTLS + AUTH), failures to the notify address, and a
mail server that is down never stops a sync."""

from __future__ import annotations

import socket

import pytest

from cli_helpers import atqbo, clean_env, configure, json_lines, seed_with_pos, smtp
from sync.store import Store


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    return smtp.self_signed(tmp_path_factory.mktemp("smtp-tls"))


def _mail_settings(data_dir, server, **extra) -> None:
    configure(data_dir, smtp_host=server.host, smtp_port=server.port, smtp_from="atqbo@example.com", **extra)


def test_sync_one_result_and_failure_go_to_the_alternate_address(ready, tls_files):
    w = ready(seed_with_pos(n_ok=2, n_missing_item=1), notify_email="ops@example.com")
    with smtp.starttls_server(tls_files) as server:
        _mail_settings(w.data_dir, server, smtp_username=smtp.USER, smtp_starttls=True)
        with Store.open(w.data_dir) as store:
            store.secrets.set_smtp_password(smtp.PASSWORD)
        # The operator's private CA, the way any OpenSSL program is told about one.
        env = clean_env(SSL_CERT_FILE=server.inbox.cafile)
        ok = atqbo("sync-one", "1", "--email", "boss@example.com", *w.dd, env=env)
        failed = atqbo("sync-one", "3", "--email", "boss@example.com", "--json", *w.dd, env=env)
        default = atqbo("sync-one", "2", *w.dd, env=env)  # no alternate: the notify address
        inbox = list(server.inbox.messages)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert failed.returncode == 3
    assert default.returncode == 0
    assert [rcpts for rcpts, _ in inbox] == [["boss@example.com"], ["boss@example.com"], ["ops@example.com"]]
    (_, result), (_, failure), (_, to_ops) = inbox
    assert "synced as bill 1" in result["Subject"]
    assert "3" in failure["Subject"]
    assert "synced as bill 2" in to_ops["Subject"]
    body = failure.get_payload(decode=True).decode()
    assert "Cable" in body  # the cause, in plain words
    assert smtp.PASSWORD not in ok.stdout + ok.stderr + failed.stdout + failed.stderr


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_mail_server_that_is_down_never_stops_a_sync(ready):
    w = ready(seed_with_pos(n_missing_item=1, n_ok=1), notify_email="ops@example.com")
    configure(w.data_dir, smtp_host="127.0.0.1", smtp_port=_dead_port(), smtp_starttls=False,
              smtp_from="atqbo@example.com")
    result = atqbo("--daemon", "--once", "--json", *w.dd)
    assert result.returncode == 3, result.stdout + result.stderr
    lines = json_lines(result.stdout)
    events = [line.get("event") for line in lines]
    # The failed PO's notice could not be sent: said once, and the scan went on.
    [notice] = [line for line in lines if line.get("event") == "notification_failed"]
    assert notice["recipient"] == "ops@example.com" and "cannot reach SMTP server" in notice["reason"]
    assert events.count("po_synced") == 1 and events.count("po_failed") == 1
    summary = lines[-1]
    assert (summary["synced"], summary["failed"]) == (1, 1)
    with Store.open(w.data_dir) as store:
        assert len(store.errors.open_errors()) == 1  # the failure itself is recorded


def test_failures_mail_the_notify_address_from_the_daemon(ready):
    w = ready(seed_with_pos(n_missing_item=2), notify_email="ops@example.com")
    with smtp.plain_server() as server:
        _mail_settings(w.data_dir, server, smtp_starttls=False)
        result = atqbo("--daemon", "--once", *w.dd)
        inbox = list(server.inbox.messages)
    assert result.returncode == 3
    assert [rcpts for rcpts, _ in inbox] == [["ops@example.com"], ["ops@example.com"]]


def test_asking_for_mail_that_is_not_configured_is_said(ready):
    w = ready(seed_with_pos(n_ok=1), notify_email="ops@example.com")
    one = atqbo("sync-one", "1", "--email", "boss@example.com", *w.dd)
    assert one.returncode == 0
    assert "mail is not configured (set smtp_host" in one.stderr
    daemon = atqbo("--daemon", "--once", *w.dd)
    assert daemon.returncode == 0
    assert "notify_email is ops@example.com but mail is not configured" in daemon.stdout


def test_under_purchase_order_the_mail_and_the_to_do_name_the_purchase_order(ready):
    w = ready(seed_with_pos(n_ok=1, n_missing_item=1), notify_email="ops@example.com", transfer_as="purchase_order")
    with smtp.plain_server() as server:
        _mail_settings(w.data_dir, server, smtp_starttls=False)
        ok = atqbo("sync-one", "1", *w.dd)
        failed = atqbo("sync-one", "2", *w.dd)
        inbox = list(server.inbox.messages)
    assert ok.returncode == 0 and failed.returncode == 3, ok.stdout + ok.stderr + failed.stdout
    (_, result), (_, failure) = inbox
    assert result["Subject"].startswith("atqbo: purchase order 1 synced as purchase order ")
    assert "is now QuickBooks Online purchase order" in result.get_payload(decode=True).decode()
    assert "could not be turned into a QuickBooks Online purchase order." in failure.get_payload(decode=True).decode()
    [todo] = w.todos()
    assert "to QuickBooks Online as a purchase order." in todo["activityDescription"]
