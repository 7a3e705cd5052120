"""Emulator of the QuickBooks Online Accounting API v3 (one company, served under /v3/company/).

Where reference/qbo-api.md marks a behaviour unverified [U], the emulator makes the choice the
reference recommends, and says so where it is made:
- forbidden characters in names → 6000 (the code is not documented); over-long fields → 2050;
- a C0 control character other than tab, LF, CR in a text field → 6000 (XML 1.0 cannot hold one);
- a bill line on an item without an expense account (or a Category) → 6000;
- Amount ≠ round-half-up(Qty × UnitPrice, 2) on item lines → 6070 (switchable: QboPrefs.check_line_amounts);
- 6140 only when WarnDuplicateBillNumber is on, per vendor by default (QboPrefs.duplicate_bill_scope),
  bypassed by include=allowduplicatedocnum (optionsData in batch);
- currency mismatches → 6000 "You can only use one foreign currency per transaction";
- requestid: successes are replayed verbatim for 24 h; a reuse with another method/path/body → 600;
  faults are not remembered (so a request whose cause was fixed can be retried as is) — both switchable;
- MAXRESULTS > 1000 → 4001 (as for STARTPOSITION 0); non-ASCII outside a literal, or a character above
  U+00FF inside one, → 4000 lexical error; "SELECT *, Sku" (named properties after *) is accepted;
- select's totalCount counts the page returned; count(*) counts all matches;
- a token of another realm → 403 code 3100; a bad or expired one → 401 code 3200 (lower-case JSON body).
"""

from .app import QboEmulator
from .seed import QboPrefs, QboSeed, empty_qbo_seed

__all__ = ["QboEmulator", "QboPrefs", "QboSeed", "empty_qbo_seed"]
