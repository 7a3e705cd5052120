"""The bench's sandbox, served by a process of its own (issue 17), or in the bench's process.

The emulators are Python too, and share one interpreter with whatever serves them: in the bench's
process they competed for its GIL with the threads that read the daemon's events and feed its
subscribers, so a busy bench slowed the "services" it measured the product against. As a
subprocess, the daemon, the bench and the sandbox each have their own interpreter, as the product
and the real APIs have. Everything the bench needs from the sandbox goes over HTTP, through the
admin routes (/_sandbox/...), so both ways give the same figures the same way.

Run as a script, it builds the bench's data (bench_sync.bench_seed with the same arguments gives
the same records), serves it on an ephemeral loopback port, prints {"url": ...} and serves until
its stdin closes (the bench exits or stops it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sync.sandbox.qbo.limits import QboLimits  # noqa: E402


@dataclass(frozen=True)
class World:
    """The arguments of bench_sync.bench_seed: what the sandbox process needs to build the data."""

    pos: int
    lines: int
    seed: int
    vendors: int
    products: int

    def argv(self) -> list[str]:
        return [f"--pos={self.pos}", f"--lines={self.lines}", f"--seed={self.seed}", f"--vendors={self.vendors}",
                f"--products={self.products}"]


class Served:
    """A running sandbox as the bench uses it; `sandbox` is itself, for helpers (connect_folder,
    the baseline) that read `server.sandbox.credentials(server.url)` from a SandboxServer."""

    url: str

    def __init__(self, url: str) -> None:
        self.url = url
        self.sandbox = self
        self._admin = httpx.Client(base_url=url + "/_sandbox", timeout=120)

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        r = self._admin.request(method, path, json=body)
        r.raise_for_status()
        return r.json()

    def configure(self, latency_ms: float, threshold: int | None, timeframe_minutes: float | None,
                  used_by_others: int) -> None:
        self.admin("PATCH", "/knobs", {"latency_ms": latency_ms, "limits_enabled": True})
        if threshold is not None:
            self.admin("PATCH", "/autotask/limits", {"hourly_threshold": threshold,
                                                     "timeframe_minutes": timeframe_minutes})
        if used_by_others:
            self.admin("PUT", "/autotask/usage", {"count": used_by_others})

    def credentials(self, base_url: str) -> dict:
        return self.admin("GET", "/credentials")

    def peak_arrived(self) -> int:
        """The most Autotask requests that arrived within one timeframe."""
        return int(self.admin("GET", "/autotask/usage")["peak_arrived"])

    def slowdown(self) -> list:
        return [tuple(step) for step in self.admin("GET", "/autotask/limits")["slowdown"]]

    def qbo_limits(self) -> QboLimits:
        return QboLimits(**self.admin("GET", "/qbo/limits"))

    def stop(self) -> None:
        self._admin.close()


class SandboxProcess(Served):
    def __init__(self, world: World, log: Path) -> None:
        self._log = open(log, "wb")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), *world.argv()], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # after the data is built and the port is open
        if not line:
            self.proc.wait(10)
            raise RuntimeError(f"the sandbox process exited ({self.proc.returncode}); see {log}")
        super().__init__(json.loads(line)["url"])

    def stop(self) -> None:
        super().stop()
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()


class InProcess(Served):
    """The sandbox in the bench's own process (--sandbox-in-process: how the bench ran before)."""

    def __init__(self, world: World) -> None:
        from bench_sync import bench_seed
        from sync.sandbox.server import Sandbox, SandboxServer

        self.server = SandboxServer(Sandbox(bench_seed(world.pos, world.lines, world.seed, world.vendors,
                                                       world.products)[0])).start()
        super().__init__(self.server.url)

    def stop(self) -> None:
        super().stop()
        self.server.stop()


def start(world: World, workdir: Path, in_process: bool = False) -> Served:
    workdir.mkdir(parents=True, exist_ok=True)
    return InProcess(world) if in_process else SandboxProcess(world, workdir / "sandbox-stderr.log")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="serve the bench's sandbox until stdin closes")
    for name in ("pos", "lines", "seed", "vendors", "products"):
        parser.add_argument(f"--{name}", type=int, required=True)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_sync import bench_seed
    from sync.sandbox.server import Sandbox, SandboxServer

    data, _ = bench_seed(args.pos, args.lines, args.seed, args.vendors, args.products)
    server = SandboxServer(Sandbox(data)).start()
    del data
    print(json.dumps({"url": server.url}), flush=True)
    sys.stdin.read()  # EOF: the bench is done with us (or gone)
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
