"""The one parser for the ids an operator types: Autotask purchase order ids and error-log entry
ids, on the command line and on the console's screens.

ASCII digits only: Python's int() and str.isdigit() also take other scripts' digits ('٣' is 3,
'²' is a digit to isdigit()), which no operator means and which must never reach a query.
Range-checked: Autotask's ids are int64 (the REST swagger's "id": integer/int64), so
2**63 or more is refused here instead of being sent; the error log's ids are counted from 1 in
the same range.
"""

from __future__ import annotations

import re

MAX_ID = 2**63 - 1  # int64, Autotask's id type (swagger: "format": "int64")
_DIGITS = re.compile(r"[0-9]+")
_MAX_DIGITS = len(str(2**64))  # more than any bound here: refused before int() reads it all
_SHOWN = 40  # how much of a bad value a message quotes


class IdError(ValueError):
    """Not an id; the message says what an id looks like and quotes (a bounded part of) the input."""


def _show(text: str) -> str:
    return repr(text if len(text) <= _SHOWN else text[:_SHOWN] + "…")


def whole_number(text: object, minimum: int, maximum: int) -> int | None:
    """`text` as an int when it is ASCII digits (surrounding spaces allowed) within
    [minimum, maximum]; None otherwise. Also takes an int (not a bool)."""
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and _DIGITS.fullmatch(text.strip(" \t")):
        significant = text.strip(" \t").lstrip("0") or "0"  # (leading zeros are allowed)
        if len(significant) > _MAX_DIGITS:
            return None
        value = int(significant)
    else:
        return None
    return value if minimum <= value <= maximum else None


def parse_id(text: object, what: str, example: str) -> int:
    value = whole_number(text, 1, MAX_ID)
    if value is None:
        raise IdError(f"must be {what}, a whole number from 1 to {MAX_ID} written with the digits 0-9 "
                      f"(like {example}); got {_show(str(text))}")
    return value


def parse_po_id(text: object) -> int:
    """An Autotask purchase order id, or IdError."""
    return parse_id(text, "the Autotask purchase order id", "12345")


def parse_log_id(text: object) -> int:
    """An error-log entry id (as `atqbo logs` shows them), or IdError."""
    return parse_id(text, "an error-log entry id as shown by `atqbo logs`", "17")
