"""The one rule for Autotask names that QuickBooks Online cannot hold.

QBO refuses a colon, a tab or a newline in a Vendor/Customer DisplayName or an Item Name
(a colon is its sub-item separator), and caps their length: DisplayName 500 characters,
Item Name 100. Autotask allows all of these. atqbo never sends such a name raw; it applies
this rule, the same way every time, so that the name it looks up is the name it created:

0. control characters are removed (`sync.text.for_qbo`, the one rule for text from outside):
   escape sequences, NUL, DEL, C1 and the bidirectional overrides never reach QBO; a tab or a
   line break becomes a space (and step 2 folds it);
1. every colon ``:`` becomes a hyphen ``-``;
2. every run of whitespace (tabs, newlines, carriage returns, several spaces, other Unicode
   spaces) becomes one space, and the ends are trimmed;
3. a name still longer than the limit is cut at the limit (counting characters, not bytes),
   and a space left at the cut is trimmed;
4. a name that is empty after 0-3 is rejected with cause ``name_invalid``.

Everything else is kept as it is: quotes, apostrophes, ampersands and non-ASCII letters are
valid in QBO (a query escapes them; that is the client's business, not the name's). A name
with a character above U+00FF (’ “ ” – ł) is valid too, but no query can carry it: the resolver
matches it against a listing of that entity instead (resolve.py), by the same key.
Matching uses the adjusted name, so a vendor created as "Acme - West" is found again next scan.
Two Autotask names that differ only in what the rule changes map to the same QBO record.
"""

from __future__ import annotations

import re
from typing import Literal

from sync.text import for_qbo, shown

NameKind = Literal["vendor", "customer", "item"]

MAX_LENGTH: dict[str, int] = {"vendor": 500, "customer": 500, "item": 100}

_WHITESPACE = re.compile(r"\s+")


class InvalidName(ValueError):
    """The name is empty once the rule is applied."""


def qbo_name(name: str | None, kind: NameKind) -> str:
    """The name QBO will hold for an Autotask name (see the module docstring for the rule)."""
    limit = MAX_LENGTH[kind]
    text = for_qbo(name or "").replace(":", "-")
    text = _WHITESPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[:limit].rstrip()
    if not text:
        raise InvalidName(f"the {kind} name \"{shown(name or '')}\" is empty once made valid for QuickBooks")
    return text
