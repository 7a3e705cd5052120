"""Coercion of JSON values to an Autotask field's data type, shared by writes and filters.

Lenient where Datto's own examples are (ints and booleans sent as strings: `"id": "4"`,
`"IsActive": "False"`, reference §5), strict elsewhere: a bad value is an error, never a guess.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any


class ValueProblem(ValueError):
    pass


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise ValueProblem(f"'{value}' is not a valid date/time")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ValueProblem(f"'{value}' is not a valid date/time") from None
    # Autotask stores and returns all time data in UTC (reference §2.7): naive means UTC.
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def format_datetime(dt: datetime) -> str:
    """The response format, e.g. 2012-10-24T05:00:00.000Z (reference §2.7)."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def coerce(dtype: str, value: Any, field: str) -> Any:
    """The stored form of `value` for a field of `dtype` (None stays None)."""
    if value is None:
        return None
    if dtype in ("integer", "long"):
        if isinstance(value, bool):
            raise ValueProblem(f"Field {field}: '{value}' is not a valid integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value.strip())
        raise ValueProblem(f"Field {field}: '{value}' is not a valid integer")
    if dtype == "double":
        if isinstance(value, bool):
            raise ValueProblem(f"Field {field}: '{value}' is not a valid number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueProblem(f"Field {field}: '{value}' is not a valid number") from None
        if not math.isfinite(number):
            raise ValueProblem(f"Field {field}: '{value}' is not a valid number")
        return number
    if dtype == "boolean":
        # "you must specify either true or false. Any other values ... will return an error" (§2.3)
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        raise ValueProblem(f"Field {field}: '{value}' is not a valid boolean; use true or false")
    if dtype == "datetime":
        return format_datetime(parse_datetime(value))
    if dtype == "string":
        if isinstance(value, (dict, list)):
            raise ValueProblem(f"Field {field}: expected a string")
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    raise ValueProblem(f"Field {field}: unsupported type {dtype}")
