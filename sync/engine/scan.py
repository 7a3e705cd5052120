"""Which purchase orders a scan picks up (DESIGN §1 "Eligibility").

A PO is eligible when all three hold:
- its `status` is the tenant's "Submitted" value, read from the status picklist by label at
  run time (tenants differ; 2 is only a common value);
- its `createDateTime` lies within the last `days_back` calendar days: on or after midnight
  UTC (Autotask keeps times in UTC) of the day `days_back` days before today. With
  days_back = 1 a PO created yesterday or today is eligible;
- its `externalPONumber` is blank (absent, empty or spaces). "ERROR" or a bill number is not.

days_back = 0 pauses the transfer: nothing is eligible.

The Autotask query filters status and date on the server; the blank check is done here as
well, so a PO whose number is "" and one whose number is null are treated the same whatever
the server's notion of "not exist".
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

SUBMITTED_LABEL = "Submitted"
ERROR_MARKER = "ERROR"


def window_start(now: datetime, days_back: int) -> datetime:
    """The earliest createDateTime that is still inside the window (UTC, aware)."""
    if days_back < 0:
        raise ValueError("days_back must be 0 or more")
    today = now.astimezone(timezone.utc).date()
    return datetime.combine(today - timedelta(days=days_back), time(0, 0), tzinfo=timezone.utc)


def parse_autotask_datetime(value: object) -> datetime | None:
    """An Autotask timestamp ("2024-01-02T09:00:00.000Z", with or without zone/fraction) as aware
    UTC; None when absent or unreadable."""
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, date):
        dt = datetime.combine(value, time(0, 0))
    else:
        text = str(value).strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError:
            return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


def is_blank(external_po_number: object) -> bool:
    return external_po_number is None or str(external_po_number).strip() == ""


def is_eligible(po: dict, submitted_value: int, since: datetime) -> bool:
    """The three conditions for a PO record (as Autotask returns it)."""
    try:
        status = int(po.get("status"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    if status != submitted_value:
        return False
    created = parse_autotask_datetime(po.get("createDateTime"))
    if created is None or created < since:
        return False
    return is_blank(po.get("externalPONumber"))


def sync_one_refusal(po: dict) -> str | None:
    """The bill number a PO already holds (so a single-PO sync must not touch it), or None.
    Sync one ignores the window and re-does a PO marked ERROR, never one with a real number."""
    external = po.get("externalPONumber")
    if is_blank(external) or str(external).strip().upper() == ERROR_MARKER:
        return None
    return str(external).strip()
