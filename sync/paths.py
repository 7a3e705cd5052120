"""The one place that knows where atqbo keeps its files.

Resolution order: an explicit `--data-dir`, then the ATQBO_DATA_DIR environment variable, then
platformdirs' user data and config folders. With an override both data and config live in that
one folder, so tests and demo runs are hermetic. Nothing is created until a writer asks for it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "atqbo"
ENV_DATA_DIR = "ATQBO_DATA_DIR"
# Folders hold secrets and business data: owner only.
DIR_MODE = 0o700
FILE_MODE = 0o600
# A Unix socket's path must fit sockaddr_un.sun_path (108 bytes on Linux, 104 on macOS, with
# the closing NUL).
SOCKET_PATH_MAX = 103


@dataclass(frozen=True)
class Locations:
    """Every file and folder atqbo reads or writes, for one data folder."""

    data_dir: Path
    config_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def connection_file(self) -> Path:
        return self.config_dir / "connection.json"

    @property
    def secrets_file(self) -> Path:
        return self.config_dir / "secrets.json"

    @property
    def errors_dir(self) -> Path:
        return self.data_dir / "errors"

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "journal"

    @property
    def links_file(self) -> Path:
        return self.data_dir / "links.json"

    @property
    def history_dir(self) -> Path:
        return self.data_dir / "history"

    @property
    def lock_file(self) -> Path:
        return self.data_dir / "engine.lock"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def control_socket(self) -> Path:
        """The running engine's control socket (docs/control-protocol.md): in the data folder,
        or, when that path is too long for a socket, in the user's runtime folder under a name
        made from the data folder (so every client finds the same one)."""
        inside = self.data_dir / "engine.sock"
        if len(os.fsencode(inside)) <= SOCKET_PATH_MAX:
            return inside
        # Not $XDG_RUNTIME_DIR or $TMPDIR: a service and an SSH session often differ in both,
        # and both must find the same socket. The server checks the folder is its own, 0700.
        digest = hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:20]
        base = Path("/tmp") if Path("/tmp").is_dir() else Path(tempfile.gettempdir())
        return base / f"atqbo-{os.getuid()}" / f"atqbo-{digest}.sock"


def locate(data_dir: Path | str | None = None) -> Locations:
    """Where the files are, without creating anything."""
    override = data_dir if data_dir not in (None, "") else os.environ.get(ENV_DATA_DIR) or None
    if override is not None:
        root = Path(override).expanduser().absolute()
        return Locations(data_dir=root, config_dir=root)
    return Locations(
        data_dir=platformdirs.user_data_path(APP_NAME, appauthor=False),
        config_dir=platformdirs.user_config_path(APP_NAME, appauthor=False),
    )


def ensure_dir(path: Path) -> Path:
    """Create `path` (and parents) owner-only if missing; return it."""
    if not path.is_dir():
        path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        # mkdir's mode is filtered by the umask; make sure it is exactly owner-only.
        os.chmod(path, DIR_MODE)
    return path
