"""Who is at the other end of a Unix socket: both sides of the control socket check it."""

from __future__ import annotations

import socket
import struct
from typing import Any

from anyio.abc import SocketAttribute


def peer_uid(stream: Any) -> int | None:
    """The uid of the process at the other end of a Unix socket (SO_PEERCRED), or None."""
    raw = stream.extra(SocketAttribute.raw_socket)
    try:
        creds = raw.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    except (AttributeError, OSError):
        return None
    return struct.unpack("3i", creds)[1]
