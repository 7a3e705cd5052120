"""What `atqbo plan` and the Plan screen show for one purchase order: plain, JSON-ready records
built from the engine's preview (sync.engine.preview), never a second copy of its rules.

Texts here are kept exactly as the services gave them; whoever shows them to people passes them
through sync.text.shown (the JSON output keeps them exact).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sync.engine.resolve import Match


@dataclass(frozen=True)
class RecordPlan:
    """A vendor, customer or item of the bill: matched to a QBO record, or to be created."""

    entity: str  # "Vendor" | "Customer" | "Item"
    name: str  # the QBO name (after the name rule)
    action: str  # "matched" | "create"
    qbo_id: str = ""  # matched: the record's Id
    by: str = ""  # matched: how ("DisplayName" / "Name", compared without case)
    detail: str = ""  # create: "in EUR" / "on expense account Supplies"

    @classmethod
    def of(cls, match: Match) -> "RecordPlan":
        by = "Name" if match.entity == "Item" else "DisplayName"
        if match.record is not None:
            # The record's own name: QBO compares names without case, so it may differ from the
            # name looked up. Issue 16: by its link, by name, or by a near name (asked about, or
            # linked above N).
            if match.asks is not None:
                how = f"near name ({match.score} %), waits for approval"
            elif match.how == "near_name_auto":
                how = f"near name ({match.score} %), linked automatically"
            elif not match.how:
                how = "link"
            else:
                how = by
            return cls(match.entity, str(match.record.get(by) or match.name), "matched",
                       qbo_id=str(match.record.get("Id") or ""), by=how)
        new = match.new
        detail = ""
        if new is not None and new.currency:
            detail = f"in {new.currency}"
        elif new is not None and new.account:
            detail = f"on expense account {new.account.get('Name') or new.account.get('Id')}"
        # The record to create, as an earlier PO of the run may already have decided it (a
        # name that differs only in case is the same QBO record).
        return cls(match.entity, new.name if new is not None else match.name, "create", detail=detail)

    @property
    def words(self) -> str:
        kind = self.entity.lower()
        if self.action == "matched":
            return f"{kind} '{self.name}' matched to QBO id {self.qbo_id} (by {self.by})"
        return f"{kind} '{self.name}' to be created" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True)
class LinePlanView:
    item: RecordPlan
    qty: str
    unit_price: str
    amount: str
    memo: str = ""


@dataclass(frozen=True)
class PoPlan:
    """One PO as a run would handle it now.

    outcome: "bill" (its document would be created: `document` says which, by transfer_as),
    "fail" (the PO would fail: cause and fix), "resume" (an earlier run left it mid-way; the run
    finishes it, no second document). The outcome keeps the name "bill" in every mode: the
    approval fingerprint and scripts read it.
    document: the QBO entity the PO becomes now ("Bill" | "PurchaseOrder"); receipt_bills: under
    purchase_order_then_bill, bills follow as Autotask records the goods received.
    hold: why it would wait for approval under the current apply_mode ("" = it would not);
    approval: "" | "held" | "approved" | "changed" (approved, but the plan changed since)."""

    po_id: int
    po_number: str
    outcome: str
    vendor_name: str = ""
    customer_name: str = ""
    vendor: RecordPlan | None = None
    customer: RecordPlan | None = None
    lines: tuple[LinePlanView, ...] = ()
    doc_number: str = ""
    amount: str = ""
    currency: str = ""
    ap_account: str = ""
    document: str = "Bill"
    receipt_bills: bool = False
    creates: tuple[str, ...] = ()  # what this PO's run creates (the first PO of the run to need it)
    cause_code: str = ""
    cause: str = ""
    fix: str = ""
    note: str = ""  # resume: what the run does
    hold: str = ""
    approval: str = ""
    fingerprint: str = ""
    basis: dict[str, Any] = field(default_factory=dict)

    @property
    def would_fail(self) -> bool:
        return self.outcome == "fail"

    @property
    def document_words(self) -> str:
        return "purchase order" if self.document == "PurchaseOrder" else "bill"

    @property
    def number_words(self) -> str:
        """The document's number, or why there is none yet (a held PO takes QBO's next number
        only when it goes ahead)."""
        return self.doc_number or "(numbered when approved)"

    @property
    def records(self) -> tuple[RecordPlan, ...]:
        out = [r for r in (self.vendor, self.customer) if r is not None]
        return tuple(out + [line.item for line in self.lines])

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "PoPlan":
        def rec(value: Any) -> RecordPlan | None:
            return RecordPlan(**value) if value else None

        values = dict(record)
        values["vendor"] = rec(values.get("vendor"))
        values["customer"] = rec(values.get("customer"))
        values["lines"] = tuple(LinePlanView(**{**line, "item": RecordPlan(**line["item"])})
                                for line in values.get("lines") or ())
        values["creates"] = tuple(values.get("creates") or ())
        return cls(**values)


@dataclass(frozen=True)
class ReceiptPlan:
    """transfer_as purchase_order_then_bill: the bill the next scan makes for the goods received
    and not billed yet of a PO already in QuickBooks as a purchase order, or why it would fail."""

    po_id: int
    po_number: str
    purchase_order: str = ""  # the QBO purchase order's number
    doc_number: str = ""
    amount: str = ""
    receipts: int = 0  # Autotask receiving records it covers
    closes: bool = False  # every item received in full: QBO closes the purchase order
    cause_code: str = ""
    cause: str = ""
    fix: str = ""

    def to_record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PlanReport:
    """Every planned PO, the cause that stops every PO (a scan would stop: `halt_*`), and the
    API calls the plan cost."""

    plans: tuple[PoPlan, ...] = ()
    halt_code: str = ""
    halt_cause: str = ""
    halt_fix: str = ""
    paused: bool = False  # days_back = 0
    receipts: tuple[ReceiptPlan, ...] = ()
    api_calls: dict[str, int] = field(default_factory=dict)
    # What transfer_as makes of a PO ("Bill" | "PurchaseOrder"): named even when no PO is planned.
    document: str = "Bill"

    @property
    def would_fail(self) -> int:
        return sum(1 for p in self.plans if p.would_fail)

    @property
    def exit_code(self) -> int:
        return 3 if self.halt_code or self.would_fail or any(r.cause_code for r in self.receipts) else 0

    def to_record(self) -> dict[str, Any]:
        return {"plans": [p.to_record() for p in self.plans], "halt_code": self.halt_code,
                "halt_cause": self.halt_cause, "halt_fix": self.halt_fix, "paused": self.paused,
                "receipts": [r.to_record() for r in self.receipts], "api_calls": dict(self.api_calls),
                "document": self.document}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> "PlanReport":
        return cls(plans=tuple(PoPlan.from_record(p) for p in record.get("plans") or ()),
                   halt_code=str(record.get("halt_code") or ""), halt_cause=str(record.get("halt_cause") or ""),
                   halt_fix=str(record.get("halt_fix") or ""), paused=bool(record.get("paused")),
                   receipts=tuple(ReceiptPlan(**r) for r in record.get("receipts") or ()),
                   api_calls={str(k): int(v) for k, v in dict(record.get("api_calls") or {}).items()},
                   document="PurchaseOrder" if record.get("document") == "PurchaseOrder" else "Bill")

    def counts(self) -> dict[str, int]:
        made = [p for p in self.plans if p.outcome == "bill"]
        return {"planned": len(self.plans), "bills": sum(1 for p in made if p.document != "PurchaseOrder"),
                "purchase_orders": sum(1 for p in made if p.document == "PurchaseOrder"),
                "would_fail": self.would_fail, "resume": sum(1 for p in self.plans if p.outcome == "resume"),
                "held": sum(1 for p in self.plans if p.hold and p.approval != "approved"),
                # Distinct records: held POs each name what they would create once approved.
                "creates": len({c.casefold() for p in self.plans for c in p.creates}),
                "receipt_bills": sum(1 for r in self.receipts if not r.cause_code),
                "receipt_bills_failing": sum(1 for r in self.receipts if r.cause_code)}
