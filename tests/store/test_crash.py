"""Kill -9 a writer at random moments, many times: every file stays loadable and every
acknowledged write is there. ATQBO_CRASH_KILLS raises the number of kills (default 30)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sync.store import ErrorStatus, JournalState, Store

ROOT = Path(__file__).resolve().parents[2]
ORDER = [s.value for s in (JournalState.SEEN, JournalState.RESOLVED, JournalState.BILL_REQUESTED,
                           JournalState.BILL_CREATED, JournalState.WRITTEN_BACK)]


class Acked:
    def __init__(self) -> None:
        self.errors: dict[int, int] = {}
        self.resolved: set[int] = set()
        self.journal: dict[int, str] = {}
        self.token = 0
        self.days = 0

    def take(self, output: str) -> int:
        lines = output.split("\n")
        # A line without its newline was being written when the kill came: not acknowledged.
        complete = lines[:-1]
        for line in complete:
            kind, *rest = line.split()
            if kind == "ready":
                continue
            if kind == "E":
                self.errors[int(rest[0])] = int(rest[1])
            elif kind == "R":
                self.resolved.add(int(rest[0]))
            elif kind == "J":
                self.journal[int(rest[0])] = rest[1]
            elif kind == "T":
                self.token = max(self.token, int(rest[0]))
            elif kind == "S":
                self.days = max(self.days, int(rest[0]))
        return len(complete)


def verify(data: Path, acked: Acked) -> None:
    store = Store.open(data, error_segment_size=25)
    try:
        for entry_id, po_id in acked.errors.items():
            entry = store.errors.get(entry_id)
            assert entry is not None, f"acknowledged error entry {entry_id} lost"
            assert entry.po_id == po_id
        for entry_id in acked.resolved:
            assert store.errors.get(entry_id).status is ErrorStatus.RESOLVED, entry_id
        assert len(store.errors) >= len(acked.errors)
        assert len(store.errors.page(10**6)) == len(store.errors)  # every segment loads
        for po_id, state in acked.journal.items():
            entry = store.journal.get(po_id)
            assert entry is not None, f"acknowledged journal record {po_id} lost"
            # The stored state is the acknowledged one or (written, not yet acked) one step on.
            assert ORDER.index(entry.state.value) - ORDER.index(state) in (0, 1), (po_id, state, entry.state)
        tokens = store.secrets.get_qbo_tokens()
        if acked.token:
            n = int(tokens.refresh_token.get_secret_value()[3:])
            assert n in (acked.token, acked.token + 1)
            assert tokens.access_token.get_secret_value() == f"at-{n}"  # saved together
        days = store.settings.load().days_back or 0
        assert days in (acked.days, acked.days + 1)
    finally:
        store.close()


def test_sigkill_at_random_moments_loses_no_acknowledged_write(tmp_path):
    kills = int(os.environ.get("ATQBO_CRASH_KILLS", "30"))
    rng = random.Random(int(os.environ.get("ATQBO_CRASH_SEED", "20261125")))
    data = tmp_path / "data"
    acked = Acked()
    total_acks = 0
    for round_no in range(kills):
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.store.crash_writer", str(data), str(round_no)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        head = ""
        if round_no % 4 == 0:
            # Kill while it may still be starting (opening files, rebuilding indexes).
            time.sleep(rng.uniform(0.0, 0.3))
        else:
            # Kill mid-writes, timed from when it is ready (machine load does not matter).
            head = proc.stdout.readline()
            assert head == "ready\n", proc.stderr.read()
            time.sleep(rng.uniform(0.0, 0.25))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate()
        out = head + out
        assert proc.returncode == -signal.SIGKILL, err  # it was still writing when killed
        total_acks += acked.take(out)
        verify(data, acked)
    assert total_acks > kills * 3, "the writer hardly wrote anything: the test proves little"
    # Reopening (in verify) swept the temporary files the killed writers left behind.
    assert [p.name for p in data.rglob("*.tmp")] == []
