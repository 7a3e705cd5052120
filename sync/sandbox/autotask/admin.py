"""Admin routes under /_sandbox/autotask/: inspect and change the tenant directly (no business
rules), so tests and the demo can set up or "fix" a cause; set picklists, limits and usage."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .limits import HourlyBudget
from .seed import AutotaskLimits, PicklistValue
from .store import Store

BASE = "/_sandbox/autotask"


class _Bad(Exception):
    pass


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise _Bad(f"body is not JSON: {exc}") from None


def admin_routes(store: Store, limits: AutotaskLimits, budget: HourlyBudget,
                 limits_state: Callable[[], dict]) -> list[Route]:
    """The admin routes over the emulator's parts (passed in, so this module never imports the app)."""

    def guarded(handler):
        async def run(request: Request) -> Response:
            try:
                return await handler(request)
            except (_Bad, ValueError, KeyError, TypeError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return run

    def entity_of(request: Request):
        return store.entity(request.path_params["entity"])

    async def list_entities(request: Request) -> Response:
        return JSONResponse({name: len(table) for name, table in store.tables.items()})

    async def records(request: Request) -> Response:
        e = entity_of(request)
        if request.method == "POST":
            body = await _json(request)
            if not isinstance(body, dict):
                raise _Bad("body must be a JSON object (a record)")
            if body.get("id") is not None and store.get(e, int(body["id"])) is not None:
                raise _Bad(f"{e.name} {body['id']} already exists")
            stored = store.put_raw(e, body)
            return JSONResponse(store.public(e, stored), status_code=201)
        return JSONResponse([store.public(e, r) for _, r in sorted(store.tables[e.name].items())])

    async def record(request: Request) -> Response:
        e = entity_of(request)
        rid = int(request.path_params["id"])
        current = store.get(e, rid)
        if current is None:
            return JSONResponse({"error": f"{e.name} {rid} not found"}, status_code=404)
        if request.method == "DELETE":
            store.delete_raw(e, rid)
            return JSONResponse({"deleted": rid})
        if request.method == "PATCH":
            body = await _json(request)
            if not isinstance(body, dict):
                raise _Bad("body must be a JSON object of fields")
            merged = {k: v for k, v in current.items()}
            for key, value in body.items():
                name = "userDefinedFields" if key.lower() == "userdefinedfields" else e.canonical(key)
                if name is None:
                    raise _Bad(f"{e.name} has no field {key!r}")
                if name == "id" and value != rid:
                    raise _Bad("the id of a record cannot change")
                merged[name] = value
            current = store.put_raw(e, merged)
        return JSONResponse(store.public(e, current))

    async def picklist(request: Request) -> Response:
        e = entity_of(request)
        name = e.canonical(request.path_params["field"])
        if name is None:
            raise _Bad(f"{e.name} has no field {request.path_params['field']!r}")
        if request.method == "PUT":
            body = await _json(request)
            if not isinstance(body, list):
                raise _Bad("body must be an array of picklist values {value, label, ...}")
            values = []
            for i, entry in enumerate(body):
                if not isinstance(entry, dict) or "value" not in entry or "label" not in entry:
                    raise _Bad("each picklist value needs value and label")
                values.append(PicklistValue(**{"sortOrder": i, **entry, "value": str(entry["value"])}))
            store.picklists.setdefault(e.name, {})[name] = values
        return JSONResponse([pv.to_json() for pv in store.picklist(e, name)])

    async def limits_route(request: Request) -> Response:
        if request.method == "PATCH":
            body = await _json(request)
            allowed = {"thread_limit", "hourly_threshold", "timeframe_minutes", "slowdown"}
            unknown = set(body) - allowed
            if unknown:
                raise _Bad(f"unknown limits: {', '.join(sorted(unknown))}")
            for key in ("thread_limit", "hourly_threshold"):
                if key in body:
                    if not isinstance(body[key], int) or isinstance(body[key], bool) or body[key] < 1:
                        raise _Bad(f"{key} must be an integer >= 1")
                    setattr(limits, key, body[key])
            if "timeframe_minutes" in body:
                # Whole minutes as Autotask has them (60); a fraction gives tests a short "hour".
                minutes = body["timeframe_minutes"]
                if not isinstance(minutes, (int, float)) or isinstance(minutes, bool) or not 0 < minutes <= 1440:
                    raise _Bad("timeframe_minutes must be a number of minutes > 0 and <= 1440")
                limits.timeframe_minutes = minutes
            if "slowdown" in body:
                steps = body["slowdown"]
                if not isinstance(steps, list) or not all(
                        isinstance(s, list) and len(s) == 2 and all(isinstance(x, (int, float)) for x in s) for s in steps):
                    raise _Bad("slowdown must be a list of [usage fraction, seconds] pairs")
                limits.slowdown = [(float(a), float(b)) for a, b in steps]
        return JSONResponse(limits_state())

    async def usage_route(request: Request) -> Response:
        if request.method == "PUT":
            body = await _json(request)
            count = body.get("count") if isinstance(body, dict) else None
            if not isinstance(count, int) or isinstance(count, bool) or count < 0:
                raise _Bad("body must be {\"count\": n} with n >= 0")
            budget.set_count(count)
        return JSONResponse({"current_count": budget.count(), "hourly_threshold": limits.hourly_threshold,
                             "timeframe_minutes": limits.timeframe_minutes, "peak_arrived": budget.peak_arrived})

    async def rights_route(request: Request) -> Response:
        # {"PurchaseOrders": ["update"], "CompanyToDos": ["create"]}: what the API user may not do.
        if request.method == "PUT":
            body = await _json(request)
            if not isinstance(body, dict) or not all(
                    isinstance(v, list) and set(v) <= {"create", "update"} for v in body.values()):
                raise _Bad('body must be {"Entity": ["create" | "update", ...], ...}')
            denied = {store.entity(str(name)).name: set(v) for name, v in body.items() if v}
            store.denied = denied
        return JSONResponse({name: sorted(v) for name, v in store.denied.items()})

    return [
        Route(BASE + "/entities", guarded(list_entities)),
        Route(BASE + "/rights", guarded(rights_route), methods=["GET", "PUT"]),
        Route(BASE + "/entities/{entity}", guarded(records), methods=["GET", "POST"]),
        Route(BASE + "/entities/{entity}/{id:int}", guarded(record), methods=["GET", "PATCH", "DELETE"]),
        Route(BASE + "/picklists/{entity}/{field}", guarded(picklist), methods=["GET", "PUT"]),
        Route(BASE + "/limits", guarded(limits_route), methods=["GET", "PATCH"]),
        Route(BASE + "/usage", guarded(usage_route), methods=["GET", "PUT"]),
    ]

