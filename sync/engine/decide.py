"""What would happen to one purchase order, decided without writing anything.

`decide(ctx, data)` reads (through the run's Resolver caches) and returns a `BillPlan`: the
vendor, customer and items the bill would use, each one matched in QBO or to be created, the
currency, the A/P account, the lines and the amount; or it raises the PoProblem the PO would
fail with. `choose_number` picks the bill number the numbering setting gives. A run goes on with
`apply` (create what is missing) and `bill_payload`; a plan (`atqbo doctor`, `atqbo plan`) stops
after the decision. Both use these functions, so a plan cannot disagree with a run about the
rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sync.text import for_qbo

from . import causes
from .amounts import json_number, line_amount, line_refusal, round_money, to_decimal
from .context import RunContext
from .currency import CurrencyMode, CurrencyProblem, bill_currency, pick_ap_account, vendor_currency_in_autotask
from .numbering import DocNumberTooLong, autotask_doc_number
from .resolve import FREIGHT_ITEM, Match, NewRecord, PoProblem, is_bill_of, private_note
from .sources import PoData


@dataclass(frozen=True)
class LinePlan:
    item: Match
    qty: object
    unit_price: object
    memo: object
    amount: Decimal


@dataclass(frozen=True)
class BillPlan:
    """The bill one PO would become (its number is chosen separately: see choose_number)."""

    data: PoData
    vendor: Match
    customer: Match | None
    lines: tuple[LinePlan, ...]
    currency: str  # "" when no CurrencyRef is sent (single currency)
    ap_account: dict
    amount: Decimal

    @property
    def new_records(self) -> tuple[NewRecord, ...]:
        """What this PO's run would create, each once, in the order they are created."""
        seen: list[NewRecord] = []
        for match in (self.vendor, self.customer, *(line.item for line in self.lines)):
            if match is not None and match.new is not None and match.new not in seen:
                seen.append(match.new)
        return tuple(seen)


async def decide(ctx: RunContext, data: PoData) -> BillPlan:
    """Match everything the bill references (or decide what to create) and check every rule.
    Reads only; raises PoProblem for a PO that would fail."""
    po = data.po
    if data.vendor is None:
        raise PoProblem(causes.make("vendor_not_found", company_id=po.get("vendorID")))
    purchase_for = po.get("purchaseForCompanyID")
    if purchase_for not in (None, 0, "0", "") and data.customer is None:
        raise PoProblem(causes.make("customer_not_found", company_id=purchase_for))
    if not data.items:
        raise PoProblem(causes.make("po_no_items"))
    for number, item in enumerate(data.items, start=1):  # before anything is matched or created
        refusal = line_refusal(item.get("quantity"), item.get("unitCost"))
        if refusal is not None:
            raise PoProblem(causes.make("line_not_billable", line=number, item_id=item.get("id"), why=refusal,
                                        quantity=item.get("quantity"), unit_cost=item.get("unitCost")))
    resolver = ctx.resolver
    cur = ctx.currency
    try:
        at_currency = vendor_currency_in_autotask(cur, data.vendor) if cur.mode is CurrencyMode.MATCH_VENDOR else ""
        vendor = await resolver.decide_vendor(data.vendor.get("companyName") or "", currency=at_currency,
                                              autotask_id=data.vendor.get("id"))
        currency = bill_currency(cur, at_currency, vendor.currency, vendor.name)
        ap = pick_ap_account(ctx.ap_account, ctx.ap_accounts, currency, cur.home)
    except CurrencyProblem as problem:
        raise PoProblem(causes.make(problem.code, **problem.details)) from None
    customer = None
    if data.customer is not None:
        customer = await resolver.decide_customer(data.customer.get("companyName") or "",
                                                  autotask_id=data.customer.get("id"))

    new_item_account = ctx.expense_account_for_new_items  # asked only when an item must be created
    lines: list[LinePlan] = []
    for item in data.items:  # one bill line per PO item, in the PO's order
        product = data.products.get(int(item["productID"])) if item.get("productID") not in (None, "", 0) else None
        if product is None:
            raise PoProblem(causes.make("product_missing", item_id=item.get("id"), product_id=item.get("productID")))
        match = await resolver.decide_item(product.get("name") or "", create_with_account=new_item_account,
                                           autotask_id=product.get("id"))
        lines.append(LinePlan(match, item.get("quantity"), item.get("unitCost"), item.get("memo"),
                              line_amount(item.get("quantity"), item.get("unitCost"))))
    freight = to_decimal(po.get("freight"))
    if freight > 0:
        match = await resolver.decide_item(FREIGHT_ITEM, create_with_account=new_item_account)
        lines.append(LinePlan(match, 1, freight, None, round_money(freight)))
    total = sum((line.amount for line in lines), Decimal(0))
    return BillPlan(data=data, vendor=vendor, customer=customer, lines=tuple(lines), currency=currency,
                    ap_account=ap, amount=total)


