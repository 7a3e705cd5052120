"""The doctor's report: typed findings, each with a cause and a fix in plain words, the
purchase orders as the next scan would see them, what it would create, and the API headroom.

Everything here is plain data (no clients, no Textual): the command line prints it, the console
shows it, `--json` serialises it. Text that came from a service (names, numbers, messages) is
passed through sync.text.shown when the report is built, so no control character reaches a
terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from sync.text import shown  # the one rule for text from outside

EXIT_OK, EXIT_ATTENTION = 0, 3


class Level(Enum):
    OK = "ok"  # checked, and fine
    NOTE = "note"  # worth knowing, nothing to do
    ATTENTION = "attention"  # will cause trouble soon, or needs a decision
    FAIL = "fail"  # a scan now would fail (for every PO, or for the POs named)


class CannotRun(Exception):
    """The doctor cannot check a scan (settings missing); the message says what to set."""


def check_can_run(settings: object) -> None:
    missing = settings.missing_for_scan()  # type: ignore[attr-defined]
    if missing:
        raise CannotRun("settings incomplete, the doctor cannot check a scan:\n"
                        + "\n".join(f"  {p}" for p in missing)
                        + "\nSet them with: atqbo settings set KEY VALUE")


@dataclass(frozen=True)
class Finding:
    area: str  # "QuickBooks connection", "Autotask connection", "settings", "purchase orders", ...
    code: str  # stable, for scripts and tests
    level: Level
    title: str  # one line: what was checked and what was found
    cause: str = ""  # for attention and fail: what is wrong, in plain words
    fix: str = ""  # what to do about it


@dataclass(frozen=True)
class NewRecordCheck:
    """A QBO record the next scan would create, and for which POs."""

    entity: str  # "Vendor", "Customer", "Item"
    name: str
    detail: str  # "in EUR", "on expense account Computer Equipment"
    po_numbers: tuple[str, ...]


@dataclass(frozen=True)
class PoCheck:
    """One eligible PO as the next scan would see it."""

    po_id: int
    po_number: str
    vendor: str  # the Autotask vendor organization
    customer: str  # the "purchase for" organization ("" when none)
    outcome: str  # "bill", "fail" or "resume"
    doc_number: str | None = None
    amount: str = ""
    currency: str = ""
    lines: int = 0
    creates: tuple[str, ...] = ()  # "vendor Müller Elektronik GmbH (in EUR)"
    cause_code: str | None = None
    cause: str = ""
    fix: str = ""
    document: str = "Bill"  # the QBO entity it becomes (transfer_as): "Bill" | "PurchaseOrder"


@dataclass(frozen=True)
class Headroom:
    autotask_threshold: int | None = None  # requests per timeframe (ThresholdInformation)
    autotask_timeframe_minutes: int | None = None
    autotask_used: int | None = None  # in the current timeframe
    autotask_next_scan: int = 0  # estimated calls of the next scan
    qbo_per_minute: int = 500  # QBO's documented limits per company
    qbo_per_second: int = 10
    qbo_batch_items: int = 30
    qbo_next_scan: int = 0


@dataclass(frozen=True)
class DoctorReport:
    findings: tuple[Finding, ...]
    pos: tuple[PoCheck, ...] = ()
    creates: tuple[NewRecordCheck, ...] = ()
    headroom: Headroom = field(default_factory=Headroom)
    api_calls: dict[str, int] = field(default_factory=dict)  # what the doctor itself cost

    @property
    def failing_pos(self) -> tuple[PoCheck, ...]:
        return tuple(p for p in self.pos if p.outcome == "fail")

    @property
    def needs_attention(self) -> bool:
        return any(f.level in (Level.ATTENTION, Level.FAIL) for f in self.findings) or bool(self.failing_pos)

    @property
    def exit_code(self) -> int:
        return EXIT_ATTENTION if self.needs_attention else EXIT_OK

    def counts(self) -> dict[str, int]:
        return {"findings_fail": sum(1 for f in self.findings if f.level is Level.FAIL),
                # (the POs' own failures are counted as pos_fail, not again as a finding)
                "findings_attention": sum(1 for f in self.findings
                                          if f.level is Level.ATTENTION and f.code != "would_fail"),
                "pos": len(self.pos), "pos_bill": sum(1 for p in self.pos if p.outcome == "bill"),
                "pos_fail": len(self.failing_pos), "pos_resume": sum(1 for p in self.pos if p.outcome == "resume"),
                "creates": len(self.creates)}
