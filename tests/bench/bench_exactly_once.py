"""Exactly once at full size (issue 6 "Proof"): the daemon killed with SIGKILL at random moments
across 200 POs, in a storm of lost replies, 429s and 5xx on both services; then a clean run.

Run: .venv/bin/python tests/bench/bench_exactly_once.py [--pos 200] [--kills 25] [--seed 1]
                                                        [--intensity 1.0] [--latency-ms 0] [--keep DIR]
                                                        [--numbering quickbooks|autotask]

Prints every round as it goes, then the figures (kills, POs, bills, duplicates, lost replies /
429s / 5xx injected, wall time) and the verdict. Exit status 0 when exactly once held (one bill
per PO, every externalPONumber its bill's DocNumber, nothing unfinished in the journal, no open
error), 1 otherwise (each problem printed). `--strict-journal` also fails on journal records
left behind a PO that is finished in both systems.
The harness is tests/exactly_once/crash_harness.py (the CI test runs it at 60 POs / 20 kills).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from exactly_once.crash_harness import CampaignConfig, run_campaign  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pos", type=int, default=200, help="POs seeded (default 200)")
    parser.add_argument("--kills", type=int, default=25, help="SIGKILLs to deliver (at least 20 for the proof)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the data, the kill timing and the faults")
    parser.add_argument("--intensity", type=float, default=1.0,
                        help="scale of the 429/5xx probabilities (lost bill replies are not scaled)")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added latency per sandbox request")
    parser.add_argument("--numbering", choices=["quickbooks", "autotask"], default="quickbooks",
                        help="po_number_source: bill numbers from QBO's sequence or the Autotask PO number")
    parser.add_argument("--round-timeout", type=float, default=120.0, help="seconds before a daemon run counts as hung")
    parser.add_argument("--strict-journal", action="store_true",
                        help="also fail on journal records left behind a PO finished in both systems")
    parser.add_argument("--keep", type=Path, help="keep the data folder and daemon stderr log here")
    parser.add_argument("--quiet", action="store_true", help="no line per round")
    args = parser.parse_args(argv)
    if args.pos < 1 or args.kills < 1:
        parser.error("--pos and --kills must be at least 1")

    def log(text: str) -> None:
        if not args.quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)

    cfg = CampaignConfig(n_pos=args.pos, kills=args.kills, seed=args.seed, fault_intensity=args.intensity,
                         latency_ms=args.latency_ms, round_timeout_s=args.round_timeout, numbering=args.numbering,
                         log=log)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = run_campaign(cfg, args.keep)
    else:
        with tempfile.TemporaryDirectory(prefix="atqbo-exactly-once-") as tmp:
            report = run_campaign(cfg, Path(tmp))
    print(report.figures())
    if report.causes_seen:
        print("  first failures during the storm (the faults' effect, in the engine's words):")
        for line in report.causes_seen:
            print(f"    {line}")
    if report.server_kills:
        print(f"  kills delivered by the sandbox ({len(report.server_kills)}):")
        for line in report.server_kills:
            print(f"    {line}")
    verdict = report.verdict
    problems = verdict.problems(stale_ok=not args.strict_journal) if verdict else ["no verdict: the run broke off"]
    if report.kills < min(20, args.kills):
        problems.append(f"only {report.kills} kills delivered (asked for {args.kills})")
    if verdict and verdict.journal_stale and not args.strict_journal:
        print(f"  note: {len(verdict.journal_stale)} journal records lag behind finished POs: {verdict.journal_stale[:5]}")
    if problems:
        print("EXACTLY ONCE VIOLATED:" if verdict and (verdict.duplicates or verdict.pos_without_bill) else "PROBLEMS:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("exactly once held")
    return 0


if __name__ == "__main__":
    sys.exit(main())
