"""`atqbo plan`: what a run would do to each eligible PO now (or to the POs named), read-only.

    report = await make_plan(settings, autotask, qbo, journal, now=utc_now(), po_ids=None)

The engine's own read path and decisions do the work, on clients that refuse to write
(sync.preflight.readonly): sources.read_eligible / pos_by_ids, context.build, preview.preview
(decide.decide, decide.choose_number, the one IN query for Autotask numbers), and the approval
fingerprint of sync.engine.approval, which the scan computes the same way. Nothing is written
to either service, the journal or the error log (the token refresh saves the rotated refresh
token, as every QuickBooks call must).

Cost: the reads of a scan of the same POs (the status picklist, the POs and what they refer to
in a few `in` queries, QBO preferences and accounts, the names in IN queries, the bill numbers);
nothing per PO.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import anyio

from sync.clients.errors import PicklistError
from sync.engine import approval, causes, context, documents, sources
from sync.engine import receipts as receipt_bills
from sync.engine.halt import ScanHalt, api_words
from sync.engine.preview import PoPreview, preview
from sync.engine.scan import sync_one_refusal
from sync.events import Event
from sync.preflight.readonly import ReadOnly
from sync.settings import Settings, TransferAs
from sync.store.holds import Hold, HoldStatus

from .model import LinePlanView, PlanReport, PoPlan, ReceiptPlan, RecordPlan

CHUNK = 100  # POs loaded at a time, as a scan does


def _calls(at: Any, qbo: Any) -> dict[str, int]:
    return {"autotask": int(getattr(at, "calls", 0)), "qbo": int(getattr(qbo, "calls", 0))}


def _ignore(event: Event) -> None:
    """A plan publishes nothing (a name adjustment shows in the plan as the name used)."""


async def make_plan(settings: Settings, autotask: Any, qbo: Any, journal: Any, *, now: datetime,
                    po_ids: list[int] | None = None, links: Any = None, receipts: Any = None) -> PlanReport:
    """The plan. Raises the clients' errors for trouble with a service (the caller reports
    them); a cause that stops every PO (multi-currency, the A/P account, the status picklist)
    is the report's `halt_*`. Settings must be complete (`settings.missing_for_scan()`).
    `receipts` (the receipt ledger): under purchase_order_then_bill, a plan of every eligible PO
    also shows the receipt bills the scan would make for POs already in QuickBooks."""
    before = _calls(autotask, qbo)
    at, qb = ReadOnly(autotask, "autotask"), ReadOnly(qbo, "qbo")
    plans: list[PoPlan] = []
    report_kw: dict[str, Any] = {}
    try:
        plans = await _plans(settings, at, qb, journal, now, po_ids, report_kw, links, receipts)
    except ScanHalt as halt:
        report_kw.update(halt_code=halt.cause.code, halt_cause=halt.cause.cause, halt_fix=halt.cause.fix)
    after = _calls(autotask, qbo)
    return PlanReport(plans=tuple(plans), api_calls={k: after[k] - before.get(k, 0) for k in after},
                      document=documents.first_document(settings), **report_kw)


async def _plans(settings: Settings, at: Any, qb: Any, journal: Any, now: datetime, po_ids: list[int] | None,
                 report_kw: dict[str, Any], links: Any = None, ledger: Any = None) -> list[PoPlan]:
    named: list[PoPlan] = []
    submitted: int | None = None
    if po_ids is None:
        if settings.days_back == 0:
            report_kw["paused"] = True
            return []
        try:
            submitted, pos = await sources.read_eligible(at, settings.days_back or 0, now)
        except PicklistError as exc:
            raise ScanHalt(causes.make("status_picklist", api=api_words(exc)), "autotask") from None
    else:
        found = await sources.pos_by_ids(at, po_ids)
        pos = []
        for po_id in dict.fromkeys(po_ids):  # the order given, each once
            po = found.get(po_id)
            if po is None:
                named.append(_failed(po_id, str(po_id), causes.make("po_not_found", po_id=po_id)))
                continue
            existing = sync_one_refusal(po)
            if existing is not None:
                number = str(po.get("purchaseOrderNumber") or po_id)
                named.append(_failed(po_id, number, causes.make(
                    "po_already_synced", po_number=number, external=existing,
                    document=documents.label(documents.first_document(settings)))))
                continue
            pos.append(po)
    # The links the scan would use (issue 16): read only, a plan makes none.
    ctx = await context.build(settings, at, qb, journal, _ignore, now, submitted, links=links)
    datas = []
    for start in range(0, len(pos), CHUNK):
        datas.extend(await sources.load(at, pos[start:start + CHUNK]))
    previews = await preview(ctx, datas)
    holds = await anyio.to_thread.run_sync(lambda: {h.po_id: h for h in journal.holds.all()})
    out = {p.po_id: p for p in named}
    for p in previews:
        out[p.po_id] = _plan_of(ctx, p, holds.get(p.po_id))
    if ledger is not None and po_ids is None and settings.transfer_as is TransferAs.PURCHASE_ORDER_THEN_BILL:
        report_kw["receipts"] = await _receipt_plans(ctx, ledger)
    order = list(dict.fromkeys(po_ids)) if po_ids is not None else [d.po_id for d in datas]
    return [out[i] for i in order if i in out]


async def _receipt_plans(ctx: context.RunContext, ledger: Any) -> tuple[ReceiptPlan, ...]:
    """The scan's receipt bills (after its POs; those it writes now have no receipts yet)."""
    bills, failing = await receipt_bills.due(ctx, ledger)
    return (tuple(ReceiptPlan(b.po_id, b.po_number, b.purchase_order, b.doc_number, f"{b.amount:.2f}", b.receipts,
                              b.closes) for b in bills)
            + tuple(ReceiptPlan(f.po_id, f.po_number, cause_code=f.cause_code, cause=f.cause, fix=f.fix)
                    for f in failing))


