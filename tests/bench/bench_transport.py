"""What the answer bounds cost: the same Autotask GET against the sandbox (limits off, no added
latency), through a plain httpx client and through the clients' BoundedTransport (overall
deadline, size counting). Loopback makes the difference as large as it can be; against a real
service's tens of milliseconds it disappears.

    .venv/bin/python tests/bench/bench_transport.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import statistics
import time

import anyio
import httpx

from sync.clients.autotask import AutotaskClient
from sync.clients.bounded import bounded_client
from sync.sandbox.server import Sandbox, SandboxServer


async def per_request_ms(server: SandboxServer, http: httpx.AsyncClient, n: int) -> float:
    c = server.sandbox.credentials(server.url)["autotask"]
    at = AutotaskClient(c["username"], c["integration_code"], c["secret"], zone_lookup_base=server.url,
                        http=http, threshold_every_calls=10 ** 9, threshold_every_seconds=10 ** 9)
    try:
        await at.get("Companies", 0)  # zone lookup and connection out of the measurement
        started = time.perf_counter()
        for _ in range(n):
            await at.get("Companies", 0)
        return (time.perf_counter() - started) / n * 1000
    finally:
        await http.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with SandboxServer(Sandbox("demo")) as server:
        httpx.patch(server.url + "/_sandbox/knobs", json={"limits_enabled": False}, timeout=10).raise_for_status()
        figures: dict[str, list[float]] = {"plain": [], "bounded": []}
        for _ in range(args.rounds):  # interleaved, so drift hits both alike
            figures["plain"].append(anyio.run(per_request_ms, server, httpx.AsyncClient(timeout=60), args.requests))
            figures["bounded"].append(anyio.run(per_request_ms, server,
                                                bounded_client(timeout=60, deadline=180), args.requests))
    plain, bounded = (statistics.median(figures[k]) for k in ("plain", "bounded"))
    for name, values in figures.items():
        print(f"{name:8} {statistics.median(values):.3f} ms/request (median of {args.rounds}: "
              + ", ".join(f"{v:.3f}" for v in values) + ")")
    print(f"overhead {bounded - plain:+.3f} ms/request ({(bounded / plain - 1) * 100:+.1f} %)")


if __name__ == "__main__":
    main()
