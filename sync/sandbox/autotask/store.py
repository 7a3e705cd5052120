"""The tenant's records and picklists, and the write rules the real API enforces on them.

Records are kept with every swagger field present (None when empty), keyed by canonical
field names. Writes from clients go through `create`/`update`, which apply the business rules;
the admin routes use `put_raw`/`delete_raw` to set up a scenario without them.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

from .schema import ENTITIES, EntityDef, entity as find_entity
from .seed import AutotaskSeed, PicklistValue, UdfDefinition
from .values import ValueProblem, coerce, format_datetime, parse_datetime

# PO status labels that carry rules (reference §3.2). Matched by label because the values are
# tenant data; "Canceled"/"Cancelled" both count as the cancel state.
ITEM_CREATE_STATUSES = ("new",)
ITEM_UPDATE_STATUSES = ("new", "submitted", "received partial", "receivedpartial")


class WriteError(ValueError):
    """A refused write; the message goes into {"errors":[...]} (HTTP 500 as the real API)."""


def now_utc() -> str:
    return format_datetime(datetime.now(timezone.utc))


class Store:
    def __init__(self, seed: AutotaskSeed) -> None:
        self.api_resource_id = seed.api_resource_id
        self.picklists: dict[str, dict[str, list[PicklistValue]]] = copy.deepcopy(seed.picklists)
        self.udfs: dict[str, list[UdfDefinition]] = copy.deepcopy(seed.udfs)
        self.tables: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in ENTITIES}
        # What the API user's security level does not allow, by entity ("create", "update"):
        # set through the admin API to stand for a tenant whose API user lacks a permission.
        self.denied: dict[str, set[str]] = {}
        for name, records in seed.entities.items():
            e = self.entity(name)
            for rid, record in records.items():
                self.put_raw(e, {**record, "id": rid})

    # -- lookups --------------------------------------------------------------------------
    @staticmethod
    def entity(name: str) -> EntityDef:
        e = find_entity(name)
        if e is None:
            raise ValueError(f"unknown Autotask entity {name!r}; expected one of {', '.join(ENTITIES)}")
        return e

    def get(self, e: EntityDef, rid: int) -> dict[str, Any] | None:
        return self.tables[e.name].get(rid)

    def udf_types(self, e: EntityDef) -> dict[str, str]:
        return {u.name: u.type for u in self.udfs.get(e.name, [])}

    def picklist(self, e: EntityDef, field: str) -> list[PicklistValue]:
        return self.picklists.get(e.name, {}).get(field, [])

    def label(self, e: EntityDef, field: str, value: Any) -> str | None:
        for pv in self.picklist(e, field):
            if pv.value == str(value):
                return pv.label
        return None

    def public(self, e: EntityDef, record: dict[str, Any], include: list[str] | None = None) -> dict[str, Any]:
        """A record as the API returns it: every field (or the included ones), swagger spelling."""
        names = include if include is not None else list(e.fields)
        out = {n: copy.deepcopy(record.get(n)) for n in names}
        if e.has_udfs and include is None:
            out["userDefinedFields"] = copy.deepcopy(record.get("userDefinedFields") or [])
        return out

    # -- raw access (seed, admin) ------------------------------------------------------------
    def put_raw(self, e: EntityDef, record: dict[str, Any]) -> dict[str, Any]:
        """Stores a record as given (types checked, no business rules); replaces any same id."""
        if record.get("id") is None:
            record = {**record, "id": self.next_id(e)}
        stored: dict[str, Any] = {n: None for n in e.fields}
        for key, value in record.items():
            if key == "userDefinedFields" and e.has_udfs:
                stored["userDefinedFields"] = self._udf_list(e, value, [])
                continue
            name = e.canonical(key)
            if name is None:
                raise ValueError(f"{e.name} has no field {key!r}")
            try:
                stored[name] = coerce(e.fields[name], value, name)
            except ValueProblem as exc:
                raise ValueError(f"{e.name} {record.get('id')}: {exc}") from None
        if e.has_udfs:
            stored.setdefault("userDefinedFields", [])
        self.tables[e.name][stored["id"]] = stored
        return stored

    def delete_raw(self, e: EntityDef, rid: int) -> bool:
        return self.tables[e.name].pop(rid, None) is not None

    def next_id(self, e: EntityDef) -> int:
        return max(self.tables[e.name], default=0) + 1

    # -- client writes ---------------------------------------------------------------------
    def _fields_of(self, e: EntityDef, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise WriteError("The request body must be a JSON object.")
        out: dict[str, Any] = {}
        for key, value in body.items():
            if str(key).lower() == "userdefinedfields" and e.has_udfs:
                out["userDefinedFields"] = value
                continue
            name = e.canonical(str(key))
            if name is None:
                # ASP.NET might silently drop unknown properties; refusing catches client typos
                # such as assignedResourceID (reference §0.6). UNVERIFIED.
                raise WriteError(f"Unable to find {key} in the {e.name} entity.")
            if name in out:
                raise WriteError(f"Field {name} appears more than once.")
            try:
                out[name] = value if name == "id" else coerce(e.fields[name], value, name)
            except ValueProblem as exc:
                raise WriteError(str(exc)) from None
        return out

    def _udf_list(self, e: EntityDef, value: Any, current: list[dict]) -> list[dict]:
        if not isinstance(value, list):
            raise WriteError("userDefinedFields must be an array of {name, value}.")
        known = {u.name.lower(): u.name for u in self.udfs.get(e.name, [])}
        merged = {d["name"]: d for d in copy.deepcopy(current)}
        for entry in value:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
                raise WriteError("userDefinedFields must be an array of {name, value}.")
            name = known.get(entry["name"].lower())
            if name is None:
                raise WriteError(f"Unable to find user-defined field {entry['name']} in the {e.name} entity.")
            v = entry.get("value")
            merged[name] = {"name": name, "value": None if v is None else str(v)}
        return list(merged.values())

    def _check_values(self, e: EntityDef, fields: dict[str, Any]) -> None:
        for name, value in fields.items():
            if value is None or name in ("id", "userDefinedFields"):
                continue
            limit = e.lengths.get(name)
            if limit is not None and isinstance(value, str) and len(value) > limit:
                raise WriteError(f"Field {name} exceeds its maximum length of {limit} characters.")
            if name in e.picklists:
                values = self.picklist(e, name)
                if values and not any(pv.value == str(value) and pv.isActive for pv in values):
                    raise WriteError(f"Value {value} is not a valid (active) picklist value for {name}.")
            target = e.references.get(name)
            if target is not None and self.get(ENTITIES[target], int(value)) is None:
                raise WriteError(f"Field {name}: {target} {value} does not exist.")

    def create(self, e: EntityDef, body: Any, parent_id: int | None = None, impersonate: int | None = None) -> int:
        """`impersonate`: the ImpersonationResourceId header; the write is attributed to that
        resource and the API user is recorded as impersonatorCreatorResourceID (UNVERIFIED)."""
        self._allowed(e, "create")
        fields = self._fields_of(e, body)
        rid = fields.pop("id", None)
        if rid not in (None, 0, "0"):
            raise WriteError("The id field must be 0 or absent when creating an entity.")
        for name, value in fields.items():
            if name in e.read_only and value is not None:
                raise WriteError(f"Field {name} is read-only.")
        if e.parent_field:
            given = fields.get(e.parent_field)
            if given is not None and given != parent_id:
                raise WriteError(f"Field {e.parent_field} ({given}) does not match the parent id in the URL ({parent_id}).")
            fields[e.parent_field] = parent_id
        udfs = fields.pop("userDefinedFields", None)
        for name in e.picklists:
            if fields.get(name) is None:
                default = next((pv for pv in self.picklist(e, name) if pv.isDefaultValue), None)
                if default is not None:
                    fields[name] = int(default.value)
        if "isActive" in e.fields and fields.get("isActive") is None:
            fields["isActive"] = True  # UNVERIFIED: new records default to active
        missing = [n for n in sorted(e.required) if fields.get(n) in (None, "")]
        if missing:
            raise WriteError(f"Missing required field(s): {', '.join(missing)}.")
        self._check_values(e, fields)
        record: dict[str, Any] = {n: None for n in e.fields}
        record.update(fields)
        record["id"] = self.next_id(e)
        if e.has_udfs:
            record["userDefinedFields"] = self._udf_list(e, udfs or [], [])
        self._on_create(e, record, self._actor(impersonate))
        if impersonate is not None and "impersonatorCreatorResourceID" in e.fields:
            record["impersonatorCreatorResourceID"] = self.api_resource_id
        self.tables[e.name][record["id"]] = record
        return record["id"]

    def update(self, e: EntityDef, body: Any, parent_id: int | None = None, replace: bool = False) -> int:
        """PATCH (only given fields change) or PUT (`replace`: absent writable fields become null)."""
        self._allowed(e, "update")
        fields = self._fields_of(e, body)
        raw_id = fields.pop("id", None)
        if raw_id in (None, ""):
            raise WriteError("The id field is required to update an entity.")
        try:
            rid = coerce("long", raw_id, "id")
        except ValueProblem as exc:
            raise WriteError(str(exc)) from None
        current = self.get(e, rid)
        if current is None or (e.parent_field and current.get(e.parent_field) != parent_id):
            # UNVERIFIED wording; a django-autotask comment quotes "No matching records found" (§6.1).
            raise WriteError(f"No matching records found. {e.name} with id {rid} does not exist"
                             + (f" under parent {parent_id}." if e.parent_field else "."))
        for name, value in fields.items():
            if name in e.read_only or name in e.create_only:
                if name != "userDefinedFields" and value != current.get(name):
                    raise WriteError(f"Field {name} is read-only.")
        udfs = fields.pop("userDefinedFields", None)
        updated = dict(current)
        if replace:
            for name in e.fields:
                if name not in e.read_only and name not in e.create_only and name != "id":
                    updated[name] = None
        updated.update(fields)
        missing = [n for n in sorted(e.required) if updated.get(n) in (None, "")]
        if missing:
            raise WriteError(f"Missing required field(s): {', '.join(missing)}.")
        self._check_values(e, {n: v for n, v in fields.items() if v != current.get(n)})
        if e.has_udfs and udfs is not None:
            updated["userDefinedFields"] = self._udf_list(e, udfs, current.get("userDefinedFields") or [])
        self._on_update(e, current, updated)
        self.tables[e.name][rid] = updated
        return rid

    def delete(self, e: EntityDef, rid: int) -> int:
        record = self.get(e, rid)
        if record is None:
            raise WriteError("No message. No matching records found. The logged in Resource may not have the "
                             "required permissions to delete the data.")  # verbatim, reference §6.1
        if e.name == "ActionTypes" and record.get("isSystemActionType"):
            raise WriteError("System action types cannot be deleted.")
        if e.name == "ActionTypes" and any(t.get("actionType") == rid for t in self.tables["CompanyToDos"].values()):
            raise WriteError("This action type is in use and cannot be deleted.")
        del self.tables[e.name][rid]
        return rid

    # -- entity rules --------------------------------------------------------------------------
    def _status_label(self, po: dict[str, Any]) -> str:
        return (self.label(ENTITIES["PurchaseOrders"], "status", po.get("status")) or "").lower()

    def _internal(self, amount: float | None, vendor_id: int | None) -> float | None:
        """Internal-currency copy of a vendor-currency amount. UNVERIFIED direction of the rate:
        taken as units of vendor currency per unit of internal currency."""
        if amount is None:
            return None
        vendor = self.get(ENTITIES["Companies"], vendor_id) if vendor_id is not None else None
        currency = self.get(ENTITIES["Currencies"], vendor["currencyID"]) if vendor and vendor.get("currencyID") is not None else None
        rate = currency.get("exchangeRate") if currency else None
        return round(amount / rate, 4) if rate else amount

    def may(self, e: EntityDef, action: str) -> bool:
        return action not in self.denied.get(e.name, ())

    def _allowed(self, e: EntityDef, action: str) -> None:
        if not self.may(e, action):
            # Autotask's words when the security level (or a module) does not allow the write
            # (reference §6.1, verbatim for update); it answers 500, not the 403 its docs name.
            raise WriteError(f"The logged in Resource does not have the adequate permissions to {action} "
                             "this entity type.")

    def _actor(self, impersonate: int | None) -> int:
        if impersonate is None:
            return self.api_resource_id
        resource = self.get(ENTITIES["Resources"], impersonate)
        if resource is None or not resource.get("isActive"):
            # Verbatim text of the permissions error (reference §6.1).
            raise WriteError("The logged in Resource does not have the adequate permissions to impersonate "
                             f"resource {impersonate}.")
        return impersonate

    def received(self, item_id: int) -> int:
        """How many of a PO item's units Autotask has recorded as received."""
        return sum(int(x.get("quantityNowReceiving") or 0) for x in self.tables["PurchaseOrderItemReceiving"].values()
                   if x.get("purchaseOrderItemID") == item_id)

    def _receive(self, r: dict[str, Any], actor: int, now: str) -> None:
        item = self.tables["PurchaseOrderItems"].get(r["purchaseOrderItemID"])
        if item is None:
            raise WriteError(f"PurchaseOrderItems {r['purchaseOrderItemID']} does not exist.")
        po = self.tables["PurchaseOrders"].get(item["orderID"]) or {}
        if self._status_label(po) in ("new", "cancel", "cancelled", "canceled"):
            raise WriteError("Items can only be received on a PurchaseOrder that has been submitted.")
        now_receiving = int(r["quantityNowReceiving"])
        before = self.received(item["id"])
        ordered = int(item.get("quantity") or 0)
        if now_receiving <= 0 or before + now_receiving > ordered:
            raise WriteError(f"quantityNowReceiving must be between 1 and the {ordered - before} still outstanding.")
        r["quantityPreviouslyReceived"] = before
        r["quantityBackOrdered"] = ordered - before - now_receiving
        r["receivedByResourceID"] = actor
        r["receiveDate"] = r.get("receiveDate") or now

    def _on_create(self, e: EntityDef, r: dict[str, Any], actor: int) -> None:
        now = now_utc()
        if e.name == "PurchaseOrders":
            r["purchaseOrderNumber"] = str(r["id"])
            r["createDateTime"] = now
            r["creatorResourceID"] = actor
            r["internalCurrencyFreight"] = self._internal(r.get("freight"), r.get("vendorID"))
            self._stamp_status(r, None, now)
        elif e.name == "PurchaseOrderItems":
            po = self.tables["PurchaseOrders"].get(r["orderID"])
            if po is None:
                raise WriteError(f"PurchaseOrders {r['orderID']} does not exist.")
            if self._status_label(po) not in ITEM_CREATE_STATUSES:
                raise WriteError("PurchaseOrderItems can only be created for PurchaseOrders with a status of New.")
            r["internalCurrencyUnitCost"] = self._internal(r.get("unitCost"), po.get("vendorID"))
        elif e.name == "PurchaseOrderItemReceiving":
            self._receive(r, actor, now)
        elif e.name == "CompanyToDos":
            self._check_todo(r)
            r["createDateTime"] = now
            r["lastModifiedDate"] = now
            r["creatorResourceID"] = actor
        elif e.name == "Companies":
            r["createDate"] = now
            r["createdByResourceID"] = actor
        elif e.name == "ActionTypes":
            r["isSystemActionType"] = False

    def _on_update(self, e: EntityDef, old: dict[str, Any], r: dict[str, Any]) -> None:
        now = now_utc()
        if e.name == "PurchaseOrders":
            if old.get("status") != r.get("status"):
                old_label = self._status_label(old)
                if old_label.startswith("cancel") or old_label == "received full":
                    # UNVERIFIED: a closed PO is assumed not to reopen through the API.
                    raise WriteError(f"The status of a purchase order that is {self.label(e, 'status', old.get('status'))} cannot be changed.")
                self._stamp_status(r, old, now)
            r["internalCurrencyFreight"] = self._internal(r.get("freight"), r.get("vendorID"))
        elif e.name == "PurchaseOrderItems":
            po = self.tables["PurchaseOrders"].get(r["orderID"]) or {}
            if self._status_label(po) not in ITEM_UPDATE_STATUSES:
                raise WriteError("Updates to the PurchaseOrderItem are allowed when the PurchaseOrder has a status "
                                 "of New, Submitted, or ReceivedPartial.")
            r["internalCurrencyUnitCost"] = self._internal(r.get("unitCost"), po.get("vendorID"))
        elif e.name == "CompanyToDos":
            self._check_todo(r)
            r["lastModifiedDate"] = now
        elif e.name == "Companies":
            if r["id"] == 0 and r.get("isActive") is False:
                raise WriteError("The local organization cannot be inactivated.")  # reference §7
        elif e.name == "Currencies":
            r["lastModifiedDateTime"] = now
            r["updateResourceId"] = self.api_resource_id

    def _stamp_status(self, po: dict[str, Any], old: dict[str, Any] | None, now: str) -> None:
        label = self._status_label(po)
        if label == "submitted" and not po.get("submitDateTime"):
            po["submitDateTime"] = now
        if label.startswith("cancel"):
            po["cancelDateTime"] = now

    def _check_todo(self, r: dict[str, Any]) -> None:
        resource = self.get(ENTITIES["Resources"], r["assignedToResourceID"])
        if resource is None or not resource.get("isActive"):
            raise WriteError("assignedToResourceID must reference an active resource.")
        if parse_datetime(r["endDateTime"]) < parse_datetime(r["startDateTime"]):
            raise WriteError("endDateTime must not be earlier than startDateTime.")
