"""ASGI middleware around the sandbox app for what no emulator rule produces by itself: a QBO
that already received a request under the same requestid (from another installation, or from
the attempt before a journal was lost), and a QBO whose batch answers carry the wrong bIds.
Install before the server starts: `world_factory(seed, wrap=FirstComer)`. Everything still goes
over the sandbox's real HTTP; only the order or the bytes of one exchange are changed."""

from __future__ import annotations

import json
import re
from typing import Any


async def _read_body(receive: Any) -> bytes:
    body, more = b"", True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _replaying(body: bytes) -> Any:
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


async def _discard(message: dict) -> None:
    return None


def _renumbered(body: bytes, suffix: str, untag: bool) -> bytes:
    payload = json.loads(body)
    bills = ([item["Bill"] for item in payload.get("BatchItemRequest", []) if "Bill" in item]
             if "BatchItemRequest" in payload else [payload])
    for bill in bills:
        bill["DocNumber"] = f"{bill.get('DocNumber', '')}{suffix}"
        if untag:
            bill["PrivateNote"] = "entered by someone else"
    return json.dumps(payload).encode()


class FirstComer:
    """The first POST to a path matching `path` (with a requestid) reaches QBO twice: first with
    each bill's DocNumber suffixed (someone else's earlier request under this requestid; its
    answer is thrown away), then as sent. So QBO holds the bill and answers the real request
    with Duplicate Request ID. With `untag`, the earlier bill does not name the PO."""

    def __init__(self, inner: Any, path: str = r"/(bill|batch)$", suffix: str = "-E", untag: bool = False) -> None:
        self.inner = inner
        self.pattern = re.compile(path)
        self.suffix = suffix
        self.untag = untag
        self.fired = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if (scope.get("type") != "http" or self.fired or scope.get("method") != "POST"
                or not self.pattern.search(scope.get("path", ""))
                or b"requestid=" not in scope.get("query_string", b"")):
            await self.inner(scope, receive, send)
            return
        self.fired += 1
        body = await _read_body(receive)
        await self.inner(scope, _replaying(_renumbered(body, self.suffix, self.untag)), _discard)
        await self.inner(scope, _replaying(body), send)


class SwappedBatchAnswers:
    """The first batch answer with two or more items comes back with the bIds of its first two
    results exchanged: each PO's result then holds the other PO's bill."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fired = 0

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or self.fired or not scope.get("path", "").endswith("/batch"):
            await self.inner(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.inner(scope, receive, capture)
        body = b"".join(chunks)
        try:
            payload = json.loads(body)
            answers = payload["BatchItemResponse"]
        except (ValueError, KeyError, TypeError):
            answers = []
        if len(answers) >= 2:
            self.fired += 1
            answers[0]["bId"], answers[1]["bId"] = answers[1]["bId"], answers[0]["bId"]
            body = json.dumps(payload).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


class QueryLog:
    """Passes everything through and keeps the text of every QBO query statement sent."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.statements: list[str] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not scope.get("path", "").endswith("/query"):
            await self.inner(scope, receive, send)
            return
        body = await _read_body(receive)
        self.statements.append(body.decode("utf-8", "replace"))
        await self.inner(scope, _replaying(body), send)
