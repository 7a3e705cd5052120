"""`atqbo health`: is the service well, as a monitoring check reads it (Nagios-style exit
codes: 0 healthy, 3 degraded, 2 down). Read-only and local: it opens the data folder's records
and asks no service (a check must answer when the services are the problem).

Checks, each ok / degraded / down:
- last scan: age of the last finished scan against scan_interval_minutes (degraded past two
  intervals, down past four, or when the last scan was stopped: authentication, a service down);
- QBO refresh token: days until it expires (degraded under 14 days, down once expired);
- open errors: failed POs waiting for the operator (degraded when any);
- held: POs the last scan held for approval (apply_mode, near_match hold). Always ok: holding
  is what the operator asked for, but a check that lists waiting POs should name these too;
- API budget: Autotask requests in the last hour against its 10,000/hour and against atqbo's
  share of it, `autotask_hourly_share` (degraded from 80 % of either);
- disk: free space in the data folder (degraded under 500 MB, down under 50 MB).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

OK, DEGRADED, DOWN = "ok", "degraded", "down"
EXIT = {OK: 0, DEGRADED: 3, DOWN: 2}
_RANK = {OK: 0, DEGRADED: 1, DOWN: 2}
AUTOTASK_HOURLY = 10_000
TOKEN_WARN_DAYS = 14
DISK_WARN, DISK_DOWN = 500 * 2**20, 50 * 2**20


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    text: str
    value: Any = None


@dataclass(frozen=True)
class Health:
    checks: tuple[Check, ...]
    at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds"))

    @property
    def status(self) -> str:
        return max((c.status for c in self.checks), key=_RANK.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        return EXIT[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "exit_code": self.exit_code, "at": self.at,
                "checks": {c.name: {"status": c.status, "text": c.text, "value": c.value} for c in self.checks}}


def _parse(when: object) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(when))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def check(store: Any, now: datetime | None = None) -> Health:
    now = now or datetime.now(timezone.utc)
    checks = [_last_scan(store, now), _token(store, now), _errors(store), _held(store), _budget(store, now),
              _disk(store)]
    return Health(tuple(checks))


def _interval(store: Any) -> int:
    try:
        return int(store.settings.load().scan_interval_minutes or 15)
    except Exception:  # damaged settings: the scan check still answers with the default
        return 15


def _last_scan(store: Any, now: datetime) -> Check:
    interval = _interval(store)
    scans = store.history.recent_scans()
    if not scans:
        return Check("last_scan", DOWN, "no scan has finished yet in this data folder (is the service running? "
                     "`systemctl status atqbo`)", None)
    last = scans[-1]
    ended = _parse(last.get("finished_at"))
    if ended is None:
        return Check("last_scan", DOWN, "the last scan's record is unreadable", None)
    age_min = max(0.0, (now - ended).total_seconds() / 60)
    words = f"last scan finished {age_min:.0f} min ago (interval {interval} min)"
    if last.get("stopped"):
        return Check("last_scan", DOWN, f"{words} but was stopped: {last.get('stop_cause') or 'see the log'}",
                     round(age_min, 1))
    if age_min > 4 * interval:
        return Check("last_scan", DOWN, f"{words}: far overdue, the service is not scanning", round(age_min, 1))
    if age_min > 2 * interval:
        return Check("last_scan", DEGRADED, f"{words}: overdue", round(age_min, 1))
    return Check("last_scan", OK, words, round(age_min, 1))


def _token(store: Any, now: datetime) -> Check:
    try:
        tokens = store.secrets.get_qbo_tokens()
    except Exception as exc:
        return Check("qbo_token", DOWN, f"the secrets file cannot be read: {exc}", None)
    if tokens is None:
        return Check("qbo_token", DOWN, "QuickBooks is not connected (atqbo connect quickbooks)", None)
    expires = tokens.refresh_token_expires_at
    if expires is None:
        return Check("qbo_token", OK, "the refresh token's expiry is not known yet (learned at the next refresh)",
                     None)
    days = (expires - now).total_seconds() / 86400
    if days <= 0:
        return Check("qbo_token", DOWN, "the QuickBooks refresh token has expired: sign in again "
                     "(atqbo connect quickbooks)", round(days, 1))
    text = f"the QuickBooks refresh token expires in {days:.0f} days"
    if days < TOKEN_WARN_DAYS:
        return Check("qbo_token", DEGRADED, text + ": sign in again soon (atqbo connect quickbooks)",
                     round(days, 1))
    return Check("qbo_token", OK, text, round(days, 1))


def _errors(store: Any) -> Check:
    try:
        counts = store.errors.count_by_status()
    except Exception as exc:
        return Check("open_errors", DOWN, f"the error log cannot be read: {exc}", None)
    n = sum(v for k, v in counts.items() if k.value != "resolved")
    if n:
        return Check("open_errors", DEGRADED, f"{n} purchase orders failed and wait for the operator "
                     "(atqbo logs --errors)", n)
    return Check("open_errors", OK, "no open errors", 0)


def _held(store: Any) -> Check:
    # From the last scan's record, not the hold book: a near-name hold is in the scan's count
    # only. A record written before held POs were counted has no "held": none.
    scans = store.history.recent_scans()
    n = scans[-1].get("held") if scans else 0
    n = n if isinstance(n, int) and not isinstance(n, bool) and n >= 0 else 0
    if n:
        return Check("held", OK, f"the last scan held {n} purchase orders for approval "
                     "(atqbo plan; atqbo approve)", n)
    return Check("held", OK, "no purchase order held for approval", 0)


def _budget(store: Any, now: datetime) -> Check:
    hour_ago = now - timedelta(hours=1)
    used = {"autotask": 0, "qbo": 0}
    for scan in store.history.recent_scans():
        ended = _parse(scan.get("finished_at"))
        if ended is None or ended < hour_ago:
            continue
        for service, n in dict(scan.get("api_calls") or {}).items():
            if service in used and isinstance(n, int):
                used[service] += n
    share = used["autotask"] / AUTOTASK_HOURLY
    percent = _hourly_share(store)
    cap = max(1, AUTOTASK_HOURLY * percent // 100)  # what autotask_hourly_share lets atqbo use
    text = (f"Autotask requests in the last hour: {used['autotask']} of {AUTOTASK_HOURLY} ({share:.0%}); "
            f"atqbo's share {percent} % = {cap} ({used['autotask'] / cap:.0%} of it); QuickBooks: {used['qbo']}")
    value = {**used, "autotask_share": round(share, 4), "autotask_share_percent": percent, "autotask_cap": cap}
    busy = share >= 0.8 or used["autotask"] >= 0.8 * cap
    return Check("api_budget", DEGRADED if busy else OK, text, value)


def _hourly_share(store: Any) -> int:
    try:
        return int(store.settings.load().autotask_hourly_share or 50)
    except Exception:  # damaged settings: the default share
        return 50


def _disk(store: Any) -> Check:
    folder = store.locations.data_dir
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        free = shutil.disk_usage(probe).free
    except OSError as exc:
        return Check("disk", DOWN, f"cannot read free space of {folder}: {exc.strerror or exc}", None)
    mb = free / 2**20
    text = f"{mb:,.0f} MB free in {folder}"
    if free < DISK_DOWN:
        return Check("disk", DOWN, text + ": the next write may fail; free some space", int(free))
    if free < DISK_WARN:
        return Check("disk", DEGRADED, text + ": running low", int(free))
    return Check("disk", OK, text, int(free))
