"""One purchase order → one QBO bill, journalled step by step (DESIGN §1 "Per purchase order").

Steps, each recorded in the journal before its side effect:
    seen → resolved (vendor, customer, items matched or created; number chosen)
         → bill_requested (the create is sent with a requestid fixed for this PO and attempt)
         → bill_created (QBO confirmed: bill id and number recorded)
         → written_back (externalPONumber := the number, by PATCH)
A PO found in bill_requested (a crash or a lost reply) is looked up in QBO (by number, vendor and
the PO tag in PrivateNote) before anything is sent again; one found in bill_created is only
written back; one in failed with a bill id has its bill read back before the journal moves
(failed -> bill_created), so no crash can make it look like a fresh PO. Any failure is recorded by `failures.record` (ERROR, to-do, log entry, notice).

The journal is a cache, not the only record: a PO it records no bill for is looked up among
QBO's bills by its tag (`tagged_bills`, one window read per run) before anything is prepared,
and a bill found is adopted (journal to bill_created, then the write-back). QBO's answer
Duplicate Request ID (code 600) means the create went through before: its bill is looked up
again, never recorded as rejected. A bill QBO returns for this PO's request must name this PO.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import anyio

from sync.clients.errors import ApiError, QboValidationError
from sync.events import PoStarted, PoSynced
from sync.store.journal import JournalEntry, JournalState

from . import causes, documents
from .amounts import round_money, to_decimal
from .causes import Cause
from .currency import CurrencyMode
from .context import RunContext
from .decide import apply, bill_payload, choose_number, decide
from .documents import document_of
from .halt import api_words, halt_for
from .resolve import PoProblem, is_bill_of, request_id
from .sources import PoData
from .tagged_bills import DUPLICATE_REQUEST_ID, po_created

S = JournalState


@dataclass(frozen=True, slots=True)  # (slots: a scan keeps one per PO until it ends)
class PoOutcome:
    """How one PO ended: `ok` with the bill's number and id, or a `cause` with the error-log
    entry (`log_id`) and the Autotask to-do that tells the operator (`todo_id`, when one exists)."""

    po_id: int
    po_number: str
    ok: bool
    doc_number: str | None = None
    bill_id: str | None = None
    cause: Cause | None = None
    log_id: int | None = None
    todo_id: int | None = None


@dataclass
class PreparedBill:
    payload: dict
    doc_number: str
    vendor_id: str
    vendor_name: str
    amount: Decimal
    currency: str
    lines: int


async def _journal(ctx: RunContext, po_id: int, expected, to_state: JournalState, **changes) -> JournalEntry:
    journal = ctx.journal
    return await anyio.to_thread.run_sync(lambda: journal.transition(po_id, expected, to_state, **changes))


async def _journal_many(ctx: RunContext, steps: list) -> list[JournalEntry]:
    """Several steps stored together (one write per journal file); durable when it returns."""
    if not steps:
        return []
    journal = ctx.journal
    return await anyio.to_thread.run_sync(lambda: journal.transition_many(steps))


async def prepare(ctx: RunContext, data: PoData, doc_number: str | None) -> PreparedBill:
    """Decide (decide.py), create what is missing, and build the bill. `doc_number` is kept when
    given (a resumed attempt); otherwise it is chosen by the numbering setting, after the
    creates, so a PO that fails on one takes no number from the sequence."""
    plan = await decide(ctx, data)
    applied = await apply(ctx, plan)
    if doc_number is None:
        doc_number = await choose_number(ctx, data)
    vendor_name = str(applied.vendor.get("DisplayName") or plan.vendor.name)
    return PreparedBill(payload=bill_payload(ctx, plan, applied, doc_number), doc_number=doc_number,
                        vendor_id=str(applied.vendor["Id"]), vendor_name=vendor_name, amount=plan.amount,
                        currency=plan.currency, lines=len(plan.lines))


async def sync_po(ctx: RunContext, data: PoData, *, source: str) -> PoOutcome:
    """Bring one PO to written_back. Raises PoProblem (this PO failed: the caller records it),
    ScanHalt (stop everything) or, for anything else, the original exception."""
    po_id, po_number = data.po_id, data.po_number
    ctx.publish(PoStarted(po_id=po_id, po_number=po_number, source=source))
    try:
        return await _sync(ctx, data)
    except PoProblem:
        raise
    except ApiError as exc:
        halt = halt_for(exc)
        if halt is not None:
            raise halt from None
        code = "qbo_rejected" if exc.service in ("qbo", "oauth") else "autotask_rejected"
        raise PoProblem(causes.make(code, api=api_words(exc))) from None


async def _sync(ctx: RunContext, data: PoData) -> PoOutcome:
    po_id, po_number = data.po_id, data.po_number
    journal = ctx.journal
    entry = await anyio.to_thread.run_sync(journal.get, po_id)
    state = entry.state if entry else None

    if state is S.BILL_CREATED and entry and entry.doc_number:
        # The bill exists; only the number is missing in Autotask (a crash or a failed PATCH).
        return await _write_back(ctx, data, entry, vendor_name="", amount=None, lines=0, currency="", resumed=True)
    if state is S.WRITTEN_BACK and entry:
        # Done before, yet the PO is blank again (the field was cleared by hand). Never a second
        # bill: write the number back if the bill is still there, else say what happened.
        if entry.bill_id and await ctx.qbo.get(document_of(entry), entry.bill_id) is not None:
            return await _write_back(ctx, data, entry, vendor_name="", amount=None, lines=0, currency="",
                                     resumed=True)
        raise PoProblem(causes.make("bill_deleted", doc_number=entry.doc_number,
                                    document=documents.label(document_of(entry))))

    if entry is not None and entry.bill_id and state in (S.FAILED, S.SEEN, S.RESOLVED):
        # An earlier attempt created the bill and then failed to write back (or, written by an
        # older version, was moved on before the bill was read back): read the bill before the
        # journal changes, so a crash here leaves the record as it was, bill_id included.
        bill = await ctx.qbo.get(document_of(entry), entry.bill_id)
        if bill is not None:
            if state is S.FAILED:
                steps = [(po_id, S.FAILED, S.BILL_CREATED, {"pending": None})]
            else:
                steps = [(po_id, state, S.RESOLVED, {}), (po_id, S.RESOLVED, S.BILL_REQUESTED, {}),
                         (po_id, S.BILL_REQUESTED, S.BILL_CREATED, {})]
            entry = (await _journal_many(ctx, steps))[-1]
            return await _write_back(ctx, data, entry, vendor_name="", amount=None, lines=0, currency="",
                                     resumed=True)
        # The bill was deleted in QBO meanwhile: start over with a new number.
        entry = await _journal(ctx, po_id, state, S.SEEN, bill_id=None, doc_number=None, request_id=None)
        state = S.SEEN

    uncertain = state is S.BILL_REQUESTED
    if uncertain and entry is not None:
        # The create may have reached QBO (a crash or a lost reply): look before sending again,
        # by its number, then by the PO tag (the bill may have been renumbered in QBO).
        found = await ctx.resolver.find_bill_of(po_id, entry.doc_number, entry.vendor_id,
                                                document_of(entry, ctx.document))
        if found is None and document_of(entry, ctx.document) == ctx.document:
            found = await ctx.bills.bill_of(po_id, po_created(data.po))
        if found is None and document_of(entry, ctx.document) != ctx.document:
            # Sent as the other document (the setting changed since): only that one is resent.
            raise PoProblem(causes.make("transfer_as_changed", po_id=po_id,
                                        document=documents.label(document_of(entry, ctx.document))))
        if found is not None:
            entry = (await _journal_many(ctx, adopt_steps(po_id, state, found, po_number,
                                                          document_of(entry, ctx.document))))[-1]
            return await _write_back(ctx, data, entry, vendor_name="", amount=None, lines=0, currency="",
                                     resumed=True)
    elif entry is None or not entry.bill_id:
        # The journal records no bill, but it is only a cache (lost, or restored from an older
        # backup): QBO's own bills, found by the PO tag, say whether this PO was billed already.
        found = await ctx.bills.bill_of(po_id, po_created(data.po))
        other = ctx.bills.sent_as_other(po_id, po_number) if found is None else None
        if other is not None:
            raise PoProblem(other)
        if found is not None:
            entry = (await _journal_many(ctx, adopt_steps(po_id, state, found, po_number, ctx.document)))[-1]
            return await _write_back(ctx, data, entry, vendor_name="", amount=None, lines=0, currency="",
                                     resumed=True)
    if state is None:
        entry = await _journal(ctx, po_id, None, S.SEEN, po_number=po_number)
    elif state in (S.SEEN, S.RESOLVED):
        entry = await _journal(ctx, po_id, state, S.SEEN, po_number=po_number)
    elif state in (S.FAILED, S.RELEASED):
        entry = await _journal(ctx, po_id, state, S.SEEN, po_number=po_number, doc_number=None,
                               request_id=None, bill_id=None)
    assert entry is not None

    try:
        prepared = await prepare(ctx, data, entry.doc_number if uncertain else None)
    finally:
        await ctx.resolver.flush_links()
    rid = entry.request_id if uncertain and entry.request_id else request_id(
        ctx.qbo.realm_id, po_id, entry.attempt, documents.request_kind(ctx.document))

    bill: dict | None = None
    if not uncertain:
        entry = await _journal(ctx, po_id, S.SEEN, S.RESOLVED, doc_number=prepared.doc_number, request_id=rid,
                               vendor_id=prepared.vendor_id)
        if ctx.numbers_from_autotask:
            numbered = await ctx.resolver.bills_numbered(prepared.doc_number)
            bill = next((b for b in numbered if is_bill_of(b, po_id)), None)  # an earlier attempt's
            if bill is None and numbered:
                raise PoProblem(causes.make("doc_number_taken", doc_number=prepared.doc_number,
                                            document=documents.label(ctx.document)))
        entry = await _journal(ctx, po_id, S.RESOLVED, S.BILL_REQUESTED, request_id=rid, document=ctx.document)

    if bill is None:
        if uncertain:
            entry = await _journal(ctx, po_id, S.BILL_REQUESTED, S.BILL_REQUESTED, request_id=rid)
        try:
            bill = await ctx.qbo.create(ctx.document, prepared.payload, requestid=rid)
        except QboValidationError as exc:
            if exc.code == DUPLICATE_REQUEST_ID:
                # This requestid went through before (another body: a lost journal restarted the
                # attempts, or another installation sent it): the bill exists; never "rejected".
                bill = await replayed_bill(ctx, data)
            elif exc.code == "6140":
                raise PoProblem(causes.make("doc_number_taken", doc_number=prepared.doc_number,
                                            document=documents.label(ctx.document))) from None
            else:
                raise PoProblem(causes.make("bill_rejected", api=api_words(exc), document=documents.label(ctx.document))) from None
        check_bill_is_of(bill, po_id, ctx.document)
        ctx.bills.add(bill)
    doc_number = str(bill.get("DocNumber") or prepared.doc_number)
    if not ctx.numbers_from_autotask:
        (await ctx.sequence()).observe(doc_number)
    entry = await _journal(ctx, po_id, S.BILL_REQUESTED, S.BILL_CREATED, bill_id=str(bill["Id"]), doc_number=doc_number)
    return await _write_back(ctx, data, entry, vendor_name=prepared.vendor_name, amount=prepared.amount,
                             lines=prepared.lines, currency=prepared.currency, resumed=uncertain)


def adopt_steps(po_id: int, state: JournalState | None, bill: dict, po_number: str,
                document: str = documents.BILL) -> list:
    """The journal steps that record `bill` (found in QBO by its PO tag) as this PO's bill, from a
    record that knows of none; the last step leaves it at bill_created (the number is due).
    PoProblem when the bill has no number (there would be nothing to write back)."""
    if not str(bill.get("DocNumber") or "").strip():
        raise PoProblem(causes.make("bill_without_number", bill_id=bill.get("Id"), document=documents.label(document)))
    found = {"bill_id": str(bill["Id"]), "doc_number": str(bill.get("DocNumber") or ""),
             "vendor_id": str((bill.get("VendorRef") or {}).get("value") or "") or None, "document": document}
    if state is S.FAILED:
        return [(po_id, S.FAILED, S.BILL_CREATED, {**found, "pending": None})]
    if state is S.BILL_REQUESTED:
        return [(po_id, S.BILL_REQUESTED, S.BILL_CREATED, found)]
    steps: list = []
    if state in (None, S.RELEASED):
        steps.append((po_id, state, S.SEEN, {"po_number": po_number}))
        state = S.SEEN
    return steps + [(po_id, state, S.RESOLVED, {}), (po_id, S.RESOLVED, S.BILL_REQUESTED, {}),
                    (po_id, S.BILL_REQUESTED, S.BILL_CREATED, found)]


async def replayed_bill(ctx: RunContext, data: PoData) -> dict:
    """QBO answered Duplicate Request ID: the earlier create under this requestid went through.
    Its bill, read from QBO again; PoProblem when no bill names the PO (nothing is re-sent)."""
    await ctx.bills.reload(po_created(data.po))
    bill = ctx.bills.first(data.po_id)
    if bill is None:
        raise PoProblem(causes.make("bill_request_unmatched", po_id=data.po_id, document=documents.label(ctx.document)))
    return bill


def check_bill_is_of(bill: dict, po_id: int, document: str = documents.BILL) -> None:
    """A bill QBO answered for this PO's request must name this PO; any other is never written
    back (it would give this PO another PO's number)."""
    if not is_bill_of(bill, po_id):
        raise PoProblem(causes.make("bill_not_this_po", bill_id=bill.get("Id"), doc_number=bill.get("DocNumber"),
                                    document=documents.label(document)))


async def _write_back(ctx: RunContext, data: PoData, entry: JournalEntry, *, vendor_name: str,
                      amount: Decimal | None, lines: int, currency: str, resumed: bool,
                      deferred: list[tuple[JournalEntry, PoSynced]] | None = None) -> PoOutcome:
    """PATCH the bill's number into the PO, then record written_back and publish PoSynced.
    With `deferred`, both are left to the caller (the pipeline stores a group's written_back in
    one write, then publishes): nothing else depends on that last step, and recovery finds a
    PO whose number is written while its journal is behind."""
    po_id = data.po_id
    doc_number = entry.doc_number or ""
    try:
        await ctx.at.update("PurchaseOrders", po_id, {"externalPONumber": doc_number})
    except ApiError as exc:
        if halt_for(exc) is not None:
            raise
        raise PoProblem(causes.make("writeback_failed", doc_number=doc_number, api=api_words(exc),
                                    document=documents.label(document_of(entry, ctx.document)))) from None
    if entry.state is not S.WRITTEN_BACK and deferred is None:
        entry = await _journal(ctx, po_id, S.BILL_CREATED, S.WRITTEN_BACK)
    if amount is None:
        # Resumed from the journal: describe the bill as QBO holds it.
        bill = await ctx.qbo.get(document_of(entry), entry.bill_id) if entry.bill_id else None
        if bill is not None:
            amount = round_money(to_decimal(bill.get("TotalAmt")))
            vendor_name = str((bill.get("VendorRef") or {}).get("name") or "")
            lines = len(bill.get("Line") or [])
            currency = str((bill.get("CurrencyRef") or {}).get("value") or "") if ctx.currency.mode is not CurrencyMode.SINGLE else ""
    event = PoSynced(po_id=po_id, po_number=data.po_number, bill_id=str(entry.bill_id or ""),
                     doc_number=doc_number, vendor=vendor_name, amount=amount if amount is not None else Decimal(0),
                     currency=currency, lines=lines, resumed=resumed, request_id=str(entry.request_id or ""),
                     customer=str((data.customer or {}).get("companyName") or ""),
                     number_from="kept" if resumed else ("autotask" if ctx.numbers_from_autotask else "quickbooks"),
                     document=documents.label(document_of(entry)))
    if deferred is not None:
        deferred.append((entry, event))
    else:
        ctx.publish(event)
    return PoOutcome(po_id=po_id, po_number=data.po_number, ok=True, doc_number=doc_number,
                     bill_id=str(entry.bill_id or ""))
