"""Plan: what the next scan would do to each purchase order (what `atqbo plan` prints), read-only,
with approval of held POs (apply_mode).

The screen asks the engine-control interface for the plan (`control.plan()`) and for
approvals (`control.approve(plans)`); it never reaches the engine, the store or the clients.
One line per PO in a PoTable (cheap for a thousand rows), filtered as you type (`/`: text;
`f`: all | would fail | held | bills), one PO's detail below on enter, `a` approves the PO
under the cursor as shown, `r` plans again. Text from the services passes sync.text.shown.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Input, Static

from sync.plan.model import PlanReport, PoPlan
from sync.text import shown

from .footer import KeysFooter
from .markup import escape
from .po_table import PoTable

COLUMNS = (("po", "PO", 10), ("outcome", "Would", 10), ("vendor", "Vendor", 20), ("number", "Bill no.", 9),
           ("amount", "Amount", 13), ("what", "Creates / cause / hold", 40))
FIXED_WIDTH = sum(width + 2 for _, _, width in COLUMNS[:-1])  # cells have one space of padding each side
FILTERS = ("all", "would fail", "held", "bills")
OUTCOME_WORDS = {"bill": "bill", "fail": "FAIL", "resume": "finish"}
OUTCOME_STYLE = {"bill": "green", "fail": "bold red", "resume": "dim"}


def _would(p: PoPlan) -> str:
    """The "Would" column: under transfer_as purchase_order* the QuickBooks purchase order (and the
    bills that follow the goods), in the column's ten characters."""
    if p.outcome == "bill" and p.document == "PurchaseOrder":
        return "PO, bills" if p.receipt_bills else "QB PO"
    return OUTCOME_WORDS.get(p.outcome, p.outcome)


def _what(p: PoPlan) -> str:
    if p.outcome == "fail":
        return p.cause
    if p.outcome == "resume":
        return p.note
    parts = []
    if p.hold:
        parts.append({"approved": "approved", "changed": "approved, plan changed"}.get(p.approval, "held")
                     + f": {p.hold}")
    elif p.creates:
        parts.append("creates " + ", ".join(p.creates))
    return "; ".join(parts) or "matches everything in QuickBooks"


def row_cells(p: PoPlan) -> list[Text | str]:
    amount = f"{p.amount} {p.currency}".strip() if p.amount else ""
    return [shown(p.po_number), Text(_would(p), style=OUTCOME_STYLE.get(p.outcome, "")),
            shown(p.vendor_name), shown(p.doc_number), amount, shown(_what(p))]


def _held(p: PoPlan) -> bool:
    return bool(p.hold) and p.approval != "approved"


def matches(p: PoPlan, kind: str, text: str) -> bool:
    if kind == "would fail" and p.outcome != "fail":
        return False
    if kind == "held" and not _held(p):
        return False
    if kind == "bills" and p.outcome != "bill":
        return False
    if not text:
        return True
    haystack = " ".join([p.po_number, str(p.po_id), p.vendor_name, p.customer_name, p.doc_number, _what(p)]).casefold()
    return text.casefold() in haystack


def detail_lines(p: PoPlan) -> list[str]:
    """One PO's plan in full, for people (the same words as `atqbo plan`)."""
    out = [f"PO {shown(p.po_number)} (id {p.po_id}), vendor {shown(p.vendor_name) or '?'}"
           + (f", for {shown(p.customer_name)}" if p.customer_name else "")]
    if p.outcome == "fail":
        out += [f"Would fail: {shown(p.cause)}", f"Fix: {shown(p.fix)}"]
    elif p.outcome == "resume":
        out.append(shown(p.note))
    else:
        amount = f"{p.amount} {shown(p.currency)}".strip()
        out.append(f"{p.document_words.capitalize()} {shown(p.number_words)}: {amount} on A/P {shown(p.ap_account)}"
                   + ("; then a bill for each receipt of goods" if p.receipt_bills else ""))
    for record in (p.vendor, p.customer):
        if record is not None:
            out.append("  " + shown(record.words))
    for i, line in enumerate(p.lines, 1):
        out.append(f"  line {i}: {shown(line.item.words)}; {shown(line.qty)} × {shown(line.unit_price)} = {line.amount}"
                   + (f" ({shown(line.memo)})" if line.memo else ""))
    if p.hold:
        state = {"approved": "approved as shown", "changed": "approved, but the plan changed since: held again"}
        out.append(f"Held: {shown(p.hold)} ({state.get(p.approval, 'waits for approval: press a')})")
    return out


