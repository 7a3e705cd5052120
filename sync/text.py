"""The one rule for text from outside: names, PO numbers, descriptions and error messages from
Autotask, QuickBooks or a user are hostile until they pass through here (DESIGN §1).

A *control character* is one that changes what a terminal, a log reader or a mail client does
instead of being shown: C0 (U+0000-U+001F), DEL (U+007F), C1 (U+0080-U+009F), the
bidirectional marks, embeddings, overrides and isolates (U+061C, U+200E, U+200F,
U+202A-U+202E, U+2066-U+2069, which reorder what follows, so "exe.txt" can be shown as
"txt.exe") and the line and paragraph separators U+2028/U+2029 (a line break to many readers
that `splitlines` also honours). Everything else is kept as it is, letters of every script,
emoji joiners, quotes, `&`, `:` and backslashes included.

- `shown(text)`: for a terminal, a log line, a screen, a mail subject or a to-do: every control
  character becomes a visible escape, `\\x1b` for C0, DEL and C1 (`\\t`, `\\n`, `\\r` for
  those three), `\\u202e` for the others (the spelling Python's repr uses). The result
  holds no control character, text without one is returned unchanged, and
  `shown(shown(t)) == shown(t)`. A backslash is not escaped: what is shown is for reading,
  the data (the error log, JSON output) keeps the text exactly.
- `shown_lines(text)`: the same for a text of several lines composed by atqbo (a mail body,
  a to-do): "\\n" is kept, every other control character (CR included) is escaped.
- `for_qbo(text)`: for what atqbo writes to QuickBooks (names, notes, line descriptions):
  control characters are removed, except that a whitespace one (tab, line breaks) becomes a
  space, so "Acme\\nWest" stays two words; `multiline=True` keeps "\\n" (CR LF and a lone CR
  become "\\n"). Idempotent; text without a control character is returned unchanged.
  The name rule of sync/engine/names.py starts from this.
- `shown_fields(record)`: a dataclass (an engine event) with every text field `shown`.
- `json_text(serialized)`: a JSON document made by `json.dumps(..., ensure_ascii=False)`, with
  the control characters JSON leaves raw (DEL, C1, bidi, U+2028/9) written as `\\uXXXX`
  escapes: the same JSON value, and no raw control character on a terminal.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

T = TypeVar("T")

# Everything but C0 (written out twice below: once whole, once without "\n").
_OTHERS = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
CONTROL = re.compile(f"[\x00-\x1f{_OTHERS}]")
_CONTROL_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHERS}]")
_CRLF = re.compile("\r\n?")


def is_control(ch: str) -> bool:
    """True for a character this rule treats as a control character (see the module doc)."""
    return CONTROL.fullmatch(ch) is not None


def has_control(text: str) -> bool:
    return CONTROL.search(text) is not None


_SHORT = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    short = _SHORT.get(match.group())
    if short is not None:
        return short
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def shown(text: object) -> str:
    """`text` for a person: every control character as a visible escape (one line)."""
    value = text if isinstance(text, str) else str(text)
    return CONTROL.sub(_escape, value)


def shown_lines(text: object) -> str:
    """Like `shown`, but "\\n" stays a line break (for texts of several lines atqbo composes)."""
    value = text if isinstance(text, str) else str(text)
    return _CONTROL_BUT_NEWLINE.sub(_escape, value)


def _drop(match: re.Match[str]) -> str:
    return " " if match.group().isspace() else ""


def for_qbo(text: object, multiline: bool = False) -> str:
    """`text` as atqbo writes it to QuickBooks: control characters removed (whitespace ones
    become a space; with `multiline`, line breaks are kept as "\\n")."""
    value = text if isinstance(text, str) else str(text)
    if not multiline:
        return CONTROL.sub(_drop, value)
    return _CONTROL_BUT_NEWLINE.sub(_drop, _CRLF.sub("\n", value))


_JSON_RAW = re.compile(f"[{_OTHERS}]")


def json_text(serialized: str) -> str:
    """A `json.dumps(ensure_ascii=False)` document with no raw control character left (JSON
    already escapes C0; these may only occur inside its strings, where `\\uXXXX` means them)."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", serialized)


def shown_fields(record: T) -> T:
    """A copy of a frozen dataclass (an engine event, a log entry) whose text fields, and the
    text items of its tuple fields, are `shown`: ready to be composed into a line for people."""
    changes: dict[str, object] = {}
    for f in dataclasses.fields(record):  # type: ignore[arg-type]
        value = getattr(record, f.name)
        if isinstance(value, str) and has_control(value):
            changes[f.name] = shown(value)
        elif isinstance(value, tuple) and any(isinstance(v, str) and has_control(v) for v in value):
            changes[f.name] = tuple(shown(v) if isinstance(v, str) else v for v in value)
    return dataclasses.replace(record, **changes) if changes else record  # type: ignore[type-var]
