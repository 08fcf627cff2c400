"""``/metrics`` (Prometheus's text format) and the middleware counting requests.

``/metrics`` answers only with ``Authorization: Bearer $FITROOM_METRICS_TOKEN``; without
the setting it is a 404, so that a server's figures are not public by default.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import anyio
from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fitroom.metrics import REQUESTS, StoreCollector, StoreFigures, registry

Owner = Callable[[Scope], str]


class RequestCounter:
    """Counts every HTTP request by dialect, route (the path template, so ids do not
    explode the label) and status."""

    def __init__(self, app: ASGIApp, owner: Owner) -> None:
        self.app = app
        self.owner = owner

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def counting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            REQUESTS.labels(self.owner(scope), template, str(status)).inc()


def install(app: FastAPI, owner: Owner, figures: Callable[[Any], StoreFigures]) -> None:
    """Count requests and serve ``/metrics``; ``figures(runtime)`` reads the store."""
    app.add_middleware(RequestCounter, owner=owner)
    router = APIRouter(include_in_schema=False)
    state: dict[str, Any] = {}

    @router.get("/metrics")
    async def metrics(request: Request) -> Response:
        token = request.app.state.settings.metrics_token
        if token is None or not token.get_secret_value():
            return Response("Not found\n", status_code=404, media_type="text/plain")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), token.get_secret_value().encode()
        ):
            return Response(
                "Unauthorized\n", status_code=401, media_type="text/plain", headers={"WWW-Authenticate": "Bearer"}
            )
        if "registry" not in state:
            runtime = request.app.state.runtime
            state["registry"] = registry(StoreCollector(lambda: figures(runtime)))
        body = await anyio.to_thread.run_sync(generate_latest, state["registry"])
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    app.include_router(router)
