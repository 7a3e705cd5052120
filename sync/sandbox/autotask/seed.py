"""The Autotask tenant a sandbox starts from: credentials, records, picklists and limits.

Plain data: records are dicts keyed by the swagger's field names (camelCase), picklist values
are tenant data (a tenant whose "Submitted" is 7 is just a different seed). The helper methods
only fill these dicts; the emulator validates them when it loads the seed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class PicklistValue:
    """One entry of `entityInformation/fields` picklistValues (the value is a string there)."""

    value: str
    label: str
    isActive: bool = True
    isDefaultValue: bool = False
    sortOrder: int = 0
    parentValue: str = ""
    isSystem: bool = False

    def to_json(self) -> dict:
        return {"value": self.value, "label": self.label, "isDefaultValue": self.isDefaultValue,
                "sortOrder": self.sortOrder, "parentValue": self.parentValue, "isActive": self.isActive,
                "isSystem": self.isSystem}


@dataclass
class UdfDefinition:
    """A user-defined field of an entity (Companies and Products have them)."""

    name: str
    label: str = ""
    type: str = "string"
    isRequired: bool = False


@dataclass
class AutotaskLimits:
    """The published limits (reference §6.2). `limits_enabled` on the sandbox switches all off."""

    thread_limit: int = 3  # concurrent requests per (integration code, object endpoint)
    hourly_threshold: int = 10_000  # requests per rolling timeframe, per database
    timeframe_minutes: float = 60  # whole minutes in Autotask; a fraction only as a test knob
    # (usage fraction, added seconds): from 50 % usage responses are slowed. The 0.5 s / 1 s steps
    # at 50 % / 75 % come from a third-party summary (UNVERIFIED against Datto's page).
    slowdown: list[tuple[float, float]] = field(default_factory=lambda: [(0.5, 0.5), (0.75, 1.0)])


@dataclass
class AutotaskSeed:
    username: str
    integration_code: str
    secret: str
    api_resource_id: int  # the resource writes are attributed to (creatorResourceID)
    zone_name: str = "Sandbox"
    ci: int = 1
    # entity (REST name, e.g. "PurchaseOrders") -> id -> record with swagger field names
    entities: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    # entity -> field -> values
    picklists: dict[str, dict[str, list[PicklistValue]]] = field(default_factory=dict)
    udfs: dict[str, list[UdfDefinition]] = field(default_factory=dict)
    limits: AutotaskLimits = field(default_factory=AutotaskLimits)

    # -- building seeds -------------------------------------------------------------------
    def add(self, entity: str, record: dict[str, Any]) -> int:
        """Adds a record (with or without "id"; without, the next free id) and returns its id."""
        table = self.entities.setdefault(entity, {})
        rid = record.get("id")
        if rid is None:
            rid = self._top(entity, table) + 1
        rid = int(rid)
        if rid in table:
            raise ValueError(f"{entity} {rid} already exists in the seed")
        top = max(rid, self._top(entity, table))
        table[rid] = {**record, "id": rid}
        self.__dict__.setdefault("_tops", {})[entity] = (len(table), top)
        return rid

    def _top(self, entity: str, table: dict[int, Any]) -> int:
        """max(table, default=0) without reading every id per record added (40,000 records for a
        bench of 10,000 POs made seeding quadratic). Read afresh whenever the table may have changed
        other than through `add`: another size, the remembered highest id gone, a higher last key."""
        size, top = self.__dict__.get("_tops", {}).get(entity, (-1, 0))
        if size != len(table) or (table and (top not in table or next(reversed(table)) > top)):
            top = max(table, default=0)
        return top

    def set_picklist(self, entity: str, field_name: str, values: list[tuple[int | str, str]],
                     default: int | str | None = None) -> None:
        """Sets a picklist from (value, label) pairs; `default` marks the default value."""
        self.picklists.setdefault(entity, {})[field_name] = [
            PicklistValue(value=str(v), label=label, sortOrder=i, isDefaultValue=default is not None and str(v) == str(default))
            for i, (v, label) in enumerate(values)
        ]

    def picklist_value(self, entity: str, field_name: str, label: str) -> int:
        """The tenant's integer value for a picklist label, e.g. ("PurchaseOrders", "status", "Submitted")."""
        for pv in self.picklists.get(entity, {}).get(field_name, []):
            if pv.label.lower() == label.lower():
                return int(pv.value)
        raise KeyError(f"no {label!r} in the {entity}.{field_name} picklist")

    def _pick(self, entity: str, field_name: str, value: int | str | None) -> int | None:
        if value is None or isinstance(value, int):
            return value
        return self.picklist_value(entity, field_name, value)

    def add_company(self, name: str, company_type: int | str = "Customer", *, currency_id: int | None = None,
                    id: int | None = None, **fields: Any) -> int:
        record = {"companyName": name, "companyType": self._pick("Companies", "companyType", company_type),
                  "isActive": True, "phone": "555-0100", "ownerResourceID": self.api_resource_id,
                  "currencyID": currency_id, "createDate": "2024-01-02T09:00:00.000Z", "userDefinedFields": [],
                  **fields}
        if id is not None:
            record["id"] = id
        return self.add("Companies", record)

    def add_vendor(self, name: str, **fields: Any) -> int:
        return self.add_company(name, "Vendor", **fields)

    def add_product(self, name: str, unit_cost: float = 0.0, *, id: int | None = None, **fields: Any) -> int:
        record = {"name": name, "unitCost": unit_cost, "isActive": True, "isSerialized": False,
                  "userDefinedFields": [], **fields}
        if id is not None:
            record["id"] = id
        return self.add("Products", record)

    def add_po(self, vendor_id: int, status: int | str = "New", *, items: list[dict[str, Any]] | None = None,
               id: int | None = None, **fields: Any) -> int:
        """Adds a purchase order and its items (dicts of PurchaseOrderItems fields; orderID is filled)."""
        record: dict[str, Any] = {"vendorID": vendor_id, "status": self._pick("PurchaseOrders", "status", status),
                                  "shipToName": "Receiving", "shipToAddress1": "1 Main Street",
                                  "createDateTime": "2024-01-02T09:00:00.000Z", "creatorResourceID": self.api_resource_id,
                                  "freight": 0.0, **fields}
        if id is not None:
            record["id"] = id
        po_id = self.add("PurchaseOrders", record)
        self.entities["PurchaseOrders"][po_id].setdefault("purchaseOrderNumber", str(po_id))
        location = min(self.entities.get("InventoryLocations", {}) or {None: None})
        for item in items or []:
            self.add("PurchaseOrderItems", {"inventoryLocationID": location, **item, "orderID": po_id})
        return po_id

    def receive(self, item_id: int, quantity: int, *, receive_date: str = "2024-01-05T10:00:00.000Z") -> int:
        """Records `quantity` units of a PO item as received (Autotask's PurchaseOrderItemReceiving),
        with the quantities before and after as Autotask keeps them."""
        item = self.entities["PurchaseOrderItems"][item_id]
        before = sum(int(r["quantityNowReceiving"]) for r in self.entities.get("PurchaseOrderItemReceiving", {}).values()
                     if r["purchaseOrderItemID"] == item_id)
        if quantity <= 0 or before + quantity > int(item["quantity"]):
            raise ValueError(f"item {item_id}: cannot receive {quantity} of {item['quantity']} ({before} received)")
        return self.add("PurchaseOrderItemReceiving", {
            "purchaseOrderItemID": item_id, "quantityNowReceiving": quantity, "quantityPreviouslyReceived": before,
            "quantityBackOrdered": int(item["quantity"]) - before - quantity, "receiveDate": receive_date,
            "receivedByResourceID": self.api_resource_id})

    def add_resource(self, first: str, last: str, *, id: int | None = None, **fields: Any) -> int:
        record = {"firstName": first, "lastName": last, "userName": f"{first[:1]}{last}".lower(),
                  "isActive": True, "resourceType": "Employee", **fields}
        if id is not None:
            record["id"] = id
        return self.add("Resources", record)

    def add_currency(self, code: str, exchange_rate: float, *, description: str = "", id: int | None = None,
                     **fields: Any) -> int:
        """A foreign currency; exchange_rate in units of this currency per internal unit (UNVERIFIED)."""
        record = {"name": code, "description": description or code, "exchangeRate": exchange_rate,
                  "isActive": True, "isInternalCurrency": False, **fields}
        if id is not None:
            record["id"] = id
        return self.add("Currencies", record)

    def add_action_type(self, name: str, view: int = 1, **fields: Any) -> int:
        return self.add("ActionTypes", {"name": name, "view": view, "isActive": True, "isSystemActionType": False,
                                        **fields})

    def add_todo(self, company_id: int, action_type: int, assigned_to: int, start: str, end: str,
                 description: str = "", **fields: Any) -> int:
        return self.add("CompanyToDos", {"companyID": company_id, "actionType": action_type,
                                         "assignedToResourceID": assigned_to, "startDateTime": start,
                                         "endDateTime": end, "activityDescription": description,
                                         "createDateTime": start, "creatorResourceID": self.api_resource_id, **fields})


