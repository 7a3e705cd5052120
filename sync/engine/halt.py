"""Which client errors stop a whole scan (told once) rather than fail one purchase order.

Authentication refused (Autotask 401, QBO 401/403 or a revoked refresh token), a service that
is down or keeps throttling after the client's own retries, a reply lost in transit: none of
these is the PO's fault, and marking every remaining PO as failed would bury the operator in
to-dos. The scan stops with one `ScanStopped`, the POs stay as they are (the journal remembers
where each one was), and the next scan picks them up again.
"""

from __future__ import annotations

from sync.clients.errors import (
    ApiError,
    AutotaskAuthError,
    AutotaskZoneError,
    AuthError,
    QboForbidden,
    ThrottledError,
    TokenPersistError,
    TransportError,
    UnavailableError,
    UntrustedUrlError,
)

from sync.store.faults import StorageFault, from_os_error

from . import causes
from .causes import Cause


class ScanHalt(Exception):
    """Stop the scan (or the single-PO sync) with this cause; nothing is marked failed."""

    def __init__(self, cause: Cause, service: str) -> None:
        super().__init__(cause.cause)
        self.cause = cause
        self.service = service
        self.done: list = []  # outcomes of POs finished before the stop (set by the engine)


def api_words(exc: BaseException) -> str:
    """What the API said, for a cause text (client messages never carry secrets)."""
    text = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def halt_for(exc: BaseException) -> ScanHalt | None:
    """The scan-level stop for a client error or a machine fault (disk full, read-only data
    folder...), or None when the error concerns one PO only."""
    fault = storage_fault_of(exc)
    if fault is not None:
        # Not the PO's fault either: nothing is marked failed (that would need the disk too);
        # the journal holds each PO's last durable step, and the next scan carries on from it.
        return ScanHalt(causes.make("storage_fault", detail=str(fault.path), what=fault.what, fix=fault.fix), "")
    if not isinstance(exc, ApiError):
        return None
    service = "qbo" if exc.service in ("qbo", "oauth") else (exc.service or "")
    words = api_words(exc)
    if isinstance(exc, TokenPersistError):
        return ScanHalt(causes.make("token_store_failed", api=words), "qbo")
    if isinstance(exc, (AutotaskAuthError, AutotaskZoneError)):
        return ScanHalt(causes.make("autotask_auth", api=words), "autotask")
    if isinstance(exc, (AuthError, QboForbidden)):
        return ScanHalt(causes.make("qbo_auth", api=words), "qbo")
    if isinstance(exc, UntrustedUrlError):
        return ScanHalt(causes.make("autotask_untrusted_url", api=words), "autotask")
    if isinstance(exc, (UnavailableError, ThrottledError, TransportError)):
        code = "autotask_down" if service == "autotask" else "qbo_down"
        return ScanHalt(causes.make(code, api=words), service)
    return None


def storage_fault_of(exc: BaseException) -> StorageFault | None:
    """The machine fault behind `exc`: a StorageFault, a bare OSError of a file, or a token
    save that failed on one."""
    for candidate in (exc, exc.__cause__):
        if isinstance(candidate, StorageFault):
            return candidate
        if isinstance(candidate, OSError) and not isinstance(candidate, ApiError) and candidate.filename:
            return from_os_error(candidate)
    return None
