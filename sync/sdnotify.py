"""systemd's notify protocol, the few lines it takes (no dependency): datagrams to the Unix
socket named by $NOTIFY_SOCKET ("@name" is the abstract namespace), e.g. b"READY=1",
b"STATUS=scan 14: 23 synced, next in 15 min", b"WATCHDOG=1". Without $NOTIFY_SOCKET (not
under systemd, or Type=simple) every call does nothing. A send that fails is dropped: telling
systemd must never stop the service (the watchdog will notice a daemon that is really stuck)."""

from __future__ import annotations

import os
import socket


class SdNotify:
    def __init__(self, address: str | None, watchdog_usec: int | None = None) -> None:
        self.address = address
        self.watchdog_usec = watchdog_usec
        self._sock: socket.socket | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "SdNotify":
        env = os.environ if environ is None else environ
        address = env.get("NOTIFY_SOCKET") or None
        usec: int | None = None
        raw = env.get("WATCHDOG_USEC", "")
        # WATCHDOG_PID, when set, names the process the watchdog is for (not us: not ours to ping).
        if raw.isdigit() and int(raw) > 0 and env.get("WATCHDOG_PID", str(os.getpid())) == str(os.getpid()):
            usec = int(raw)
        return cls(address, usec)

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to ping: half the watchdog timeout, as sd_watchdog_enabled(3) advises."""
        return self.watchdog_usec / 2_000_000 if self.watchdog_usec else None

    def send(self, *fields: str) -> bool:
        if not self.address:
            return False
        address = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        message = "\n".join(f.replace("\n", " ") for f in fields).encode("utf-8", "replace")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # Never wait: a reader that does not keep up would otherwise stall the event loop
                # (a Unix datagram queue holds only ~10 messages).
                self._sock.setblocking(False)
            self._sock.sendto(message, address)
            return True
        except OSError:
            return False

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, text: str) -> bool:
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
