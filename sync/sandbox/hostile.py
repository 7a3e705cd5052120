"""Hostile answers: fault kinds that let the emulator do its work and then answer as a hostile
or broken service would, so the product's defences are tested end to end over sockets.

- `zone_url`: the zone lookup names `url` as the tenant's zone (where the secret would go);
- `next_page_url` / `prev_page_url`: a query page links to `url`;
- `wrong_shape`: a 200 whose body is `body` when given, else the real answer without its main
  key (`items`, `item`, `fields` or `QueryResponse`) — "no list of items", "no QueryResponse";
- `oversized`: the real answer padded with spaces (still valid JSON) to `size` bytes, with an
  honest Content-Length or, with `declare_length` false, chunked so its size shows only as
  it arrives;
- `trickle`: the real answer one byte every `delay_ms`, so no single read times out.

The write behind a hostile answer has happened, as it would have on the real service.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HOSTILE_KINDS: tuple[str, ...] = ("zone_url", "next_page_url", "prev_page_url", "wrong_shape", "oversized",
                                  "trickle")
URL_KINDS = ("zone_url", "next_page_url", "prev_page_url")
_MAIN_KEYS = ("items", "item", "fields", "QueryResponse")
_CHUNK = 64 * 1024


async def answer(rule: Any, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> int:
    """Run `app`, answer per `rule`; returns the status sent."""
    status, headers, body = await _capture(app, scope, receive)
    if rule.kind in URL_KINDS or rule.kind == "wrong_shape":
        status, body = _rewritten(rule, status, body)
    if rule.kind == "oversized":
        body = body + b" " * max(0, rule.size - len(body))
    headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
    if rule.kind != "oversized" or rule.declare_length:
        headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if rule.kind == "trickle":
        await _trickle(body, rule.delay_ms / 1000, receive, send)
    else:
        for start in range(0, len(body), _CHUNK):
            await send({"type": "http.response.body", "body": body[start:start + _CHUNK], "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    return status


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list, bytes]:
    start: dict = {}
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return int(start.get("status", 200)), list(start.get("headers", [])), b"".join(chunks)


def _rewritten(rule: Any, status: int, body: bytes) -> tuple[int, bytes]:
    if rule.kind == "wrong_shape" and rule.body is not None:
        return 200, json.dumps(rule.body).encode()
    try:
        data = json.loads(body)
    except ValueError:
        return status, body
    if not isinstance(data, dict):
        return status, body
    if rule.kind == "zone_url":
        data["url"] = rule.url
    elif rule.kind in ("next_page_url", "prev_page_url") and isinstance(data.get("pageDetails"), dict):
        data["pageDetails"]["nextPageUrl" if rule.kind == "next_page_url" else "prevPageUrl"] = rule.url
    elif rule.kind == "wrong_shape":
        for key in _MAIN_KEYS:
            if key in data:
                del data[key]
                break
    return status, json.dumps(data).encode()


async def _trickle(body: bytes, delay: float, receive: Receive, send: Send) -> None:
    # Stop as soon as the client hangs up: a client that gave up must not keep the sandbox busy.
    gone = asyncio.Event()

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        gone.set()

    watcher = asyncio.ensure_future(watch())
    try:
        for i in range(len(body)):
            await send({"type": "http.response.body", "body": body[i:i + 1], "more_body": True})
            try:
                await asyncio.wait_for(gone.wait(), delay)
                return
            except asyncio.TimeoutError:
                pass
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    finally:
        watcher.cancel()
