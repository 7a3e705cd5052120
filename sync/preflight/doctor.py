"""`atqbo doctor`: the pre-flight before the first scan (issue 12 §3), read-only.

    report = await run_doctor(settings, autotask, qbo, store.journal, now=utc_now())

Checks both connections, the settings against live data (accounts, to-do action type and
resource, QuickBooks preferences), then every eligible purchase order as the next scan would
see it, through the engine's own read path and decisions (sources.read_eligible, sources.load,
context.build, preview.preview) on read-only clients, and finally the API headroom.

Cost: the scan's reads plus a fixed handful (CompanyInfo, all accounts, two entityInformation,
the action type, the resource); the POs' names are looked up with IN queries, never per PO.
Writes nothing: not to QuickBooks, not to Autotask, not to the journal or the error log. The
token refresh saves the rotated refresh token, as every QuickBooks call must.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import anyio

from sync.clients.errors import ApiError, PicklistError
from sync.clients.qbo_query import Select
from sync.engine import causes, context, documents, sources
from sync.engine.currency import CurrencyMode, CurrencyProblem, vendor_currency_in_autotask
from sync.engine.halt import ScanHalt, api_words
from sync.engine.preview import PoPreview, preview
from sync.engine.resolve import NewRecord
from sync.engine.scan import window_start
from sync.events import Event, NameAdjusted
from sync.settings import Settings, TransferAs

from . import checks
from .readonly import ReadOnly
from .report import DoctorReport, Finding, Headroom, Level, NewRecordCheck, PoCheck, shown

AREA_POS = "purchase orders"
AREA_PREFS = "QuickBooks preferences"
CHUNK = 100  # POs loaded at a time, as a scan does


def _calls(at: Any, qbo: Any) -> dict[str, int]:
    return {"autotask": int(getattr(at, "calls", 0)), "qbo": int(getattr(qbo, "calls", 0))}


async def run_doctor(settings: Settings, autotask: Any, qbo: Any, journal: Any, *, now: datetime) -> DoctorReport:
    """The report; never raises for trouble with a service (that is a finding). Settings must
    be complete (`settings.missing_for_scan()` empty): the caller says so otherwise."""
    before = _calls(autotask, qbo)
    at, qb = ReadOnly(autotask, "autotask"), ReadOnly(qbo, "qbo")
    findings: list[Finding] = []
    pos: list[PoCheck] = []
    creates: list[NewRecordCheck] = []
    one, _ = checks.document_words(settings)
    qbo_ok = await checks.qbo_connection(qb, findings, document=one)
    threshold = await checks.autotask_connection(at, findings, one)
    if qbo_ok and threshold is not None:
        try:
            pos, creates = await _live_checks(settings, at, qb, journal, now, findings)
        except ApiError as exc:
            findings.append(checks.from_cause("services", checks.api_cause(exc), title="a check was stopped"))
        except ScanHalt as halt:
            findings.append(checks.from_cause("services", halt.cause))
    headroom = _headroom(threshold, pos, creates)
    if qbo_ok and threshold is not None:
        findings.extend(_headroom_findings(headroom, checks.document_words(settings)[1]))
    after = _calls(autotask, qbo)
    return DoctorReport(tuple(findings), tuple(pos), tuple(creates), headroom,
                        {k: after[k] - before.get(k, 0) for k in after})


async def _live_checks(settings: Settings, at: Any, qb: Any, journal: Any, now: datetime,
                       findings: list[Finding]) -> tuple[list[PoCheck], list[NewRecordCheck]]:
    prefs = await qb.preferences()
    currency_prefs = prefs.get("CurrencyPrefs") or {}
    multi = bool(currency_prefs.get("MultiCurrencyEnabled"))
    home = str((currency_prefs.get("HomeCurrency") or {}).get("value") or "")
    # Inactive accounts too, so an inactive one is named as such rather than as missing.
    all_accounts = await qb.query_all(Select("Account").where("Active", "IN", [True, False]))
    checks.accounts(settings, all_accounts, home, multi, findings)
    checks.numbering(settings, prefs, findings)
    await checks.todo_targets(at, settings, findings)

    unfinished = await anyio.to_thread.run_sync(journal.unfinished)
    if unfinished:
        findings.append(Finding(AREA_POS, "unfinished", Level.NOTE,
                                f"{len(unfinished)} purchase order(s) left mid-way by an earlier run are finished "
                                f"first by the next scan (no second {checks.document_words(settings)[0]})"))
    if settings.days_back == 0:
        findings.append(Finding(AREA_POS, "paused", Level.ATTENTION, "days_back is 0: the transfer is paused",
                                "With days_back = 0 scans run but transfer nothing.",
                                "Set days_back to the number of days to look back: atqbo settings set days_back 7."))
        return [], []
    try:
        submitted, eligible = await sources.read_eligible(at, settings.days_back or 0, now)
    except PicklistError as exc:
        findings.append(checks.from_cause(AREA_POS, causes.make("status_picklist", api=api_words(exc))))
        return [], []
    adjusted: list[NameAdjusted] = []

    def collect(event: Event) -> None:
        if isinstance(event, NameAdjusted):
            adjusted.append(event)

    try:
        ctx = await context.build(settings, at, qb, journal, collect, now, submitted, prefs=prefs)
    except ScanHalt as halt:
        # Nothing would transfer (multi-currency off in QuickBooks, no A/P account): said once.
        findings.append(checks.from_cause(AREA_PREFS if halt.cause.code.startswith("multi") else "settings", halt.cause))
        findings.append(Finding(AREA_POS, "eligible", Level.NOTE,
                                f"{len(eligible)} eligible purchase order(s), none of which a scan can transfer now"))
        return [], []
    _currency_findings(ctx, multi, home, findings)
    ctx.bills.floor = window_start(now, settings.days_back or 0)  # one read of QBO's bills, as a scan does
    datas = []
    for start in range(0, len(eligible), CHUNK):
        datas.extend(await sources.load(at, eligible[start:start + CHUNK]))
    previews = await preview(ctx, datas)
    _po_findings(ctx, previews, datas, findings)
    for event in adjusted:
        findings.append(Finding(AREA_POS, "name_adjusted", Level.NOTE,
                                f"the {event.kind} name {shown(event.original)!r} is not valid in QuickBooks; "
                                f"it is used as {shown(event.adjusted)!r}"))
    return [_po_check(p, ctx.document) for p in previews], _creates(previews)


def _currency_findings(ctx: context.RunContext, multi: bool, home: str, findings: list[Finding]) -> None:
    mode = ctx.currency.mode
    one, many = checks.document_words(ctx.settings)
    words = {
        CurrencyMode.SINGLE: f"one currency in both systems: {many} carry no currency",
        CurrencyMode.HOME_ONLY: f"multi-currency is on in QuickBooks only: {many} are in the home currency {home}",
        CurrencyMode.MATCH_VENDOR: f"multi-currency is on in both systems (home currency {home}): each {one} is in "
                                   "its vendor's currency, which must be the same in both",
    }[mode]
    findings.append(Finding(AREA_PREFS, f"currency_{mode.value}", Level.OK, words))


def _po_currency(ctx: context.RunContext, data: Any) -> str:
    if ctx.currency.mode is not CurrencyMode.MATCH_VENDOR:
        return ctx.currency.home
    try:
        return vendor_currency_in_autotask(ctx.currency, data.vendor or {})
    except CurrencyProblem:
        return "?"


def _po_findings(ctx: context.RunContext, previews: list[PoPreview], datas: list, findings: list[Finding]) -> None:
    n = len(previews)
    by_currency = Counter(_po_currency(ctx, d) for d in datas if d.vendor is not None)
    spread = ", ".join(f"{code or 'no currency'} {k}" for code, k in sorted(by_currency.items()))
    failing = [p for p in previews if p.would_fail]
    title = f"{n} eligible purchase order(s)" + (f" ({spread})" if spread and ctx.currency.mode is not CurrencyMode.SINGLE else "")
    if not failing:
        findings.append(Finding(AREA_POS, "eligible", Level.OK, title + ": every one would become " + _becomes(ctx)))
        return
    kinds = Counter(p.cause.code for p in failing if p.cause)
    findings.append(Finding(AREA_POS, "would_fail", Level.ATTENTION,
                            f"{title}: {len(failing)} would fail",
                            "Failing POs are marked ERROR in Autotask and get a to-do: "
                            + ", ".join(f"{code} ×{k}" for code, k in sorted(kinds.items())) + ".",
                            "Fix each one as its line below says, then run atqbo doctor again."))


def _becomes(ctx: context.RunContext) -> str:
    if ctx.document == documents.BILL:
        return "a bill"
    if ctx.settings.transfer_as is TransferAs.PURCHASE_ORDER_THEN_BILL:
        return "a QuickBooks purchase order, then a bill for each receipt of goods"
    return "a QuickBooks purchase order"


def _record_words(record: NewRecord) -> str:
    if record.entity == "Vendor" and record.currency:
        return f"in {record.currency}"
    if record.entity == "Item" and record.account:
        return f"on expense account {shown(record.account.get('Name') or record.account.get('Id'))}"
    return ""


def _po_check(p: PoPreview, document: str = documents.BILL) -> PoCheck:
    common = dict(po_id=p.po_id, po_number=shown(p.po_number), vendor=shown(p.vendor_name),
                  customer=shown(p.customer_name), document=document)
    creates = tuple(f"{r.entity.lower()} {shown(r.name)}" + (f" ({_record_words(r)})" if _record_words(r) else "")
                    for r in p.creates)
    if p.cause is not None:
        return PoCheck(**common, outcome="fail", doc_number=p.doc_number, creates=creates, cause_code=p.cause.code,
                       cause=shown(p.cause.cause), fix=shown(p.cause.fix))
    if p.plan is None:
        return PoCheck(**common, outcome="resume", fix=p.resume)
    plan = p.plan
    return PoCheck(**common, outcome="resume" if p.resume else "bill", doc_number=shown(p.doc_number),
                   amount=f"{plan.amount:.2f}", currency=plan.currency, lines=len(plan.lines), creates=creates,
                   fix=p.resume)


def _creates(previews: list[PoPreview]) -> list[NewRecordCheck]:
    owners: dict[tuple[str, str], list[str]] = {}
    records: dict[tuple[str, str], NewRecord] = {}
    for p in previews:
        if p.plan is None:
            continue
        for record in p.plan.new_records:
            key = (record.entity, record.name.casefold())
            records.setdefault(key, record)
            owners.setdefault(key, []).append(shown(p.po_number))
    return [NewRecordCheck(r.entity, shown(r.name), _record_words(r), tuple(owners[k])) for k, r in records.items()]


# ---------------------------------------------------------------- headroom


def _headroom(threshold: Any, pos: list[PoCheck], creates: list[NewRecordCheck]) -> Headroom:
    bills = sum(1 for p in pos if p.outcome == "bill")
    fails = sum(1 for p in pos if p.outcome == "fail")
    # Next scan, roughly: Autotask reads (status, POs, items, organizations, products,
    # currencies), a PATCH per bill, a PATCH and a to-do per failure; QBO reads, a create per
    # new record, one batch per 30 bills.
    at_calls = 8 + bills + 2 * fails + 2 * (len(pos) // 200)
    qbo_calls = 6 + len(creates) + -(-bills // 30) + 3 * (len(pos) // 50)
    if threshold is None:
        return Headroom(autotask_next_scan=at_calls, qbo_next_scan=qbo_calls)
    return Headroom(autotask_threshold=threshold.threshold, autotask_timeframe_minutes=threshold.timeframe_minutes,
                    autotask_used=threshold.current, autotask_next_scan=at_calls, qbo_next_scan=qbo_calls)


def _headroom_findings(h: Headroom, many: str = "bills") -> list[Finding]:
    area = "API headroom"
    out = []
    if h.autotask_threshold:
        used, limit = h.autotask_used or 0, h.autotask_threshold
        title = (f"Autotask: {used} of {limit} requests used in the current {h.autotask_timeframe_minutes}-minute "
                 f"window; the next scan needs about {h.autotask_next_scan}")
        if used + h.autotask_next_scan > limit:
            out.append(Finding(area, "autotask_budget", Level.ATTENTION, title,
                               "The next scan would run into Autotask's request limit, shared by every integration "
                               "of the tenant; atqbo then slows down and the scan takes longer.",
                               "Run the scan later, or find the integration that uses the budget."))
        elif limit and used / limit >= 0.5:
            out.append(Finding(area, "autotask_budget", Level.NOTE, title + " (over half used: atqbo paces its calls)"))
        else:
            out.append(Finding(area, "autotask_budget", Level.OK, title))
    out.append(Finding(area, "qbo_limits", Level.OK,
                       f"QuickBooks: the next scan needs about {h.qbo_next_scan} requests, within the limits of "
                       f"{h.qbo_per_second}/s and {h.qbo_per_minute}/min ({many} go {h.qbo_batch_items} per batch)"))
    return out
