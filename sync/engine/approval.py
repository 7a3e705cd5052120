"""Holding POs for approval (`apply_mode`, issue 15) and the fingerprint of a plan.

A plan's *basis* is what the operator approves: the PO, the QBO records it would use (each
existing one by id and SyncToken, so an edit in QBO changes it; each one to create by name and
what it is created with), the lines, the amount, the currency, the A/P account and, with
Autotask numbering, the bill number (a QuickBooks sequence number is left out: it moves whenever
any bill is created, and says nothing about this PO). The fingerprint is a hash of the basis.
`atqbo plan`, the Plan screen and the scan compute it with the same function from the same
decision (decide.decide), so an approval given on a shown plan is recognised by the scan.

`gate` runs in the scan's pipeline before a PO's journal record is touched: a PO that must wait
is recorded in the journal's hold book and published as PoHeld, and the scan moves on; no
to-do, no ERROR marker, nothing written to either service.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import anyio

from sync.events import PoHeld
from sync.settings import ApplyMode
from sync.store.holds import Hold, HoldStatus

from .causes import Cause
from .context import RunContext
from .decide import BillPlan, decide
from .numbering import DocNumberTooLong, autotask_doc_number
from .resolve import Match, PoProblem
from .sources import PoData


def _record(match: Match | None, created: dict[tuple[str, str], Any]) -> dict[str, Any] | None:
    if match is None:
        return None
    made = created.get((match.entity, str(match.record.get("Id")))) if match.record is not None else None
    if made is not None:
        # Created by this very run for an earlier PO: the plan that was approved (before the
        # run) said "to create", and it is the same record.
        match = Match(match.entity, match.name, new=made)
    if match.record is not None:
        return {"entity": match.entity, "name": match.name, "qbo_id": str(match.record.get("Id") or ""),
                "version": str(match.record.get("SyncToken") or "")}
    new = match.new
    assert new is not None
    out: dict[str, Any] = {"entity": match.entity, "name": new.name, "create": True}
    if new.currency:
        out["currency"] = new.currency
    if new.account:
        out["account"] = str(new.account.get("Id") or "")
    return out


def basis(ctx: RunContext, data: PoData, plan: BillPlan | None, cause: Cause | None) -> dict[str, Any]:
    """What a plan's fingerprint is made of (JSON-ready)."""
    out: dict[str, Any] = {"po": {"id": data.po_id, "number": data.po_number}}
    if plan is None:
        out["outcome"] = "fail"
        out["cause"] = cause.code if cause is not None else ""
        return out
    created = getattr(getattr(ctx, "resolver", None), "created_this_run", None) or {}
    out.update(outcome="bill", vendor=_record(plan.vendor, created), customer=_record(plan.customer, created),
               lines=[{"item": _record(line.item, created), "qty": str(line.qty), "unit_price": str(line.unit_price),
                       "amount": str(line.amount), "memo": str(line.memo or "")} for line in plan.lines],
               currency=plan.currency, ap_account=str(plan.ap_account.get("Id") or ""), amount=str(plan.amount))
    if ctx.numbers_from_autotask:
        try:
            out["doc_number"] = autotask_doc_number(data.po)
        except DocNumberTooLong:
            out["doc_number"] = ""
    return out


def fingerprint(plan_basis: dict[str, Any]) -> str:
    text = json.dumps(plan_basis, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _words(value: Any) -> str:
    if isinstance(value, dict) and "entity" in value:
        kind = str(value["entity"]).lower()
        if value.get("create"):
            extra = f" in {value['currency']}" if value.get("currency") else ""
            return f"new {kind} '{value['name']}'{extra}"
        return f"{kind} '{value['name']}' (QBO id {value['qbo_id']}, version {value.get('version', '')})"
    if isinstance(value, list):
        return "; ".join(_words(v) for v in value) or "none"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_words(v)}" for k, v in value.items())
    return "none" if value in (None, "") else str(value)


def difference(old: dict[str, Any], new: dict[str, Any]) -> tuple[str, ...]:
    """How a plan changed, one line per part that differs (in words)."""
    out = []
    for key in ("po", "outcome", "cause", "vendor", "customer", "currency", "ap_account", "doc_number", "amount"):
        if old.get(key) != new.get(key):
            out.append(f"{key.replace('_', ' ')}: {_words(old.get(key))} → {_words(new.get(key))}")
    old_lines, new_lines = old.get("lines") or [], new.get("lines") or []
    for i in range(max(len(old_lines), len(new_lines))):
        a = old_lines[i] if i < len(old_lines) else None
        b = new_lines[i] if i < len(new_lines) else None
        if a != b:
            out.append(f"line {i + 1}: {_line_words(a)} → {_line_words(b)}")
    return tuple(out)


