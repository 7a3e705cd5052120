"""Matching (or creating) QBO vendors, customers and items, and finding bills, with per-run caches.

Deciding and writing are separate steps: `decide_vendor`, `decide_customer` and `decide_item`
only read (they say which record a PO would use, or what would be created, or raise the
PoProblem the PO would fail with); `apply` creates what a decision says is missing. A plan
(`atqbo doctor`, `atqbo plan`) runs the decisions only; a run applies them.

Names go through `names.qbo_name` first, so what is looked up is what would be created.
Look-ups are cached for the run (a scan, a single-PO sync, a retry): a vendor with twenty POs
is looked up once. A failure is raised as `PoProblem` carrying a cause from the catalogue.

QBO's query language cannot carry a character above U+00FF (’ “ ” – ł: a 4000 lexical error),
so a name holding one is never put in a query: it is matched against a listing of that entity,
taken at most once per run and only when such a name comes up, by the same casefolded key.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from sync.clients.errors import QboValidationError
from sync.clients.qbo import QboClient
from sync.clients.qbo_query import Select, queryable
from sync.events import CustomerCreated, Event, ItemCreated, NameAdjusted, VendorCreated
from sync.store.links import LinkMethod
from sync.text import for_qbo

from . import causes, documents
from .causes import Cause
from .halt import api_words
from .linking import LinkGone, Linker
from .near import NameIndex
from .names import InvalidName, NameKind, qbo_name

FREIGHT_ITEM = "Freight"
PREFETCH_CHUNK = 50  # names per IN query (keeps the statement short)
_REQUEST_NS = uuid.UUID("6f2f0c1e-4d8a-5b7e-9c3d-a7b1e2f30415")


class PoProblem(Exception):
    """This PO cannot be synced, for a cause the operator can act on."""

    def __init__(self, cause: Cause) -> None:
        super().__init__(cause.cause)
        self.cause = cause


class NearNameHeld(PoProblem):
    """near_match = hold: QBO holds the name only nearly and nobody approved the link yet. A
    scan holds the PO (no ERROR marker, no to-do); a sync of that one PO fails with it."""


Ref = str | tuple[object, str]  # a name, or (Autotask id, name)


def _ref(ref: Ref) -> tuple[object, str]:
    return ref if isinstance(ref, tuple) else (None, ref)


def request_id(realm_id: str, po_id: int, attempt: int, what: str = "bill") -> str:
    """The QBO requestid of a write for (PO, attempt): the same on every resend of that attempt,
    so QBO replays instead of repeating; a new attempt (a retry after a failure) gets a new one.
    32 hex characters (fits the batch limit of 36)."""
    return uuid.uuid5(_REQUEST_NS, f"{realm_id}:{po_id}:{attempt}:{what}").hex


def po_marker(po_id: int) -> str:
    """The tag in a bill's PrivateNote that names its Autotask PO (used to recognise our bills)."""
    return f"(Autotask PO id {po_id})"


def private_note(po_number: str, po_id: int) -> str:
    return f"Autotask purchase order {for_qbo(po_number)} {po_marker(po_id)}, transferred by atqbo"


def is_bill_of(bill: dict, po_id: int) -> bool:
    return po_marker(po_id) in str(bill.get("PrivateNote") or "")


_MARKER = re.compile(r"\(Autotask PO id ([0-9]{1,18})\)")


def tagged_po_ids(bill: dict) -> set[int]:
    """The PO ids a bill's PrivateNote names by their tag (ASCII digits only: the note is text
    anyone may edit in QBO)."""
    return {int(m) for m in _MARKER.findall(str(bill.get("PrivateNote") or ""))}


_RECEIPTS = re.compile(r"\(Autotask receipts ([0-9,]{1,2000})(; freight)?\)")


def receipts_tag(receipts: Iterable[int], freight: bool) -> str:
    """The tag a receipt bill carries beside its PO's: the receiving records it bills."""
    return f"(Autotask receipts {','.join(str(r) for r in sorted(receipts))}{'; freight' if freight else ''})"


def tagged_receipts(bill: dict) -> tuple[set[int], bool]:
    """The receiving ids (and whether freight) a receipt bill's PrivateNote names."""
    found: set[int] = set()
    freight = False
    for ids, fr in _RECEIPTS.findall(str(bill.get("PrivateNote") or "")):
        found |= {int(i) for i in ids.split(",") if i.isascii() and i.isdigit() and len(i) < 19}
        freight = freight or bool(fr)
    return found, freight


