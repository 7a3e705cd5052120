"""The control socket's wire format: JSON lines (docs/control-protocol.md), one object a line.

Engine events travel as {"event": "<class name>", "data": {field: value}} with datetimes in
ISO 8601, amounts as decimal strings and tuples as lists; they are decoded back into the typed
records of sync.events, refusing what does not fit (an unknown type, a missing field).
"""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sync import events as ev

PROTOCOL_VERSION = 1
SUPPORTED_VERSIONS = (1,)
MAX_LINE = 1024 * 1024  # bytes, the newline included: a longer line closes the connection

EVENTS_BY_NAME: dict[str, type[ev.Event]] = {cls.__name__: cls for cls in ev.EVENT_TYPES}


class WireError(ValueError):
    """A line that is not a protocol message; `code` names the kind for the error answer."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):  # an Enum
        return _plain(value.value)
    return value


def encode(message: dict[str, Any]) -> bytes:
    return (json.dumps(_plain(message), ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def decode(line: bytes) -> dict[str, Any]:
    if len(line) > MAX_LINE:
        raise WireError("line_too_long", f"a line is at most {MAX_LINE} bytes")
    try:
        message = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        raise WireError("bad_json", "the line is not JSON") from None
    if not isinstance(message, dict):
        raise WireError("bad_json", "a message is a JSON object")
    return message


# ---------------------------------------------------------------- events


def event_record(event: ev.Event) -> dict[str, Any]:
    return {"event": type(event).__name__, "data": _plain(event)}


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _typed(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if hint is datetime or datetime in args:
        return datetime.fromisoformat(str(value))
    if hint is Decimal or Decimal in args:
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
    if origin is tuple:
        return tuple(value)
    if origin is dict:
        return dict(value)
    if hint is int:
        return int(value)
    if hint is float:
        return float(value)
    if hint is bool:
        return bool(value)
    if hint is str:
        return str(value)
    return value


def event_from_record(record: dict[str, Any]) -> ev.Event:
    cls = EVENTS_BY_NAME.get(str(record.get("event")))
    data = record.get("data")
    if cls is None or not isinstance(data, dict):
        raise WireError("bad_event", f"unknown event {record.get('event')!r}")
    hints = _hints(cls)
    values: dict[str, Any] = {}
    try:
        for f in dataclasses.fields(cls):
            if f.name in data:
                values[f.name] = _typed(hints[f.name], data[f.name])
        return cls(**values)
    except (TypeError, ValueError) as exc:
        raise WireError("bad_event", f"event {cls.__name__} does not fit: {exc}") from None