def number_heading(report: PlanReport) -> str:
    """The number column's heading: whose number it is (transfer_as makes bills or QuickBooks
    purchase orders); "Doc no." when the plan holds both."""
    kinds = {p.document for p in report.plans if p.outcome != "fail"} or {report.document}
    if kinds == {"PurchaseOrder"}:
        return "QB PO no."
    return "Doc no." if len(kinds) > 1 else "Bill no."


def status_head(report: PlanReport) -> str:
    """The status line: the mode's documents (transfer_as) and the receipt bills that are due."""
    c = report.counts()
    # The documents the plan makes, or (none planned) the one transfer_as would make.
    names_pos = c["purchase_orders"] > 0 or (not c["bills"] and report.document == "PurchaseOrder")
    made = ", ".join(filter(None, (f"{c['bills']} bill(s)" if c["bills"] or not names_pos else "",
                                   f"{c['purchase_orders']} QuickBooks purchase order(s)" if names_pos else "")))
    receipts = (f", {c['receipt_bills']} receipt bill(s)"
                + (f" ({c['receipt_bills_failing']} would fail)" if c["receipt_bills_failing"] else "")
                if report.receipts else "")
    return (f"{c['planned']} purchase order(s): {made}, {c['would_fail']} would fail, "
            f"{c['held']} held, {c['creates']} record(s) to create{receipts}")


Plan = Callable[[], object]


