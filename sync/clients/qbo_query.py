"""Builds QBO query-language statements with correct escaping (reference/qbo-api.md §3).

    Select("Vendor").where("DisplayName", "=", "Adam's \\ Shop").build()
    → SELECT * FROM Vendor WHERE DisplayName = 'Adam\\'s \\\\ Shop'

Rules: string literals are single-quoted; a quote inside is written \\' and a backslash \\\\
(backslash is QBO's escape character, so a lone one would swallow the next character).
Non-ASCII text goes through as is: the query is POSTed as UTF-8 (application/text), never
squeezed into ASCII. But QBO's query lexer reads 8-bit characters only: a literal holding one
above U+00FF (’ “ ” – ł) is refused with a 4000 "Lexical error", however it is escaped or
encoded, so such a value cannot be looked up by a query at all: `quote` refuses it here
(UnqueryableText) rather than send a query QBO would refuse; see `queryable`. Conditions join with AND only (QBO has no OR). Property names are checked
so that a value can never be read as query syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

OPERATORS = ("=", "<", ">", "<=", ">=", "IN", "LIKE")
MAX_PAGE = 1000
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")


QUERY_MAX_CHAR = 0xFF


class UnqueryableText(ValueError):
    """The text holds a character QBO's query lexer cannot read (it would answer 4000)."""


def queryable(value: str) -> bool:
    """Whether QBO's query language can carry `value` in a literal (every character ≤ U+00FF).
    A name that is not must be matched another way (from a listing, compared locally)."""
    return all(ord(c) <= QUERY_MAX_CHAR for c in value)


def quote(value: str) -> str:
    """A QBO string literal for `value`."""
    if not isinstance(value, str):
        raise TypeError("quote() takes a string")
    if "\x00" in value:
        raise ValueError("a QBO query value cannot contain a NUL character")
    if not queryable(value):
        bad = next(c for c in value if ord(c) > QUERY_MAX_CHAR)
        raise UnqueryableText(f"QuickBooks' query language cannot carry {bad!r} (U+{ord(bad):04X}): "
                              "match such text from a listing instead of a query")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def literal(value: Any) -> str:
    """A literal for any supported value: str, bool, int, float, Decimal, date, datetime."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("a QBO query number must be finite")
        return repr(value)
    if isinstance(value, datetime):
        return quote(value.isoformat())
    if isinstance(value, date):
        return quote(value.isoformat())
    if isinstance(value, str):
        return quote(value)
    if value is None:
        raise ValueError("QBO queries have no NULL literal here; filter another way")
    raise TypeError(f"unsupported QBO query value type {type(value).__name__}")


def _name(name: str, what: str) -> str:
    if not _IDENT.match(name or ""):
        raise ValueError(f"{what} {name!r} is not a valid QBO name")
    return name


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any

    def build(self) -> str:
        op = self.op.upper()
        if op not in OPERATORS:
            raise ValueError(f"QBO queries support {', '.join(OPERATORS)}, not {self.op!r}")
        name = _name(self.field, "property")
        if op == "IN":
            values = list(self.value)
            if not values:
                raise ValueError("IN needs at least one value")
            return f"{name} IN ({', '.join(literal(v) for v in values)})"
        if op == "LIKE" and not isinstance(self.value, str):
            raise TypeError("LIKE takes a string pattern (% is the only wildcard)")
        return f"{name} {op} {literal(self.value)}"


@dataclass(frozen=True)
class Select:
    """SELECT * (or count(*)) FROM entity [WHERE ... AND ...] [ORDERBY] [STARTPOSITION]
    [MAXRESULTS]. Immutable: each method returns a new Select."""

    entity: str
    conditions: tuple[Condition, ...] = ()
    order_by: str | None = None
    descending: bool = False
    start_position: int | None = None
    max_results: int | None = None
    count: bool = False

    def where(self, field_name: str, op: str, value: Any) -> "Select":
        cond = Condition(field_name, op, value)
        cond.build()  # fail now, not when sent
        return replace(self, conditions=self.conditions + (cond,))

    def eq(self, field_name: str, value: Any) -> "Select":
        return self.where(field_name, "=", value)

    def order(self, field_name: str, *, descending: bool = False) -> "Select":
        return replace(self, order_by=_name(field_name, "property"), descending=descending)

    def page(self, start_position: int, max_results: int) -> "Select":
        if start_position < 1:
            raise ValueError("STARTPOSITION starts at 1")
        if not 1 <= max_results <= MAX_PAGE:
            raise ValueError(f"MAXRESULTS must be between 1 and {MAX_PAGE}")
        return replace(self, start_position=start_position, max_results=max_results)

    def counting(self) -> "Select":
        return replace(self, count=True, start_position=None, max_results=None, order_by=None)

    def build(self) -> str:
        parts = [f"SELECT {'count(*)' if self.count else '*'} FROM {_name(self.entity, 'entity')}"]
        if self.conditions:
            parts.append("WHERE " + " AND ".join(c.build() for c in self.conditions))
        if self.order_by:
            parts.append(f"ORDERBY {self.order_by}{' DESC' if self.descending else ''}")
        if self.start_position is not None:
            parts.append(f"STARTPOSITION {self.start_position}")
        if self.max_results is not None:
            parts.append(f"MAXRESULTS {self.max_results}")
        return " ".join(parts)

    def __str__(self) -> str:
        return self.build()
