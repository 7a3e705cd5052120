"""Async client for the QuickBooks Online Accounting API v3 (facts: reference/qbo-api.md).

    oauth = IntuitOAuth(client_id, client_secret, tokens=stored, on_tokens=store.save)
    async with QboClient(oauth, api_url=QBO_PRODUCTION) as qbo:
        vendor = await qbo.find_one(Select("Vendor").eq("DisplayName", name))
        created = await qbo.create("Vendor", {"DisplayName": name}, requestid=rid)

Everything protocol-specific lives here: Bearer auth with refresh before expiry and after a
401, Fault parsing (upper- and lower-case bodies, and a 200 carrying a Fault), paging, batch
splitting, a `requestid` on every write (so a retried write is replayed, not repeated), and
client-side pacing under Intuit's limits (10/s, 500/min per realm, 40 batches/min) so that a
429 is not part of normal operation. Answers are bounded in time and size (bounded.py) and a
query's answer is shape-checked (qbo_answers.py): a wrong shape is an error, never "no rows".
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from .errors import (
    QboAuthError,
    QboError,
    QboErrorDetail,
    QboForbidden,
    QboNotFound,
    QboThrottled,
    QboUnavailable,
    QboValidationError,
    TransportError,
    UnexpectedAnswerError,
)
from .bounded import DEFAULT_MAX_BYTES, bounded_client
from .http import RetryPolicy, SlidingWindowLimiter, Sleep, json_body, send_with_retry
from .oauth import IntuitOAuth
from .qbo_answers import QueryPage, entity_of, query_page, query_response
from .qbo_query import MAX_PAGE, Select

QBO_PRODUCTION = "https://quickbooks.api.intuit.com"
QBO_SANDBOX = "https://sandbox-quickbooks.api.intuit.com"
SERVICE = "qbo"
MAX_BATCH = 30
DEFAULT_BATCH = 10
MINOR_VERSION = 75


@dataclass(frozen=True)
class BatchItem:
    """One BatchItemRequest: an entity operation or a query. `bid` defaults to its index."""

    operation: str | None = None      # "create" | "update" | "delete" | None for a query
    entity: str | None = None         # "Vendor", "Bill", ... (payload key)
    payload: dict | None = None
    query: str | Select | None = None
    bid: str | None = None
    options: str | None = None        # optionsData, e.g. "allowduplicatedocnum"

    @classmethod
    def create(cls, entity: str, payload: dict, bid: str | None = None) -> "BatchItem":
        return cls("create", entity, payload, None, bid)

    @classmethod
    def update(cls, entity: str, payload: dict, bid: str | None = None) -> "BatchItem":
        return cls("update", entity, payload, None, bid)

    @classmethod
    def select(cls, query: str | Select, bid: str | None = None) -> "BatchItem":
        return cls(None, None, None, query, bid)


@dataclass(frozen=True)
class BatchResult:
    """One BatchItemResponse: the entity (or query page), or the item's own fault."""

    bid: str
    entity_name: str | None = None
    entity: dict | None = None
    query: QueryPage | None = None
    fault: QboError | None = None

    @property
    def ok(self) -> bool:
        return self.fault is None


# ------------------------------------------------------------------ fault parsing


def _lower_keys(obj: Any) -> Any:
    return {str(k).lower(): v for k, v in obj.items()} if isinstance(obj, dict) else {}


def parse_fault(body: Any) -> tuple[str, list[QboErrorDetail]] | None:
    """(Fault.type, errors) from a body with `Fault` or the lower-case `fault` of a 401;
    None when the body holds no fault."""
    top = _lower_keys(body)
    fault = _lower_keys(top.get("fault"))
    if not fault:
        return None
    found = fault.get("error") or []
    errors = []
    for raw in found if isinstance(found, list) else [found]:
        e = _lower_keys(raw)
        errors.append(QboErrorDetail(code=str(e.get("code") or ""), message=str(e.get("message") or ""),
                                     detail=str(e.get("detail") or ""), element=str(e.get("element") or "")))
    return str(fault.get("type") or ""), errors