def _failed(po_id: int, po_number: str, cause: Any) -> PoPlan:
    return PoPlan(po_id=po_id, po_number=po_number, outcome="fail", cause_code=cause.code, cause=cause.cause,
                  fix=cause.fix)


def _approval(hold: Hold | None, mark: str) -> str:
    if hold is None:
        return ""
    if hold.status is HoldStatus.APPROVED:
        return "approved" if hold.fingerprint == mark else "changed"
    return "held"


def _plan_of(ctx: context.RunContext, p: PoPreview, hold: Hold | None) -> PoPlan:
    common: dict[str, Any] = dict(po_id=p.po_id, po_number=p.po_number, vendor_name=p.vendor_name,
                                  customer_name=p.customer_name, document=ctx.document,
                                  receipt_bills=ctx.settings.transfer_as is TransferAs.PURCHASE_ORDER_THEN_BILL)
    if p.plan is None and p.cause is None:
        return PoPlan(**common, outcome="resume", doc_number=p.doc_number or "", note=p.resume)
    # The scan's gate decides on the plan alone (a taken number is found later in the run).
    cause = p.cause if p.plan is None else None
    basis = approval.basis(ctx, p.data, p.plan, cause)
    mark = approval.fingerprint(basis)
    # As the scan's gate: a PO whose bill QBO already has (found by its tag) is never held.
    billed = ctx.bills.first(p.po_id) is not None or ctx.bills.elsewhere(p.po_id) is not None
    hold_reason = approval.hold_reason(ctx.settings.apply_mode, p.plan, cause) if not (p.resume or billed) else ""
    common.update(hold=hold_reason, approval=_approval(hold, mark), fingerprint=mark, basis=basis)
    if p.plan is None:
        return PoPlan(**common, outcome="fail", cause_code=p.cause.code, cause=p.cause.cause, fix=p.cause.fix)
    plan = p.plan
    lines = tuple(LinePlanView(RecordPlan.of(line.item), str(line.qty), str(line.unit_price), f"{line.amount:.2f}",
                               str(line.memo or "")) for line in plan.lines)
    ap = plan.ap_account
    common.update(vendor=RecordPlan.of(plan.vendor), customer=RecordPlan.of(plan.customer) if plan.customer else None,
                  lines=lines, doc_number=p.doc_number or "", amount=f"{plan.amount:.2f}", currency=plan.currency,
                  ap_account=f"{ap.get('Name') or ''} (id {ap.get('Id')})",
                  creates=tuple(f"{r.entity.lower()} '{r.name}'" for r in p.creates))
    if p.cause is not None:
        return PoPlan(**common, outcome="fail", cause_code=p.cause.code, cause=p.cause.cause, fix=p.cause.fix)
    return PoPlan(**common, outcome="resume" if p.resume else "bill", note=p.resume)
