"""E-mail for results and errors, over SMTP (aiosmtplib): STARTTLS or implicit TLS, and AUTH.

Two layers:
- `send_mail(config, to, subject, body)` sends one plain-text message or raises `MailError`
  with a message an operator can act on (never the password);
- `MailNotifier` implements the engine's `Notifier` protocol (sync.engine.notify): the engine
  hands it a `FailureNotice` (subject, body, recipient: the notify address or a single-PO
  sync's alternate address) and, when sending fails, publishes NotificationFailed and carries
  on. Its other methods (a single-PO sync's result, a scan's summary) never raise: a mail
  failure is logged (and handed to `on_failure`) and the sync goes on.
"""

from __future__ import annotations

import email.utils
import logging
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, Literal

import aiosmtplib

from sync.text import has_control, shown, shown_lines

# The records the engine hands over are the engine's own (it never imports this module).
from sync.engine.notify import FailureNotice, PoFailure, PoResult

if TYPE_CHECKING:
    from sync.settings import Settings

log = logging.getLogger("atqbo.mail")

Security = Literal["starttls", "tls", "none"]
SECURITY_CHOICES: tuple[str, ...] = ("starttls", "tls", "none")
_DEFAULT_PORT = {"starttls": 587, "tls": 465, "none": 25}


class MailError(Exception):
    """A message could not be sent. The text names the server and the cause, never a secret."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send. `password` is a secret: hidden from repr."""

    host: str
    from_addr: str
    port: int | None = None
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    # Tests (and servers with a private CA) pass their own context; None = system trust store.
    tls_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.security not in SECURITY_CHOICES:
            raise ValueError(f"smtp security must be one of {', '.join(SECURITY_CHOICES)}, "
                             f"got {self.security!r}")
        if not self.host:
            raise ValueError("smtp host is empty")
        if not self.from_addr or "@" not in self.from_addr:
            raise ValueError(f"smtp sender address {self.from_addr!r} is not an e-mail address")

    @property
    def effective_port(self) -> int:
        return self.port or _DEFAULT_PORT[self.security]

    @classmethod
    def from_settings(cls, settings: "Settings", password: str | None) -> "SmtpConfig | None":
        """The mail configuration held in the settings (None when mail is not configured).

        `smtp_starttls = false` on port 465 means implicit TLS (SMTPS); on any other port, a
        plain connection (a local relay)."""
        if settings.smtp_host is None:
            return None
        sender = settings.smtp_from or settings.smtp_username
        if not sender or "@" not in sender:
            return None
        if settings.smtp_starttls:
            security: Security = "starttls"
        else:
            security = "tls" if settings.smtp_port == 465 else "none"
        return cls(host=settings.smtp_host, port=settings.smtp_port, from_addr=sender,
                   security=security, username=settings.smtp_username or None,
                   password=password if settings.smtp_username else None)


def build_message(config: SmtpConfig, to: str | list[str], subject: str, body: str) -> EmailMessage:
    recipients = [to] if isinstance(to, str) else list(to)
    msg = EmailMessage()
    msg["From"] = config.from_addr
    msg["To"] = ", ".join(recipients)
    # Subjects and bodies quote names and numbers from outside: control characters are shown
    # as escapes (sync.text), so a CR/LF in a PO number neither drops the mail (the email
    # package refuses a header with a line break) nor adds a header or a line of its own.
    msg["Subject"] = shown(subject)
    msg["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
    msg["Message-ID"] = email.utils.make_msgid(domain=config.from_addr.rpartition("@")[2] or None)
    msg.set_content(shown_lines(body))
    return msg


async def send_mail(config: SmtpConfig, to: str | list[str], subject: str, body: str) -> None:
    """Send one plain-text message; raise `MailError` with a clear cause when it is not sent."""
    recipients = [to] if isinstance(to, str) else list(to)
    bad = [r for r in recipients if "@" not in r or has_control(r)]
    if not recipients or bad:
        raise MailError(f"not an e-mail address: {shown(', '.join(bad)) or '(none)'}")
    where = f"{config.host}:{config.effective_port}"
    message = build_message(config, recipients, subject, body)
    try:
        await aiosmtplib.send(
            message,
            hostname=config.host,
            port=config.effective_port,
            username=config.username or None,
            password=config.password if config.username else None,
            use_tls=config.security == "tls",
            start_tls=config.security == "starttls",
            tls_context=config.tls_context,
            timeout=config.timeout,
            # getfqdn() can stall on hosts without reverse DNS; the short name is enough for EHLO.
            local_hostname=socket.gethostname() or "localhost",
        )
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP server {where} refused the user name or password "
                        f"({exc.code} {exc.message})") from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(r.recipient for r in exc.recipients)
        raise MailError(f"SMTP server {where} refused the recipient(s) {refused}") from None
    except aiosmtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP server {where} answered {exc.code} {exc.message}") from None
    except aiosmtplib.SMTPTimeoutError:
        raise MailError(f"SMTP server {where} did not answer within {config.timeout:g} s") from None
    except aiosmtplib.SMTPConnectError as exc:
        raise MailError(f"cannot reach SMTP server {where}: {exc}") from None
    except aiosmtplib.SMTPException as exc:
        raise MailError(f"sending mail through {where} failed: {exc}") from None
    except ssl.SSLError as exc:
        raise MailError(f"TLS with SMTP server {where} failed: {exc.reason or exc}") from None
    except OSError as exc:
        raise MailError(f"cannot reach SMTP server {where}: {exc.strerror or exc}") from None


