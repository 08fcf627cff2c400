"""The FastAPI application: five dialects, signed result files, health, and the
in-process workers of the embedded default.

Errors are rendered by the dialect that owns the request's path, so a client of any
vendor sees only its vendor's error shape, including for validation failures, unknown
routes, oversize bodies and bugs (a 500 without internals).
"""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from fitroom import __version__
from fitroom.api import docs, files, metrics, playground
from fitroom.api.bodylimit import BodyLimitMiddleware
from fitroom.api.dialect import Dialect, RouteNotFound
from fitroom.api.dialects import DIALECTS
from fitroom.api.responses import JSON
from fitroom.api.validation import to_input_error
from fitroom.errors import BodyTooLarge, FitroomError, InvalidRequestBody
from fitroom.runtime import Runtime
from fitroom.settings import Settings

log = logging.getLogger(__name__)


def dialect_for(request: Request) -> Dialect | None:
    """The dialect that owns ``request``: the first to claim it, else by path prefix."""
    claimed = next((d for d in DIALECTS if d.claims is not None and d.claims(request)), None)
    return claimed or next((d for d in DIALECTS if d.owns(request)), None)


def _render(request: Request, exc: Exception) -> Response:
    dialect = dialect_for(request)
    if dialect is not None:
        return dialect.render_error(exc)
    if isinstance(exc, RouteNotFound):
        return JSON({"error": "Not found"}, status_code=exc.status_code)
    if isinstance(exc, FitroomError):
        return JSON({"error": exc.code, "message": exc.message}, status_code=400)
    return JSON({"error": "Internal server error"}, status_code=500)


def create_app(settings: Settings | None = None, *, run_workers: bool = True) -> FastAPI:
    """The server. ``run_workers=False`` serves the API only (jobs then wait for a
    ``fitroom worker`` process sharing the database and storage)."""
    settings = settings or Settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await Runtime.start(settings, dialects=DIALECTS, run_workers=run_workers)
        app.state.runtime = runtime
        app.state.service = runtime.service
        # Everything loaded so far (the framework, OpenCV, MediaPipe, torch when present)
        # lives as long as the process: out of the collector's sight, a full collection
        # scans only what requests allocate. Without this, each one walked the whole heap
        # and stopped the loop for 120-150 ms, the p99 of every route that allocates
        # much (measured with Redis limits under wrk).
        gc.freeze()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title="Fitroom",
        version=__version__,
        description="Self-hosted virtual try-on: five vendor APIs, wire-compatible.",
        lifespan=lifespan,
        docs_url=None,  # served by fitroom.api.docs, without a CDN
        redoc_url=None,
    )
    docs.mount(app)
    app.state.settings = settings
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes, render=_render)

    @app.exception_handler(FitroomError)
    async def _fitroom_error(request: Request, exc: FitroomError) -> Response:
        return _render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        return _render(request, to_input_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # Starlette and FastAPI raise these themselves: unknown routes, and bodies that
        # are not even text (FastAPI's "error parsing the body" 400).
        if exc.status_code in (404, 405):
            return _render(request, RouteNotFound(exc.status_code))
        if exc.status_code == 400:
            return _render(request, InvalidRequestBody("The request body could not be parsed."))
        if exc.status_code == 413:
            return _render(request, BodyTooLarge("The request body is too large."))
        return _render(request, exc)

    @app.exception_handler(Exception)
    async def _internal_error(request: Request, exc: Exception) -> Response:
        log.exception("internal error serving %s %s", request.method, request.url.path)
        return _render(request, exc)

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> dict:
        runtime: Runtime = request.app.state.runtime
        return await runtime.health()

    app.include_router(files.router)
    app.include_router(playground.router)
    for dialect in DIALECTS:
        app.include_router(dialect.router)
    metrics.install(
        app,
        owner=lambda scope: getattr(dialect_for(Request(scope)), "name", "none"),
        figures=lambda runtime: runtime.figures(),
    )
    docs.declare_security(
        app,
        prefixes=tuple(prefix for dialect in DIALECTS for prefix in dialect.prefixes),
        keyless=frozenset(path for dialect in DIALECTS for path in dialect.keyless_paths),
    )
    return app


def create_api_app() -> FastAPI:
    """The API alone, configured from the environment: what each process of
    ``fitroom serve --api-workers N`` runs (the lanes run beside them, once)."""
    return create_app(Settings(), run_workers=False)