def fault_error(status: int | None, fault_type: str, errors: list[QboErrorDetail],
                intuit_tid: str | None = None, context: str = "") -> QboError:
    """The typed error for a fault."""
    first = errors[0] if errors else None
    text = ""
    if first:
        text = first.message + (f": {first.detail}" if first.detail and first.detail != first.message else "")
        if first.code:
            text += f" (code {first.code})"
    else:
        text = f"HTTP {status}"
    message = f"QuickBooks refused {context}: {text}" if context else f"QuickBooks: {text}"
    codes = {e.code for e in errors}
    ftype = fault_type.lower()
    if status == 401 or "authentication" in ftype or codes & {"3200", "100", "120"}:
        cls: type[QboError] = QboAuthError
    elif status == 403 or "authorization" in ftype or "3100" in codes:
        cls = QboForbidden
    elif status == 429 or "3001" in codes:
        cls = QboThrottled
    elif status == 404:
        cls = QboNotFound
    elif (status or 0) >= 500 or "system" in ftype:
        cls = QboUnavailable
    else:
        cls = QboValidationError
    return cls(message, status=status, errors=errors, fault_type=fault_type, intuit_tid=intuit_tid)


def new_requestid() -> str:
    return uuid.uuid4().hex


def _should_retry(resp: httpx.Response, safe: bool) -> bool:
    if resp.status_code == 429:
        return True
    return safe and resp.status_code in (500, 502, 503, 504)


