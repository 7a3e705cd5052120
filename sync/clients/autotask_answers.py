"""The shapes of Autotask's 200 answers, checked before anyone reads them
(reference/autotask-api.md §2.1, the swagger's QueryActionResult / PagingModel /
ItemQueryResultModel / QueryCountResultModel / OperationResultModel).

A body of the wrong shape is an `UnexpectedAnswerError` naming the endpoint, never an empty
answer: a query page without a list of items must not read as "0 eligible purchase orders".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import UnexpectedAnswerError

SERVICE = "autotask"
_DIGITS = re.compile(r"-?[0-9]+")


def wrong(endpoint: str, what: str) -> UnexpectedAnswerError:
    return UnexpectedAnswerError(SERVICE, endpoint, f"autotask answered {endpoint} with {what}", status=200)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def as_int(value: Any) -> int | None:
    """An integer from a JSON value that is one (or a string of ASCII digits), else None."""
    if is_int(value):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def result_object(body: Any, endpoint: str) -> dict:
    if not isinstance(body, dict):
        raise wrong(endpoint, "a body that is not a result object")
    return body


def object_list(body: dict, key: str, endpoint: str) -> list[dict]:
    """body[key] as a list of objects."""
    value = body.get(key)
    if not isinstance(value, list):
        raise wrong(endpoint, f"no list of {key}" if value is None else f"{key} that is not a list")
    if not all(isinstance(v, dict) for v in value):
        raise wrong(endpoint, f"an entry of {key} that is not an object")
    return value


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_url: str | None
    prev_url: str | None


def query_page(body: Any, endpoint: str) -> Page:
    """One query page: `items` a list of objects, `pageDetails` an object whose `count` (when
    given) is the number of items that came, page links strings or null."""
    body = result_object(body, endpoint)
    items = object_list(body, "items", endpoint)
    details = body.get("pageDetails")
    if not isinstance(details, dict):
        raise wrong(endpoint, "no pageDetails" if details is None else "pageDetails that is not an object")
    count = details.get("count")
    if count is not None and (not is_int(count) or count != len(items)):
        said = count if is_int(count) else "that is not a number"
        raise wrong(endpoint, f"pageDetails.count {said} for {len(items)} items")
    links = []
    for field in ("nextPageUrl", "prevPageUrl"):
        link = details.get(field)
        if link is not None and not isinstance(link, str):
            raise wrong(endpoint, f"a {field} that is not a string")
        links.append(link or None)
    return Page(items, links[0], links[1])


def query_count(body: Any, endpoint: str) -> int:
    value = result_object(body, endpoint).get("queryCount")
    if not is_int(value) or value < 0:
        raise wrong(endpoint, "no queryCount" if value is None else "a queryCount that is not a count")
    return value


def single_item(body: Any, endpoint: str) -> dict | None:
    """`{"item": {...}}`, or None for `{"item": null}` (how Autotask says "no such record")."""
    body = result_object(body, endpoint)
    if "item" not in body:
        raise wrong(endpoint, "no item")
    item = body["item"]
    if not item:
        return None
    if not isinstance(item, dict):
        raise wrong(endpoint, "an item that is not an object")
    return item


def item_id(body: Any, endpoint: str) -> int:
    """The id a write answered with (`{"itemId": n}`)."""
    if not isinstance(body, dict) or body.get("itemId") is None:
        raise wrong(endpoint, "no itemId")
    value = as_int(body["itemId"])
    if value is None:
        raise wrong(endpoint, "an itemId that is not a number")
    return value


def optional_int(raw: dict, key: str, endpoint: str, default: int | None = None) -> int | None:
    value = raw.get(key)
    if value is None:
        return default
    number = as_int(value)
    if number is None:
        raise wrong(endpoint, f"a {key} that is not a number")
    return number


def text(raw: dict, key: str) -> str:
    value = raw.get(key)
    return "" if value is None else str(value)
