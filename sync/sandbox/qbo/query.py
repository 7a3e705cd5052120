"""The QBO query language, written from Intuit's grammar (reference/qbo-api.md §3):

    SELECT * | count(*) FROM IntuitEntity [WHERE WhereClause] [ORDERBY OrderByClause]
           [STARTPOSITION Number] [MAXRESULTS Number]

WhereClause joins conditions with AND only; operators = < > <= >= IN LIKE (LIKE knows only %).
String literals are single-quoted with backslash escapes (\\' and \\\\) and hold 8-bit characters
only: anything above U+00FF (’ “ ” – ł) is a lexical error, as QBO's lexer answers. Keywords, entity and
property names are case-insensitive, and so are string comparisons (the reference's advice for
the emulator, since the sources conflict). Errors carry JavaCC-style details as QBO's parser does.
This module shares nothing with any client's query builder, on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from .faults import QboFault, parser_error, query_invalid

KEYWORDS = frozenset({"select", "from", "where", "and", "orderby", "asc", "desc", "startposition",
                      "maxresults", "in", "like", "count", "true", "false"})
OPERATORS = ("<=", ">=", "=", "<", ">")
DEFAULT_MAX_RESULTS = 100
LEXER_MAX_CHAR = 0xFF  # the highest character QBO's query lexer accepts inside a string literal
MAX_RESULTS_LIMIT = 1000


@dataclass
class Token:
    kind: str  # "kw", "ident", "string", "number", "punct", "eof"
    value: str  # keyword lower-cased; identifier as written; string unescaped; number text; punctuation
    image: str  # the source text, for error messages
    column: int  # 1-based
    fault: QboFault | None = None  # kind "error": the lexical error to raise when reached


@dataclass
class Condition:
    field: str
    op: str  # = < > <= >= in like
    value: Any  # str | Decimal | bool, or a list of them for IN


@dataclass
class Query:
    count: bool
    entity: str
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start: int = 1
    max_results: int = DEFAULT_MAX_RESULTS
    fields: list[str] = field(default_factory=list)  # properties named after "*," (checked by the caller)


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


def tokenize(text: str) -> list[Token]:
    """All tokens; a lexical error becomes a final "error" token, raised only when the parser
    reaches it (as a lazy JavaCC lexer does: `'Bob's'` fails at `s`, not at the dangling quote)."""
    tokens: list[Token] = []
    try:
        _scan(text, tokens)
    except QboFault as fault:
        tokens.append(Token("error", fault.detail, "", 0, fault))
        return tokens
    tokens.append(Token("eof", "", "", len(text) + 1))
    return tokens


def _scan(text: str, tokens: list[Token]) -> None:
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        col = i + 1
        if c == "'":
            j = i + 1
            out: list[str] = []
            while True:
                if j >= n:
                    raise parser_error(f"Lexical error at line 1, column {n + 1}.  Encountered: <EOF> after : "
                                       f"\"{text[i:]}\"")
                ch = text[j]
                if ch == "\\" and j + 1 < n and ord(text[j + 1]) <= LEXER_MAX_CHAR:
                    out.append(text[j + 1])  # \' -> '  and  \\ -> \  (any escaped char stands for itself)
                    j += 2
                    continue
                if ch == "'":
                    break
                if ch == "\\" and j + 1 < n:
                    j += 1  # an escaped character the lexer cannot read is as bad as a bare one
                    ch = text[j]
                if ord(ch) > LEXER_MAX_CHAR:
                    # QBO's lexer reads 8-bit characters only: ’ “ ” – ł in a literal are a lexical
                    # error however the query is sent (ruckus/quickbooks-ruby#309, QuickBooks-V3-PHP-SDK#397).
                    raise parser_error(f"Invalid content. Lexical error at line 1, column {j + 1}.  "
                                       f"Encountered: \"{_escape(ch)}\" ({ord(ch)}), after : \"{_escape(text[i:j])}\"")
                out.append(ch)
                j += 1
            tokens.append(Token("string", "".join(out), text[i:j + 1], col))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and (c != "-" or (tokens and tokens[-1].kind == "punct")):
            tokens.append(Token("number", m.group(), m.group(), col))
            i = m.end()
            continue
        m = _NAME.match(text, i)
        if m:
            word = m.group()
            if word.lower() in KEYWORDS:
                tokens.append(Token("kw", word.lower(), word, col))
            else:
                tokens.append(Token("ident", word, word, col))
            i = m.end()
            continue
        two = text[i:i + 2]
        if two in ("<=", ">="):
            tokens.append(Token("punct", two, two, col))
            i += 2
            continue
        if c in "=<>(),*":
            tokens.append(Token("punct", c, c, col))
            i += 1
            continue
        # Non-ASCII outside a literal is a lexical error too (only Latin-1 letters are accepted, and
        # only inside quotes).
        raise parser_error(f"Invalid content. Lexical error at line 1, column {col}.  "
                           f"Encountered: \"{_escape(c)}\" ({ord(c)}), after : \"\"")


def _escape(text: str) -> str:
    """Text as JavaCC's TokenMgrError shows it (addEscapes): quotes and backslashes escaped,
    anything outside printable ASCII as \\uXXXX."""
    out = []
    for ch in text:
        if ch in "'\"\\":
            out.append("\\" + ch)
        elif 0x20 <= ord(ch) <= 0x7E:
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


def _describe(tok: Token) -> str:
    if tok.kind == "eof":
        return 'Encountered "<EOF>"'
    kind = {"ident": "<IDENTIFIER>", "string": "<STRING_LITERAL>", "number": "<INTEGER>"}.get(tok.kind)
    if kind is None:
        kind = f'"{tok.value}"'
    return f'Encountered " {kind} "{tok.image} ""'


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token:
        tok = self.tokens[self.pos]
        if tok.fault is not None:
            raise tok.fault
        return tok

    def next(self) -> Token:
        tok = self.peek()
        self.pos += 1
        return tok

    def fail(self, tok: Token, expecting: str) -> None:
        raise parser_error(f"{_describe(tok)} at line 1, column {tok.column}.\nWas expecting one of:\n    {expecting}")

    def expect_kw(self, word: str) -> Token:
        tok = self.next()
        if tok.kind != "kw" or tok.value != word:
            self.fail(tok, f'"{word}" ...')
        return tok

    def expect_punct(self, p: str) -> Token:
        tok = self.next()
        if tok.kind != "punct" or tok.value != p:
            self.fail(tok, f'"{p}" ...')
        return tok

    def at_kw(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "kw" and tok.value == word

    def ident(self) -> str:
        tok = self.next()
        if tok.kind != "ident":
            self.fail(tok, "<IDENTIFIER> ...")
        return tok.value

    def literal(self) -> Any:
        tok = self.next()
        if tok.kind == "string":
            return tok.value
        if tok.kind == "number":
            return Decimal(tok.value)
        if tok.kind == "kw" and tok.value in ("true", "false"):
            return tok.value == "true"
        self.fail(tok, "<STRING_LITERAL> ...\n    <INTEGER> ...\n    \"true\" ...\n    \"false\" ...")
        return None

    def integer(self, what: str) -> int:
        tok = self.next()
        if tok.kind != "number" or not re.fullmatch(r"-?\d+", tok.value):
            self.fail(tok, "<INTEGER> ...")
        value = int(tok.value)
        if value < 1:
            raise query_invalid(f"value {value} is too small. Min allowed value is 1")
        return value

    def parse(self) -> Query:
        self.expect_kw("select")
        tok = self.next()
        extra: list[str] = []
        if tok.kind == "punct" and tok.value == "*":
            count = False
            # "SELECT *, Sku FROM Item" (python-quickbooks' Item.all since 0.9.12, answered by QBO):
            # named properties after * are accepted; the rows are those of * (which has them all).
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.next()
                extra.append(self.ident())
        elif tok.kind == "kw" and tok.value == "count":
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            count = True
        else:
            # No projection on its own: * or count(*) first (§3).
            self.fail(tok, '"*" ...\n    "count" ...')
        self.expect_kw("from")
        query = Query(count=count, entity=self.ident(), fields=extra)
        if self.at_kw("where"):
            self.next()
            query.where.append(self.condition())
            while self.at_kw("and"):
                self.next()
                query.where.append(self.condition())
        if self.at_kw("orderby"):
            self.next()
            while True:
                name = self.ident()
                desc = False
                if self.at_kw("asc") or self.at_kw("desc"):
                    desc = self.next().value == "desc"
                query.order.append((name, desc))
                if self.peek().kind == "punct" and self.peek().value == ",":
                    self.next()
                    continue
                break
        if self.at_kw("startposition"):
            self.next()
            query.start = self.integer("STARTPOSITION")
        if self.at_kw("maxresults"):
            self.next()
            query.max_results = self.integer("MAXRESULTS")
            if query.max_results > MAX_RESULTS_LIMIT:
                # [U] the reference gives the limit, not the answer past it; this mirrors the 4001 for 0.
                raise query_invalid(f"value {query.max_results} is too large. Max allowed value is {MAX_RESULTS_LIMIT}")
        tok = self.peek()
        if tok.kind != "eof":
            self.fail(tok, '<EOF> \n    "and" ...\n    "orderby" ...\n    "startposition" ...\n    "maxresults" ...')
        return query

    def condition(self) -> Condition:
        name = self.ident()
        tok = self.next()
        if tok.kind == "punct" and tok.value in OPERATORS:
            return Condition(name, tok.value, self.literal())
        if tok.kind == "kw" and tok.value == "in":
            self.expect_punct("(")
            values = [self.literal()]
            while self.peek().kind == "punct" and self.peek().value == ",":
                self.next()
                values.append(self.literal())
            self.expect_punct(")")
            return Condition(name, "in", values)
        if tok.kind == "kw" and tok.value == "like":
            value = self.next()
            if value.kind != "string":
                self.fail(value, "<STRING_LITERAL> ...")
            return Condition(name, "like", value.value)
        self.fail(tok, '"=" ...\n    "<" ...\n    ">" ...\n    "<=" ...\n    ">=" ...\n    "in" ...\n    "like" ...')
        raise AssertionError("unreachable")


def parse(text: str) -> Query:
    """Parse a query or raise QboFault 4000 (syntax) / 4001 (invalid values)."""
    return _Parser(text.strip()).parse()


# ----- evaluation ---------------------------------------------------------------------------


def resolve(record: dict, path: str) -> Any:
    """A property by (dotted, case-insensitive) name; a reference compares by its value."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return None
        current = current[key]
    if isinstance(current, dict) and "value" in current:
        current = current["value"]
    return current