class QboClient:
    """One realm's QBO API. Safe to share between concurrent tasks; the pacing is per client
    (use one client per realm).

    `calls` counts HTTP requests sent to the API (retries included; token calls excluded).
    """

    def __init__(
        self,
        oauth: IntuitOAuth,
        realm_id: str | None = None,
        *,
        api_url: str = QBO_PRODUCTION,
        minorversion: int = MINOR_VERSION,
        per_second: int = 10,
        per_minute: int = 500,
        batch_per_minute: int = 40,
        retry: RetryPolicy | None = None,
        timeout: float = 120.0,
        deadline: float = 300.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = anyio.sleep,
        on_retry: Callable[[str, float], None] | None = None,
        clock=time.monotonic,
    ) -> None:
        realm = realm_id or (oauth.tokens.realm_id if oauth.tokens else None)
        if not realm:
            raise ValueError("a QuickBooks realm (company) id is required")
        self.oauth = oauth
        self.realm_id = str(realm)
        self.api_url = api_url.rstrip("/")
        self.minorversion = minorversion
        self.retry = retry or RetryPolicy()
        # `timeout` bounds each read, `deadline` a whole answer, `max_bytes` its size.
        self._http = http or bounded_client(timeout=timeout, deadline=deadline, max_bytes=max_bytes)
        self._owns_http = http is None
        self._sleep = sleep
        # Told (reason, seconds) before each retry wait: "429", "503", "transport", "connect".
        self.on_retry = on_retry
        self._per_second = SlidingWindowLimiter(per_second, 1.0, clock=clock, sleep=sleep)
        self._per_minute = SlidingWindowLimiter(per_minute, 60.0, clock=clock, sleep=sleep)
        self._batch_per_minute = SlidingWindowLimiter(batch_per_minute, 60.0, clock=clock, sleep=sleep)
        self.calls = 0

    def __repr__(self) -> str:
        return f"QboClient(realm_id={self.realm_id!r}, api_url={self.api_url!r})"

    async def __aenter__(self) -> "QboClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # ------------------------------------------------------------ transport

    def _url(self, path: str) -> str:
        return f"{self.api_url}/v3/company/{self.realm_id}/{path}"

    async def _request(self, method: str, path: str, *, params: dict | None = None,
                       json: Any = None, content: bytes | None = None,
                       content_type: str = "application/json", safe: bool,
                       batch: bool = False, context: str = "") -> dict:
        params = {**(params or {}), "minorversion": str(self.minorversion)}
        url = self._url(path)
        for attempt in (1, 2):
            used_token = ""

            async def send() -> httpx.Response:
                nonlocal used_token
                used_token = await self.oauth.access_token()
                headers = {"Authorization": f"Bearer {used_token}", "Accept": "application/json"}
                if method != "GET":
                    headers["Content-Type"] = content_type
                limiters = [self._per_second, self._per_minute] + ([self._batch_per_minute] if batch else [])
                taken = []
                try:
                    for limiter in limiters:
                        await limiter.acquire()
                        taken.append(limiter)
                    self.calls += 1
                    return await self._http.request(method, url, params=params, json=json,
                                                    content=content, headers=headers)
                finally:
                    for limiter in taken:
                        limiter.release()

            resp = await send_with_retry(send, service=SERVICE, safe=safe, policy=self.retry,
                                         should_retry=_should_retry, sleep=self._sleep,
                                         on_retry=self.on_retry)
            if resp.status_code == 401 and attempt == 1:
                # Expired or revoked early: refresh (once for all concurrent callers), retry once.
                await self.oauth.refresh(stale_access_token=used_token)
                continue
            return self._interpret(resp, context or f"{method} {path}")
        raise AssertionError("unreachable")

    def _interpret(self, resp: httpx.Response, context: str) -> dict:
        tid = resp.headers.get("intuit_tid")
        status = resp.status_code
        try:
            body = resp.json()
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python parses
            body = None
        if body is not None:
            fault = parse_fault(body)
            if fault is not None:
                # Including a 200 carrying a Fault: the API does that (§5.1).
                raise fault_error(status, fault[0], fault[1], tid, context)
        if status == 200:
            body = json_body(resp, SERVICE) if body is None else body
            if not isinstance(body, dict):
                raise TransportError(SERVICE, "qbo answered with JSON that is not an object", status=status)
            return body
        if body is None and resp.content and status >= 500:
            json_body(resp, SERVICE)  # raises TransportError naming the HTML page / garbage
        raise fault_error(status, "", [], tid, context)

    # ------------------------------------------------------------ queries

    async def query(self, statement: str | Select) -> QueryPage:
        """Run one query statement (POSTed as application/text, UTF-8)."""
        sql = statement.build() if isinstance(statement, Select) else statement
        entity = statement.entity if isinstance(statement, Select) else entity_of(sql)
        body = await self._request("POST", "query", content=sql.encode("utf-8"),
                                   content_type="application/text", safe=True, context="the query")
        what = f"the {entity} query" if entity else "the query"
        return query_page(query_response(body, what), what, entity)

    async def query_iter(self, select: Select, *, page_size: int = MAX_PAGE) -> AsyncIterator[dict]:
        """Every matching entity, page by page with STARTPOSITION/MAXRESULTS."""
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE}")
        start = 1
        what = f"the {select.entity} query"
        while True:
            page = await self.query(select.page(start, page_size))
            # A page that is not the one asked for would repeat or skip entities, or never end.
            if page.start_position is not None and page.entities and page.start_position != start:
                raise UnexpectedAnswerError(SERVICE, what, f"qbo answered {what} with startPosition "
                                            f"{page.start_position} where {start} was asked for", status=200)
            if len(page.entities) > page_size:
                raise UnexpectedAnswerError(SERVICE, what, f"qbo answered {what} with {len(page.entities)} "
                                            f"entities where at most {page_size} were asked for", status=200)
            for entity in page.entities:
                yield entity
            if len(page.entities) < page_size:
                return
            start += len(page.entities)

    async def query_all(self, select: Select, *, page_size: int = MAX_PAGE) -> list[dict]:
        return [e async for e in self.query_iter(select, page_size=page_size)]

    async def count(self, select: Select) -> int:
        page = await self.query(select.counting())
        if page.total_count is None:
            what = f"the {select.entity} count query"
            raise UnexpectedAnswerError(SERVICE, what, f"qbo answered {what} without a totalCount", status=200)
        return page.total_count

    async def find_one(self, select: Select) -> dict | None:
        """The first match, or None."""
        page = await self.query(select.page(1, 1))
        return page.entities[0] if page.entities else None

    # ------------------------------------------------------------ entities

    async def get(self, entity: str, id: str | int) -> dict | None:
        """The entity by Id, or None when it does not exist."""
        try:
            body = await self._request("GET", f"{entity.lower()}/{id}", safe=True,
                                       context=f"reading {entity} {id}")
        except QboNotFound:
            return None
        except QboValidationError as exc:
            if exc.code == "610":
                return None
            raise
        return _entity(body, entity)

    async def create(self, entity: str, payload: dict, *, requestid: str | None = None,
                     include: str | None = None) -> dict:
        """Create an entity; returns it as QBO stored it. `requestid` (≤ 50 chars; default a
        fresh uuid4 hex) makes a retry after a lost reply return the original result."""
        return await self._write(entity, payload, requestid, include, None)

    async def update(self, entity: str, payload: dict, *, requestid: str | None = None,
                     include: str | None = None) -> dict:
        """Update (payload carries Id and SyncToken; add "sparse": True for a sparse update)."""
        return await self._write(entity, payload, requestid, include, None)

    async def delete(self, entity: str, id: str, sync_token: str, *, requestid: str | None = None) -> dict:
        return await self._write(entity, {"Id": id, "SyncToken": sync_token}, requestid, None, "delete")

    async def _write(self, entity: str, payload: dict, requestid: str | None, include: str | None,
                     operation: str | None) -> dict:
        rid = requestid or new_requestid()
        if len(rid) > 50:
            raise ValueError("a QBO requestid is at most 50 characters")
        params = {"requestid": rid}
        if include:
            params["include"] = include
        if operation:
            params["operation"] = operation
        body = await self._request("POST", entity.lower(), params=params, json=payload, safe=True,
                                   context=f"writing {entity}")
        return _entity(body, entity)

    async def preferences(self) -> dict:
        return _entity(await self._request("GET", "preferences", safe=True), "Preferences")

    async def company_info(self) -> dict:
        return _entity(await self._request("GET", f"companyinfo/{self.realm_id}", safe=True),
                       "CompanyInfo")

    # ------------------------------------------------------------ batch

    async def batch_slot_free(self) -> None:
        """Wait until a batch request could be sent now (Intuit's 40 a minute): a scan prepares
        a group only then, so its POs do not wait out the minute after being announced."""
        await self._batch_per_minute.wait_free()

    async def batch(self, items: list[BatchItem], *, chunk_size: int = DEFAULT_BATCH,
                    requestid: str | None = None) -> list[BatchResult]:
        """Send items in batches of `chunk_size` (≤ 30; 10 by default, Intuit's safer figure);
        results come back in item order. Each chunk carries a requestid (≤ 36 chars): given
        one, chunk i uses f"{requestid[:32]}-{i}" when there are several chunks."""
        if not 1 <= chunk_size <= MAX_BATCH:
            raise ValueError(f"chunk_size must be between 1 and {MAX_BATCH}")
        if requestid is not None and len(requestid) > 36:
            raise ValueError("a batch requestid is at most 36 characters")
        bids = [it.bid if it.bid is not None else str(i) for i, it in enumerate(items)]
        if len(set(bids)) != len(bids):
            raise ValueError("batch item ids (bId) must be unique")
        if any(len(b) > 10 for b in bids):
            raise ValueError("a batch item id (bId) is at most 10 characters")
        chunks = [list(range(i, min(i + chunk_size, len(items)))) for i in range(0, len(items), chunk_size)]
        results: dict[str, BatchResult] = {}
        for n, idx in enumerate(chunks):
            rid = requestid if requestid and len(chunks) == 1 else (
                f"{requestid[:32]}-{n}" if requestid else new_requestid())
            wire = [_batch_item_json(items[i], bids[i]) for i in idx]
            body = await self._request("POST", "batch", params={"requestid": rid},
                                       json={"BatchItemRequest": wire}, safe=True, batch=True,
                                       context="the batch")
            answered = body.get("BatchItemResponse")
            for raw in answered if isinstance(answered, list) else []:
                if not isinstance(raw, dict):
                    continue  # not a result: its item counts as unanswered below
                result = _batch_result(raw)
                results[result.bid] = result
        missing = [b for b in bids if b not in results]
        for b in missing:
            results[b] = BatchResult(bid=b, fault=QboUnavailable(
                f"QuickBooks returned no result for batch item {b}", errors=[]))
        return [results[b] for b in bids]


