"""The QBO emulator's name index (issue 17) changes no answer: every query, name check and
duplicate-DocNumber check gives what the full scan gives (rows, order, counts, paging, errors),
after creates, renames and deletes too."""

from __future__ import annotations

import random

import pytest

from sync.sandbox.qbo import seed as qs
from sync.sandbox.qbo import validation
from sync.sandbox.qbo.delete import delete_record
from sync.sandbox.qbo.faults import QboFault
from sync.sandbox.qbo.store import Store
from tests.sandbox.qbo_helpers import QboSandbox, rich_seed

NAMES = ["Laptop", "laptop ", "LAPTOP", " Cable", "cable", "Straße", "STRASSE", "123", "0123", "12.0", "Bob's",
         "Ünïcode", "x", "X ", "Tab\u00a0name", "Tab name"]


def _scan_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Store, "narrowed", lambda self, entity, where: self.all(entity))
    monkeypatch.setattr(Store, "named_any", lambda self, entity, name, values: self.all(entity))


def _world(rng: random.Random) -> QboSandbox:
    seed = rich_seed(warn_duplicates=True)
    items = {i["Name"].strip().casefold() for i in seed.items}
    parties = {p["DisplayName"].strip().casefold() for p in seed.vendors + seed.customers + seed.employees}
    for i, name in enumerate(rng.sample(NAMES, len(NAMES))):
        if name.strip().casefold() not in items:
            items.add(name.strip().casefold())
            seed.items.append(qs.item(str(600 + i), name, expense_account_id="21", active=rng.random() < 0.8))
        party = f"{name} Ltd" if rng.random() < 0.5 else name
        if party.strip().casefold() not in parties:
            parties.add(party.strip().casefold())
            seed.vendors.append(qs.vendor(str(700 + i), party))
    return QboSandbox(seed)


def _queries(rng: random.Random) -> list[str]:
    def lit(text: str) -> str:
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    out = []
    for _ in range(40):
        picks = rng.sample(NAMES + ["nobody", "laptop", "cable ", "strasse"], rng.randint(1, 5))
        field, entity = rng.choice([("Name", "Item"), ("name", "item"), ("DisplayName", "Vendor"),
                                    ("DocNumber", "Bill")])
        where = (f"{field} = {lit(picks[0])}" if len(picks) == 1 else
                 f"{field} IN ({', '.join(lit(p) for p in picks)})")
        extra = rng.choice(["", " AND Active IN (true, false)", " AND Active = false", " ORDERBY Id DESC",
                            " STARTPOSITION 2 MAXRESULTS 2"])
        out.append(f"select {rng.choice(['*', 'count(*)'])} from {entity} where {where}{extra}")
    out += ["select * from Item where Name = 123", "select * from Item where Name IN ('x', 123)",
            "select * from Item where Name like 'lap%'", "select * from Vendor"]
    return out


def _answers(sandbox: QboSandbox, queries: list[str]) -> list[object]:
    out: list[object] = []
    for text in queries:
        try:
            body = sandbox.qbo.run_query(text)
            body.pop("time", None)
            for rows in body["QueryResponse"].values():
                for row in rows if isinstance(rows, list) else []:
                    row.pop("MetaData")  # stamped when each world was built: not the answer's to match
            out.append(body)
        except QboFault as fault:
            out.append(("fault", fault.code, str(fault)))
    return out


def _writes(sandbox: QboSandbox, rng: random.Random) -> list[object]:
    """Creates (some refused as duplicates), renames and deletes; returns what each answered."""
    store = sandbox.qbo.store
    out: list[object] = []
    for n in range(30):
        name = rng.choice(NAMES) + rng.choice(["", " ", "2"])
        try:
            if n % 3 == 0:
                rec = validation.create(store, "Item", {"Name": name, "Type": "NonInventory",
                                                        "ExpenseAccountRef": {"value": "21"}})
            elif n % 3 == 1:
                item = rng.choice(store.all("Item"))
                rec = validation.update(store, "Item", {"Id": item["Id"], "Name": name, "sparse": True,
                                                        "SyncToken": item["SyncToken"]})
            else:
                rec = validation.create(store, "Vendor", {"DisplayName": name})
            out.append(rec["Id"])
        except QboFault as fault:
            out.append(("fault", fault.code, str(fault)))
    for doc in ("1001", "1002", "1001", "x1"):
        try:
            rec = validation.create(store, "Bill", {"VendorRef": {"value": "101"}, "DocNumber": doc, "Line": [
                qs.item_line("303", 1, 5)]})
            out.append(rec["Id"])
        except QboFault as fault:
            out.append(("fault", fault.code, str(fault)))
    bill = store.all("Bill")[-1]
    out.append(delete_record(store, "Bill", {"Id": bill["Id"], "SyncToken": bill["SyncToken"]})["Id"])
    return out


@pytest.mark.parametrize("world", range(6))
def test_indexed_answers_equal_the_full_scan(world: int, monkeypatch: pytest.MonkeyPatch) -> None:
    queries = _queries(random.Random(world))
    indexed = _world(random.Random(world))
    before = _answers(indexed, queries)
    wrote = _writes(indexed, random.Random(100 + world))
    after = _answers(indexed, queries)

    _scan_only(monkeypatch)
    scanned = _world(random.Random(world))
    assert _answers(scanned, queries) == before
    assert _writes(scanned, random.Random(100 + world)) == wrote
    assert _answers(scanned, queries) == after
