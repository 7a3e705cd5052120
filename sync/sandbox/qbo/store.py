"""The records of one emulated QBO company, in QBO's JSON shape, with Preferences and CompanyInfo."""

from __future__ import annotations

import copy
import threading
from dataclasses import asdict

from .faults import now_iso
from .index import NameIndex
from .seed import CURRENCY_NAMES, QboPrefs, QboSeed

ENTITIES = ("Account", "Vendor", "Customer", "Employee", "Item", "Bill", "PurchaseOrder")
NAME_LISTS = ("Account", "Vendor", "Customer", "Employee", "Item")  # have Active; queries default to active
CREATABLE = ("Account", "Vendor", "Customer", "Item", "Bill", "PurchaseOrder")
# Properties the query language may filter and sort on (besides MetaData.CreateTime/LastUpdatedTime):
# the "filterable" traits of Intuit's entity reference (REF-bill, REF-vendor, REF-item). Others → 4001,
# so a query that the real service would refuse (e.g. on Bill.PrivateNote) fails here too.
# Customer, Employee and Account were not checked field by field: their sets follow Vendor's pattern
# and the reference's own examples (Account by AccountType).
QUERYABLE: dict[str, frozenset[str]] = {
    "Account": frozenset({"Id", "Name", "SubAccount", "ParentRef", "Description", "Active", "Classification",
                          "AccountType", "AccountSubType", "AcctNum", "CurrentBalance", "CurrencyRef",
                          "FullyQualifiedName", "CurrentBalanceWithSubAccounts"}),
    "Vendor": frozenset({"Id", "DisplayName", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName",
                         "Active", "Balance"}),
    "Customer": frozenset({"Id", "DisplayName", "GivenName", "MiddleName", "FamilyName", "Suffix", "CompanyName",
                           "Active", "Balance", "FullyQualifiedName"}),
    "Employee": frozenset({"Id", "DisplayName", "GivenName", "MiddleName", "FamilyName", "Active"}),
    "Item": frozenset({"Id", "Name", "Sku", "Type", "Active", "FullyQualifiedName"}),
    "Bill": frozenset({"Id", "DocNumber", "TxnDate", "DueDate", "VendorRef", "APAccountRef", "SalesTermRef",
                       "TotalAmt", "Balance"}),
    # [U] PurchaseOrder's filterable set was not read from Intuit's reference: the smaller, Bill-like
    # set is the stricter side (POStatus and Balance are not filterable here).
    "PurchaseOrder": frozenset({"Id", "DocNumber", "TxnDate", "VendorRef", "TotalAmt"}),
    "Preferences": frozenset({"Id"}),
    "CompanyInfo": frozenset({"Id", "CompanyName", "LegalName", "Country"}),
}
META_FIELDS = frozenset({"MetaData.CreateTime", "MetaData.LastUpdatedTime"})


def currency_ref(code: str) -> dict:
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