def _as_number(v: Any) -> Decimal | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float, Decimal)):
        return Decimal(str(v))
    if isinstance(v, str):
        try:
            return Decimal(v)
        except InvalidOperation:
            return None
    return None


def _compare(left: Any, right: Any) -> int | None:
    """-1/0/1, or None when the two cannot be compared (the row then does not match)."""
    if left is None:
        return None
    if isinstance(right, bool) or isinstance(left, bool):
        if isinstance(left, str):
            left = left.lower() == "true"
        if isinstance(right, str):
            right = right.lower() == "true"
        return 0 if left == right else (None if not isinstance(left, bool) or not isinstance(right, bool) else 1)
    if isinstance(right, Decimal):
        ln = _as_number(left)
        if ln is None:
            return None
        return (ln > right) - (ln < right)
    ls, rs = str(left).casefold(), str(right).casefold()
    ln, rn = _as_number(left), _as_number(right)
    if ln is not None and rn is not None and isinstance(left, (int, float)):
        return (ln > rn) - (ln < rn)  # a numeric property against a quoted number
    return (ls > rs) - (ls < rs)


def _like(left: Any, pattern: str) -> bool:
    if left is None:
        return False
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, str(left), re.IGNORECASE | re.DOTALL) is not None


def matches(record: dict, cond: Condition) -> bool:
    left = resolve(record, cond.field)
    if cond.op == "like":
        return _like(left, cond.value)
    if cond.op == "in":
        return any(_compare(left, v) == 0 for v in cond.value)
    c = _compare(left, cond.value)
    if c is None:
        return False
    return {"=": c == 0, "<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[cond.op]


def _sort_key(value: Any) -> tuple:
    if value is None:
        return (1, 0, "")
    n = _as_number(value)
    if n is not None and not isinstance(value, str):
        return (0, 0, n)
    return (0, 1, str(value).casefold())


def select(query: Query, records: list[dict]) -> tuple[list[dict], int]:
    """The page of matching records in order, and how many matched in all."""
    rows = [r for r in records if all(matches(r, c) for c in query.where)]
    # Default order: by Id, numerically (the order records were created in).
    rows.sort(key=lambda r: _sort_key(_as_number(r.get("Id"))))
    for name, desc in reversed(query.order):
        present = [r for r in rows if resolve(r, name) is not None]
        missing = [r for r in rows if resolve(r, name) is None]
        if name.lower() == "id":
            present.sort(key=lambda r: _sort_key(_as_number(resolve(r, name))), reverse=desc)
        else:
            present.sort(key=lambda r: _sort_key(resolve(r, name)), reverse=desc)
        rows = present + missing
    total = len(rows)
    return rows[query.start - 1: query.start - 1 + query.max_results], total
