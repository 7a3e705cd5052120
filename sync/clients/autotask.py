"""Async client for the Autotask PSA REST API v1.0 (facts: reference/autotask-api.md).

    async with AutotaskClient("api@tenant.example", "INTEGRATIONCODE", secret) as at:
        async for po in at.query_iter("PurchaseOrders", [F.eq("status", 2)]):
            ...
        await at.update("PurchaseOrders", po["id"], {"externalPONumber": "1042"})

Everything protocol-specific lives here: zone discovery, the three auth headers, query paging,
typed errors, retries (shared policy in http.py), at most 3 requests in flight per object
endpoint, and slowing down as the hourly request budget runs low. Answers are hostile until
checked: every one is bounded in time and size (bounded.py), its shape is checked
(autotask_answers.py), and the secret goes only where autotask_urls.py allows.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from . import autotask_answers as answers
from .autotask_filters import Filter, query_body
from .autotask_urls import check_page_url, check_zone_url
from .bounded import DEFAULT_MAX_BYTES, bounded_client
from .errors import (
    AutotaskAuthError,
    AutotaskCredentialsRefused,
    AutotaskError,
    AutotaskNotFound,
    AutotaskPermissionError,
    AutotaskThrottled,
    AutotaskUnavailable,
    AutotaskValidationError,
    AutotaskZoneError,
    PicklistError,
    TransportError,
    UnexpectedAnswerError,
)
from .http import KeyedSemaphores, MinInterval, RetryPolicy, SlidingWindowLimiter, Sleep, json_body, send_with_retry

DEFAULT_ZONE_LOOKUP_BASE = "https://webservices.autotask.net"
SERVICE = "autotask"
MAX_PAGE_SIZE = 500


@dataclass(frozen=True)
class ZoneInfo:
    zone_name: str
    url: str       # e.g. https://webservices2.autotask.net/ATServicesRest/
    web_url: str
    ci: int | None

    @property
    def api_base(self) -> str:
        """Where entity paths go: `url` + "V1.0/"."""
        return self.url.rstrip("/") + "/V1.0/"


@dataclass(frozen=True)
class ThresholdInfo:
    threshold: int            # externalRequestThreshold (10,000 per hour)
    timeframe_minutes: float  # requestThresholdTimeframe (60; a fraction only from a test sandbox)
    current: int              # currentTimeframeRequestCount

    @property
    def usage(self) -> float:
        return self.current / self.threshold if self.threshold else 0.0

    @property
    def remaining(self) -> int:
        return max(0, self.threshold - self.current)


@dataclass(frozen=True)
class PicklistValue:
    value: str
    label: str
    is_active: bool = True
    is_default: bool = False
    sort_order: int | None = None
    parent_value: str = ""


@dataclass(frozen=True)
class FieldInfo:
    name: str
    data_type: str
    is_required: bool
    is_read_only: bool
    is_queryable: bool
    is_reference: bool
    reference_entity_type: str
    is_picklist: bool
    picklist_values: tuple[PicklistValue, ...]
    length: int | None = None


@dataclass(frozen=True)
class Picklist:
    """A picklist field's values. Values are strings in entityInformation but integers on the
    entities themselves; `value_for` gives the entity form (int when numeric)."""

    entity: str
    field: str
    values: tuple[PicklistValue, ...]

    def value_for(self, label: str, *, active_only: bool = False) -> int | str:
        wanted = label.strip().casefold()
        for v in self.values:
            if v.label.strip().casefold() == wanted and (v.is_active or not active_only):
                number = answers.as_int(v.value)
                return v.value if number is None else number
        labels = ", ".join(repr(v.label) for v in self.values)
        raise PicklistError(f"{self.entity}.{self.field} has no value labelled {label!r} "
                            f"(labels: {labels or 'none'})")

    def label_for(self, value: int | str) -> str | None:
        for v in self.values:
            if v.value == str(value):
                return v.label
        return None

    def labels(self) -> dict[str, str]:
        return {v.value: v.label for v in self.values}


def _picklist_value(raw: dict, endpoint: str) -> PicklistValue:
    return PicklistValue(
        value=answers.text(raw, "value"), label=answers.text(raw, "label"),
        is_active=bool(raw.get("isActive", True)), is_default=bool(raw.get("isDefaultValue", False)),
        sort_order=answers.optional_int(raw, "sortOrder", endpoint),
        parent_value=answers.text(raw, "parentValue"))


def _field_info(raw: dict, endpoint: str) -> FieldInfo:
    values = answers.object_list(raw, "picklistValues", endpoint) if raw.get("picklistValues") else []
    return FieldInfo(
        name=answers.text(raw, "name"), data_type=answers.text(raw, "dataType"),
        is_required=bool(raw.get("isRequired")), is_read_only=bool(raw.get("isReadOnly")),
        is_queryable=bool(raw.get("isQueryable")), is_reference=bool(raw.get("isReference")),
        reference_entity_type=answers.text(raw, "referenceEntityType"),
        is_picklist=bool(raw.get("isPickList")),
        picklist_values=tuple(_picklist_value(v, endpoint) for v in values),
        length=answers.optional_int(raw, "length", endpoint))


def _error_messages(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    errors = body.get("errors") or body.get("Errors") or []
    if isinstance(errors, str):
        return [errors]
    out = []
    for e in errors if isinstance(errors, list) else []:
        if isinstance(e, dict):  # some clients have seen {message, field, code} objects
            out.append(str(e.get("message") or e.get("Message") or e))
        else:
            out.append(str(e))
    return out


def _is_thread_threshold(messages: list[str]) -> bool:
    return any("thread threshold" in m.lower() or "itgenatr005" in m.lower() for m in messages)


DEFAULT_THRESHOLD = 10_000  # requests per timeframe, Autotask's published figure (reference §6.2)
DEFAULT_TIMEFRAME_MINUTES = 60


def _timeframe(body: dict, where: str) -> float:
    """requestThresholdTimeframe in minutes: Autotask sends whole minutes (60); a fraction is
    taken as well (a test sandbox's short hour), anything else not positive means the default."""
    value = body.get("requestThresholdTimeframe")
    if isinstance(value, float) and 0 < value <= 24 * 60:
        return value
    return float(answers.optional_int(body, "requestThresholdTimeframe", where) or DEFAULT_TIMEFRAME_MINUTES)


def _maybe_json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested deeper than Python parses
        return None


class AutotaskClient:
    """One tenant's Autotask REST API. Safe to share between concurrent tasks.

    `calls` counts HTTP requests sent to Autotask (zone lookups, retries and threshold reads
    included). `threshold` is the last ThresholdInformation read; `pace_interval` the spacing
    currently applied between request starts (0 while the hourly budget is comfortable).
    """

    def __init__(
        self,
        username: str,
        integration_code: str,
        secret: str,
        *,
        zone_lookup_base: str = DEFAULT_ZONE_LOOKUP_BASE,
        impersonation_resource_id: int | None = None,
        max_in_flight_per_endpoint: int = 3,
        retry: RetryPolicy | None = None,
        threshold_every_calls: int = 250,
        threshold_every_seconds: float = 300.0,
        slow_down_at: float = 0.8,
        hourly_share_percent: int = 50,  # the autotask_hourly_share default; the engine applies the setting
        timeout: float = 60.0,
        deadline: float = 180.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        http: httpx.AsyncClient | None = None,
        sleep: Sleep = anyio.sleep,
        on_retry: Callable[[str, float], None] | None = None,
    ) -> None:
        if not username or not integration_code or not secret:
            raise ValueError("the Autotask user name, integration code and secret are all required")
        self.username = username
        self._integration_code = integration_code
        self._secret = secret
        self.zone_lookup_base = zone_lookup_base.rstrip("/")
        self.impersonation_resource_id = impersonation_resource_id
        self.retry = retry or RetryPolicy()
        self.threshold_every_calls = threshold_every_calls
        self.threshold_every_seconds = threshold_every_seconds
        self.slow_down_at = slow_down_at
        # `timeout` bounds each read, `deadline` a whole answer, `max_bytes` its size.
        self._http = http or bounded_client(timeout=timeout, deadline=deadline, max_bytes=max_bytes)
        self._owns_http = http is None
        self._sleep = sleep
        # Told (reason, seconds) before each retry wait: "429", "503", "transport", "connect".
        self.on_retry = on_retry
        self._sems = KeyedSemaphores(max_in_flight_per_endpoint)
        self._pacer = MinInterval(sleep=sleep)
        # This product's own requests in the rolling timeframe, capped at its share of the
        # database's threshold (every integration of the MSP draws on the same 10,000 an hour).
        self._share = SlidingWindowLimiter(DEFAULT_THRESHOLD, DEFAULT_TIMEFRAME_MINUTES * 60, sleep=sleep)
        self.hourly_share_percent = 100
        self._zone: ZoneInfo | None = None
        self._zone_lock = anyio.Lock()
        self._fields: dict[str, list[FieldInfo]] = {}
        self.calls = 0
        self.threshold: ThresholdInfo | None = None
        self._calls_at_check = 0
        self._checked_at = time.monotonic()
        self._checking = False
        self.set_hourly_share(hourly_share_percent)

    def __repr__(self) -> str:
        return f"AutotaskClient(username={self.username!r}, zone={self._zone.url if self._zone else None!r})"

    async def __aenter__(self) -> "AutotaskClient":
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    @property
    def pace_interval(self) -> float:
        return self._pacer.interval

    def set_hourly_share(self, percent: int) -> None:
        """Cap this client's requests at `percent` of the threshold per timeframe (as last read
        from ThresholdInformation; Autotask's published 10,000 an hour until then)."""
        if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
            raise ValueError("the hourly share is a whole percent from 1 to 100")
        self.hourly_share_percent = percent
        self._apply_share()

    def _apply_share(self) -> None:
        info = self.threshold
        threshold = info.threshold if info else DEFAULT_THRESHOLD
        minutes = info.timeframe_minutes if info else DEFAULT_TIMEFRAME_MINUTES
        self._share.limit = max(1, threshold * self.hourly_share_percent // 100)
        self._share.window = minutes * 60

    @property
    def share_cap(self) -> int:
        """Requests this client may make per timeframe."""
        return self._share.limit

    @property
    def share_used(self) -> int:
        """Requests this client made in the current rolling timeframe (or has in flight)."""
        return self._share.in_window()

    async def _within_share(self, request: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        await self._share.acquire()
        try:
            return await request()
        finally:
            self._share.release()

    # ------------------------------------------------------------ zone and transport

    async def zone(self, *, refresh: bool = False) -> ZoneInfo:
        """The tenant's zone, looked up from the API user name once and cached."""
        async with self._zone_lock:
            if self._zone is not None and not refresh:
                return self._zone
            url = f"{self.zone_lookup_base}/atservicesrest/v1.0/zoneInformation"

            async def send() -> httpx.Response:
                self.calls += 1
                return await self._http.get(url, params={"user": self.username},
                                            headers={"Accept": "application/json"})

            resp = await send_with_retry(send, service=SERVICE, safe=True, policy=self.retry,
                                         should_retry=_should_retry, sleep=self._sleep,
                                         on_retry=self.on_retry)
            body = _maybe_json(resp)
            if resp.status_code != 200 or not isinstance(body, dict) or not body.get("url"):
                messages = _error_messages(body)
                detail = "; ".join(messages) if messages else f"HTTP {resp.status_code}"
                raise AutotaskZoneError(
                    f"Autotask zone lookup for user {self.username!r} failed: {detail}",
                    status=resp.status_code, errors=messages)
            url = check_zone_url(body["url"], self.zone_lookup_base, self.username)
            ci = body.get("ci")
            self._zone = ZoneInfo(zone_name=answers.text(body, "zoneName"), url=url,
                                  web_url=answers.text(body, "webUrl"), ci=ci if answers.is_int(ci) else None)
            return self._zone

    def _headers(self, method: str) -> dict[str, str]:
        headers = {
            "ApiIntegrationCode": self._integration_code,
            "UserName": self.username,
            "Secret": self._secret,
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        if self.impersonation_resource_id is not None and method != "GET":
            headers["ImpersonationResourceId"] = str(self.impersonation_resource_id)
        return headers

    async def _request(self, method: str, path: str, *, body: Any = None, safe: bool,
                       absolute_url: str | None = None) -> tuple[int, Any]:
        """Send one logical request; returns (status, parsed JSON) for a 200, raises a typed
        error for everything else."""
        for attempt in (1, 2):
            zone = await self.zone()
            url = absolute_url or zone.api_base + path
            if absolute_url:
                # Checked again here: the zone may have moved since the page named the link.
                check_page_url(absolute_url, zone.api_base, path, "page link")
            endpoint = _endpoint_of(url, zone.api_base)
            await self._maybe_read_threshold()
            async with self._sems(endpoint):
                async def send_now() -> httpx.Response:
                    await self._pacer.wait()
                    self.calls += 1
                    return await self._http.request(method, url, json=body, headers=self._headers(method))

                async def send() -> httpx.Response:
                    return await self._within_share(send_now)

                resp = await send_with_retry(send, service=SERVICE, safe=safe, policy=self.retry,
                                             should_retry=_should_retry, sleep=self._sleep,
                                             on_retry=self.on_retry)
            if resp.status_code == 401 and attempt == 1:
                # The tenant may have moved zone: look it up again, then try once more.
                await self.zone(refresh=True)
                continue
            try:
                return self._interpret(resp, method, path)
            except AutotaskValidationError as refused:
                if refused.status == 500:
                    await self._raise_if_credentials_refused(refused, zone)
                raise
        raise AssertionError("unreachable")

    async def _raise_if_credentials_refused(self, refused: AutotaskValidationError, zone: ZoneInfo) -> None:
        """Autotask answers an unknown API user or a wrong integration code with HTTP 500 and an
        errors body (apigrate/autotask-restapi#19), as it answers a refused request. One request
        that nothing but the credentials can make fail tells them apart: ThresholdInformation.
        Costs one call, only after a non-transient 500."""
        url = zone.api_base + "ThresholdInformation"
        try:
            async with self._sems(_endpoint_of(url, zone.api_base)):
                async def send() -> httpx.Response:
                    self.calls += 1
                    return await self._http.get(url, headers=self._headers("GET"))

                probe = await self._within_share(send)
        except httpx.HTTPError:
            return  # cannot tell: the original refusal stands
        messages = _error_messages(_maybe_json(probe))
        transient = _is_thread_threshold(messages) or any("try again" in m.lower() for m in messages)
        if probe.status_code == 401 or (probe.status_code == 500 and messages and not transient):
            said = "; ".join(refused.errors) or f"HTTP {refused.status}"
            raise AutotaskCredentialsRefused(
                "Autotask rejected the API user name or integration code (HTTP 500 to every "
                f"request, even ThresholdInformation: {said})",
                status=refused.status, errors=refused.errors) from None

    def _interpret(self, resp: httpx.Response, method: str, path: str) -> tuple[int, Any]:
        status = resp.status_code
        what = f"{method} {path}"
        if status == 200:
            return status, json_body(resp, SERVICE)
        body = _maybe_json(resp)
        messages = _error_messages(body)
        said = "; ".join(messages)
        if status == 404:
            raise AutotaskNotFound(f"Autotask has no {path}" + (f": {said}" if said else ""),
                                   status=status, errors=messages)
        if status == 401:
            raise AutotaskAuthError(
                "Autotask rejected the API credentials (HTTP 401): check the user name, "
                "integration code and secret" + (f" ({said})" if said else ""),
                status=status, errors=messages)
        if status == 403 or any("adequate permissions" in m for m in messages):
            raise AutotaskPermissionError(
                f"Autotask refused {what}: " + (said or "the API user lacks permission (HTTP 403)"),
                status=status, errors=messages)
        if status == 429 or _is_thread_threshold(messages):
            raise AutotaskThrottled(
                f"Autotask is throttling {what} (HTTP {status})" + (f": {said}" if said else ""),
                status=status, errors=messages)
        if messages and status < 502:
            raise AutotaskValidationError(f"Autotask refused {what}: {said}", status=status,
                                          errors=messages)
        if status >= 500:
            if body is None and resp.content and status == 500:
                raise TransportError(SERVICE, f"autotask answered HTTP {status} with "
                                     + ("an HTML page" if "html" in resp.headers.get("content-type", "")
                                        else "a body that is not valid JSON"), status=status)
            raise AutotaskUnavailable(f"Autotask is unavailable (HTTP {status}) for {what}"
                                      + (f": {said}" if said else ""), status=status, errors=messages)
        raise AutotaskError(f"Autotask answered HTTP {status} to {what}" + (f": {said}" if said else ""),
                            status=status, errors=messages)

    # ------------------------------------------------------------ hourly budget

    async def _maybe_read_threshold(self) -> None:
        due = (self.calls - self._calls_at_check >= self.threshold_every_calls
               or time.monotonic() - self._checked_at >= self.threshold_every_seconds)
        if due and not self._checking:
            try:
                await self.read_threshold()
            except (AutotaskError, TransportError):
                pass  # the budget read is advisory; the real call will report real trouble

    async def read_threshold(self) -> ThresholdInfo:
        """Read ThresholdInformation and adapt pacing: above `slow_down_at` of the hourly
        budget, the remaining requests are spread over the whole timeframe (it is a rolling
        window, so this never runs into the limit)."""
        self._checking = True
        try:
            self._calls_at_check = self.calls
            self._checked_at = time.monotonic()
            _, body = await self._request("GET", "ThresholdInformation", safe=True)
        finally:
            self._checking = False
        where = "ThresholdInformation"
        body = answers.result_object(body, where)
        info = ThresholdInfo(
            threshold=answers.optional_int(body, "externalRequestThreshold", where) or 10000,
            timeframe_minutes=_timeframe(body, where),
            current=max(0, answers.optional_int(body, "currentTimeframeRequestCount", where) or 0))
        self.threshold = info
        self._apply_share()
        if info.usage >= self.slow_down_at:
            self._pacer.interval = info.timeframe_minutes * 60 / max(1, info.remaining)
        else:
            self._pacer.interval = 0.0
        return info

    # ------------------------------------------------------------ reads

    def query_iter(self, entity: str, filters: list[Filter] | Filter | None = None, *,
                   include_fields: list[str] | None = None, page_size: int = MAX_PAGE_SIZE,
                   ) -> AsyncIterator[dict]:
        """Every matching record, page by page (POST {entity}/query, then nextPageUrl)."""
        body = query_body(filters, include_fields, page_size)
        return self._pages(entity, body)

    async def _pages(self, entity: str, body: dict) -> AsyncIterator[dict]:
        path = f"{entity}/query"
        next_url: str | None = None
        followed: set[str] = set()
        while True:
            _, raw = await self._request("POST", path, body=body, safe=True, absolute_url=next_url)
            page = answers.query_page(raw, path)
            # Both links are checked, though only the next one is followed: a page that points
            # the secret at another host is not an answer to trust.
            api_base = (await self.zone()).api_base
            for field, link in (("nextPageUrl", page.next_url), ("prevPageUrl", page.prev_url)):
                if link is not None:
                    check_page_url(link, api_base, path, field)
            if page.next_url is not None and page.next_url in followed:
                raise UnexpectedAnswerError(SERVICE, path, f"autotask answered {path} with a nextPageUrl "
                                            "it had already sent (the pages would never end)", status=200)
            for item in page.items:
                yield item
            next_url = page.next_url
            if next_url is None:
                return
            followed.add(next_url)

    async def query(self, entity: str, filters: list[Filter] | Filter | None = None, *,
                    include_fields: list[str] | None = None, page_size: int = MAX_PAGE_SIZE,
                    limit: int | None = None) -> list[dict]:
        """All matching records (following every page), or the first `limit`."""
        out: list[dict] = []
        async for item in self.query_iter(entity, filters, include_fields=include_fields,
                                          page_size=page_size):
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
        return out

    async def count(self, entity: str, filters: list[Filter] | Filter | None = None) -> int:
        path = f"{entity}/query/count"
        _, body = await self._request("POST", path, body=query_body(filters), safe=True)
        return answers.query_count(body, path)

    async def get(self, entity: str, id: int) -> dict | None:
        """The record, or None when there is none with that id."""
        path = f"{entity}/{int(id)}"
        try:
            _, body = await self._request("GET", path, safe=True)
        except AutotaskNotFound:
            return None
        return answers.single_item(body, path)

    async def children(self, parent: str, parent_id: int, child: str) -> list[dict]:
        """GET {parent}/{id}/{child}: e.g. a purchase order's items."""
        path = f"{parent}/{int(parent_id)}/{child}"
        _, body = await self._request("GET", path, safe=True)
        return list(answers.object_list(answers.result_object(body, path), "items", path))

    async def fields(self, entity: str) -> list[FieldInfo]:
        """{entity}/entityInformation/fields, cached per client."""
        key = entity.lower()
        if key not in self._fields:
            path = f"{entity}/entityInformation/fields"
            _, body = await self._request("GET", path, safe=True)
            raw = answers.object_list(answers.result_object(body, path), "fields", path)
            self._fields[key] = [_field_info(f, path) for f in raw]
        return self._fields[key]

    async def entity_info(self, entity: str) -> dict:
        """{entity}/entityInformation: what the entity allows and what this API user may do with
        it (canCreate, canUpdate, userAccessForCreate, userAccessForUpdate, ...)."""
        _, body = await self._request("GET", f"{entity}/entityInformation", safe=True)
        return dict((body or {}).get("info") or {}) if isinstance(body, dict) else {}

    async def picklist(self, entity: str, field: str) -> Picklist:
        for f in await self.fields(entity):
            if f.name.lower() == field.lower():
                if not f.is_picklist:
                    raise PicklistError(f"{entity}.{f.name} is not a picklist field")
                return Picklist(entity, f.name, f.picklist_values)
        raise PicklistError(f"{entity} has no field named {field!r}")

    def forget_fields(self) -> None:
        """Drop cached entityInformation (picklists can change in the tenant)."""
        self._fields.clear()

    # ------------------------------------------------------------ writes

    async def create(self, entity: str, fields: dict) -> int:
        """POST {entity} → the new id. Not repeated after a lost reply (no idempotency key in
        Autotask): a TransportError with maybe_committed=True says look before re-creating."""
        _, body = await self._request("POST", entity, body=_without_id(fields), safe=False)
        return _item_id(body, entity)

    async def update(self, entity: str, id: int, fields: dict) -> int:
        """PATCH {entity} with only the given fields (never PUT, which nulls the rest).
        Setting fields to given values is idempotent, so a lost reply is retried."""
        _, body = await self._request("PATCH", entity, body={**_without_id(fields), "id": int(id)},
                                      safe=True)
        return _item_id(body, entity)

    async def create_child(self, parent: str, parent_id: int, child: str, fields: dict) -> int:
        """POST {parent}/{id}/{child}, e.g. ("PurchaseOrders", 7, "Items") or
        ("Companies", 0, "ToDos")."""
        _, body = await self._request("POST", f"{parent}/{int(parent_id)}/{child}",
                                      body=_without_id(fields), safe=False)
        return _item_id(body, f"{parent}/{child}")

    async def update_child(self, parent: str, parent_id: int, child: str, id: int,
                           fields: dict) -> int:
        _, body = await self._request("PATCH", f"{parent}/{int(parent_id)}/{child}",
                                      body={**_without_id(fields), "id": int(id)}, safe=True)
        return _item_id(body, f"{parent}/{child}")


def _without_id(fields: dict) -> dict:
    return {k: v for k, v in fields.items() if k.lower() != "id"}


def _item_id(body: Any, what: str) -> int:
    return answers.item_id(body, f"a write to {what}")


def _should_retry(resp: httpx.Response, safe: bool) -> bool:
    status = resp.status_code
    if status == 429:
        return True  # refused, not done
    if status >= 500:
        messages = _error_messages(_maybe_json(resp))
        if _is_thread_threshold(messages):
            return True  # the thread limit can arrive with a non-429 status
        if messages and not any("try again" in m.lower() for m in messages):
            # Autotask answers a refused write, or a zone lookup for an unknown user, with
            # 500 + errors: the same request fails the same way again.
            return False
        # No message (a gateway), or Autotask's own "An unexpected error has occurred.
        # Please try again.": worth another try when repeating the request is safe.
        return safe and status in (500, 502, 503, 504)
    return False


def _endpoint_of(url: str, api_base: str) -> str:
    """The thread-limit bucket: the object endpoint, lower-cased. `PurchaseOrders/query`,
    `PurchaseOrders/7` and `PurchaseOrders/query/next` share one; a child written through its
    parent (`PurchaseOrders/7/Items`) is its own object endpoint."""
    path = urlsplit(url).path
    base_path = urlsplit(api_base).path
    rest = path[len(base_path):] if path.lower().startswith(base_path.lower()) else path
    parts = [p.lower() for p in rest.strip("/").split("/") if p]
    if not parts:
        return "root"
    if len(parts) >= 3 and parts[1].isdigit() and parts[2] not in ("query", "entityinformation"):
        return f"{parts[0]}/{parts[2]}"
    return parts[0]