# The PO status values are a GUESS (reference §4: only the labels are documented; 2 = Submitted
# is suggested by third-party code). Clients must read them from entityInformation/fields.
PO_STATUSES: list[tuple[int, str]] = [(1, "New"), (2, "Submitted"), (3, "Received Partial"),
                                      (4, "Received Full"), (5, "Canceled"), (6, "Back Order")]
# 1 Customer, 3 Prospect, 7 Vendor are from Datto's Postman collection; the rest UNVERIFIED.
COMPANY_TYPES: list[tuple[int, str]] = [(1, "Customer"), (2, "Lead"), (3, "Prospect"), (4, "Dead"),
                                        (6, "Cancellation"), (7, "Vendor"), (8, "Partner")]


def empty_autotask_seed() -> AutotaskSeed:
    """A fresh tenant: the local organization (company 0), two resources (one the API user),
    the system action types, one internal currency, one inventory location, standard picklists."""
    seed = AutotaskSeed(username="atqbo-api@sandbox.example", integration_code="SANDBOX-INTEGRATION-0001",
                        secret="sandbox-secret-not-for-production", api_resource_id=29682885)
    seed.set_picklist("PurchaseOrders", "status", PO_STATUSES, default=1)
    seed.set_picklist("PurchaseOrders", "paymentTerm", [(1, "Net 30"), (2, "Net 15"), (3, "Due on Receipt")])
    seed.set_picklist("PurchaseOrders", "useItemDescriptionsFrom", [(1, "Product"), (2, "Item Memo")], default=1)
    seed.set_picklist("Companies", "companyType", COMPANY_TYPES, default=1)
    seed.set_picklist("Companies", "classification", [(1, "Gold"), (2, "Silver"), (3, "Bronze")])
    seed.set_picklist("ActionTypes", "view", [(1, "To-Do"), (2, "Note"), (3, "To-Do and Note")])
    seed.set_picklist("Resources", "licenseType", [(1, "Administrator"), (2, "Full"), (7, "API User")])
    seed.set_picklist("Resources", "userType", [(10, "Administrator"), (17, "API User (API-only)")])
    seed.set_picklist("Products", "periodType", [(1, "One-Time"), (2, "Monthly"), (3, "Yearly")], default=1)
    seed.set_picklist("Currencies", "displaySymbol", [(1, "$"), (2, "€"), (3, "£")])
    seed.udfs["Companies"] = [UdfDefinition("CustomerRanking", "Customer Ranking")]
    seed.udfs["Products"] = []

    seed.add("Resources", {"id": 29682885, "firstName": "Atqbo", "lastName": "API", "userName": "atqbo-api",
                           "email": "atqbo-api@sandbox.example", "isActive": True, "licenseType": 7,
                           "resourceType": "Employee", "userType": 17})
    seed.add("Resources", {"id": 29682886, "firstName": "Pat", "lastName": "Buyer", "userName": "pbuyer",
                           "email": "pat.buyer@sandbox.example", "isActive": True, "licenseType": 2,
                           "resourceType": "Employee", "userType": 10})
    seed.add("Currencies", {"id": 1, "name": "USD", "description": "US Dollar", "displaySymbol": 1,
                            "exchangeRate": 1.0, "isActive": True, "isInternalCurrency": True,
                            "currencyPositiveFormat": "<Symbol><Amount>", "currencyNegativeFormat": "(<Symbol><Amount>)",
                            "lastModifiedDateTime": "2024-01-01T00:00:00.000Z"})
    seed.add("ActionTypes", {"id": 1, "name": "Phone Call", "isActive": True, "isSystemActionType": True, "view": 3})
    seed.add("ActionTypes", {"id": 2, "name": "Meeting", "isActive": True, "isSystemActionType": True, "view": 3})
    seed.add("ActionTypes", {"id": 3, "name": "General", "isActive": True, "isSystemActionType": True, "view": 1})
    seed.add("InventoryLocations", {"id": 1, "locationName": "Main Warehouse", "isActive": True, "isDefault": True})
    seed.add_company("Sandbox Local Organization", "Customer", id=0, currency_id=1)
    return seed
