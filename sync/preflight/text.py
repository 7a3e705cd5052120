"""The doctor's report as text for people: the command line prints it, the console shows the
same lines (with colour). Plain functions of the report, no I/O."""

from __future__ import annotations

from typing import Any

from .report import DoctorReport, Finding, Level, NewRecordCheck, PoCheck

LEVEL_WORDS = {Level.OK: "ok", Level.NOTE: "note", Level.ATTENTION: "ATTENTION", Level.FAIL: "FAIL"}


def group_by_area(findings: Any) -> list[tuple[str, list[Finding]]]:
    """Findings grouped by area, areas in the order they first appear."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.area, []).append(f)
    return list(groups.items())


def heading(area: str) -> str:
    return area[:1].upper() + area[1:]


def finding_detail(f: Finding) -> list[str]:
    """The cause and fix lines under a finding that needs something done."""
    lines: list[str] = []
    if f.level in (Level.ATTENTION, Level.FAIL):
        if f.cause and f.cause != f.title:
            lines.append(f.cause)
        if f.fix:
            lines.append(f"Fix: {f.fix}")
    return lines


def po_line(p: PoCheck) -> str:
    who = f"PO {p.po_number} (id {p.po_id}), vendor {p.vendor}" + (f", for {p.customer}" if p.customer else "")
    if p.outcome == "fail":
        return f"{who}: {p.cause} Fix: {p.fix}"
    if p.outcome == "resume":
        return f"{who}: {p.fix}"
    money = f"{p.amount} {p.currency}".strip()
    creates = f"; creates {', '.join(p.creates)}" if p.creates else ""
    document = "purchase order" if p.document == "PurchaseOrder" else "bill"
    return f"{who} → {document} {p.doc_number}, {money}, {p.lines} line{'s' if p.lines != 1 else ''}{creates}"


PO_WORDS = {"fail": "FAIL", "resume": "next", "bill": "bill"}


def po_word(p: PoCheck) -> str:
    """The PO list's first column: "PO" where the PO becomes a QuickBooks purchase order."""
    return "PO" if p.outcome == "bill" and p.document == "PurchaseOrder" else PO_WORDS[p.outcome]


def create_line(c: NewRecordCheck) -> str:
    detail = f" ({c.detail})" if c.detail else ""
    return f"{c.entity.lower()} {c.name}{detail}, for PO {', '.join(c.po_numbers)}"


def verdict(report: DoctorReport) -> str:
    if report.exit_code == 0:
        return "all is well: the next scan would transfer every eligible purchase order"
    counts = report.counts()
    parts = []
    if counts["pos_fail"]:
        parts.append(f"{counts['pos_fail']} of {counts['pos']} purchase orders would fail")
    n = counts["findings_fail"] + counts["findings_attention"]
    if n:
        parts.append(f"{n} check{'s' if n != 1 else ''} need{'' if n != 1 else 's'} attention")
    return "; ".join(parts)


PO_HEADING = "Each eligible purchase order, as the next scan would see it"
CREATES_HEADING = "The next scan would create in QuickBooks"


def human_text(report: DoctorReport) -> str:
    lines: list[str] = []
    for area, findings in group_by_area(report.findings):
        if lines:
            lines.append("")
        lines.append(heading(area))
        for f in findings:
            lines.append(f"  {LEVEL_WORDS[f.level]:<9} {f.title}")
            lines += [f"            {line}" for line in finding_detail(f)]
    if report.pos:
        lines += ["", PO_HEADING]
        lines += [f"  {po_word(p):<5} {po_line(p)}" for p in report.pos]
    if report.creates:
        lines += ["", CREATES_HEADING]
        lines += [f"  {create_line(c)}" for c in report.creates]
    calls = report.api_calls
    lines += ["", f"doctor: {verdict(report)} (read-only: nothing was written; "
                  f"{calls.get('autotask', 0)} Autotask and {calls.get('qbo', 0)} QuickBooks requests)"]
    return "\n".join(lines)
