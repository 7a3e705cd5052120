"""Secrets (owner-only file, masked everywhere) and non-secret connection details.

The secrets file is created with mode 0600 from its first byte (see atomic_write_bytes) inside an
owner-only folder. Values travel as SecretStr, whose repr/str/format are masked, so a secret that
ends up in a log line, an f-string or an exception shows as '**********'. This module never logs
values and its errors never include file contents.
"""

from __future__ import annotations

import hmac
import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sync.paths import FILE_MODE
from sync.store.docfile import DocumentFile
from sync.store.errors import CorruptFileError, StoreFileError, UnsafeFileError

log = logging.getLogger(__name__)

MASK = "**********"


class SecretStr:
    """A string that does not show itself. Call get_secret_value() where the real value is needed."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        if not isinstance(value, str):
            raise TypeError("SecretStr holds text")
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"SecretStr('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, SecretStr):
            return hmac.compare_digest(self._value.encode(), other._value.encode())
        return NotImplemented

    def __hash__(self) -> int:
        return hash(("SecretStr", self._value))

    def __reduce__(self) -> Any:
        # Pickling would write the plain value somewhere unexpected.
        raise TypeError("SecretStr cannot be pickled")


def _as_secret(value: str | SecretStr | None) -> SecretStr | None:
    if value is None:
        return None
    return value if isinstance(value, SecretStr) else SecretStr(value)


@dataclass(frozen=True)
class QboTokens:
    refresh_token: SecretStr
    access_token: SecretStr | None
    access_token_expires_at: datetime | None
    # When Intuit stops honouring the refresh token unless it is used (x_refresh_token_expires_in):
    # what the console shows as "time left before the connection must be renewed".
    refresh_token_expires_at: datetime | None = None


# Names of the secrets kept in the file.
AUTOTASK_SECRET = "autotask_secret"
QBO_CLIENT_SECRET = "qbo_client_secret"
QBO_REFRESH_TOKEN = "qbo_refresh_token"
QBO_ACCESS_TOKEN = "qbo_access_token"
QBO_ACCESS_TOKEN_EXPIRES_AT = "qbo_access_token_expires_at"  # not secret, kept with its token
QBO_REFRESH_TOKEN_EXPIRES_AT = "qbo_refresh_token_expires_at"  # likewise
SMTP_PASSWORD = "smtp_password"
SECRET_NAMES = (AUTOTASK_SECRET, QBO_CLIENT_SECRET, QBO_REFRESH_TOKEN, QBO_ACCESS_TOKEN, SMTP_PASSWORD)


class SecretStore:
    """get/set for each secret; every set is durable (fsynced) before it returns."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = DocumentFile(self.path, "secrets")
        self._lock = threading.RLock()
        self._tighten_mode()

    def _tighten_mode(self) -> None:
        # A file copied in by hand may be group/world readable: fix it before anyone reads it.
        try:
            st = os.lstat(self.path)
        except OSError:
            return
        mode = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            return  # refused when used (_checked); never chmod what a link points to
        if mode & 0o077:
            os.chmod(self.path, FILE_MODE)
            log.warning("secrets file %s was readable by others (mode %o); set to 600", self.path, mode)

    @contextmanager
    def _checked_file(self) -> Iterator[DocumentFile]:
        # A link could read someone else's file as ours, or send our secrets where it points.
        try:
            is_link = stat.S_ISLNK(os.lstat(self.path).st_mode)
        except OSError:
            is_link = False  # absent (created on the first write), or named when read
        if is_link:
            raise UnsafeFileError(self.path, "it is a symbolic link, and atqbo keeps secrets only in a "
                                  "regular file of its own", advice=_LINK_ADVICE.format(path=self.path))
        try:
            yield self._file
        except StoreFileError as exc:
            if isinstance(exc, UnsafeFileError) or exc.path != self.path:
                raise
            raise exc.with_advice(_DAMAGED_ADVICE) from None

    def _checked(self) -> "_Checked":
        return _Checked(self)

    def _read(self) -> dict[str, Any]:
        doc = self._checked().read()
        for name in SECRET_NAMES:
            if name in doc and not isinstance(doc[name], str):
                raise CorruptFileError(self.path, f"the entry {name!r} is not text", advice=_DAMAGED_ADVICE)
        return doc

    # -- generic ---------------------------------------------------------------------------------

    def get(self, name: str) -> SecretStr | None:
        if name not in SECRET_NAMES:
            raise KeyError(f"unknown secret name {name!r}")
        with self._lock:
            value = self._read().get(name)
        return None if value is None else SecretStr(value)

    def set(self, name: str, value: str | SecretStr | None) -> None:
        """Store (or with None, forget) one secret; durable on return."""
        if name not in SECRET_NAMES:
            raise KeyError(f"unknown secret name {name!r}")
        secret = _as_secret(value)
        with self._lock:
            self._checked().update({name: None if secret is None else secret.get_secret_value()})

    def names_set(self) -> list[str]:
        """Which secrets have a value (names only: safe to show)."""
        with self._lock:
            doc = self._read()
        return [n for n in SECRET_NAMES if doc.get(n)]

    # -- named accessors ----------------------------------------------------------------------------

    def get_autotask_secret(self) -> SecretStr | None:
        return self.get(AUTOTASK_SECRET)

    def set_autotask_secret(self, value: str | SecretStr | None) -> None:
        self.set(AUTOTASK_SECRET, value)

    def get_qbo_client_secret(self) -> SecretStr | None:
        return self.get(QBO_CLIENT_SECRET)

    def set_qbo_client_secret(self, value: str | SecretStr | None) -> None:
        self.set(QBO_CLIENT_SECRET, value)

    def get_smtp_password(self) -> SecretStr | None:
        return self.get(SMTP_PASSWORD)

    def set_smtp_password(self, value: str | SecretStr | None) -> None:
        self.set(SMTP_PASSWORD, value)

    def get_qbo_tokens(self) -> QboTokens | None:
        with self._lock:
            doc = self._read()
        refresh = doc.get(QBO_REFRESH_TOKEN)
        if not refresh:
            return None
        access = doc.get(QBO_ACCESS_TOKEN)
        return QboTokens(SecretStr(refresh), SecretStr(access) if access else None,
                         _time_or_none(doc.get(QBO_ACCESS_TOKEN_EXPIRES_AT)),
                         _time_or_none(doc.get(QBO_REFRESH_TOKEN_EXPIRES_AT)))

    def save_qbo_tokens(
        self,
        refresh_token: str | SecretStr,
        access_token: str | SecretStr | None = None,
        expires_at: datetime | None = None,
        refresh_expires_at: datetime | None = None,
    ) -> None:
        """Store a (rotated) refresh token with its access token in one atomic, fsynced write.

        The QBO client calls this BEFORE it uses a rotated refresh token: Intuit invalidates the
        old one, so losing the new one in a crash would disconnect the company.
        """
        refresh = _as_secret(refresh_token)
        if refresh is None or not refresh:
            raise ValueError("a refresh token is required")
        access = _as_secret(access_token)
        for when in (expires_at, refresh_expires_at):
            if when is not None and when.tzinfo is None:
                raise ValueError("expiry times must be timezone-aware")
        with self._lock:
            self._checked().update(
                {
                    QBO_REFRESH_TOKEN: refresh.get_secret_value(),
                    QBO_ACCESS_TOKEN: access.get_secret_value() if access else None,
                    QBO_ACCESS_TOKEN_EXPIRES_AT: _iso_or_none(expires_at),
                    QBO_REFRESH_TOKEN_EXPIRES_AT: _iso_or_none(refresh_expires_at),
                }
            )

    def clear_qbo_tokens(self) -> None:
        with self._lock:
            self._checked().update({QBO_REFRESH_TOKEN: None, QBO_ACCESS_TOKEN: None, QBO_ACCESS_TOKEN_EXPIRES_AT: None,
                               QBO_REFRESH_TOKEN_EXPIRES_AT: None})

    def __repr__(self) -> str:
        return f"SecretStore({str(self.path)!r})"


