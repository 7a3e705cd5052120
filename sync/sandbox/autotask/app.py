"""The Autotask REST v1.0 emulator: routing, authentication, limits, queries and paging.

Paths are matched case-insensitively under /atservicesrest/v1.0/ (reference §1.2); the verbs per
entity are those of the 2022 swagger (reference §3.9), anything else is 405/404 as a web server
answers. Every answer that is not a success is {"errors":[...]} (reference §6.1).
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .admin import admin_routes
from .limits import HourlyBudget, budget_message, thread_message
from .query import MAX_PAGE, QueryError, by_id, matches, parse_query
from .schema import ENTITIES, EntityDef, child_of, entity as find_entity
from .seed import AutotaskSeed
from .store import Store, WriteError

PREFIX = "/atservicesrest/"
ZONE_PATH = "ATServicesRest/"
SERVICE = "autotask"
CREDENTIALS_500 = "An error has occurred while processing the request."


def errors(status: int, *messages: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": list(messages)}, status_code=status, headers=headers)


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


class AutotaskEmulator:
    name = SERVICE

    def __init__(self, seed: AutotaskSeed, sandbox: Any) -> None:
        self.seed = seed
        self.sandbox = sandbox
        self.store = Store(seed)
        self.limits = copy.deepcopy(seed.limits)  # admin changes must not leak into the seed
        self.budget = HourlyBudget(self.limits)

    # -- frame interface --------------------------------------------------------------------
    def owns(self, path: str) -> bool:
        return path.lower().startswith(PREFIX)

    def endpoint(self, scope: Scope) -> str:
        """The thread-limit bucket: integration code (hashed: it is a credential) + object endpoint."""
        parts = _segments(scope["path"])
        if parts and parts[0] == "zoneinformation":
            return "zoneinformation"
        obj = parts[0] if parts else ""
        if len(parts) >= 3 and parts[1].isdigit() and parts[2] not in ("query", "entityinformation"):
            obj = f"{parts[0]}/{parts[2]}"  # child endpoint, e.g. purchaseorders/items
        code = _header(scope, b"apiintegrationcode") or ""
        tag = hashlib.sha256(code.encode()).hexdigest()[:8] if code else "anonymous"
        return f"{tag}|{obj}"

    def fault_response(self, kind: str) -> Response:
        if kind == "429":
            return errors(429, thread_message(self.limits.thread_limit))
        if kind == "500":
            return errors(500, "An unexpected error has occurred. Please try again.")
        # A gateway answers 502/503 before the API does: HTML, not JSON.
        text = {"502": "Bad Gateway", "503": "Service Unavailable"}.get(kind, "Service Unavailable")
        return Response(f"<html><body><h1>{kind} {text}</h1></body></html>", status_code=int(kind) if kind.isdigit() else 503,
                        media_type="text/html")

    def snapshot(self) -> dict:
        return {
            "entities": {name: [self.store.public(ENTITIES[name], r) for _, r in sorted(table.items())]
                         for name, table in self.store.tables.items()},
            "picklists": {e: {f: [pv.to_json() for pv in values] for f, values in fields.items()}
                          for e, fields in self.store.picklists.items()},
            "limits": self.limits_state(),
        }

    def limits_state(self) -> dict:
        return {"thread_limit": self.limits.thread_limit, "hourly_threshold": self.limits.hourly_threshold,
                "timeframe_minutes": self.limits.timeframe_minutes,
                "slowdown": [list(step) for step in self.limits.slowdown],
                "current_count": self.budget.count(), "limits_enabled": self.sandbox.knobs.limits_enabled}

    def credentials(self, base_url: str) -> dict:
        base = base_url.rstrip("/")
        return {"username": self.seed.username, "integration_code": self.seed.integration_code,
                "secret": self.seed.secret, "zone_lookup_url": base + "/atservicesrest/v1.0/zoneInformation",
                "zone_url": base + "/" + ZONE_PATH}

    def admin_routes(self) -> list[Route]:
        return admin_routes(self.store, self.limits, self.budget, self.limits_state)

    # -- ASGI ---------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        try:
            response = await self._handle(request)
        except _Refused as refused:
            response = refused.response
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        raw = request.url.path
        rest = raw[len(PREFIX):].strip("/")
        version, _, tail = rest.partition("/")
        if version.lower() != "v1.0":
            return errors(404, f"No HTTP resource was found that matches the request URI '{request.url}'.")
        parts = [p for p in tail.split("/") if p]
        method = request.method
        if parts and parts[0].lower() == "zoneinformation" and len(parts) == 1:
            if method != "GET":
                return _not_allowed(method)
            return self._zone(request)

        self._authenticate(request)
        if self.sandbox.knobs.limits_enabled:
            bucket = self.endpoint(request.scope)
            if self.sandbox.stats.in_flight(SERVICE, bucket) > self.limits.thread_limit:
                return errors(429, thread_message(self.limits.thread_limit))
            usage = self.budget.admit()
            if usage is None:
                return errors(429, budget_message(self.limits.hourly_threshold, self.limits.timeframe_minutes))
            delay = self.budget.delay_for(usage)
            if delay > 0:
                await asyncio.sleep(delay)
        else:
            self.budget.admit()  # usage still counts; only refusals and slow-down are switched off
        try:
            return await self._route(request, parts)
        except (QueryError, WriteError) as exc:
            return errors(500, str(exc))

    def _zone(self, request: Request) -> Response:
        user = request.query_params.get("user", "")
        if user.lower() != self.seed.username.lower():
            # UNVERIFIED: one client says 500 for an unknown user, a fixture shows 404 (§1.2).
            return errors(500, "Unable to find user")
        base = str(request.base_url).rstrip("/") + "/"
        return JSONResponse({"zoneName": self.seed.zone_name, "url": base + ZONE_PATH,
                             "webUrl": base, "ci": self.seed.ci})

    def _authenticate(self, request: Request) -> None:
        h = request.headers

        def same(header: str, want: str) -> bool:
            return hmac.compare_digest(h.get(header, "").encode(), want.encode())

        if not same("username", self.seed.username) or not same("apiintegrationcode", self.seed.integration_code):
            # Real Autotask answers an unknown API user, or a known one with a wrong integration
            # code, with HTTP 500, not 401 (apigrate/autotask-restapi#19, its maintainer). The
            # {"errors": [...]} shape is Autotask's; the text is UNVERIFIED, so it names nothing a
            # client could key on and does not say "try again" (clients must not retry it).
            raise _Refused(errors(500, CREDENTIALS_500))
        if not same("secret", self.seed.secret):
            # A known user and code with a wrong secret: 401 (same source). Body UNVERIFIED (§8).
            raise _Refused(errors(401, "Authorization has been denied for this request."))

    # -- routing --------------------------------------------------------------------------------
    async def _route(self, request: Request, parts: list[str]) -> Response:
        method = request.method
        if not parts:
            return _no_resource(request)
        head = parts[0].lower()
        if head == "thresholdinformation" and len(parts) == 1:
            if method != "GET":
                return _not_allowed(method)
            return JSONResponse({"externalRequestThreshold": self.limits.hourly_threshold,
                                 "requestThresholdTimeframe": self.limits.timeframe_minutes,
                                 "currentTimeframeRequestCount": self.budget.count()})
        e = find_entity(parts[0])
        if e is None:
            return _no_resource(request)
        rest = [p.lower() for p in parts[1:]]

        if not rest:  # /{Entity}
            allowed = e.root_verbs
            if method not in allowed or e.parent:
                return _not_allowed(method) if allowed else _no_resource(request)
            body = await _body(request)
            if method == "POST":
                return JSONResponse({"itemId": self.store.create(e, body, impersonate=_impersonation(request))})
            return JSONResponse({"itemId": self.store.update(e, body, replace=method == "PUT")})

        if rest[0] == "query":
            if len(rest) == 1:
                return await self._query(request, e, method, count=False)
            if rest[1:] == ["count"]:
                return await self._query(request, e, method, count=True)
            if rest[1:] == ["next"] or rest[1:] == ["prev"]:
                return await self._query(request, e, method, count=False, paged=True)
            return _no_resource(request)

        if rest[0] == "entityinformation":
            if method != "GET":
                return _not_allowed(method)
            if len(rest) == 1:
                return JSONResponse({"info": self._info(e)})
            if rest[1:] == ["fields"]:
                return JSONResponse({"fields": self._fields(e)})
            if rest[1:] == ["userdefinedfields"]:
                return JSONResponse({"fields": self._udf_fields(e)})
            return _no_resource(request)

        rid = _int(parts[1])
        if rid is None:
            return _no_resource(request)
        if len(rest) == 1:  # /{Entity}/{id}
            if method == "GET":
                record = self.store.get(e, rid)
                # Missing record: 200 {"item": null} (inferred from django-autotask, §2.5; UNVERIFIED).
                return JSONResponse({"item": self.store.public(e, record) if record else None})
            if method == "DELETE" and e.can_delete:
                return JSONResponse({"itemId": self.store.delete(e, rid)})
            return _not_allowed(method)

        child = child_of(e, parts[2])
        if child is None:
            return _no_resource(request)
        if self.store.get(e, rid) is None:
            return errors(500, f"No matching records found. {e.name} with id {rid} does not exist.")
        if len(rest) == 2:  # /{Parent}/{id}/{Child}
            if method == "GET":
                records = [r for _, r in sorted(self.store.tables[child.name].items())
                           if r.get(child.parent_field) == rid][:MAX_PAGE]
                return JSONResponse({"items": [self.store.public(child, r) for r in records],
                                     "pageDetails": {"count": len(records), "requestCount": MAX_PAGE,
                                                     "prevPageUrl": None, "nextPageUrl": None}})
            body = await _body(request)
            if method == "POST":
                return JSONResponse({"itemId": self.store.create(child, body, parent_id=rid,
                                                                 impersonate=_impersonation(request))})
            if method in ("PATCH", "PUT"):
                return JSONResponse({"itemId": self.store.update(child, body, parent_id=rid, replace=method == "PUT")})
            return _not_allowed(method)
        if rest[2] == "entityinformation":  # /{Parent}/{id}/{Child}/entityInformation[/fields|/userDefinedFields]
            if method != "GET":
                return _not_allowed(method)
            if len(rest) == 3:
                return JSONResponse({"info": self._info(child)})
            if rest[3:] == ["fields"]:
                return JSONResponse({"fields": self._fields(child)})
            if rest[3:] == ["userdefinedfields"]:
                return JSONResponse({"fields": self._udf_fields(child)})
            return _no_resource(request)
        if len(rest) == 3:  # /{Parent}/{id}/{Child}/{childId}
            cid = _int(parts[3])
            if cid is None:
                return _no_resource(request)
            record = self.store.get(child, cid)
            if record is not None and record.get(child.parent_field) != rid:
                record = None
            if method == "GET":
                return JSONResponse({"item": self.store.public(child, record) if record else None})
            if method == "DELETE" and child.name == "CompanyToDos":  # swagger: ToDos/{id} has DELETE
                if record is None:
                    return errors(500, "No message. No matching records found. The logged in Resource may not have "
                                       "the required permissions to delete the data.")
                return JSONResponse({"itemId": self.store.delete(child, cid)})
            return _not_allowed(method)
        return _no_resource(request)

    # -- queries and paging --------------------------------------------------------------------
    async def _query(self, request: Request, e: EntityDef, method: str, count: bool, paged: bool = False) -> Response:
        if method not in ("GET", "POST"):
            return _not_allowed(method)
        paging: dict[str, Any] | None = None
        search = request.query_params.get("search")
        if paged:
            paging = _paging_token(request.query_params.get("paging"))
        if search is not None:
            try:
                raw_query = json.loads(search)
            except ValueError:
                raise QueryError("The search parameter is not valid JSON.") from None
        elif method == "POST":
            raw_query = await _body(request)
        else:
            raise QueryError("A GET query needs a search parameter with the query JSON.")
        # On .../query/next the URL's own search wins: a POST may resend the original body or none.
        query = parse_query(raw_query, e, self.store.udf_types(e))
        udfs = self.store.udf_types(e)
        table = self.store.tables[e.name]
        ids = by_id(query.filter)  # products by id: look at those, not at 20,000 (issue 17)
        scope = sorted(table.items()) if ids is None else sorted((i, table[i]) for i in ids if i in table)
        hits = [r for _, r in scope if matches(r, query.filter, e, udfs)]
        if count:
            return JSONResponse({"queryCount": len(hits)})
        size = int(paging["pageSize"]) if paging else query.max_records
        if paging and "after" in paging:
            page = [r for r in hits if r["id"] > paging["after"]][:size]
        elif paging and "before" in paging:
            page = [r for r in hits if r["id"] < paging["before"]][-size:]
        else:
            page = hits[:size]
        next_url = prev_url = None
        if page:
            if hits and hits[-1]["id"] > page[-1]["id"]:
                next_url = self._page_url(request, e, raw_query, {"pageSize": size, "after": page[-1]["id"]})
            if hits[0]["id"] < page[0]["id"]:
                prev_url = self._page_url(request, e, raw_query, {"pageSize": size, "before": page[0]["id"]})
        return JSONResponse({
            "items": [self.store.public(e, r, query.include_fields) for r in page],
            "pageDetails": {"count": len(page), "requestCount": size, "prevPageUrl": prev_url, "nextPageUrl": next_url},
        })

    def _page_url(self, request: Request, e: EntityDef, raw_query: Any, paging: dict) -> str:
        # Shape observed in the wild: .../{Entity}/query/next?paging=<json>&search=<json> (§2.4).
        # Clients must treat it as opaque; the emulator pages by id so inserts do not shift pages.
        base = str(request.base_url).rstrip("/") + "/" + ZONE_PATH + "V1.0/"
        token = json.dumps(paging, separators=(",", ":"))
        search = json.dumps(raw_query, separators=(",", ":"))
        return f"{base}{e.name}/query/next?paging={quote(token, safe='')}&search={quote(search, safe='')}"

    # -- entityInformation ----------------------------------------------------------------------------
    def _info(self, e: EntityDef) -> dict:
        can_create = "POST" in e.root_verbs or e.parent is not None
        can_update = "PATCH" in e.root_verbs or e.parent is not None
        can_delete = e.can_delete or e.name == "CompanyToDos"
        # can*: what the entity supports; userAccessFor*: what this API user's security level
        # allows. userAccessFor* is an untyped object in the swagger; "All"/"None" is a guess
        # (UNVERIFIED), so the product reads either field as a refusal.
        user_create, user_update = can_create and self.store.may(e, "create"), can_update and self.store.may(e, "update")
        return {"name": e.name[:-1] if not e.name.endswith("ies") else e.name[:-3] + "y",
                "canCreate": can_create, "canDelete": can_delete, "canQuery": True, "canUpdate": can_update,
                "userAccessForCreate": "All" if user_create else "None",
                "userAccessForDelete": "All" if can_delete else "None",
                "userAccessForQuery": "All", "userAccessForUpdate": "All" if user_update else "None",
                "hasUserDefinedFields": e.has_udfs, "supportsWebhookCallouts": False}

    def _fields(self, e: EntityDef) -> list[dict]:
        out = []
        for name, dtype in e.fields.items():
            is_pick = name in e.picklists
            target = e.references.get(name, "")
            out.append({
                "name": name, "dataType": dtype, "length": e.lengths.get(name, 0),
                "isRequired": name in e.required or name == "id",
                "isReadOnly": name == "id" or name in e.read_only,
                "isQueryable": True, "isReference": bool(target),
                "referenceEntityType": target[:-3] + "y" if target.endswith("ies") else target[:-1] if target else "",
                "isPickList": is_pick,
                "picklistValues": [pv.to_json() for pv in self.store.picklist(e, name)] if is_pick else None,
                "picklistParentValueField": "", "isSupportedWebhookField": False,
            })
        return out

    def _udf_fields(self, e: EntityDef) -> list[dict]:
        return [{"name": u.name, "label": u.label or u.name, "type": u.type, "length": 0, "description": "",
                 "isRequired": u.isRequired, "isReadOnly": False, "isQueryable": True, "isReference": False,
                 "referenceEntityType": "", "isPickList": False, "picklistValues": None,
                 "picklistParentValueField": "", "defaultValue": "", "isSupportedWebhookField": False}
                for u in self.store.udfs.get(e.name, [])]


def _segments(path: str) -> list[str]:
    lowered = path.lower()
    if not lowered.startswith(PREFIX):
        return []
    parts = [p for p in lowered[len(PREFIX):].split("/") if p]
    return parts[1:] if parts and parts[0] == "v1.0" else parts


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _impersonation(request: Request) -> int | None:
    raw = request.headers.get("impersonationresourceid")
    if raw is None or not raw.strip():
        return None
    value = _int(raw.strip())
    if value is None:
        raise WriteError(f"ImpersonationResourceId '{raw}' is not a valid resource id.")
    return value


def _int(text: str) -> int | None:
    return int(text) if text.lstrip("-").isdigit() else None


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise WriteError("The request body is empty; a JSON object is required.")
    try:
        return json.loads(raw)
    except ValueError:
        raise WriteError("The request body is not valid JSON.") from None


def _paging_token(text: str | None) -> dict[str, Any]:
    try:
        token = json.loads(text or "")
        size = token["pageSize"]
        ok = isinstance(size, int) and 1 <= size <= MAX_PAGE and (
            isinstance(token.get("after"), int) or isinstance(token.get("before"), int))
    except (ValueError, TypeError, KeyError):
        ok = False
    if not ok:
        raise QueryError("The paging parameter is missing or invalid; use the nextPageUrl/prevPageUrl as returned.")
    return token


def _not_allowed(method: str) -> Response:
    # ASP.NET Web API answers an unsupported verb with 405; exact body UNVERIFIED.
    return errors(405, f"The requested resource does not support http method '{method}'.")


def _no_resource(request: Request) -> Response:
    return errors(404, f"No HTTP resource was found that matches the request URI '{request.url}'.")
