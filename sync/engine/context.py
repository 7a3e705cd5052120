"""What one run (a scan, a single-PO sync, a retry) needs besides the PO itself.

Built once per run from the settings and both services: the tenant's "Submitted" value, the
currency mode, the A/P accounts, the expense account for new items, caches of QBO look-ups
and (lazily) the QBO bill number sequence. Settings are read at the start of each run, so a
change applies from the next run on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import anyio

from sync.clients.autotask import AutotaskClient
from sync.clients.errors import PicklistError
from sync.clients.qbo import QboClient
from sync.clients.qbo_query import Select
from sync.events import Event
from sync.store.journal import Journal
from sync.store.links import LinkBook
from sync.settings import MissingItem, PoNumberSource, Settings

from . import causes, documents, sources
from .currency import (CurrencyContext, CurrencyMode, autotask_is_multicurrency, decide_mode)
from .halt import ScanHalt, api_words
from .linking import Linker
from .numbering import BillSequence
from .resolve import PoProblem, Resolver, find_account
from .tagged_bills import TaggedBills


@dataclass
class RunContext:
    settings: Settings
    at: AutotaskClient
    qbo: QboClient
    publish: Callable[[Event], None]
    now: datetime
    submitted: int
    currency: CurrencyContext
    ap_account: dict
    ap_accounts: list[dict]
    resolver: Resolver
    journal: Journal
    bills: TaggedBills  # QBO's bills by the PO they name (read on first need)
    _expense_account: dict | None = None
    _sequence: BillSequence | None = None
    todos_created: int = 0
    held: int = 0  # POs this run left waiting for approval (apply_mode)
    _expense_checked: bool = False

    @property
    def document(self) -> str:
        """The QBO entity a PO becomes when picked up (transfer_as)."""
        return documents.first_document(self.settings)

    @property
    def numbers_from_autotask(self) -> bool:
        return self.settings.po_number_source is PoNumberSource.AUTOTASK

    async def sequence(self) -> BillSequence:
        """QBO's bill numbers, read once per run on first use."""
        if self._sequence is None:
            # Numbers of bills requested but not confirmed (a crash, a lost reply) count as taken:
            # the bill may exist, or be sent again with that number later in this very run.
            reserved = [e.doc_number for e in await anyio.to_thread.run_sync(self.journal.unfinished)
                        if e.state.value == "bill_requested"]
            self._sequence = BillSequence([*await self.resolver.all_doc_numbers(), *reserved])
        return self._sequence

    async def expense_account_for_new_items(self) -> dict | None:
        """The account new items are created with, or None when missing items are an error.
        A configured account that QBO does not have is a cause for the PO."""
        if self.settings.missing_item is not MissingItem.CREATE:
            return None
        if not self._expense_checked:
            self._expense_checked = True
            wanted = self.settings.new_item_expense_account or ""
            accounts = await self.qbo.query_all(Select("Account"))
            self._expense_account = find_account(accounts, wanted)
        if self._expense_account is None:
            raise PoProblem(causes.make("expense_account_missing", account=self.settings.new_item_expense_account))
        return self._expense_account


def check_settings(settings: Settings) -> None:
    missing = settings.missing_for_scan()
    if missing:
        detail = "; ".join(str(p) for p in missing)
        raise ScanHalt(causes.make("settings_incomplete", detail=detail), "")


async def build(settings: Settings, at: AutotaskClient, qbo: QboClient, journal: Journal,
                publish: Callable[[Event], None], now: datetime, submitted: int | None = None,
                prefs: dict | None = None, *, links: LinkBook | None = None) -> RunContext:
    """Read what the run needs from both services (QBO's preferences only when not given).
    Raises ScanHalt for what stops every PO (the caller maps client errors the same way)."""
    check_settings(settings)
    try:
        if submitted is None:
            submitted = await sources.submitted_value(at)
    except PicklistError as exc:
        raise ScanHalt(causes.make("status_picklist", api=api_words(exc)), "autotask") from None
    if prefs is None:
        prefs = await qbo.preferences()
    currency_prefs = prefs.get("CurrencyPrefs") or {}
    qbo_multi = bool(currency_prefs.get("MultiCurrencyEnabled"))
    home = str((currency_prefs.get("HomeCurrency") or {}).get("value") or "")
    currencies = await sources.multicurrency_currencies(at)
    at_multi = autotask_is_multicurrency(currencies)
    mode = decide_mode(qbo_multi, at_multi)
    codes = {int(c["id"]): str(c.get("name") or "") for c in currencies or []}
    internal = next((str(c.get("name")) for c in currencies or [] if c.get("isInternalCurrency")), "")
    ctx_currency = CurrencyContext(mode=mode, home=home, autotask_codes=codes, autotask_internal=internal)
    if mode is CurrencyMode.BLOCKED:
        raise ScanHalt(causes.make("multicurrency_qbo_off"), "")
    ap_accounts = await qbo.query_all(Select("Account").eq("AccountType", "Accounts Payable"))
    ap = find_account(ap_accounts, settings.ap_account)
    if ap is None:
        raise ScanHalt(causes.make("ap_account_missing", account=settings.ap_account,
                                   document=documents.label(documents.first_document(settings))), "qbo")
    return RunContext(settings=settings, at=at, qbo=qbo, publish=publish, now=now, submitted=submitted,
                      currency=ctx_currency, ap_account=ap, ap_accounts=ap_accounts,
                      resolver=Resolver(qbo, publish, document=documents.first_document(settings),
                                        linker=Linker(qbo, links, settings.near_match)),
                      journal=journal, bills=TaggedBills.for_settings(qbo, settings))

