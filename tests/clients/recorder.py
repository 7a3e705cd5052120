"""A loopback HTTP server that records every request it receives (raw bytes, secrets included)
and answers each with a plausible Autotask answer: the witness that a refused URL was really
never sent anything."""

from __future__ import annotations

import socket
import socketserver
import threading


class Recorder:
    def __init__(self) -> None:
        self.requests: list[bytes] = []
        recorder = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                self.request.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = self.request.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                except socket.timeout:
                    pass
                if data:
                    recorder.requests.append(data)
                body = b'{"item": {"id": 0}, "items": [], "pageDetails": {"count": 0}}'
                self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                     b"Content-Length: " + str(len(body)).encode() + b"\r\n"
                                     b"Connection: close\r\n\r\n" + body)

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> "Recorder":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
