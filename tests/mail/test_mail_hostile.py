"""Mail with text from outside, to a real SMTP server on loopback: a subject or body holding
CR/LF or escape sequences still goes out, shown (sync.text), adding no header of its own; a
recipient with a control character is refused before anything is sent."""

from __future__ import annotations

import anyio
import pytest

from sync.mail import MailError, MailNotifier, PoFailure, SmtpConfig, send_mail
from sync.text import CONTROL

NUMBER = "PO\r\nBcc: evil@example.com\x1b]0;PWNED\x07"


def _config(server) -> SmtpConfig:
    return SmtpConfig(host=server.host, port=server.port, from_addr="atqbo@example.com", security="none",
                      timeout=5)


def _unfolded(header: str) -> str:
    return header.replace("\r\n ", " ").replace("\n ", " ")


def test_failure_mail_with_crlf_in_the_po_number_goes_out_clean(smtp_plain):
    notifier = MailNotifier(_config(smtp_plain), "ops@example.com")
    failure = PoFailure(po_id=7, po_number=NUMBER, cause="vendor \x1b[31mred\x1b[0m\r\nforged: line", fix="fix\x07")
    assert anyio.run(notifier.po_failed, failure) is True
    [(rcpts, message)] = smtp_plain.inbox.messages
    assert rcpts == ["ops@example.com"] and message["Bcc"] is None
    subject = _unfolded(message["Subject"])
    assert CONTROL.search(subject) is None
    assert "PO\\r\\nBcc: evil@example.com\\x1b]0;PWNED\\x07" in subject
    body = message.get_payload(decode=True).decode().replace("\r\n", "\n")
    assert all(c == "\n" for c in CONTROL.findall(body))
    assert "vendor \\x1b[31mred\\x1b[0m\\r\\nforged: line" in body  # the cause: one line, shown


def test_recipient_with_a_line_break_is_refused_before_sending(smtp_plain):
    with pytest.raises(MailError) as info:
        anyio.run(send_mail, _config(smtp_plain), "ops@example.com\r\nBcc: evil@example.com", "s", "b")
    assert "not an e-mail address" in str(info.value) and CONTROL.search(str(info.value)) is None
    assert smtp_plain.inbox.messages == []