_LINK_ADVICE = ("put the file itself in its place (cp --remove-destination \"$(readlink -f {path})\" {path}, "
                "then chmod 600 it), or remove the link and connect again, then start again.")
_DAMAGED_ADVICE = ("restore secrets.json from a backup, or move it away and connect again "
                   "(atqbo connect autotask ..., atqbo connect quickbooks ...; the console's Connect "
                   "screen does the same), then start again.")


class _Checked:
    """read()/update() on the secrets file, each after the link check and with the advice for
    a damaged secrets file."""

    def __init__(self, store: SecretStore) -> None:
        self._store = store

    def read(self) -> dict[str, Any]:
        with self._store._checked_file() as file:
            return file.read()

    def update(self, fields: dict[str, Any]) -> dict[str, Any]:
        with self._store._checked_file() as file:
            return file.update(fields)


# --- non-secret connection details ---------------------------------------------------------------


@dataclass(frozen=True)
class AutotaskConnection:
    username: str
    integration_code: str
    zone_url: str | None = None


@dataclass(frozen=True)
class QboConnection:
    client_id: str
    realm_id: str | None = None
    api_url: str | None = None
    auth_url: str | None = None
    token_url: str | None = None
    # The redirect URI registered on the Intuit app and which keys it is (production | sandbox):
    # kept so a reconnect signs in the same way; neither is a secret.
    redirect_uri: str | None = None
    environment: str | None = None


class ConnectionStore:
    """Autotask and QBO connection details that are not secret (a separate, ordinary file)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._file = DocumentFile(self.path, "connection")

    def _section(self, name: str, cls: type) -> Any:
        section = self._file.read().get(name)
        if section is None:
            return None
        if not isinstance(section, dict):
            raise CorruptFileError(self.path, f"the section {name!r} is not a mapping")
        known = {f.name for f in fields(cls)}
        try:
            return cls(**{k: v for k, v in section.items() if k in known})
        except TypeError:
            raise CorruptFileError(self.path, f"the section {name!r} misses required fields") from None

    def get_autotask(self) -> AutotaskConnection | None:
        return self._section("autotask", AutotaskConnection)

    def set_autotask(self, connection: AutotaskConnection | None) -> None:
        self._file.update({"autotask": None if connection is None else _values(connection)})

    def get_qbo(self) -> QboConnection | None:
        return self._section("quickbooks", QboConnection)

    def set_qbo(self, connection: QboConnection | None) -> None:
        self._file.update({"quickbooks": None if connection is None else _values(connection)})


def _values(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _iso_or_none(when: datetime | None) -> str | None:
    return when.astimezone(timezone.utc).isoformat() if when else None


def _time_or_none(text: object) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) and text else None
    except ValueError:
        return None  # an unusable expiry: the client refreshes, the console says "unknown"
