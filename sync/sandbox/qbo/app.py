"""The QBO Accounting API v3 emulator: `/v3/company/{realmId}/...` over one company.

Around every call, in the real service's order: the Bearer token (via the OAuth emulator; 401
with the lower-case fault body, 403 for a token of another realm), the throttles (429 code 3001),
then the `requestid` replay store (§7), then the operation itself. JSON only: QBO answers XML
when `Accept` is not JSON, which no client of this project asks for.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from . import faults, query as ql, validation, xml
from .batch import run_batch
from .delete import delete_record
from .faults import QboFault, now_iso
from .limits import QboLimits, RateLimiter
from .seed import QboPrefs, QboSeed
from .store import CREATABLE, ENTITIES, META_FIELDS, NAME_LISTS, QUERYABLE, Store

if TYPE_CHECKING:
    from ..oauth import OAuthEmulator

PREFIX = "/v3/company/"
ADMIN = "/_sandbox/qbo"
PATH_ENTITIES = {e.lower(): e for e in CREATABLE}
MAX_REQUESTID = 50
MAX_BATCH_REQUESTID = 36


@dataclass
class QboSettings:
    # [U] §7: a reused requestid with another method/path/body → 400 code 600 (False: replay anyway).
    requestid_conflict_fault: bool = True
    # [U] §7: whether faults are replayed is undocumented. Default: only successes are remembered, so a
    # request that failed for a cause since fixed (an item made purchasable) can be retried as is.
    replay_faults: bool = False
    requestid_ttl_seconds: float = 24 * 3600


@dataclass
class _Stored:
    fingerprint: str
    status: int
    body: bytes
    media_type: str
    at: float


JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "application/xml;charset=UTF-8"


def _tid() -> dict[str, str]:
    return {"intuit_tid": f"1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]}"}


def _json(body: Any, status: int = 200, as_xml: bool = False) -> Response:
    if as_xml:
        return Response(xml.render(body), status_code=status, media_type=XML_TYPE, headers=_tid())
    raw = json.dumps(body, separators=(",", ":"), default=_default).encode("utf-8")
    return Response(raw, status_code=status, media_type=JSON_TYPE, headers=_tid())


def wants_xml(request: Request) -> bool:
    """§2: without `Accept: application/json` QBO answers in XML."""
    return "json" not in request.headers.get("accept", "").lower()


def _default(o: object) -> object:
    if isinstance(o, Decimal):
        return float(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


class QboEmulator:
    name = "qbo"

    def __init__(self, seed: QboSeed, sandbox: Any, oauth: "OAuthEmulator") -> None:
        self.seed = seed
        self.sandbox = sandbox
        self.oauth = oauth
        self.realm_id = seed.realm_id
        self.store = Store(seed)
        self.limits = QboLimits()
        self.limiter = RateLimiter(self.limits)
        self.settings = QboSettings()
        self._requests: dict[tuple[str, str], _Stored] = {}
        self._req_lock = threading.Lock()
        self._load(seed)

    def _load(self, seed: QboSeed) -> None:
        # Seeds go through the API's own rules, in dependency order, keeping their Ids.
        for entity, records in (("Account", seed.accounts), ("Vendor", seed.vendors),
                                ("Customer", seed.customers), ("Employee", seed.employees),
                                ("Item", seed.items), ("Bill", seed.bills)):
            for rec in records:
                active = rec.get("Active", True)
                try:
                    saved = validation.create(self.store, entity, {**rec, "Active": True}, keep_id=True,
                                              include=frozenset({"allowduplicatedocnum"}))
                except QboFault as fault:
                    raise ValueError(f"invalid seed {entity} {rec.get('Id')}: {fault}") from None
                saved["Active"] = active  # inactive records are valid seeds; references to them must be made first

    # ----- the Emulator protocol -------------------------------------------------------------

    def owns(self, path: str) -> bool:
        return path.startswith(PREFIX)

    def endpoint(self, scope: Scope) -> str:
        rest = scope["path"][len(PREFIX):]
        return rest.split("/", 1)[0] or "unknown"

    def fault_response(self, kind: str) -> Response:
        fault = faults.throttled() if kind == "429" else faults.system_error(int(kind) if kind.isdigit() else 500)
        return _json(fault.body(), fault.status)

    def snapshot(self) -> dict:
        snap = self.store.snapshot()
        snap["limits"] = self.limits.to_dict()
        snap["settings"] = dataclasses.asdict(self.settings)
        return snap

    def credentials(self, base_url: str) -> dict:
        return {"realm_id": self.realm_id, "api_url": base_url.rstrip("/")}

    # ----- requests --------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self._handle(request)
        await response(scope, receive, send)

    async def _handle(self, request: Request) -> Response:
        parts = request.url.path[len(PREFIX):].strip("/").split("/")
        realm, rest = parts[0], parts[1:]

        as_xml = wants_xml(request)
        denied = self._authenticate(request, realm, as_xml)
        if denied is not None:
            return denied

        is_batch = rest == ["batch"]
        if getattr(self.sandbox.knobs, "limits_enabled", True) if self.sandbox is not None else True:
            if not self.limiter.admit(realm, self.oauth.client_id, batch=is_batch and request.method == "POST"):
                fault = faults.throttled()
                return _json(fault.body(), 429, as_xml)

        body = await request.body()
        params = {k: v[-1] for k, v in parse_qs(request.url.query, keep_blank_values=True).items()}
        params = {k.lower(): v for k, v in params.items()}
        request_id = params.get("requestid")
        if request_id is None:
            return self._dispatch(request.method, rest, params, body, as_xml=as_xml)

        limit = MAX_BATCH_REQUESTID if is_batch else MAX_REQUESTID
        if not request_id or len(request_id) > limit:
            fault = faults.too_long("requestid", limit, len(request_id))
            return _json(fault.body(), fault.status, as_xml)
        fingerprint = hashlib.sha256(b"\0".join([request.method.encode(), request.url.path.lower().encode(),
                                                 body])).hexdigest()
        key = (realm, request_id)
        now = time.monotonic()
        with self._req_lock:
            stored = self._requests.get(key)
            if stored is not None and now - stored.at > self.settings.requestid_ttl_seconds:
                del self._requests[key]
                stored = None
        if stored is not None:
            if stored.fingerprint != fingerprint and self.settings.requestid_conflict_fault:
                fault = faults.duplicate_request_id()
                return _json(fault.body(), fault.status, as_xml)
            return Response(stored.body, status_code=stored.status, media_type=stored.media_type, headers=_tid())
        response = self._dispatch(request.method, rest, params, body, with_requestid=True, as_xml=as_xml)
        if response.status_code == 200 or self.settings.replay_faults:
            # Stored before the reply leaves: a reply lost on the way is replayed on retry.
            with self._req_lock:
                self._requests[key] = _Stored(fingerprint, response.status_code, bytes(response.body),
                                              XML_TYPE if as_xml else JSON_TYPE, now)
        return response

    def _authenticate(self, request: Request, realm: str, as_xml: bool) -> Response | None:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        verdict = self.oauth.check_access(token, realm) if token else "invalid"
        if as_xml and verdict == "invalid":
            return _json(xml.auth_failure(), 401, as_xml=True)
        if as_xml and (verdict == "forbidden" or realm != self.realm_id):
            return _json({"Fault": {"type": "AuthorizationFault", "Error": [{
                "code": "3100", "Message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                "Detail": ""}]}}, 403, as_xml=True)
        if not token:
            return _json(faults.auth_body("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                          "Authorization header missing or not a Bearer token", "AUTHENTICATION"), 401)
        if verdict == "invalid":
            detail = ("Malformed bearer token: too short or too long" if len(token) < 20
                      else "Token expired or revoked")  # [U] §5.2: the same code and message either way
            return _json(faults.auth_body("3200", "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                          detail, "AUTHENTICATION"), 401)
        if verdict == "forbidden" or realm != self.realm_id:
            return _json(faults.auth_body("3100", "message=ApplicationAuthorizationFailed; errorCode=003100; "
                                          "statusCode=403", "", "AUTHORIZATION"), 403)
        return None

    def _dispatch(self, method: str, rest: list[str], params: dict[str, str], body: bytes,
                  with_requestid: bool = False, as_xml: bool = False) -> Response:
        try:
            return _json(self._operation(method, rest, params, body, with_requestid), as_xml=as_xml)
        except QboFault as fault:
            return _json(fault.body(), fault.status, as_xml)

    def _operation(self, method: str, rest: list[str], params: dict[str, str], body: bytes,
                   with_requestid: bool) -> dict:
        head = rest[0].lower() if rest else ""
        include = frozenset(params.get("include", "").replace(" ", "").lower().split(",")) - {""}
        if head == "query" and len(rest) == 1 and method in ("GET", "POST"):
            text = params.get("query", "") if method == "GET" else body.decode("utf-8", "replace")
            return self.run_query(text)
        if head == "preferences" and len(rest) == 1 and method == "GET":
            return {"Preferences": self.store.preferences(), "time": now_iso()}
        if head == "companyinfo" and len(rest) == 2 and method == "GET":
            if rest[1] != self.realm_id:
                raise faults.not_found("CompanyInfo", rest[1])
            return {"CompanyInfo": copy.deepcopy(self.store.company_info), "time": now_iso()}
        if head == "batch" and len(rest) == 1 and method == "POST":
            return run_batch(self._payload(body), self.store, self.limits.batch_max_items, with_requestid,
                             self.run_query)
        entity = PATH_ENTITIES.get(head)
        if entity is None:
            raise faults.unsupported(f"{method} /{'/'.join(rest)}")
        if method == "GET" and len(rest) == 2:
            rec = self.store.get(entity, rest[1])
            if rec is None:
                raise faults.not_found(entity, rest[1])
            return {entity: copy.deepcopy(rec), "time": now_iso()}
        if method == "POST" and len(rest) == 1:
            payload = self._payload(body)
            operation = params.get("operation", "").lower()
            if operation == "delete":
                return {entity: delete_record(self.store, entity, payload), "time": now_iso()}
            if operation not in ("", "create", "update"):
                raise faults.unsupported(operation)
            if isinstance(payload, dict) and payload.get("Id") not in (None, ""):
                rec = validation.update(self.store, entity, payload, include=include)
            else:
                rec = validation.create(self.store, entity, payload, include=include)
            return {entity: copy.deepcopy(rec), "time": now_iso()}
        raise faults.unsupported(f"{method} /{'/'.join(rest)}")

    @staticmethod
    def _payload(body: bytes) -> Any:
        try:
            return json.loads(body or b"null")
        except (ValueError, UnicodeDecodeError):
            raise QboFault("2010", "Request has invalid or unsupported property",
                           "Property Name:Can not parse the request body specified is unsupported or invalid") from None

    def run_query(self, text: str) -> dict:
        q = ql.parse(text)
        names = {e.lower(): e for e in QUERYABLE}
        entity = names.get(q.entity.lower())
        if entity is None:
            raise faults.query_invalid(f"Entity {q.entity} is not supported")
        allowed = {f.lower() for f in QUERYABLE[entity] | META_FIELDS}
        for field in q.fields:
            if field.lower() not in allowed:
                raise faults.query_invalid(f"property '{field}' is not a property of {entity}")
        for field in [c.field for c in q.where] + [o[0] for o in q.order]:
            if field.lower() not in allowed:
                raise faults.query_invalid(f"property '{field}' is not queryable")
        for cond in q.where:
            if cond.field.lower() == "id" and cond.op not in ("=", "in"):
                raise faults.query_invalid(f"Operator {cond.op.upper()} is not supported for property Id")
        if entity in NAME_LISTS and not any(c.field.lower() == "active" for c in q.where):
            q.where.append(ql.Condition("Active", "=", True))  # §3: inactive records only when asked for
        with self.store.lock:
            if entity == "Preferences":
                records = [self.store.preferences()]
            elif entity == "CompanyInfo":
                records = [copy.deepcopy(self.store.company_info)]
            else:
                records = [r for r in self.store.narrowed(entity, q.where) if (entity, r["Id"]) not in self.store.hidden]
            page, total = ql.select(q, records)
            page = copy.deepcopy(page)
        if q.count:
            return {"QueryResponse": {"totalCount": total}, "time": now_iso()}
        if not page:
            return {"QueryResponse": {}, "time": now_iso()}
        # maxResults is the number returned (XSD); totalCount likewise counts this page.
        return {"QueryResponse": {entity: page, "startPosition": q.start, "maxResults": len(page),
                                  "totalCount": len(page)}, "time": now_iso()}

    # ----- admin -----------------------------------------------------------------------------

    def admin_routes(self) -> list[Route]:
        return [
            Route(ADMIN + "/entities/{entity}", self._admin_entities, methods=["GET", "POST"]),
            Route(ADMIN + "/entities/{entity}/{id}", self._admin_entity, methods=["GET", "PATCH", "DELETE"]),
            Route(ADMIN + "/preferences", self._admin_prefs, methods=["GET", "PATCH"]),
            Route(ADMIN + "/limits", self._admin_limits, methods=["GET", "PATCH"]),
            Route(ADMIN + "/settings", self._admin_settings, methods=["GET", "PATCH"]),
        ]

    @staticmethod
    async def _admin_body(request: Request) -> dict:
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            raise _AdminProblem("body is not JSON") from None
        if not isinstance(body, dict):
            raise _AdminProblem("body must be a JSON object")
        return body

    def _admin_entity_name(self, request: Request) -> str:
        wanted = request.path_params["entity"].lower()
        for e in ENTITIES:
            if e.lower() == wanted:
                return e
        raise _AdminProblem(f"unknown entity {request.path_params['entity']!r}; expected one of {', '.join(ENTITIES)}",
                            404)

    async def _admin_entities(self, request: Request) -> Response:
        try:
            entity = self._admin_entity_name(request)
            if request.method == "GET":
                return JSONResponse(copy.deepcopy(self.store.all(entity)))
            body = await self._admin_body(request)
            try:
                rec = validation.create(self.store, entity, body, keep_id=True,
                                        include=frozenset({"allowduplicatedocnum"}))
            except QboFault as fault:
                return JSONResponse(fault.body(), status_code=400)
            except ValueError as exc:
                raise _AdminProblem(str(exc)) from None
            return JSONResponse(copy.deepcopy(rec), status_code=201)
        except _AdminProblem as p:
            return p.response()

    async def _admin_entity(self, request: Request) -> Response:
        try:
            entity = self._admin_entity_name(request)
            rid = request.path_params["id"]
            if self.store.get(entity, rid) is None:
                raise _AdminProblem(f"no {entity} with Id {rid}", 404)
            if request.method == "GET":
                return JSONResponse(copy.deepcopy(self.store.get(entity, rid)))
            if request.method == "DELETE":
                # As someone deleting it in QuickBooks would: the same rule as ?operation=delete.
                try:
                    done = delete_record(self.store, entity, {"Id": rid, "SyncToken": self.store.get(entity, rid)["SyncToken"]})
                except QboFault as fault:
                    return JSONResponse(fault.body(), status_code=400)
                return JSONResponse(done)
            body = await self._admin_body(request)
            try:
                # Direct fixes (make an item purchasable, rename a customer): merged, still validated.
                rec = validation.update(self.store, entity, {**body, "Id": rid}, check_sync_token=False,
                                        include=frozenset({"allowduplicatedocnum"}))
            except QboFault as fault:
                return JSONResponse(fault.body(), status_code=400)
            return JSONResponse(copy.deepcopy(rec))
        except _AdminProblem as p:
            return p.response()

    async def _admin_prefs(self, request: Request) -> Response:
        try:
            if request.method == "PATCH":
                body = await self._admin_body(request)
                fields = {f.name: f.type for f in dataclasses.fields(QboPrefs)}
                unknown = set(body) - set(fields)
                if unknown:
                    raise _AdminProblem(f"unknown preferences: {', '.join(sorted(unknown))}")
                checks = {"multi_currency": bool, "warn_duplicate_bill_number": bool, "check_line_amounts": bool,
                          "home_currency": str, "duplicate_bill_scope": str, "exchange_rates": dict}
                for key, value in body.items():
                    if not isinstance(value, checks[key]):
                        raise _AdminProblem(f"{key} must be {checks[key].__name__}")
                if body.get("duplicate_bill_scope", "vendor") not in ("vendor", "all"):
                    raise _AdminProblem("duplicate_bill_scope must be 'vendor' or 'all'")
                with self.store.lock:
                    for key, value in body.items():
                        setattr(self.store.prefs, key, value)
                    self.store.touch_prefs()
            return JSONResponse({"prefs": dataclasses.asdict(self.store.prefs),
                                 "Preferences": self.store.preferences()})
        except _AdminProblem as p:
            return p.response()

    async def _admin_limits(self, request: Request) -> Response:
        return await self._admin_dataclass(request, self.limits, int, minimum=1)

    async def _admin_settings(self, request: Request) -> Response:
        return await self._admin_dataclass(request, self.settings, None, minimum=0)

    async def _admin_dataclass(self, request: Request, target: Any, kind: type | None, minimum: int) -> Response:
        try:
            if request.method == "PATCH":
                body = await self._admin_body(request)
                current = dataclasses.asdict(target)
                unknown = set(body) - set(current)
                if unknown:
                    raise _AdminProblem(f"unknown fields: {', '.join(sorted(unknown))}")
                for key, value in body.items():
                    want = kind or type(current[key])
                    ok = isinstance(value, bool) if want is bool else (
                        isinstance(value, (int, float)) and not isinstance(value, bool)
                        and (want is float or isinstance(value, int)) and value >= minimum)
                    if not ok:
                        raise _AdminProblem(f"{key} must be {want.__name__}" + ("" if want is bool else f" >= {minimum}"))
                for key, value in body.items():
                    setattr(target, key, value)
            return JSONResponse(dataclasses.asdict(target))
        except _AdminProblem as p:
            return p.response()


class _AdminProblem(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def response(self) -> Response:
        return JSONResponse({"error": str(self)}, status_code=self.status)
