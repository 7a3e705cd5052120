"""The `atqbo` command line (DESIGN.md §4 is the contract).

Exit codes: 0 success; 3 finished, some POs failed; 2 usage or configuration error;
1 fatal (cannot connect or authenticate).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_USAGE = 2
EXIT_SOME_FAILED = 3


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on bad usage, which is our contract's code for usage errors too."""


def _fault_spec(text: str) -> dict:
    """`KIND[,key=value...]`, e.g. `429,service=qbo,every=5` or `lost,method=POST,path=/bill,times=3`."""
    kind, *pairs = text.split(",")
    spec: dict = {"kind": kind.strip()}
    numbers = {"every": int, "skip": int, "times": int, "seed": int, "probability": float}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in {*numbers, "service", "method", "path"}:
            raise argparse.ArgumentTypeError(
                f"bad fault option {pair!r}: use key=value with key in service, method, path, "
                "every, skip, times, probability, seed")
        try:
            spec[key] = numbers[key](value) if key in numbers else value
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key} must be a number, got {value!r}") from None
    from sync.sandbox.control import FaultRule

    try:
        FaultRule(**spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="atqbo", description=(
        "Move Autotask PSA purchase orders into QuickBooks Online as bills, exactly once. "
        "Without a command, opens the console."))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sandbox = commands.add_parser(
        "sandbox", help="serve the local Autotask and QuickBooks Online emulators",
        description=(
            "Serve local emulators of Autotask REST and QuickBooks Online (with Intuit OAuth) on "
            "loopback, and print their URLs and the seeded company's credentials so any client "
            "can be pointed at them. Stops on Ctrl+C."))
    sandbox.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    sandbox.add_argument("--seed", choices=("demo", "empty"), default="demo",
                         help="demo: a small MSP with purchase orders in every state; empty: fresh companies")
    sandbox.add_argument("--latency-ms", type=float, default=0.0, metavar="N",
                         help="added latency per API request, in milliseconds")
    sandbox.add_argument("--no-limits", action="store_true",
                         help="turn off the emulated rate and thread limits")
    sandbox.add_argument("--fault", action="append", type=_fault_spec, default=[], metavar="SPEC",
                         help="inject a fault: KIND[,service=S][,method=M][,path=REGEX][,every=N][,skip=N]"
                              "[,times=N][,probability=P][,seed=N], KIND one of 429 500 502 503 lost "
                              "(lost: the write commits, the reply is dropped). Repeatable.")
    sandbox.add_argument("--json", action="store_true",
                         help="print the URLs and credentials as one JSON object on the first line")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == "sandbox":
        return _run_sandbox(args)
    parser.print_help()
    return EXIT_USAGE


def _run_sandbox(args: argparse.Namespace) -> int:
    from sync.sandbox.control import FaultRule, Knobs
    from sync.sandbox.server import Sandbox, SandboxServer

    if not 0 <= args.port <= 65535:
        print(f"atqbo sandbox: --port must be between 0 and 65535, got {args.port}", file=sys.stderr)
        return EXIT_USAGE
    if args.latency_ms < 0:
        print("atqbo sandbox: --latency-ms must be >= 0", file=sys.stderr)
        return EXIT_USAGE
    sandbox = Sandbox(args.seed, Knobs(latency_ms=args.latency_ms, limits_enabled=not args.no_limits))
    for spec in args.fault:
        sandbox.faults.add(FaultRule(**spec))
    server = SandboxServer(sandbox, port=args.port)
    try:
        server.start()
    except (RuntimeError, OSError) as exc:
        print(f"atqbo sandbox: cannot listen on port {args.port}: {exc}", file=sys.stderr)
        return EXIT_FATAL
    info = sandbox_info(server.url, sandbox.credentials(server.url))
    if args.json:
        print(json.dumps(info), flush=True)
    else:
        print(_describe(info), flush=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return EXIT_OK


def sandbox_info(url: str, credentials: dict) -> dict:
    return {"url": url, "admin_url": f"{url}/_sandbox", **credentials}


def _describe(info: dict) -> str:
    lines = [f"atqbo sandbox serving on {info['url']}", f"  admin API: {info['admin_url']}"]
    for service in ("autotask", "oauth", "qbo"):
        lines.append(f"  {service}:")
        for key, value in info.get(service, {}).items():
            lines.append(f"    {key}: {value}")
    lines.append("Press Ctrl+C to stop.")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