def _entity(body: dict, entity: str) -> dict:
    for k, v in body.items():
        if k.lower() == entity.lower() and isinstance(v, dict):
            return v
    raise TransportError(SERVICE, f"qbo answered without the {entity} it was asked for")


def _batch_item_json(item: BatchItem, bid: str) -> dict:
    out: dict[str, Any] = {"bId": bid}
    if item.query is not None:
        out["Query"] = item.query.build() if isinstance(item.query, Select) else item.query
        return out
    if not item.operation or not item.entity or item.payload is None:
        raise ValueError("a batch item needs an operation, an entity and a payload, or a query")
    out["operation"] = item.operation
    out[item.entity] = item.payload
    if item.options:
        out["optionsData"] = item.options
    return out


def _batch_result(raw: dict) -> BatchResult:
    bid = str(raw.get("bId", ""))
    fault = parse_fault(raw)
    if fault is not None:
        return BatchResult(bid=bid, fault=fault_error(None, fault[0], fault[1], context=f"batch item {bid}"))
    if "QueryResponse" in raw:
        try:
            return BatchResult(bid=bid, query=query_page(raw["QueryResponse"], f"batch item {bid}"))
        except UnexpectedAnswerError as exc:  # this item's answer only: the others stand
            return BatchResult(bid=bid, fault=QboUnavailable(exc.message))
    for k, v in raw.items():
        if k != "bId" and isinstance(v, dict):
            return BatchResult(bid=bid, entity_name=k, entity=v)
    return BatchResult(bid=bid, fault=QboUnavailable(f"QuickBooks returned an empty result for batch item {bid}"))
