"""A writer for the crash test: mixes every kind of store write and prints an ack line only
after the write call returned. Run: python -m tests.store.crash_writer DATA_DIR SEED

First line "ready" once the store is open; then ack lines (one per acknowledged write):
  E <id> <po_id>       error-log entry added
  R <id>               error-log entry resolved
  J <po_id> <state>    journal transition stored
  T <n>                QBO tokens saved with refresh token "rt-<n>"
  S <n>                settings saved with days_back = n
"""

from __future__ import annotations

import random
import sys

from sync.store import ErrorStatus, JournalState, Store

NEXT = {
    JournalState.SEEN: JournalState.RESOLVED,
    JournalState.RESOLVED: JournalState.BILL_REQUESTED,
    JournalState.BILL_REQUESTED: JournalState.BILL_CREATED,
    JournalState.BILL_CREATED: JournalState.WRITTEN_BACK,
}


def main(data_dir: str, seed: int) -> None:
    rng = random.Random(seed)
    store = Store.open(data_dir, error_segment_size=25)
    store.acquire_engine_lock()
    out = sys.stdout
    tokens = store.secrets.get_qbo_tokens()
    token_n = int(tokens.refresh_token.get_secret_value()[3:]) if tokens else 0
    days = store.settings.load().days_back or 0
    in_flight = {e.po_id: e.state for e in store.journal.unfinished()}
    next_po = max([e.po_id for e in store.journal.all()], default=0) + 1
    out.write("ready\n")
    out.flush()
    while True:
        roll = rng.random()
        if roll < 0.35:
            po_id = rng.randrange(1, 10_000)
            entry = store.errors.add(po_id=po_id, cause_code="qbo_error", cause="QBO refused the bill",
                                     fix="retry", raw_error='{"Fault": "x" }' * rng.randrange(1, 20))
            out.write(f"E {entry.id} {po_id}\n")
        elif roll < 0.45:
            open_now = store.errors.open_errors(limit=20)
            if open_now:
                victim = rng.choice(open_now)
                store.errors.update(victim.id, status=ErrorStatus.RESOLVED)
                out.write(f"R {victim.id}\n")
        elif roll < 0.80:
            if not in_flight or (len(in_flight) < 5 and rng.random() < 0.3):
                store.journal.transition(next_po, None, JournalState.SEEN)
                in_flight[next_po] = JournalState.SEEN
                out.write(f"J {next_po} seen\n")
                next_po += 1
            else:
                po_id = rng.choice(sorted(in_flight))
                new = NEXT[in_flight[po_id]]
                store.journal.transition(po_id, in_flight[po_id], new, request_id=f"r{po_id}")
                out.write(f"J {po_id} {new.value}\n")
                if new is JournalState.WRITTEN_BACK:
                    del in_flight[po_id]
                else:
                    in_flight[po_id] = new
        elif roll < 0.90:
            token_n += 1
            store.secrets.save_qbo_tokens(f"rt-{token_n}", f"at-{token_n}", None)
            out.write(f"T {token_n}\n")
        else:
            days += 1
            store.set_setting("days_back", str(days))
            out.write(f"S {days}\n")
        out.flush()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