class PlanScreen(Screen):
    """Pushed from the live run (key `l`) or the command palette; escape goes back."""

    DEFAULT_CSS = """
    PlanScreen #plan-status { height: auto; padding: 0 1; background: $panel; }
    PlanScreen #plan-filter { display: none; }
    PlanScreen #plan-filter.shown { display: block; }
    PlanScreen #plan-table { height: 1fr; border: round $primary-darken-2; }
    PlanScreen #plan-table:focus { border: round $primary; }
    PlanScreen #plan-detail-box { height: 9; border: round $primary-darken-2; }
    """
    BINDINGS = [
        Binding("a", "approve", "Approve", tooltip="Approve the selected PO's plan as shown (apply_mode)."),
        Binding("slash", "filter_text", "Filter", tooltip="Show only POs whose line holds this text."),
        Binding("f", "cycle_filter", "All/fail/held/bills", tooltip="Cycle: all, would fail, held, bills."),
        Binding("r", "replan", "Plan again", tooltip="Make the plan again (read-only)."),
        Binding("escape", "close", "Back", tooltip="Back to the screen before."),
    ]

    def __init__(self, control: object, *, select_po: int | None = None) -> None:
        super().__init__(name="plan")
        self.control = control
        self.report: PlanReport | None = None
        self.plans: dict[str, PoPlan] = {}
        self.kind = "all"
        self.text = ""
        self.running = False
        self.select_po = select_po
        self.detail_shown: PoPlan | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="plan-status")
        yield Input(placeholder="filter: PO number, vendor, cause…", id="plan-filter")
        table = PoTable(COLUMNS, id="plan-table")
        table.border_title = "Plan: what the next scan would do (read-only)"
        yield table
        with VerticalScroll(id="plan-detail-box") as box:
            box.border_title = "Detail (enter)"
            yield Static("", id="plan-detail")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one(PoTable).focus()
        self.on_resize()
        self.action_replan()

    def on_resize(self) -> None:
        # The last column takes what is left (less the border, padding and a scrollbar), so
        # nothing needs a horizontal scroll.
        self.query_one(PoTable).set_column_width("what", max(12, self.size.width - FIXED_WIDTH - 6))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("replan", "approve") and self.running:
            return None
        if action == "approve":
            p = self.selected()
            return (p is not None and bool(p.fingerprint) and p.outcome != "resume") or None
        return True

    # ---------------------------------------------------------------- data

    def selected(self) -> PoPlan | None:
        table = self.query_one(PoTable)
        keys = table.keys
        if not keys:
            return None
        return self.plans.get(keys[min(table.cursor, len(keys) - 1)])

    def action_replan(self) -> None:
        self.running = True
        self.refresh_bindings()
        self._status("[b $warning]Planning…[/] every eligible purchase order, as the next scan would; "
                     "nothing is written.")
        self._make()

    @work(exclusive=True, group="plan", description="Planning the next scan, read-only")
    async def _make(self) -> None:
        try:
            report = await self.control.plan()  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 (shown, never a crash)
            self.running = False
            self.refresh_bindings()
            self._status(f"[b $error]The plan cannot be made:[/] {escape(shown(exc))}")
            return
        self.show_report(report)

    def show_report(self, report: PlanReport) -> None:
        """Fill the table from a report (also what the benchmark times)."""
        self.running = False
        self.report = report
        self.plans = {str(p.po_id): p for p in report.plans}
        self.redraw()
        self.refresh_bindings()

    def redraw(self) -> None:
        table = self.query_one(PoTable)
        report = self.report
        if report is not None:
            table.set_label("number", number_heading(report))
        with self.app.batch_update():
            table.clear()
            for key, p in self.plans.items():
                if matches(p, self.kind, self.text):
                    table.set_row(key, row_cells(p))
            if self.select_po is not None and str(self.select_po) in table.keys:
                table.cursor = table.keys.index(str(self.select_po))
                self.select_po = None
        table.border_subtitle = f"{table.row_count} of {len(self.plans)} shown ({self.kind})"
        if report is None:
            return
        head = status_head(report)
        if report.halt_code:
            head = f"[b $error]A scan would transfer nothing:[/] {escape(shown(report.halt_cause))} {escape(shown(report.halt_fix))}"
        elif report.paused:
            head = "days_back is 0: the transfer is paused"
        self._status(escape(head) if not report.halt_code else head)
        chosen = self.selected()
        if chosen is not None:
            self.show_detail(chosen)

    def _status(self, markup: str) -> None:
        self.query_one("#plan-status", Static).update(markup)

    def show_detail(self, p: PoPlan) -> None:
        self.detail_shown = p
        self.query_one("#plan-detail", Static).update(Text("\n".join(detail_lines(p))))

    # ---------------------------------------------------------------- keys

    def on_po_table_row_chosen(self, event: PoTable.RowChosen) -> None:
        p = self.plans.get(event.key)
        if p is not None:
            self.show_detail(p)
        self.refresh_bindings()

    def action_filter_text(self) -> None:
        box = self.query_one("#plan-filter", Input)
        box.add_class("shown")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.text = event.value.strip()
        self.redraw()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(PoTable).focus()

    def action_cycle_filter(self) -> None:
        self.kind = FILTERS[(FILTERS.index(self.kind) + 1) % len(FILTERS)]
        self.redraw()

    def action_close(self) -> None:
        box = self.query_one("#plan-filter", Input)
        if box.has_focus:
            self.query_one(PoTable).focus()
            return
        self.dismiss()

    def action_approve(self) -> None:
        p = self.selected()
        if p is not None:
            self._approve(p)

    @work(exclusive=True, group="plan-approve", description="Approving a held purchase order")
    async def _approve(self, p: PoPlan) -> None:
        try:
            approved, refused = await self.control.approve([p])  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001
            self.notify(f"Not approved: {shown(exc)}", severity="error", markup=False)
            return
        if approved:
            from dataclasses import replace

            self.plans[str(p.po_id)] = replace(p, approval="approved")
            self.notify(f"PO {shown(p.po_number)} approved as shown: the next scan applies this plan", markup=False)
            self.redraw()
        for plan, why in refused:
            self.notify(f"PO {shown(plan.po_number)} not approved: {shown(why)}", severity="warning", markup=False)
