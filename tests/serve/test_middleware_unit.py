"""The body limit on chunked uploads (no Content-Length), at the ASGI level."""

from __future__ import annotations

import asyncio

import pytest

from tmdb_serve.middleware import BodySizeLimitMiddleware

pytestmark = pytest.mark.unit


def run(chunks: list[bytes], limit: int) -> tuple[list[dict], bytes | None]:
    seen: dict[str, bytes] = {}

    async def app(scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen["body"] = body
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict] = []

    async def receive() -> dict:
        return messages.pop(0)

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "headers": [], "path": "/predict"}
    asyncio.run(BodySizeLimitMiddleware(app, max_bytes=limit)(scope, receive, send))
    return sent, seen.get("body")


def test_chunked_body_within_limit_is_replayed_whole() -> None:
    sent, body = run([b"abc", b"def"], limit=10)
    assert sent[0]["status"] == 200 and body == b"abcdef"


def test_chunked_body_over_limit_is_413_before_the_app_reads_it() -> None:
    sent, body = run([b"abcdef", b"ghijkl"], limit=10)
    assert sent[0]["status"] == 413 and body is None
