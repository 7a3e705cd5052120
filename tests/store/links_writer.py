"""A writer for the links kill -9 test: stores links and prints an ack line only after the
write returned. Run: python -m tests.store.links_writer LINKS_FILE START

First line "ready"; then "L <kind> <autotask_id> <qbo_id>" per acknowledged link.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sync.store.links import LINK_KINDS, Link, LinkBook, LinkMethod


def main(path: str, start: int) -> None:
    book = LinkBook(Path(path))
    out = sys.stdout
    out.write("ready\n")
    out.flush()
    n = start
    while True:
        kind = LINK_KINDS[n % 3]
        # Some ids come back with another QBO id: a replaced link must be the newest acked one.
        at_id = 1 + n % 40
        link = book.put(Link(kind=kind, autotask_id=at_id, qbo_id=str(1000 + n), method=LinkMethod.BY_HAND,
                             autotask_name=f"Org {at_id}", qbo_name=f"Vendor {n}"))
        out.write(f"L {link.kind} {link.autotask_id} {link.qbo_id}\n")
        out.flush()
        n += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
