"""Refuse oversize request bodies before they are read into memory.

A declared ``Content-Length`` over the cap is refused at once; a chunked body is counted
as it streams and refused the moment it passes the cap. Either way the owning dialect
renders a ``BodyTooLarge``.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fitroom.errors import BodyTooLarge


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, *, max_bytes: int, render: Callable[[Request, Exception], Response]
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = BodyTooLarge(f"The request body is larger than {self.max_bytes} bytes.")
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self.render(Request(scope), too_large)(scope, receive, send)
            return

        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise too_large
            return message

        await self.app(scope, counted_receive, send)