def is_receipt_bill(bill: dict) -> bool:
    """A bill for goods received under purchase_order_then_bill: never a PO's own document."""
    return bool(_RECEIPTS.search(str(bill.get("PrivateNote") or "")))


@dataclass(frozen=True)
class NewRecord:
    """A QBO record a run would create: what it is, its payload, and what it is created with."""

    entity: str  # "Vendor", "Customer" or "Item"
    name: str
    payload: dict
    currency: str = ""  # a vendor created in this currency
    account: dict | None = None  # an item created on this expense account


@dataclass(frozen=True)
class Match:
    """What a PO would use for one vendor, customer or item: the QBO record that exists
    (`record`), or the one a run would create (`new`)."""

    entity: str
    name: str
    record: dict | None = None
    new: NewRecord | None = None
    # Links (issue 16): the Autotask record this is for, and the link a run makes when it
    # applies the decision (a LinkMethod value; "" when the record is linked already).
    autotask_id: object = None
    how: str = ""
    score: int | None = None
    # near_match = hold: `record` is only a near name; the question the PO waits with until
    # the operator approves (the plan's approval links it) or links it by hand.
    asks: Cause | None = None

    @property
    def currency(self) -> str:
        """The record's QBO currency ("" when QBO did not say: the home currency)."""
        source = self.record if self.record is not None else (self.new.payload if self.new else {})
        return str((source.get("CurrencyRef") or {}).get("value") or "")


def _key(name: str) -> str:
    return name.casefold()


CACHE_LIMIT = 5_000  # records per kind a run keeps