async def choose_number(ctx: RunContext, data: PoData) -> str:
    """The bill number by the numbering setting (the QBO sequence advances in memory only)."""
    try:
        return autotask_doc_number(data.po) if ctx.numbers_from_autotask else (await ctx.sequence()).take()
    except DocNumberTooLong as exc:
        raise PoProblem(causes.make("doc_number_too_long", detail=str(exc))) from None


def referenced_names(datas: list[PoData]) -> tuple[list, list, list]:
    """The vendors, customers and items a group of POs refers to, each as (Autotask id, name)
    (for Resolver.prefetch: a linked one is read by its link)."""
    vendors: list = [(d.vendor.get("id"), d.vendor.get("companyName") or "") for d in datas if d.vendor]
    customers: list = [(d.customer.get("id"), d.customer.get("companyName") or "") for d in datas if d.customer]
    items: list = [(p.get("id"), p.get("name") or "") for d in datas for p in d.products.values()]
    if any(to_decimal(d.po.get("freight")) > 0 for d in datas):
        items.append(FREIGHT_ITEM)
    return vendors, customers, items


def number_verdict(bills: list[dict], po_id: int) -> tuple[dict | None, bool]:
    """With Autotask numbering, the QBO bills that hold a PO's number decide: (this PO's own
    bill from an earlier attempt, to adopt; or None) and whether someone else's bill has it."""
    ours = next((b for b in bills if is_bill_of(b, po_id)), None)
    return ours, ours is None and bool(bills)


@dataclass(frozen=True)
class Applied:
    """The QBO records a plan uses, once created."""

    vendor: dict
    customer: dict | None
    items: tuple[dict, ...]  # one per plan line


async def apply(ctx: RunContext, plan: BillPlan) -> Applied:
    """Create what the plan says is missing (vendor, customer, items), in that order."""
    resolver = ctx.resolver
    vendor = await resolver.apply(plan.vendor)
    customer = await resolver.apply(plan.customer) if plan.customer is not None else None
    items = tuple([await resolver.apply(line.item) for line in plan.lines])
    return Applied(vendor, customer, items)


def bill_payload(ctx: RunContext, plan: BillPlan, applied: Applied, doc_number: str) -> dict:
    customer = applied.customer
    lines = [_line(item, line.qty, line.unit_price, customer, line.memo)
             for item, line in zip(applied.items, plan.lines)]
    payload: dict = {
        "VendorRef": {"value": str(applied.vendor["Id"])},
        "APAccountRef": {"value": str(plan.ap_account["Id"])},
        "DocNumber": doc_number,
        "PrivateNote": private_note(plan.data.po_number, plan.data.po_id),
        "Line": lines,
    }
    if plan.currency:
        payload["CurrencyRef"] = {"value": plan.currency}
        if plan.currency == ctx.currency.home:
            payload["ExchangeRate"] = 1
    return payload


def _line(item: dict, qty: object, unit_price: object, customer: dict | None, memo: object) -> dict:
    detail: dict = {"ItemRef": {"value": str(item["Id"])}, "Qty": qty if qty is not None else 0,
                    "UnitPrice": json_number(to_decimal(unit_price))}
    if customer is not None:
        detail["CustomerRef"] = {"value": str(customer["Id"])}
        detail["BillableStatus"] = "Billable"
    line: dict = {"DetailType": "ItemBasedExpenseLineDetail",
                  "Amount": json_number(line_amount(qty, unit_price)),
                  "ItemBasedExpenseLineDetail": detail}
    if memo:
        line["Description"] = for_qbo(memo, multiline=True)[:4000]
    return line
