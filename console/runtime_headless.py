"""The pieces the command line and the daemon run on, built from one data folder: the store,
the two API clients from the saved connection and secrets, the mail notifier, the engine.

This is the headless front ends' own builder until the lead's `console.wiring.build_runtime`
lands; it has the same shape (`.store`, `.autotask`, `.qbo`, `.engine`, `.sandbox_server`,
`aclose()`). Problems are raised as `RuntimeProblem` carrying the contract's exit code: 2 for
what the operator must configure (not connected, missing settings), 1 for what stops us from
running at all (the engine lock, damaged files).

Nothing here imports Textual.
"""

from __future__ import annotations

import errno
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

from sync.endpoints import intuit_endpoints, persist_tokens, zone_lookup_base  # noqa: F401  (re-exported)
from sync.settings import Settings, SettingsError
from sync.store import AutotaskConnection, QboConnection, Store
from sync.store.errors import NewerSchemaError, StoreError, StoreFileError, UnreadableFileError, UnsafeFileError
from sync.store.faults import StorageFault, from_os_error

if TYPE_CHECKING:  # the clients (httpx, authlib) and mail load only when a command needs them
    from sync.clients.autotask import AutotaskClient
    from sync.clients.oauth import TokenSet
    from sync.clients.qbo import QboClient
    from sync.mail import MailNotifier

EXIT_FATAL, EXIT_USAGE = 1, 2


class RuntimeProblem(Exception):
    """Why the runtime cannot be built, with the exit code the contract gives it. `fault`: the
    machine or a damaged file (exit 2 like a setting, but no screen of the console can fix it)."""

    def __init__(self, message: str, exit_code: int, fault: bool = False, fault_code: str | None = None) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.fault = fault
        self.fault_code = fault_code  # for --json and monitoring: disk_full, read_only, damaged_file, ...
        self.notices: list[str] = []  # what the store had to tell about the data folder


_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


def fault_code(exc: BaseException) -> str:
    if isinstance(exc, StorageFault):
        return exc.code
    if isinstance(exc, UnsafeFileError):
        return "unsafe_file"
    if isinstance(exc, UnreadableFileError):
        return "unreadable_file"
    if isinstance(exc, NewerSchemaError):
        return "newer_schema"
    return "damaged_file"


def store_problem(exc: BaseException) -> RuntimeProblem | None:
    """The contract's answer to a problem of the data folder, or None when `exc` is not one.
    A machine fault (disk full, read-only, wrong owner), a damaged or unsafe file: exit 2, the
    operator can fix it; another live engine holding the folder: exit 1."""
    if isinstance(exc, OSError) and not isinstance(exc, StorageFault):
        if not (exc.filename or exc.errno in _DISK_ERRNOS):
            return None  # (a pipe closed by the reader, a socket: not the data folder's)
        exc = from_os_error(exc)
    if isinstance(exc, (StorageFault, StoreFileError, NewerSchemaError)):
        return RuntimeProblem(str(exc), EXIT_USAGE, fault=True, fault_code=fault_code(exc))
    if isinstance(exc, StoreError):
        return RuntimeProblem(str(exc), EXIT_FATAL)
    return None


# ---------------------------------------------------------------- the store and the clients

def open_store(data_dir: str | Path | None) -> Store:
    try:
        return Store.open(data_dir)
    except (StoreError, OSError) as exc:
        raise store_problem(exc) from None


def load_settings(store: Store) -> Settings:
    try:
        return store.settings.load()
    except SettingsError as exc:
        raise RuntimeProblem(f"{exc}\nFix them with: atqbo settings set KEY VALUE", EXIT_USAGE) from None
    except (StoreError, OSError) as exc:
        raise store_problem(exc) from None


def autotask_from_store(store: Store) -> "AutotaskClient":
    from sync.clients.autotask import AutotaskClient

    conn = store.connection.get_autotask()
    secret = store.secrets.get_autotask_secret()
    if conn is None or not secret:
        raise RuntimeProblem(
            "Autotask is not connected. Connect it first: "
            "atqbo connect autotask --username U --integration-code C", EXIT_USAGE)
    return AutotaskClient(conn.username, conn.integration_code, secret.get_secret_value(),
                          zone_lookup_base=zone_lookup_base(conn.zone_url))


def _tokens_from_store(store: Store, realm_id: str | None) -> "TokenSet | None":
    from sync.clients.oauth import TokenSet

    stored = store.secrets.get_qbo_tokens()
    if stored is None:
        return None
    expires, refresh_expires = stored.access_token_expires_at, stored.refresh_token_expires_at
    return TokenSet(
        access_token=stored.access_token.get_secret_value() if stored.access_token else "",
        refresh_token=stored.refresh_token.get_secret_value(),
        expires_at=expires.timestamp() if expires else 0.0,
        refresh_expires_at=refresh_expires.timestamp() if refresh_expires else None, realm_id=realm_id)


def qbo_from_store(store: Store) -> "QboClient":
    from sync.clients.oauth import IntuitOAuth
    from sync.clients.qbo import QboClient
    from sync.clients.redirect_uri import default_api_url

    conn = store.connection.get_qbo()
    secret = store.secrets.get_qbo_client_secret()
    tokens = _tokens_from_store(store, conn.realm_id if conn else None)
    if conn is None or not secret or tokens is None or not conn.realm_id:
        raise RuntimeProblem(
            "QuickBooks Online is not connected. Connect it first: "
            "atqbo connect quickbooks --client-id ID", EXIT_USAGE)
    oauth = IntuitOAuth(conn.client_id, secret.get_secret_value(),
                        endpoints=intuit_endpoints(conn.auth_url, conn.token_url),
                        tokens=tokens, on_tokens=persist_tokens(store),
                        load_tokens=lambda: _tokens_from_store(store, conn.realm_id))
    return QboClient(oauth, conn.realm_id, api_url=conn.api_url or default_api_url(conn.environment))