class BoundedCache(dict):
    """A dict that forgets its oldest entries beyond `limit` (insertion order)."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key, value) -> None:
        if key in self:
            super().__delitem__(key)
        super().__setitem__(key, value)
        while len(self) > self.limit:
            super().__delitem__(next(iter(self)))


@dataclass
class Resolver:
    """QBO look-ups and creates for one run. `publish` receives the created/adjusted events."""

    qbo: QboClient
    publish: Callable[[Event], None]
    # Bounded (a scan over a large catalogue would otherwise keep every record it met): the
    # scan looks a chunk's names up just before its groups use them, and a name dropped here is
    # only looked up again.
    vendors: dict[str, dict] = field(default_factory=lambda: BoundedCache(CACHE_LIMIT))
    customers: dict[str, dict] = field(default_factory=lambda: BoundedCache(CACHE_LIMIT))
    items: dict[str, dict] = field(default_factory=lambda: BoundedCache(CACHE_LIMIT))
    _adjusted: set[tuple[str, str]] = field(default_factory=set)
    # Filled by prefetch(): names known absent (per entity), and missing vendor/customer names
    # known to be taken (or not) by the other kind.
    _missing: dict[str, set[str]] = field(default_factory=lambda: {"Vendor": set(), "Customer": set(), "Item": set()})
    _clash: dict[str, set[str]] = field(default_factory=lambda: {"Vendor": set(), "Customer": set()})
    _no_clash: dict[str, set[str]] = field(default_factory=lambda: {"Vendor": set(), "Customer": set()})
    # Per entity, every active record by name key: listed once per run, for names a query cannot carry.
    _listed: dict[str, dict[str, dict]] = field(default_factory=dict)
    # Records created by this run, by (entity, QBO Id): what they were decided as (a plan
    # approved before the run named them "to create"; sync.engine.approval).
    created_this_run: dict[tuple[str, str], NewRecord] = field(default_factory=dict)
    # Records decided but not created yet, so every PO of the run that needs one gets the same.
    _planned: dict[tuple[str, str], NewRecord] = field(default_factory=dict)
    # The QBO entity a PO becomes ("Bill", or "PurchaseOrder" under transfer_as): numbers and
    # look-ups by number are of that entity.
    document: str = "Bill"
    # Links (Autotask id -> QBO record) and near names; without a link book, names only.
    linker: Linker | None = None

    # ------------------------------------------------------------ bulk look-ups

    async def prefetch(self, vendors: list[Ref], customers: list[Ref], items: list[Ref]) -> None:
        """Look many names up with a few `IN` queries instead of one query each (a scan calls
        this per group). What is found fills the caches; what is not is remembered as absent,
        so the per-PO path goes straight to the clash check or the create. A name given with
        its Autotask id that has a link: its record comes from the same answer when its name is
        unchanged, else from one `Id IN` query for the group's others."""
        split = {kind: await self._split(kind, refs)
                 for kind, refs in (("vendor", vendors), ("customer", customers), ("item", items))}
        missing_vendors = await self._prefetch("Vendor", "DisplayName", "vendor", split["vendor"][0], self.vendors)
        missing_customers = await self._prefetch("Customer", "DisplayName", "customer", split["customer"][0],
                                                 self.customers)
        await self._prefetch("Item", "Name", "item", split["item"][0], self.items)
        for kind, cache in (("vendor", self.vendors), ("customer", self.customers), ("item", self.items)):
            await self._linked_records(kind, split[kind][1], cache)
        # A linked name QBO does not hold is not going to be created: no clash check for it.
        missing_vendors = {k: n for k, n in missing_vendors.items() if k not in split["vendor"][2]}
        missing_customers = {k: n for k, n in missing_customers.items() if k not in split["customer"][2]}
        for entity, other, names in (("Vendor", "Customer", missing_vendors), ("Customer", "Vendor", missing_customers)):
            taken = await self._lookup_keys(other, "DisplayName", names)
            for key, name in names.items():
                (self._clash if key in taken else self._no_clash)[entity].add(key)

    async def _split(self, kind: str, refs: list[Ref]) -> tuple[list[str], list, set[str]]:
        """Every name of `refs` (for the group's name query), the links among them with their
        name keys, and the keys only linked records have (no clash check, no create for them)."""
        pairs = [_ref(r) for r in refs]
        names = [name for _, name in pairs]
        if self.linker is None:
            return names, [], set()
        await self.linker.ready()
        linked, unlinked_keys, linked_keys = [], set(), set()
        for at_id, name in pairs:
            link = self.linker.link_of(kind, at_id)
            try:
                key: str | None = _key(qbo_name(name, kind))  # type: ignore[arg-type]
            except InvalidName:
                key = None
            if link is not None:
                linked.append((link, key))
                linked_keys.add(key)
            else:
                unlinked_keys.add(key)
        return names, linked, {k for k in linked_keys - unlinked_keys if k is not None}

    async def _linked_records(self, kind: str, linked: list, cache: dict[str, dict]) -> None:
        """Each linked record of the group: from the name query's answer when it returned it
        (same Id), else read by Id with the others (one IN query per 50)."""
        if self.linker is None or not linked:
            return
        wanted = []
        for link, key in linked:
            record = cache.get(key) if key is not None else None
            if record is not None and str(record.get("Id")) == link.qbo_id:
                self.linker.known(kind, record)
            else:
                wanted.append(link.qbo_id)
        await self.linker.fetch(kind, wanted)

    async def flush_links(self) -> None:
        """Store the links this run made so far (one write)."""
        if self.linker is not None:
            await self.linker.flush()

    async def _linked(self, kind: str, autotask_id: object, name: str) -> dict | None:
        """The record this Autotask id is linked to (PoProblem when it is gone or inactive), or
        None when it has no link."""
        if self.linker is None or autotask_id is None:
            return None
        await self.linker.ready()
        link = self.linker.link_of(kind, autotask_id)
        if link is None:
            return None
        try:
            return await self.linker.record(link, name)
        except LinkGone as gone:
            raise PoProblem(gone.cause) from None

    def approve_near(self, match: Match) -> None:
        """The operator approved the plan that asked about this near name: link it (stored with
        the run's other links)."""
        if match.asks is not None and match.record is not None:
            self._note(match.entity.lower(), match.autotask_id, match.record, LinkMethod.NEAR_APPROVED, match.name,
                       match.score)

    def _note(self, kind: str, autotask_id: object, record: dict, method: LinkMethod, name: str,
              score: int | None = None) -> None:
        if self.linker is not None and autotask_id is not None:
            field_name = "Name" if kind == "item" else "DisplayName"
            self.linker.note(kind, autotask_id, record, method, name, str(record.get(field_name) or ""), score)

    async def _near(self, entity: str, field_name: str, kind: NameKind, autotask_id: object,
                    name: str) -> Match | None:
        """Before a record is decided to be created: a near name QBO holds, as near_match says
        (a Match to use or to ask about; None to create)."""
        linker = self.linker
        if linker is None or autotask_id is None or linker.near_match == "create":
            return None
        if not linker.has_index(entity):
            linker.set_index(entity, NameIndex.of((await self._listing(entity, field_name)).values(), field_name))
        verdict = linker.near(kind, autotask_id, name)
        if verdict is None:
            return None
        best = verdict.use or verdict.candidates[0]
        if verdict.hold is not None:
            return Match(entity, name, record=best.record, autotask_id=autotask_id,
                         how=LinkMethod.NEAR_APPROVED.value, score=best.score, asks=verdict.hold)
        return Match(entity, name, record=best.record, autotask_id=autotask_id, how=LinkMethod.NEAR_AUTO.value,
                     score=best.score)

    async def _prefetch(self, entity: str, field_name: str, kind: NameKind, raw_names: list[str],
                        cache: dict[str, dict]) -> dict[str, str]:
        wanted: dict[str, str] = {}
        for raw in raw_names:
            try:
                name = qbo_name(raw, kind)
            except InvalidName:
                continue  # reported per PO by the lazy path
            key = _key(name)
            if key not in cache and key not in self._missing[entity]:
                wanted[key] = name
        found = await self._lookup_keys(entity, field_name, wanted)
        for key, record in found.items():
            cache[key] = record
        absent = {k: n for k, n in wanted.items() if k not in found}
        self._missing[entity].update(absent)
        return absent

    async def _lookup_keys(self, entity: str, field_name: str, names: dict[str, str]) -> dict[str, dict]:
        found: dict[str, dict] = {}
        values = sorted(n for n in names.values() if queryable(n))
        unqueryable = [k for k, n in names.items() if not queryable(n)]
        if unqueryable:
            listed = await self._listing(entity, field_name)
            found.update({k: listed[k] for k in unqueryable if k in listed})
        for start in range(0, len(values), PREFETCH_CHUNK):
            chunk = values[start:start + PREFETCH_CHUNK]
            for record in await self.qbo.query_all(Select(entity).where(field_name, "IN", chunk)):
                key = _key(str(record.get(field_name) or ""))
                found[key] = self._shared(entity, key, record)
        return found

    def _shared(self, entity: str, key: str, record: dict) -> dict:
        """The listing's own copy of `record` when it is the same record, unchanged: on a large
        catalogue the listing (near names) holds every item, and a second parsed copy of each
        one looked up made a scan's memory grow with its POs (issue 17). Records are only read,
        never changed in place, so one object can serve both."""
        listed = self._listed.get(entity, {}).get(key)
        return listed if listed is not None and listed == record else record

    async def _listing(self, entity: str, field_name: str) -> dict[str, dict]:
        listed = self._listed.get(entity)
        if listed is None:
            listed = {}
            async for record in self.qbo.query_iter(Select(entity)):
                listed.setdefault(_key(str(record.get(field_name) or "")), record)
            self._listed[entity] = listed
        return listed

    async def _find(self, entity: str, field_name: str, name: str) -> dict | None:
        """The active record of that name, by query when the name fits in one, else from the listing."""
        if queryable(name):
            return await self.qbo.find_one(Select(entity).eq(field_name, name))
        return (await self._listing(entity, field_name)).get(_key(name))

    def _remember(self, entity: str, key: str, record: dict) -> None:
        listed = self._listed.get(entity)
        if listed is not None:
            listed[key] = record  # created this run: a later name check must see it
        if self.linker is not None:
            self.linker.remember(entity, record)

    # ------------------------------------------------------------ names

    def name(self, raw: str | None, kind: NameKind) -> str:
        try:
            adjusted = qbo_name(raw, kind)
        except InvalidName:
            raise PoProblem(causes.make("name_invalid", kind=kind, name=raw or "")) from None
        if adjusted != raw and (kind, raw or "") not in self._adjusted:
            self._adjusted.add((kind, raw or ""))
            self.publish(NameAdjusted(kind=kind, original=raw or "", adjusted=adjusted))
        return adjusted

    # ------------------------------------------------------------ decisions (read only)

    async def decide_vendor(self, company_name: str, currency: str = "", *, autotask_id: object = None) -> Match:
        """The QBO vendor for an Autotask organization: the linked one when it has a link, else
        by name the one QBO has, or the one a run would create (in `currency` when given).
        Reads only; a clash raises PoProblem."""
        return await self._decide_party("Vendor", "vendor", company_name, currency, autotask_id)

    async def decide_customer(self, company_name: str, *, autotask_id: object = None) -> Match:
        return await self._decide_party("Customer", "customer", company_name, "", autotask_id)

    async def _decide_party(self, entity: str, kind: NameKind, raw_name: str, currency: str,
                            autotask_id: object = None) -> Match:
        cache = self.vendors if entity == "Vendor" else self.customers
        name = self.name(raw_name, kind)
        linked = await self._linked(kind, autotask_id, name)
        if linked is not None:
            return Match(entity, name, record=linked)
        key = _key(name)
        exact = LinkMethod.EXACT_NAME.value
        cached = cache.get(key)
        if cached is not None:
            return Match(entity, name, record=cached, autotask_id=autotask_id, how=exact)
        other = "Customer" if entity == "Vendor" else "Vendor"
        if key not in self._missing[entity]:
            found = await self._find(entity, "DisplayName", name)
            if found is not None:
                cache[key] = found
                return Match(entity, name, record=found, autotask_id=autotask_id, how=exact)
            self._missing[entity].add(key)
        near = await self._near(entity, "DisplayName", kind, autotask_id, name)
        if near is not None:
            return near
        planned = self._planned.get((entity, key))
        if planned is not None:  # an earlier PO of this run creates it
            return Match(entity, name, new=planned, autotask_id=autotask_id, how=LinkMethod.CREATED.value)
        if key in self._clash[entity] or (
                key not in self._no_clash[entity]
                and await self._find(other, "DisplayName", name) is not None):
            self._clash[entity].add(key)
            raise PoProblem(causes.make(f"name_clash_{kind}_is_{other.lower()}", name=name))
        self._no_clash[entity].add(key)
        payload: dict = {"DisplayName": name}
        if entity == "Vendor":
            payload["CompanyName"] = name[:100]
        if currency:
            payload["CurrencyRef"] = {"value": currency}
        new = self._planned[(entity, key)] = NewRecord(entity, name, payload, currency=currency)
        return Match(entity, name, new=new, autotask_id=autotask_id, how=LinkMethod.CREATED.value)

    async def decide_item(self, raw_name: str, *, create_with_account: Callable[[], Awaitable[dict | None]],
                          autotask_id: object = None) -> Match:
        """The purchasable QBO item of an Autotask product: the linked one when it has a link,
        else by name; or the NonInventory item a run would create on the expense account
        `create_with_account()` returns; when it returns None (the setting says missing items
        are an error), cause missing_item. Reads only."""
        name = self.name(raw_name, "item")
        linked = await self._linked("item", autotask_id, name)
        if linked is not None:
            if not purchasable(linked):
                raise PoProblem(causes.make("item_not_purchasable", document=documents.label(self.document), name=str(linked.get("Name") or name)))
            return Match("Item", name, record=linked)
        key = _key(name)
        item = self.items.get(key)
        if item is None and key not in self._missing["Item"]:
            item = await self._find("Item", "Name", name)
            if item is None:
                self._missing["Item"].add(key)
        if item is not None:
            self.items[key] = item
            if not purchasable(item):
                raise PoProblem(causes.make("item_not_purchasable", document=documents.label(self.document), name=name))
            return Match("Item", name, record=item, autotask_id=autotask_id, how=LinkMethod.EXACT_NAME.value)
        near = await self._near("Item", "Name", "item", autotask_id, name)
        if near is not None and near.record is not None and purchasable(near.record):
            return near
        planned = self._planned.get(("Item", key))
        if planned is not None:
            return Match("Item", name, new=planned, autotask_id=autotask_id, how=LinkMethod.CREATED.value)
        account = await create_with_account()
        if account is None:
            raise PoProblem(causes.make("missing_item", name=name))
        payload = {"Name": name, "Type": "NonInventory", "PurchaseDesc": name,
                   "ExpenseAccountRef": {"value": str(account["Id"])}}
        new = self._planned[("Item", key)] = NewRecord("Item", name, payload, account=account)
        return Match("Item", name, new=new, autotask_id=autotask_id, how=LinkMethod.CREATED.value)

    # ------------------------------------------------------------ the writes

    async def apply(self, match: Match) -> dict:
        """The QBO record of a decision: the existing one, or the one created now (once per run:
        a later PO of the same run gets the record the first one created)."""
        if match.asks is not None:
            # Nobody approved this near name (a scan holds such a PO before it gets here).
            raise NearNameHeld(match.asks)
        kind = match.entity.lower()
        if match.record is not None:
            if match.how:
                self._note(kind, match.autotask_id, match.record, LinkMethod(match.how), match.name, match.score)
            return match.record
        new = match.new
        assert new is not None
        cache = {"Vendor": self.vendors, "Customer": self.customers, "Item": self.items}[new.entity]
        key = _key(new.name)
        if key in cache:
            self._note(kind, match.autotask_id, cache[key], LinkMethod.EXACT_NAME, match.name)  # another's create
            return cache[key]
        # A lost reply to a create is harmless: the next run finds the record by name. The
        # client keeps one requestid across its own resends of the same create.
        kind = new.entity.lower()
        try:
            created = await self.qbo.create(new.entity, new.payload)
        except QboValidationError as exc:
            if exc.code == "6240":
                other = "an inactive item" if new.entity == "Item" else "an inactive customer or vendor, or an employee"
                raise PoProblem(causes.make("name_clash", kind=kind, name=new.name, other=other)) from None
            raise PoProblem(causes.make(f"{kind}_create_rejected", name=new.name, api=api_words(exc))) from None
        cache[key] = created
        self._remember(new.entity, key, created)
        self.created_this_run[(new.entity, str(created.get("Id")))] = new
        self._missing[new.entity].discard(key)
        self._planned.pop((new.entity, key), None)
        if new.entity == "Vendor":
            self.publish(VendorCreated(name=new.name, vendor_id=str(created["Id"]), currency=new.currency))
        elif new.entity == "Customer":
            self.publish(CustomerCreated(name=new.name, customer_id=str(created["Id"])))
        else:
            account = new.account or {}
            self.publish(ItemCreated(name=new.name, item_id=str(created["Id"]),
                                     expense_account=str(account.get("Name") or account.get("Id") or "")))
        if new.entity == "Item" and not purchasable(created):
            raise PoProblem(causes.make("item_not_purchasable", document=documents.label(self.document), name=new.name))
        self._note(kind, match.autotask_id, created, LinkMethod.CREATED, match.name)
        return created

    # ------------------------------------------------------------ bills

    async def bills_numbered(self, doc_number: str, entity: str | None = None) -> list[dict]:
        return await self.bills_with_numbers([doc_number], entity)

    async def bills_with_numbers(self, doc_numbers: list[str], entity: str | None = None) -> list[dict]:
        """The bills carrying any of these numbers: one IN query; a number a query cannot carry
        (an Autotask PO number with a ’ or –) is looked for in a listing of the bills instead."""
        plain = sorted({n for n in doc_numbers if queryable(n)})
        odd = {n.casefold() for n in doc_numbers if not queryable(n)}
        entity = entity or self.document
        found = await self.qbo.query_all(Select(entity).where("DocNumber", "IN", plain)) if plain else []
        if odd:
            found += [b async for b in self.qbo.query_iter(Select(entity))
                      if str(b.get("DocNumber") or "").casefold() in odd]
        return found

    async def bills_numbered_in(self, doc_numbers: list[str]) -> dict[str, list[dict]]:
        """The bills holding each of these numbers, by number, with a few IN queries."""
        by_number: dict[str, list[dict]] = {}
        values = sorted(set(doc_numbers))
        for start in range(0, len(values), PREFETCH_CHUNK):
            for bill in await self.bills_with_numbers(values[start:start + PREFETCH_CHUNK]):
                by_number.setdefault(str(bill.get("DocNumber") or ""), []).append(bill)
        return by_number

    async def find_bill_of(self, po_id: int, doc_number: str | None, vendor_id: str | None,
                           entity: str | None = None) -> dict | None:
        """This PO's bill, if one exists: by number (and vendor) when known, recognised by the
        PO tag in its PrivateNote."""
        if doc_number:
            for bill in await self.bills_numbered(doc_number, entity):
                vendor_ok = vendor_id is None or str((bill.get("VendorRef") or {}).get("value")) == str(vendor_id)
                if vendor_ok and is_bill_of(bill, po_id):
                    return bill
            return None
        return None

    async def all_doc_numbers(self) -> list[str]:
        return [str(b.get("DocNumber") or "") async for b in self.qbo.query_iter(Select(self.document))]


def purchasable(item: dict) -> bool:
    """An item QBO lets us put on a bill: it has an expense account ("I purchase this
    product/service from a vendor") and is not a category."""
    return bool((item.get("ExpenseAccountRef") or {}).get("value")) and item.get("Type") != "Category"


_ACCOUNT_ID = re.compile(r"^\d+$")


def find_account(accounts: list[dict], wanted: str | None) -> dict | None:
    """An account by Id, Name or FullyQualifiedName (case-insensitive), from a list."""
    if not wanted:
        return None
    text = wanted.strip()
    for acct in accounts:
        if _ACCOUNT_ID.match(text) and str(acct.get("Id")) == text:
            return acct
    for acct in accounts:
        if text.casefold() in (str(acct.get("Name", "")).casefold(), str(acct.get("FullyQualifiedName", "")).casefold()):
            return acct
    return None
