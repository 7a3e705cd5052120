"""The shape of a QBO QueryResponse, checked before anyone reads it (reference/qbo-api.md §3:
`{"QueryResponse": {"<Entity>": [...], "startPosition": n, "maxResults": n}}`, `maxResults`
the number returned, `{"totalCount": n}` for count(*), `{}` for no match).

A body of the wrong shape is an `UnexpectedAnswerError` naming the query, never an empty page:
a 200 with neither a QueryResponse nor a Fault, an entity key that is not a list of objects,
another entity than the one asked for, counts that disagree with what came.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import UnexpectedAnswerError

SERVICE = "qbo"
_FROM = re.compile(r"\bfrom\s+([A-Za-z][A-Za-z0-9]*)", re.IGNORECASE)
_COUNTS = ("startPosition", "maxResults", "totalCount")


@dataclass(frozen=True)
class QueryPage:
    """One QueryResponse: the entities (under `entity_name`), startPosition, maxResults
    (the number returned) and totalCount (count(*) queries)."""

    entity_name: str | None
    entities: list[dict]
    start_position: int | None
    max_results: int | None
    total_count: int | None


def entity_of(statement: str) -> str | None:
    """The entity a query statement selects from, when it can be read off."""
    found = _FROM.search(statement)
    return found.group(1) if found else None


def wrong(what: str, text: str) -> UnexpectedAnswerError:
    return UnexpectedAnswerError(SERVICE, what, f"qbo answered {what} with {text}", status=200)


def _count(qr: dict, key: str, what: str) -> int | None:
    value = qr.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise wrong(what, f"a {key} that is not a count")
    return value


def query_response(body: Any, what: str) -> Any:
    """body["QueryResponse"] of a query's 200 (a Fault was already raised by the client)."""
    if not isinstance(body, dict):
        raise wrong(what, "a body that is not an object")
    for key, value in body.items():
        if str(key).lower() == "queryresponse":
            return value
    raise wrong(what, "neither a QueryResponse nor a Fault")


def query_page(qr: Any, what: str, entity: str | None = None) -> QueryPage:
    """A QueryResponse as a QueryPage. `entity` is the one the query asked for (None: take
    the one list the response holds)."""
    if not isinstance(qr, dict):
        raise wrong(what, "a QueryResponse that is not an object")
    lists = {k: v for k, v in qr.items() if k not in _COUNTS and k != "time"}
    name: str | None = None
    for key, value in lists.items():
        if entity is None or str(key).lower() != entity.lower():
            if entity is not None and isinstance(value, list):
                raise wrong(what, f"{str(key)[:40]!r} entities where {entity} was asked for")
            if entity is not None or not isinstance(value, list):
                continue  # an unknown attribute (e.g. a warning) is not an answer to refuse
        if not isinstance(value, list):
            raise wrong(what, f"a {str(key)[:40]!r} entry that is not a list")
        if name is not None:
            raise wrong(what, "more than one list of entities")
        name = str(key)
    entities = lists[name] if name is not None else []
    if not all(isinstance(e, dict) for e in entities):
        raise wrong(what, f"a {name} entry that is not an object")
    start, returned, total = (_count(qr, k, what) for k in _COUNTS)
    if returned is not None and returned != len(entities):
        raise wrong(what, f"maxResults {returned} for {len(entities)} entities")
    if total is not None and name is not None and total < len(entities):
        raise wrong(what, f"totalCount {total} for {len(entities)} entities")
    return QueryPage(entity_name=name, entities=list(entities), start_position=start,
                     max_results=returned, total_count=total)
