"""Typed builders for Autotask REST query filters (reference autotask-api.md §2.2-2.3).

    from sync.clients.autotask_filters import F, and_, or_
    filters = [F.eq("status", 2), F.gte("createDateTime", "2026-01-01T00:00:00Z"),
               or_(F.not_exist("externalPONumber"), F.eq("externalPONumber", ""))]

Top-level filters are ANDed by the API. Each helper returns a `Filter`; `to_json()` gives
the wire form `{"op", "field", "value"[, "udf"]}` or `{"op": "and"|"or", "items": [...]}`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

COMPARISON_OPS = ("eq", "noteq", "gt", "gte", "lt", "lte", "beginsWith", "endsWith", "contains")
EXISTENCE_OPS = ("exist", "notExist")
LIST_OPS = ("in", "notIn")
GROUP_OPS = ("and", "or")
ALL_OPS = COMPARISON_OPS + EXISTENCE_OPS + LIST_OPS

Scalar = str | int | float | bool | datetime | date


def _wire_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # The API works in UTC; naive datetimes are taken as UTC.
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    if isinstance(value, date):
        return value.strftime("%Y-%m-%dT00:00:00.000Z")
    if value is None:
        raise ValueError("a filter value cannot be null; use F.not_exist(field)")
    if not isinstance(value, (str, int, float, bool)):
        raise TypeError(f"unsupported filter value type {type(value).__name__}")
    return value


@dataclass(frozen=True)
class Filter:
    op: str
    field: str = ""
    value: Any = None
    udf: bool = False
    items: tuple["Filter", ...] = ()

    def __post_init__(self) -> None:
        if self.op in GROUP_OPS:
            if not self.items:
                raise ValueError(f"an '{self.op}' group needs at least one filter")
            return
        if self.op not in ALL_OPS:
            raise ValueError(f"unknown Autotask filter operator {self.op!r}")
        if not self.field:
            raise ValueError(f"the '{self.op}' filter needs a field name")
        self.to_json()  # a bad value fails where the filter is written, not when it is sent

    def to_json(self) -> dict:
        if self.op in GROUP_OPS:
            return {"op": self.op, "items": [i.to_json() for i in self.items]}
        out: dict[str, Any] = {"op": self.op, "field": self.field}
        if self.op in LIST_OPS:
            out["value"] = [_wire_value(v) for v in self.value]
        elif self.op not in EXISTENCE_OPS:
            out["value"] = _wire_value(self.value)
        if self.udf:
            out["udf"] = True
        return out

    def count_or(self) -> int:
        """OR conditions inside (the API allows at most 500 per query)."""
        own = len(self.items) if self.op == "or" else 0
        return own + sum(i.count_or() for i in self.items)


class F:
    """One constructor per operator. `udf=True` filters a user-defined field."""

    @staticmethod
    def eq(field: str, value: Scalar, *, udf: bool = False) -> Filter:
        return Filter("eq", field, value, udf)

    @staticmethod
    def noteq(field: str, value: Scalar, *, udf: bool = False) -> Filter:
        return Filter("noteq", field, value, udf)

    @staticmethod
    def gt(field: str, value: Scalar, *, udf: bool = False) -> Filter:
        return Filter("gt", field, value, udf)

    @staticmethod
    def gte(field: str, value: Scalar, *, udf: bool = False) -> Filter:
        return Filter("gte", field, value, udf)

    @staticmethod
    def lt(field: str, value: Scalar, *, udf: bool = False) -> Filter:
        return Filter("lt", field, value, udf)

    @staticmethod
    def lte(field: str, value: Scalar, *, udf: bool = False) -> Filter:
        return Filter("lte", field, value, udf)

    @staticmethod
    def begins_with(field: str, value: str, *, udf: bool = False) -> Filter:
        return Filter("beginsWith", field, value, udf)

    @staticmethod
    def ends_with(field: str, value: str, *, udf: bool = False) -> Filter:
        return Filter("endsWith", field, value, udf)

    @staticmethod
    def contains(field: str, value: str, *, udf: bool = False) -> Filter:
        return Filter("contains", field, value, udf)

    @staticmethod
    def exist(field: str, *, udf: bool = False) -> Filter:
        return Filter("exist", field, None, udf)

    @staticmethod
    def not_exist(field: str, *, udf: bool = False) -> Filter:
        return Filter("notExist", field, None, udf)

    @staticmethod
    def in_(field: str, values: list[Scalar] | tuple[Scalar, ...], *, udf: bool = False) -> Filter:
        if not values:
            raise ValueError("'in' needs at least one value")
        return Filter("in", field, tuple(values), udf)

    @staticmethod
    def not_in(field: str, values: list[Scalar] | tuple[Scalar, ...], *, udf: bool = False) -> Filter:
        if not values:
            raise ValueError("'notIn' needs at least one value")
        return Filter("notIn", field, tuple(values), udf)


def and_(*items: Filter) -> Filter:
    return Filter("and", items=tuple(items))


def or_(*items: Filter) -> Filter:
    return Filter("or", items=tuple(items))


def query_body(filters: list[Filter] | tuple[Filter, ...] | Filter | None,
               include_fields: list[str] | None = None, max_records: int | None = None) -> dict:
    """The QueryModel body. No filter at all becomes `id exist`, Datto's own "every record"
    query (an empty filter list is not shown anywhere in Datto's material)."""
    if isinstance(filters, Filter):
        filters = [filters]
    flist = list(filters or []) or [F.exist("id")]
    if sum(f.count_or() for f in flist) > 500:
        raise ValueError("Autotask allows at most 500 'or' conditions per query")
    body: dict[str, Any] = {"filter": [f.to_json() for f in flist]}
    if include_fields:
        fields = list(include_fields)
        if not any(f.lower() == "id" for f in fields):
            fields.insert(0, "id")  # paging past 500 needs id among the fields
        body["IncludeFields"] = fields
    if max_records is not None:
        if not 1 <= max_records <= 500:
            raise ValueError("MaxRecords must be between 1 and 500")
        body["MaxRecords"] = max_records
    return body
