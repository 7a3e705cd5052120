"""The query engine: parses a QueryModel (`{"MaxRecords","IncludeFields","filter"}`, keys in any
casing) and evaluates its filter tree against stored records.

Operators are exactly those of reference §2.3; anything else (startsWith, isNull, between, ne,
pageNumber, dotted IncludeFields: reference §9) is refused as an error, so a client relying on
invented features fails here as it would against Autotask.
"""

from __future__ import annotations

from dataclasses import dataclass, field as dc_field
from datetime import datetime
from typing import Any

from .schema import EntityDef
from .values import ValueProblem, coerce, parse_datetime

COMPARISON = ("eq", "noteq", "gt", "gte", "lt", "lte", "beginswith", "endswith", "contains")
EXISTENCE = ("exist", "notexist")
LISTS = ("in", "notin")
GROUPS = ("and", "or")
MAX_PAGE = 500
MAX_OR_CONDITIONS = 500


class QueryError(ValueError):
    """A query the real API rejects; the message goes into {"errors":[...]}."""


@dataclass
class Condition:
    op: str  # lower-case operator
    field: str = ""  # canonical field name, or the UDF name when udf
    udf: bool = False
    value: Any = None  # coerced; a list for in/notIn
    items: list["Condition"] = dc_field(default_factory=list)
    # in/notIn: the values as a set, which answers as the list does (same ==, hashable values) but
    # without comparing each record with every value: 30,000 items against 500 order ids (issue 17).
    members: frozenset | None = None


@dataclass
class Query:
    max_records: int
    include_fields: list[str] | None
    filter: list[Condition]


def _keys(body: dict) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in body.items()}


def parse_query(body: Any, entity: EntityDef, udf_types: dict[str, str]) -> Query:
    """`udf_types`: the entity's user-defined field names (any casing) -> dataType."""
    if not isinstance(body, dict):
        raise QueryError("The query must be a JSON object with a filter.")
    keys = _keys(body)
    unknown = set(keys) - {"maxrecords", "includefields", "filter"}
    if unknown:
        # Not part of QueryModel (reference §2.2); e.g. pageNumber is invented (§9).
        name = next(k for k in body if str(k).lower() in unknown)
        raise QueryError(f"Unrecognized query property '{name}'. A query accepts MaxRecords, IncludeFields and filter.")

    max_records = keys.get("maxrecords", MAX_PAGE)
    if max_records is None:
        max_records = MAX_PAGE
    if isinstance(max_records, bool) or not isinstance(max_records, int):
        raise QueryError("MaxRecords must be an integer between 1 and 500.")
    if not 1 <= max_records <= MAX_PAGE:
        # Exact wording UNVERIFIED; the 1-500 bound is from reference §2.4.
        raise QueryError(f"MaxRecords must be between 1 and 500 (received {max_records}).")

    include = keys.get("includefields")
    include_fields: list[str] | None = None
    if include:
        if not isinstance(include, list) or not all(isinstance(n, str) for n in include):
            raise QueryError("IncludeFields must be an array of field names.")
        include_fields = ["id"]
        for name in include:
            canonical = entity.canonical(name.strip())
            if canonical is None:
                raise QueryError(f"IncludeFields: Unable to find {name} in the {entity.name} entity.")
            if canonical not in include_fields:
                include_fields.append(canonical)

    raw_filter = keys.get("filter")
    if raw_filter is None or raw_filter == []:
        # UNVERIFIED wording; Datto's own "all companies" example sends {"op":"exist","field":"id"},
        # which suggests a filter is mandatory (reference §2.2).
        raise QueryError("The query must contain at least one filter condition.")
    if not isinstance(raw_filter, list):
        raise QueryError("filter must be an array of conditions.")
    conditions = [_condition(c, entity, udf_types) for c in raw_filter]
    udf_count = sum(_count(c, lambda x: x.udf) for c in conditions)
    if udf_count > 1:
        raise QueryError("You can only query by one user-defined field at a time.")  # reference §2.3
    or_count = sum(_count(c, lambda x: False, in_or=False) for c in conditions)
    if or_count > MAX_OR_CONDITIONS:
        raise QueryError("Invalid query syntax. Queries are limited to 500 or fewer 'OR' conditions.")
    return Query(max_records=max_records, include_fields=include_fields, filter=conditions)


def _count(c: Condition, pred: Any, in_or: bool | None = None) -> int:
    """With in_or=None counts conditions matching pred; otherwise counts leaf conditions under an or."""
    if in_or is None:
        return int(pred(c)) + sum(_count(i, pred) for i in c.items)
    if c.op in GROUPS:
        inside = in_or or c.op == "or"
        return sum(_count(i, pred, inside) for i in c.items)
    return int(in_or)


