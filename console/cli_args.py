"""The command line's argument types: each turns one typed word into a value or says plainly,
in argparse's words (`atqbo sync-one: argument PO_ID: must be ...`), what it should have been.
Everything typed is hostile until it passed its rule here: ids within int64, ports, dates, URLs,
e-mail addresses, the sandbox's fault specs."""

from __future__ import annotations

import argparse

MAX_LIMIT = 10_000_000  # more entries than the error log keeps (log_max_entries' bound)


def po_id(text: str) -> int:
    from sync.ids import IdError, parse_po_id

    try:
        return parse_po_id(text)
    except IdError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def log_id(text: str) -> int:
    from sync.ids import IdError, parse_log_id

    try:
        return parse_log_id(text)
    except IdError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _bounded(text: str, minimum: int, maximum: int, says: str) -> int:
    """A whole number in [minimum, maximum] (ASCII digits, sync.ids' one rule), else `says`."""
    from sync.ids import whole_number

    value = whole_number(text, minimum, maximum)
    if value is None:
        raise argparse.ArgumentTypeError(f"{says}, got {text[:40]!r}")
    return value


def limit(text: str) -> int:
    return _bounded(text, 1, MAX_LIMIT, f"must be a whole number from 1 to {MAX_LIMIT} (digits 0-9)")


def port(text: str) -> int:
    return _bounded(text, 0, 65535, "must be a port number from 0 to 65535 (digits 0-9)")


def email(text: str) -> str:
    from sync.settings import SettingsError, parse_value

    try:
        return parse_value("notify_email", text)
    except SettingsError as exc:
        raise argparse.ArgumentTypeError(exc.problems[0].message) from None


def url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http(s) URL: {text!r}")
    return text.strip()


def yes_no(text: str) -> bool:
    if text.strip().lower() not in ("true", "false", "yes", "no", "1", "0"):
        raise ValueError(text)
    return text.strip().lower() in ("true", "yes", "1")


def fault_spec(text: str) -> dict:
    """`KIND[,key=value...]`, e.g. `429,service=qbo,every=5`, `lost,method=POST,path=/bill,times=3`
    or `trickle,path=PurchaseOrders/query,delay_ms=1000`."""
    kind, *pairs = text.split(",")
    spec: dict = {"kind": kind.strip()}
    numbers = {"every": int, "skip": int, "times": int, "seed": int, "probability": float,
               "size": int, "delay_ms": float, "declare_length": yes_no}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or key not in {*numbers, "service", "method", "path", "url"}:
            raise argparse.ArgumentTypeError(
                f"bad fault option {pair!r}: use key=value with key in service, method, path, "
                "every, skip, times, probability, seed, url, size, declare_length, delay_ms")
        try:
            spec[key] = numbers[key](value) if key in numbers else value
        except ValueError:
            raise argparse.ArgumentTypeError(f"{key} must be a number, got {value!r}") from None
    from sync.sandbox.control import FaultRule

    try:
        FaultRule(**spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return spec


def record_id(text: str) -> int:
    from sync.ids import MAX_ID

    return _bounded(text, 1, MAX_ID, f"must be a record id, a whole number like 45 (digits 0-9, at most {MAX_ID})")


def iso_date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a date like 2026-01-31, got {text!r}") from None


def metrics_port(text: str) -> int:
    return _bounded(text, 1, 65535, "must be a port number from 1 to 65535")