def notifier_from(store: Store, settings: Settings, on_failure=None) -> "MailNotifier":
    from sync.mail import MailNotifier, SmtpConfig

    password = store.secrets.get_smtp_password()
    config = SmtpConfig.from_settings(settings, password.get_secret_value() if password else None)
    return MailNotifier(config, settings.notify_email, on_failure=on_failure)


# ---------------------------------------------------------------- the runtime


@dataclass
class Runtime:
    store: Store
    autotask: "AutotaskClient"
    qbo: "QboClient"
    settings: Settings
    notifier: "MailNotifier"
    engine: Any = None
    sandbox_server: Any = None
    _temp: Any = field(default=None, repr=False)

    def describe(self) -> str:
        where = f"data folder {self.store.locations.data_dir}"
        return f"demo sandbox at {self.sandbox_server.url}, {where}" if self.sandbox_server else where

    async def reload_settings(self) -> list[str]:
        """Re-read the settings file (SIGHUP); return the names that changed. The engine reads
        the settings at the start of each run, so the next scan uses them; the mail notifier
        is rebuilt here."""
        fresh = self.store.settings.load()  # SettingsError / StoreError: the caller keeps the old
        old, new = self.settings.to_values(), fresh.to_values()
        changed = [k for k in new if old.get(k) != new.get(k)]
        self.settings = fresh
        rebuilt = notifier_from(self.store, fresh, self.notifier.on_failure)
        self.notifier.config, self.notifier.notify_email = rebuilt.config, rebuilt.notify_email
        reload = getattr(self.engine, "reload_settings", None)
        if callable(reload):
            result = reload()
            if hasattr(result, "__await__"):
                await result
        return changed

    async def aclose(self) -> None:
        for closer in (getattr(self.engine, "aclose", None), self.autotask.aclose, self.qbo.aclose,
                       self.qbo.oauth.aclose):
            if closer is None:
                continue
            try:
                await closer()
            except Exception:
                pass
        self.store.close()
        if self.sandbox_server is not None:
            self.sandbox_server.stop()
        if self._temp is not None:
            self._temp.cleanup()


def _demo_folder() -> tuple[Any, Any, Path]:
    """A sandbox with the demo seed and a fresh temporary data folder already connected to it,
    under the settings the demo seed was made for."""
    from sync.sandbox.demo import DEMO_SETTINGS
    from sync.sandbox.server import Sandbox, SandboxServer

    sandbox = Sandbox("demo")
    server = SandboxServer(sandbox)
    server.start()
    creds = sandbox.credentials(server.url)
    temp = tempfile.TemporaryDirectory(prefix="atqbo-demo-")
    store = Store.open(temp.name)
    at, oauth, qbo = creds["autotask"], creds["oauth"], creds["qbo"]
    store.connection.set_autotask(AutotaskConnection(at["username"], at["integration_code"],
                                                     zone_lookup_base(at["zone_lookup_url"])))
    store.secrets.set_autotask_secret(at["secret"])
    store.connection.set_qbo(QboConnection(oauth["client_id"], oauth["realm_id"], qbo["api_url"],
                                           oauth["auth_url"], oauth["token_url"], oauth["redirect_uri"],
                                           oauth["environment"]))
    store.secrets.set_qbo_client_secret(oauth["client_secret"])
    store.secrets.save_qbo_tokens(oauth["refresh_token"])
    store.settings.save(Settings.from_values(DEMO_SETTINGS))
    store.close()
    return server, temp, Path(temp.name)


async def open_runtime(data_dir: str | Path | None, *, demo: bool = False, engine: bool = False,
                       printer: Any = None) -> Runtime:
    """Build the runtime. With `engine`, the engine lock is taken (one engine per data folder),
    the settings must be complete, and the engine is built with the mail notifier."""
    server = temp = None
    if demo:
        server, temp, data_dir = _demo_folder()
    store = open_store(data_dir)
    try:
        try:
            if engine:
                store.acquire_engine_lock()
            settings = load_settings(store)
            autotask = autotask_from_store(store)
            try:
                qbo = qbo_from_store(store)
            except BaseException:
                await autotask.aclose()
                raise
            on_failure = (lambda text: printer.message(text, level="warning")) if printer else None
            notifier = notifier_from(store, settings, on_failure)
        except (StoreError, OSError) as exc:  # the lock, the secrets file: named, with the exit code
            raise store_problem(exc) from None
        runtime = Runtime(store, autotask, qbo, settings, notifier, sandbox_server=server, _temp=temp)
    except BaseException as exc:
        if isinstance(exc, RuntimeProblem):  # (a caller that opens the store again still tells them)
            exc.notices = list(store.notices)
        store.close()
        if server is not None:
            server.stop()
        if temp is not None:
            temp.cleanup()
        raise
    if engine:
        missing = settings.missing_for_scan()
        if missing:
            await runtime.aclose()
            problem = RuntimeProblem(
                "settings incomplete, a scan cannot run:\n" + "\n".join(f"  {p}" for p in missing)
                + "\nSet them with: atqbo settings set KEY VALUE (see atqbo settings set --help)",
                EXIT_USAGE)
            problem.notices = list(store.notices)
            raise problem
        runtime.engine = build_engine(runtime)
    return runtime


def build_engine(runtime: Runtime) -> Any:
    from sync.engine import Engine  # the engine helper's class

    return Engine(runtime.store, runtime.autotask, runtime.qbo, notifier=runtime.notifier)