def _condition(raw: Any, entity: EntityDef, udf_types: dict[str, str]) -> Condition:
    if not isinstance(raw, dict):
        raise QueryError("Each filter condition must be an object with op, field and value.")
    keys = _keys(raw)
    unknown = set(keys) - {"op", "field", "udf", "value", "items"}
    if unknown:
        raise QueryError(f"Unrecognized filter property '{sorted(unknown)[0]}'.")
    op = keys.get("op")
    if not isinstance(op, str):
        raise QueryError("Each filter condition needs an op.")
    op_l = op.lower()
    if op_l in GROUPS:
        items = keys.get("items")
        if not isinstance(items, list) or not items:
            raise QueryError(f"The '{op}' grouping needs a non-empty items array.")
        return Condition(op=op_l, items=[_condition(i, entity, udf_types) for i in items])
    if op_l not in COMPARISON + EXISTENCE + LISTS:
        raise QueryError(f"Invalid filter operator '{op}'. Valid operators are eq, noteq, gt, gte, lt, lte, "
                         "beginsWith, endsWith, contains, exist, notExist, in, notIn, and, or.")
    name = keys.get("field")
    if not isinstance(name, str) or not name.strip():
        raise QueryError(f"The '{op}' condition needs a field.")
    udf = keys.get("udf", False)
    if not isinstance(udf, bool):
        raise QueryError("udf must be true or false.")
    if udf:
        if not entity.has_udfs:
            raise QueryError(f"The {entity.name} entity has no user-defined fields.")
        lookup = {n.lower(): n for n in udf_types}
        canonical = lookup.get(name.strip().lower())
        if canonical is None:
            raise QueryError(f"Unable to find user-defined field {name} in the {entity.name} entity.")
        dtype = udf_types[canonical]
    else:
        canonical = entity.canonical(name.strip())
        if canonical is None:
            # A dotted name (Company.companyName) is not a field either (reference §9).
            raise QueryError(f"Unable to find {name} in the {entity.name} entity.")
        dtype = entity.fields[canonical]

    if op_l in EXISTENCE:
        return Condition(op=op_l, field=canonical, udf=udf)
    if "value" not in keys:
        raise QueryError(f"The '{op}' condition on {name} needs a value.")
    value = keys["value"]
    try:
        if op_l in LISTS:
            if not isinstance(value, list) or not value:
                raise QueryError(f"The '{op}' condition on {name} needs a non-empty array value.")
            values = [_filter_value(dtype, v, canonical) for v in value]
            return Condition(op=op_l, field=canonical, udf=udf, value=values, members=frozenset(values))
        if op_l in ("gt", "gte", "lt", "lte") and dtype == "boolean":
            raise QueryError(f"The '{op}' operator does not apply to boolean field {canonical}.")
        if op_l in ("beginswith", "endswith", "contains") and dtype != "string":
            raise QueryError(f"The '{op}' operator applies to text fields; {canonical} is {dtype}.")
        if isinstance(value, (list, dict)):
            raise QueryError(f"The '{op}' condition on {name} needs a single value.")
        return Condition(op=op_l, field=canonical, udf=udf, value=_filter_value(dtype, value, canonical))
    except ValueProblem as exc:
        raise QueryError(str(exc)) from None


def _filter_value(dtype: str, value: Any, field_name: str) -> Any:
    if value is None:
        raise ValueProblem(f"Field {field_name}: a null value cannot be compared; use exist or notExist")
    if dtype == "datetime":
        return parse_datetime(value)
    v = coerce(dtype, value, field_name)
    return v.lower() if isinstance(v, str) else v


def _field_value(record: dict, c: Condition, dtype: str) -> Any:
    if c.udf:
        for entry in record.get("userDefinedFields") or []:
            if str(entry.get("name", "")).lower() == c.field.lower():
                raw = entry.get("value")
                break
        else:
            raw = None
    else:
        raw = record.get(c.field)
    if raw is None or raw == "":
        return None
    if dtype == "datetime":
        return parse_datetime(raw)
    if isinstance(raw, str):
        # String comparison is case-insensitive (SQL Server collation; UNVERIFIED, reference §2.3).
        return raw.lower() if dtype == "string" else coerce(dtype, raw, c.field)
    return raw


def by_id(conditions: list[Condition]) -> set[int] | None:
    """The ids a top-level `id eq`/`id in` condition allows (the records to look at), or None."""
    for c in conditions:
        if c.field == "id" and not c.udf and c.op in ("eq", "in"):
            return set(c.value) if c.op == "in" else {c.value}
    return None


def matches(record: dict, conditions: list[Condition], entity: EntityDef, udf_types: dict[str, str]) -> bool:
    """Top-level conditions are ANDed (reference §2.2)."""
    return all(_eval(record, c, entity, udf_types) for c in conditions)


def _eval(record: dict, c: Condition, entity: EntityDef, udf_types: dict[str, str]) -> bool:
    if c.op == "and":
        return all(_eval(record, i, entity, udf_types) for i in c.items)
    if c.op == "or":
        return any(_eval(record, i, entity, udf_types) for i in c.items)
    dtype = udf_types.get(c.field, "string") if c.udf else entity.fields[c.field]
    have = _field_value(record, c, dtype)
    if c.op == "exist":
        return have is not None
    if c.op == "notexist":
        return have is None
    if have is None:
        # SQL semantics: NULL satisfies no comparison, noteq and notIn included (UNVERIFIED).
        return False
    if c.op == "in":
        return have in c.members
    if c.op == "notin":
        return have not in c.members
    want = c.value
    if c.op == "eq":
        return have == want
    if c.op == "noteq":
        return have != want
    if c.op == "beginswith":
        return have.startswith(want)
    if c.op == "endswith":
        return have.endswith(want)
    if c.op == "contains":
        return want in have
    if isinstance(have, datetime) != isinstance(want, datetime):
        return False
    if c.op == "gt":
        return have > want
    if c.op == "gte":
        return have >= want
    if c.op == "lt":
        return have < want
    return have <= want  # lte