class Store:
    def __init__(self, seed: QboSeed) -> None:
        self.realm_id = seed.realm_id
        self.prefs: QboPrefs = copy.deepcopy(seed.prefs)
        self.lock = threading.RLock()
        self.records: dict[str, dict[str, dict]] = {e: {} for e in ENTITIES}
        # Kept by insert/replace/remove: write records through them, never into `records` directly.
        self.index = NameIndex()
        self.next_id = 1
        # Records created by earlier items of the batch being run: invisible to references and queries.
        self.hidden: set[tuple[str, str]] = set()
        created = now_iso(millis=False)
        self.company_info = {
            "CompanyName": seed.company.get("CompanyName", "Sandbox Company"),
            "LegalName": seed.company.get("LegalName", seed.company.get("CompanyName", "Sandbox Company")),
            "CompanyAddr": {"Id": "1", "Line1": "123 Sierra Way", "City": "San Pablo",
                            "Country": seed.company.get("Country", "US"), "CountrySubDivisionCode": "CA",
                            "PostalCode": "87999"},
            "Country": seed.company.get("Country", "US"),
            "Email": {"Address": "donotreply@intuit.com"},
            "FiscalYearStartMonth": "January",
            "SupportedLanguages": "en",
            "CompanyStartDate": created[:10],
            "NameValue": [{"Name": "SubscriptionStatus", "Value": "PAID"},
                          {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
                          {"Name": "NeoEnabled", "Value": "true"}],
            **{k: v for k, v in seed.company.items() if k not in ("CompanyName", "LegalName", "Country")},
            "domain": "QBO", "sparse": False, "Id": "1", "SyncToken": "0",
            "MetaData": {"CreateTime": created, "LastUpdatedTime": created},
        }
        self.prefs_meta = {"CreateTime": created, "LastUpdatedTime": created}
        self.prefs_sync = 0

    # ----- records ---------------------------------------------------------------------------

    def get(self, entity: str, id_: object) -> dict | None:
        return self.records[entity].get(str(id_))

    def all(self, entity: str) -> list[dict]:
        return list(self.records[entity].values())

    def insert(self, entity: str, record: dict) -> dict:
        """Stamp Id, SyncToken, MetaData and store; an explicit Id (seeds, admin) is kept."""
        with self.lock:
            if record.get("Id"):
                rid = str(record["Id"])
                if rid in self.records[entity]:
                    raise ValueError(f"{entity} Id {rid} already exists")
                if rid.isdigit():
                    self.next_id = max(self.next_id, int(rid) + 1)
            else:
                rid = str(self.next_id)
                self.next_id += 1
            stamp = now_iso(millis=False)
            record = {**record, "domain": "QBO", "sparse": False, "Id": rid, "SyncToken": "0",
                      "MetaData": {"CreateTime": stamp, "LastUpdatedTime": stamp}}
            self.records[entity][rid] = record
            self.index.put(entity, record)
            return record

    def replace(self, entity: str, record: dict) -> dict:
        """Store a new version of an existing record (SyncToken + 1, LastUpdatedTime now)."""
        with self.lock:
            old = self.records[entity][record["Id"]]
            record = {**record, "SyncToken": str(int(old.get("SyncToken", "0")) + 1),
                      "MetaData": {**old["MetaData"], "LastUpdatedTime": now_iso(millis=False)},
                      "domain": "QBO", "sparse": False}
            self.records[entity][record["Id"]] = record
            self.index.put(entity, record)
            return record

    def remove(self, entity: str, rid: str) -> None:
        with self.lock:
            del self.records[entity][rid]
            self.index.remove(entity, rid)

    def named(self, entity: str, name: str, value: str) -> list[dict]:
        """The records whose `name` property may equal `value` (see index.py), in store order: a
        superset the caller checks with its own rule. Every record when `name` is not indexed."""
        return self.named_any(entity, name, [value])

    def named_any(self, entity: str, name: str, values: list[str]) -> list[dict]:
        if self.index.field(entity, name) is None:
            return self.all(entity)
        return [self.records[entity][rid] for rid in self.index.candidates(entity, name, values)]

    def narrowed(self, entity: str, where: list) -> list[dict]:
        """The records a query must look at: for `Name = 'x'` or `DisplayName IN ('a', 'b')` (strings
        only) the index's candidates, else all. The query still applies every condition to each."""
        for cond in where:
            values = cond.value if cond.op == "in" else [cond.value] if cond.op == "=" else None
            name = self.index.field(entity, cond.field)
            if name is not None and values and all(isinstance(v, str) for v in values):
                return self.named_any(entity, name, values)
        return self.all(entity)

    def name_owner(self, display_name: str, exclude: tuple[str, str] | None = None) -> tuple[str, dict] | None:
        """Which Customer, Vendor or Employee already holds this name (case-insensitively, inactive too)."""
        wanted = display_name.strip().casefold()
        for entity in ("Customer", "Vendor", "Employee"):
            for rec in self.named(entity, "DisplayName", display_name):
                if exclude == (entity, rec["Id"]):
                    continue
                if str(rec.get("DisplayName", "")).strip().casefold() == wanted:
                    return entity, rec
        return None

    # ----- preferences and company -----------------------------------------------------------

    def preferences(self) -> dict:
        p = self.prefs
        return {
            "AccountingInfoPrefs": {"TrackDepartments": False, "ClassTrackingPerTxn": False,
                                    "CustomerTerminology": "Customers"},
            "ProductAndServicesPrefs": {"ForSales": True, "ForPurchase": True, "QuantityWithPriceAndRate": True,
                                        "QuantityOnHand": True},
            "SalesFormsPrefs": {"CustomTxnNumbers": False, "AllowDeposit": False, "AllowDiscount": True},
            "VendorAndPurchasesPrefs": {"EnableBills": True, "TrackingByCustomer": True,
                                        "BillableExpenseTracking": True, "POCustomField": []},
            "CurrencyPrefs": {"MultiCurrencyEnabled": p.multi_currency,
                              "HomeCurrency": {"value": p.home_currency}},
            "OtherPrefs": {"NameValue": [
                {"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": "Thank you for your business."},
                {"Name": "WarnDuplicateCheckNumber", "Value": "true"},
                {"Name": "WarnDuplicateBillNumber", "Value": "true" if p.warn_duplicate_bill_number else "false"},
                {"Name": "WarnDuplicateJournalNumber", "Value": "false"},
            ]},
            "domain": "QBO", "sparse": False, "Id": "1", "SyncToken": str(self.prefs_sync),
            "MetaData": dict(self.prefs_meta),
        }

    def touch_prefs(self) -> None:
        self.prefs_sync += 1
        self.prefs_meta["LastUpdatedTime"] = now_iso(millis=False)

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "realm_id": self.realm_id,
                "prefs": asdict(self.prefs),
                "Preferences": self.preferences(),
                "CompanyInfo": copy.deepcopy(self.company_info),
                **{e: copy.deepcopy(self.all(e)) for e in ENTITIES},
            }
