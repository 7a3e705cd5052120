"""Mail against a real SMTP server on loopback: STARTTLS + AUTH, plain relay, and every way
sending can fail, each answered with a clear MailError (or, in the notifier, a logged failure)."""

from __future__ import annotations

import logging
import socket
import ssl

import anyio
import pytest

from sync.mail import (MailError, MailNotifier, PoFailure, PoResult, SmtpConfig, send_mail)

from smtp_server import PASSWORD, USER


def _config(server, **over) -> SmtpConfig:
    base = dict(host=server.host, port=server.port, from_addr="atqbo@example.com",
                security="starttls", username=USER, password=PASSWORD,
                tls_context=server.client_context, timeout=5)
    base.update(over)
    return SmtpConfig(**base)


def _send(config, to="ops@example.com", subject="s", body="b"):
    anyio.run(send_mail, config, to, subject, body)


def test_starttls_and_auth_deliver_the_message(smtp_starttls):
    _send(_config(smtp_starttls), to="ops@example.com", subject="hello", body="the body\n")
    [(rcpts, msg)] = smtp_starttls.inbox.messages
    assert rcpts == ["ops@example.com"]
    assert msg["Subject"] == "hello"
    assert msg["From"] == "atqbo@example.com"
    assert msg.get_payload().strip() == "the body"


def test_wrong_password_is_named_and_not_echoed(smtp_starttls):
    with pytest.raises(MailError) as info:
        _send(_config(smtp_starttls, password="wrong-pw-123"))
    text = str(info.value)
    assert "refused the user name or password" in text
    assert "wrong-pw-123" not in text and PASSWORD not in text
    assert smtp_starttls.inbox.messages == []


def test_server_requiring_starttls_refuses_plain(smtp_starttls):
    with pytest.raises(MailError) as info:
        _send(_config(smtp_starttls, security="none"))
    assert f"{smtp_starttls.host}:{smtp_starttls.port}" in str(info.value)
    assert smtp_starttls.inbox.messages == []


def test_untrusted_certificate_is_refused(smtp_starttls):
    # The system trust store does not know the test's self-signed certificate.
    with pytest.raises(MailError) as info:
        _send(_config(smtp_starttls, tls_context=ssl.create_default_context()))
    assert "TLS" in str(info.value) or "certificate" in str(info.value).lower()


def test_plain_relay_without_auth(smtp_plain):
    _send(_config(smtp_plain, security="none", username=None, password=None), to=["a@x.io", "b@x.io"])
    [(rcpts, _)] = smtp_plain.inbox.messages
    assert rcpts == ["a@x.io", "b@x.io"]


def test_unreachable_server_is_named():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = SmtpConfig(host="127.0.0.1", port=port, from_addr="a@b.c", security="none", timeout=2)
    with pytest.raises(MailError) as info:
        _send(cfg)
    assert f"cannot reach SMTP server 127.0.0.1:{port}" in str(info.value)


def test_server_refusing_data_is_reported(smtp_plain):
    smtp_plain.inbox.fail_with = "451 4.3.0 mailbox busy"
    with pytest.raises(MailError) as info:
        _send(_config(smtp_plain, security="none", username=None, password=None))
    assert "451" in str(info.value)


def test_bad_recipient_and_bad_config_are_refused_before_sending(smtp_plain):
    with pytest.raises(MailError, match="not an e-mail address"):
        _send(_config(smtp_plain, security="none", username=None), to="nobody")
    with pytest.raises(ValueError, match="security"):
        SmtpConfig(host="h", from_addr="a@b.c", security="ssl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="sender"):
        SmtpConfig(host="h", from_addr="atqbo")


def test_password_never_in_repr():
    cfg = SmtpConfig(host="h", from_addr="a@b.c", username="u", password="hunter2-xyz")
    assert "hunter2-xyz" not in repr(cfg)


def test_notifier_sends_failure_to_notify_address_and_result_to_alternate(smtp_starttls):
    notifier = MailNotifier(_config(smtp_starttls), notify_email="ops@example.com")
    failure = PoFailure(po_id=42, po_number="PO-42", cause="vendor 'Acme' is also a customer",
                        fix="rename one of them in QuickBooks", log_id=7)

    async def go():
        assert await notifier.po_failed(failure)
        assert await notifier.po_result(PoResult(43, "PO-43", bill_number="1001"), to="boss@example.com")

    anyio.run(go)
    (rcpt1, m1), (rcpt2, m2) = smtp_starttls.inbox.messages
    assert rcpt1 == ["ops@example.com"] and "PO-42" in m1["Subject"]
    body1 = m1.get_payload()
    assert "vendor 'Acme' is also a customer" in body1 and "atqbo retry 7" in body1
    assert rcpt2 == ["boss@example.com"] and "bill 1001" in m2["Subject"]


def test_notifier_failure_is_logged_and_never_raises(smtp_starttls, caplog):
    seen: list[str] = []
    notifier = MailNotifier(_config(smtp_starttls, password="nope-nope"), "ops@example.com",
                            on_failure=seen.append)
    failure = PoFailure(po_id=1, po_number="PO-1", cause="c")
    with caplog.at_level(logging.WARNING, logger="atqbo.mail"):
        sent = anyio.run(notifier.po_failed, failure)
    assert sent is False
    assert len(seen) == 1 and "mail to ops@example.com not sent" in seen[0]
    assert "nope-nope" not in caplog.text and "nope-nope" not in seen[0]
    assert "not sent" in caplog.text


def test_notifier_without_configuration_does_nothing():
    notifier = MailNotifier(None, "ops@example.com")
    assert notifier.enabled is False
    assert anyio.run(notifier.po_failed, PoFailure(1, "PO-1", "c")) is False


def test_engine_notice_goes_to_its_recipient_and_failure_raises(smtp_starttls):
    from sync.engine.notify import FailureNotice, Notifier

    notice = FailureNotice(subject="PO-9 failed", body="cause: no vendor\n", recipient="alt@example.com",
                           po_id=9, po_number="PO-9", cause_code="vendor_missing",
                           cause="no vendor", fix="add it", log_id="e1")
    good = MailNotifier(_config(smtp_starttls), notify_email="ops@example.com")
    assert isinstance(good, Notifier)
    anyio.run(good.notify, notice)
    [(rcpts, msg)] = smtp_starttls.inbox.messages
    assert rcpts == ["alt@example.com"] and msg["Subject"] == "PO-9 failed"

    # The protocol says: raise on failure (the engine publishes NotificationFailed, goes on).
    bad = MailNotifier(_config(smtp_starttls, password="bad"), notify_email="ops@example.com")
    with pytest.raises(MailError):
        anyio.run(bad.notify, notice)


def test_config_from_settings():
    from sync.settings import Settings

    assert SmtpConfig.from_settings(Settings(), None) is None
    s = Settings(smtp_host="mail.example.com", smtp_port=587, smtp_username="u@example.com")
    cfg = SmtpConfig.from_settings(s, "pw")
    assert (cfg.host, cfg.port, cfg.security, cfg.from_addr, cfg.password) == (
        "mail.example.com", 587, "starttls", "u@example.com", "pw")
    tls = SmtpConfig.from_settings(Settings(smtp_host="h.io", smtp_port=465, smtp_starttls=False,
                                            smtp_from="a@b.io"), None)
    assert tls.security == "tls" and tls.username is None
    relay = SmtpConfig.from_settings(Settings(smtp_host="h.io", smtp_port=25, smtp_starttls=False,
                                              smtp_from="a@b.io"), None)
    assert relay.security == "none"