def _line_words(line: dict | None) -> str:
    if line is None:
        return "none"
    return f"{_words(line['item'])} × {line['qty']} at {line['unit_price']} = {line['amount']}"


def _matches(plan: BillPlan | None) -> list[Match]:
    if plan is None:
        return []
    return [m for m in (plan.vendor, plan.customer, *(line.item for line in plan.lines)) if m is not None]


def near_questions(plan: BillPlan | None) -> list[str]:
    """near_match = hold (issue 16): what this plan asks about names QBO holds only nearly."""
    return [f"{m.asks.cause} {m.asks.fix}" for m in _matches(plan) if m.asks is not None]


def hold_reason(mode: ApplyMode, plan: BillPlan | None, cause: Cause | None) -> str:
    """Why this PO waits under `mode` ("" when it goes ahead). A near name waits under every
    mode (near_match = hold): approving the plan links it."""
    asks = near_questions(plan)
    if asks:
        return " ".join(asks)
    if mode is ApplyMode.AUTO:
        return ""
    creates = [f"{r.entity.lower()} '{r.name}'" for r in plan.new_records] if plan is not None else []
    if mode is ApplyMode.HOLD_NEW_RECORDS:
        return "would create " + ", ".join(creates) if creates else ""
    if plan is None:
        return f"manual approval (apply_mode = manual); would fail: {cause.cause if cause else 'unknown cause'}"
    return "would create " + ", ".join(creates) if creates else "manual approval (apply_mode = manual)"


async def outcome_of(ctx: RunContext, data: PoData) -> tuple[BillPlan | None, Cause | None]:
    try:
        return await decide(ctx, data), None
    except PoProblem as problem:
        return None, problem.cause


def _approved(before: Hold | None, mark: str) -> bool:
    return before is not None and before.status is HoldStatus.APPROVED and before.fingerprint == mark


def waits(ctx: RunContext, data: PoData, plan: BillPlan | None, cause: Cause | None, before: Hold | None) -> bool:
    """Whether `gate` would hold this PO, decided as it decides, without its writes (the plan
    uses it: a held PO takes no QuickBooks number and creates nothing in the scan)."""
    if ctx.settings.apply_mode is ApplyMode.AUTO and ctx.settings.near_match != "hold":
        return False
    if not hold_reason(ctx.settings.apply_mode, plan, cause):
        return False
    return not _approved(before, fingerprint(basis(ctx, data, plan, cause)))


async def gate(ctx: RunContext, datas: list[PoData]) -> set[int]:
    """The POs of this group that wait for approval (recorded and published); the others go
    ahead and lose any hold they had. Reads only (decide); writes the hold book."""
    book = ctx.journal.holds
    mode = ctx.settings.apply_mode
    if not datas:
        return set()
    stored = await anyio.to_thread.run_sync(lambda: {h.po_id: h for h in book.all()})
    if mode is ApplyMode.AUTO and ctx.settings.near_match != "hold":
        stale = [d.po_id for d in datas if d.po_id in stored]
        if stale:
            await anyio.to_thread.run_sync(book.clear_many, stale)
        return set()
    held: list[Hold] = []
    events: list[PoHeld] = []
    ahead: list[int] = []
    for data in datas:
        plan, cause = await outcome_of(ctx, data)
        reason = hold_reason(mode, plan, cause)
        if not reason:
            ahead.append(data.po_id)
            continue
        plan_basis = basis(ctx, data, plan, cause)
        mark = fingerprint(plan_basis)
        before = stored.get(data.po_id)
        if _approved(before, mark):
            for match in _matches(plan):
                ctx.resolver.approve_near(match)  # the approved near names are linked
            ahead.append(data.po_id)
            continue
        changed: tuple[str, ...] = ()
        if before is not None and before.status is HoldStatus.APPROVED:
            changed = difference(before.basis, plan_basis) or ("the plan changed",)
        elif before is not None and before.fingerprint == mark:
            changed = before.difference  # held already for this very plan: stored as it is
        if before is None or before.fingerprint != mark or before.status is not HoldStatus.HELD:
            held.append(Hold(data.po_id, HoldStatus.HELD, po_number=data.po_number, reason=reason, fingerprint=mark,
                             basis=plan_basis, difference=changed))
        events.append(PoHeld(po_id=data.po_id, po_number=data.po_number, reason=reason, difference=changed))
    await anyio.to_thread.run_sync(book.put_many, held)
    done = [i for i in ahead if i in stored]
    if done:
        await anyio.to_thread.run_sync(book.clear_many, done)
    ctx.held += len(events)
    for event in events:
        ctx.publish(event)
    going = set(ahead)
    return {d.po_id for d in datas if d.po_id not in going}
