"""What a scan would do to each purchase order now, without writing anything.

The same steps as the scan's pipeline, stopped before the first write: the names of every PO
are looked up with the same few IN queries (Resolver.prefetch), QBO's bills of the window are
read once to find a PO billed before by its tag (tagged_bills), each other PO goes through
`decide.decide` and `decide.choose_number`, and with Autotask numbering the numbers are checked
with one IN query, as the pipeline does. Nothing is created, journalled or sent: the run
context's clients may be read-only ones (sync.preflight.readonly) and the journal is only read.

Used by `atqbo doctor`; `atqbo plan` shows the same previews in detail.
"""

from __future__ import annotations

from dataclasses import dataclass

import anyio

from sync.store.journal import JournalEntry

from . import approval, causes, documents
from .causes import Cause
from .context import RunContext
from .decide import BillPlan, choose_number, decide, number_verdict, referenced_names
from .pipeline import _resumable
from .po_sync import adopt_steps
from .resolve import NewRecord, PoProblem
from .sources import PoData
from .tagged_bills import EARLIEST, po_created


@dataclass(frozen=True)
class PoPreview:
    """One PO as the next scan would see it: a bill (`plan`, `doc_number`), a failure (`cause`),
    or one the journal shows mid-way (`resume`), which the scan finishes without a second bill."""

    data: PoData
    plan: BillPlan | None = None
    doc_number: str | None = None
    cause: Cause | None = None
    resume: str = ""
    creates: tuple[NewRecord, ...] = ()  # what the run creates for this PO (first PO to need it)

    @property
    def po_id(self) -> int:
        return self.data.po_id

    @property
    def po_number(self) -> str:
        return self.data.po_number

    @property
    def vendor_name(self) -> str:
        return str((self.data.vendor or {}).get("companyName") or "")

    @property
    def customer_name(self) -> str:
        return str((self.data.customer or {}).get("companyName") or "")

    @property
    def would_fail(self) -> bool:
        return self.cause is not None


def _resume_words(entry: JournalEntry) -> str:
    return (f"an earlier run left it mid-way (journal: {entry.state.value}); the next scan finishes it "
            "without creating a second bill")


async def preview(ctx: RunContext, datas: list[PoData]) -> list[PoPreview]:
    """A preview per PO, in the given order. Client errors that concern every PO (a service
    down, authentication) are raised as they are; the caller reports them."""
    if not datas:
        return []
    await ctx.resolver.prefetch(*referenced_names(datas))
    journal = ctx.journal
    entries = await anyio.to_thread.run_sync(lambda: {d.po_id: journal.get(d.po_id) for d in datas})
    out: dict[int, PoPreview] = {}
    unbilled = [d for d in datas if not _resumable(entries[d.po_id])]
    if unbilled:
        # As the pipeline does: QBO's bills, by their PO tag, say whether a PO the journal records
        # no bill for was billed all the same (one read of the window).
        await ctx.bills.cover(min(po_created(d.po) or EARLIEST for d in unbilled))
    holds = await anyio.to_thread.run_sync(lambda: {h.po_id: h for h in journal.holds.all()})
    planned: list[tuple[PoData, BillPlan, str | None, bool]] = []
    for data in datas:
        entry = entries[data.po_id]
        if _resumable(entry):
            out[data.po_id] = PoPreview(data, resume=_resume_words(entry))
            continue
        bill = ctx.bills.first(data.po_id)
        other = ctx.bills.sent_as_other(data.po_id, data.po_number) if bill is None else None
        if other is not None:
            out[data.po_id] = PoPreview(data, cause=other)
            continue
        if bill is not None:
            try:
                adopt_steps(data.po_id, entry.state if entry else None, bill, data.po_number)
            except PoProblem as problem:
                out[data.po_id] = PoPreview(data, cause=problem.cause)
            else:
                out[data.po_id] = PoPreview(data, doc_number=str(bill.get("DocNumber") or "") or None,
                                            resume=f"its {documents.label(ctx.document)} is in QuickBooks already "
                                                   "(found by the PO's tag); "
                                                   "the next scan records it and writes its number back")
            continue
        try:
            plan = await decide(ctx, data)
            # A PO the scan holds for approval takes no number from QBO's sequence (the next
            # PO gets it); an Autotask number is the PO's own, so it is shown all the same.
            held = approval.waits(ctx, data, plan, None, holds.get(data.po_id))
            number = None if held and not ctx.numbers_from_autotask else await choose_number(ctx, data)
        except PoProblem as problem:
            out[data.po_id] = PoPreview(data, cause=problem.cause)
            continue
        planned.append((data, plan, number, held))
    by_number = (await ctx.resolver.bills_numbered_in([n for _, _, n, _ in planned if n])
                 if ctx.numbers_from_autotask and planned else {})
    created: set[tuple[str, str]] = set()
    for data, plan, number, held in planned:
        # The run creates a PO's records before its number is checked, so a PO whose number is
        # taken still creates them (the pipeline's order); a held PO creates nothing yet.
        creates = tuple(r for r in plan.new_records if (r.entity, r.name.casefold()) not in created)
        if not held:
            created.update((r.entity, r.name.casefold()) for r in creates)
        ours, taken = number_verdict(by_number.get(number, []) if number else [], data.po_id)
        if ours is not None:
            out[data.po_id] = PoPreview(data, plan, number, creates=creates,
                                        resume=f"its {documents.label(ctx.document)} from an earlier attempt exists; "
                                               "the next scan adopts it")
        elif taken:
            out[data.po_id] = PoPreview(data, plan, number, creates=creates,
                                        cause=causes.make("doc_number_taken", doc_number=number,
                                                          document=documents.label(ctx.document)))
        else:
            out[data.po_id] = PoPreview(data, plan, number, creates=creates)
    return [out[d.po_id] for d in datas]