# ---------------------------------------------------------------- what the messages say



def failure_message(f: PoFailure) -> tuple[str, str]:
    subject = f"atqbo: purchase order {shown(f.po_number)} was not synced to QuickBooks"
    lines = [
        f"Autotask purchase order {shown(f.po_number)} (id {f.po_id}) could not be turned into a "
        f"QuickBooks Online {shown(f.document)}.",
        "",
        f"Cause: {shown(f.cause)}",
    ]
    if f.fix:
        lines.append(f"What to fix: {shown(f.fix)}")
    lines += [
        "",
        "Its externalPONumber is set to ERROR and a to-do was created in Autotask.",
        "After fixing the cause, retry it: "
        + (f"atqbo retry {f.log_id}" if f.log_id is not None else "atqbo retry --all-failed")
        + " (or from the console's Logs screen).",
    ]
    return subject, "\n".join(lines) + "\n"


def result_message(r: PoResult) -> tuple[str, str]:
    if r.failure is not None:
        return failure_message(r.failure)
    number, bill = shown(r.po_number), shown(r.bill_number)
    what = shown(r.document)
    subject = f"atqbo: purchase order {number} synced as {what} {bill}"
    body = (f"Autotask purchase order {number} (id {r.po_id}) is now QuickBooks Online "
            f"{what} {bill}; its externalPONumber holds that number.\n")
    return subject, body


def summary_message(summary: Mapping[str, Any]) -> tuple[str, str]:
    failed = int(summary.get("failed", 0))
    synced = int(summary.get("synced", 0))
    subject = (f"atqbo: scan finished, {synced} synced, {failed} failed" if failed
               else f"atqbo: scan finished, {synced} synced")
    lines = [f"{shown(key)}: {shown(value)}" for key, value in summary.items()]
    return subject, "A scan of Autotask purchase orders finished.\n\n" + "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the notifier


class MailNotifier:
    """Sends results and errors by mail. Every method returns whether a message went out and
    never raises: a mail failure is logged and handed to `on_failure(text)`, the sync goes on.

    `notify_email` is the default recipient; a single-PO sync may name its own (`to=`).
    """

    def __init__(self, config: SmtpConfig | None, notify_email: str | None,
                 on_failure: Callable[[str], None] | None = None) -> None:
        self.config = config
        self.notify_email = notify_email or None
        self.on_failure = on_failure

    @property
    def enabled(self) -> bool:
        return self.config is not None and self.notify_email is not None

    async def notify(self, notice: FailureNotice) -> None:
        """The engine's Notifier protocol: deliver one failure notice or raise MailError (the
        engine publishes NotificationFailed and goes on). Logged either way."""
        recipient = notice.recipient or self.notify_email
        if self.config is None or not recipient:
            return  # mail is not configured: nothing to send, nothing failed
        try:
            await send_mail(self.config, recipient, notice.subject, notice.body)
        except MailError as exc:
            log.warning("mail to %s not sent: %s", recipient, exc)
            raise
        log.info("mail sent to %s: %s", recipient, notice.subject)

    async def po_failed(self, failure: PoFailure, to: str | None = None) -> bool:
        return await self._send(to, *failure_message(failure))

    async def po_result(self, result: PoResult, to: str | None = None) -> bool:
        return await self._send(to, *result_message(result))

    async def scan_summary(self, summary: Mapping[str, Any], to: str | None = None) -> bool:
        return await self._send(to, *summary_message(summary))

    async def _send(self, to: str | None, subject: str, body: str) -> bool:
        recipient = to or self.notify_email
        if self.config is None or recipient is None:
            return False  # mail is not configured: nothing to do, nothing to report
        try:
            await send_mail(self.config, recipient, subject, body)
        except MailError as exc:
            text = f"mail to {recipient} not sent: {exc}"
            log.warning(text)
            if self.on_failure is not None:
                try:
                    self.on_failure(text)
                except Exception:  # a broken reporter must not break the sync either
                    log.exception("mail failure reporter failed")
            return False
        except Exception as exc:  # anything else from the mail path still must not stop a sync
            text = f"mail to {recipient} not sent: unexpected {type(exc).__name__}"
            log.exception(text)
            if self.on_failure is not None:
                self.on_failure(text)
            return False
        log.info("mail sent to %s: %s", recipient, subject)
        return True
