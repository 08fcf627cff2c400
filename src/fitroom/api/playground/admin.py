"""The operator view: ``/admin`` (a static page) and ``/admin/api/overview`` (its data).

Access is one shared secret, ``FITROOM_ADMIN_TOKEN``, sent as ``Authorization: Bearer``
by the page's script (which keeps it in the tab's session storage) or by any script of
the operator's: a header, not a cookie, so no other site can make a browser use it
(no CSRF), and the view is read-only anyway.

Without the setting the view does not exist: every ``/admin`` path answers 404, the
page with a sentence on how to turn it on (that the view exists is no secret in open
source; there is simply nothing behind it). Tokens are compared in constant time, and
each client address gets a bucket of requests, so guessing a token over HTTP is slow.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from typing import Any

import anyio
from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, Response

from fitroom.api.playground.pages import SECURITY_HEADERS, static_response
from fitroom.errors import RateLimited
from fitroom.jobs.model import JobState
from fitroom.runtime import Runtime
from fitroom.settings import Settings

router = APIRouter(include_in_schema=False)

# Per client address, over every /admin/api request: the page refreshes every 5 s (12 a
# minute), which leaves room for a few tabs, while a guesser gets one try a second.
ADMIN_RATE, ADMIN_PERIOD_SECONDS = 60, 60.0
DEFAULT_JOBS, MAX_JOBS = 50, 500
# Nothing the operator view answers may be kept by a cache or a proxy.
_PRIVATE = {**SECURITY_HEADERS, "Cache-Control": "no-store"}


def admin_token(settings: Settings) -> str | None:
    """The configured token, or None when the operator view is off (unset or empty)."""
    token = settings.admin_token.get_secret_value() if settings.admin_token is not None else ""
    return token or None


def _error(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": error, "message": message}
    return JSONResponse(body, status_code=status, headers={**_PRIVATE, **(headers or {})})


_DISABLED_MESSAGE = "The operator view is off: start the server with FITROOM_ADMIN_TOKEN set to enable it."


@router.get("/admin")
async def admin_page(request: Request) -> Response:
    """The operator view's page; the token is asked for by its script."""
    if admin_token(request.app.state.settings) is None:
        return static_response("admin-disabled.html", status_code=404)
    return static_response("admin.html")


@router.get("/admin/api/overview")
async def overview(request: Request) -> Response:
    """Keys with credits and usage, recent jobs, running lanes and queue depth per engine."""
    settings: Settings = request.app.state.settings
    token = admin_token(settings)
    if token is None:
        return _error(404, "Not found", _DISABLED_MESSAGE)
    runtime: Runtime = request.app.state.runtime
    address = request.client.host if request.client else "unknown"
    try:
        await runtime.service.limiter.take(f"admin:{address}", ADMIN_RATE, ADMIN_PERIOD_SECONDS)
    except RateLimited as exc:
        return _error(429, "Too many requests", exc.message, {"Retry-After": str(exc.retry_after)})
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        given = ""
    # Bytes: compare_digest refuses str with non-ASCII characters, which a client may send.
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        return _error(
            401, "Unauthorized", "Missing or wrong admin token (FITROOM_ADMIN_TOKEN).", {"WWW-Authenticate": "Bearer"}
        )
    limit = request.query_params.get("jobs", str(DEFAULT_JOBS))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_JOBS:
        return _error(400, "Bad request", f"jobs must be a whole number from 1 to {MAX_JOBS}.")
    body = await anyio.to_thread.run_sync(collect, runtime, settings, int(limit))
    return JSONResponse(body, headers=_PRIVATE)


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return round((end - start).total_seconds(), 3) if start and end else None


def collect(runtime: Runtime, settings: Settings, jobs: int) -> dict[str, Any]:
    """The overview, read from the stores. Key secrets are never here: the store keeps
    only their hashes, and not even those are read out."""
    keys = runtime.keys.list()
    usage = runtime.jobs.usage_by_key()
    names = {key.id: key.name for key in keys}
    lanes = runtime.stores.lanes.running()
    depths = runtime.jobs.active_by_engine()
    processes: dict[str, int] = {}
    for lane in lanes:
        processes[lane.engine] = processes.get(lane.engine, 0) + len(lane.devices)
    now = datetime.now(UTC)
    return {
        "generated_at": now.isoformat(),
        "retention_hours": settings.retention_hours,
        "counts": {str(state): n for state, n in runtime.jobs.counts().items()},
        "keys": [
            {
                "id": key.id,
                "name": key.name,
                "credits": key.credits,  # null: unlimited
                "created_at": _time(key.created_at),
                "revoked_at": _time(key.revoked_at),
                "jobs": usage.get(key.id, (0, 0))[0],
                "credits_spent": usage.get(key.id, (0, 0))[1],
            }
            for key in keys
        ],
        "jobs": [
            {
                "id": job.id,
                "key_id": job.key_id,
                "key_name": names.get(job.key_id),
                "dialect": job.dialect,
                "kind": str(job.kind),
                "engine": job.engine,
                "state": str(job.state),
                "created_at": _time(job.created_at),
                "started_at": _time(job.started_at),
                "finished_at": _time(job.finished_at),
                # From submit to the latest attempt's start (or to now, or to a cancel),
                # then that attempt's run (so far, while it runs).
                "queued_seconds": _seconds(job.created_at, job.started_at or job.finished_at or now),
                "run_seconds": _seconds(job.started_at, job.finished_at or now) if job.started_at else None,
                "attempts": job.attempts,
                "outputs": len(job.outputs),
                "cost": job.cost,
                "refunded": job.refunded,
                "error_code": job.error_code,
                "error_message": job.error_message,
            }
            for job in runtime.jobs.recent(jobs)
        ],
        "lanes": [
            {
                "engine": lane.engine,
                "devices": list(lane.devices),
                "worker_id": lane.worker_id,
                "host": lane.host,
                "pid": lane.pid,
                "started_at": _time(lane.started_at),
                "heartbeat_at": _time(lane.heartbeat_at),
            }
            for lane in lanes
        ],
        "queues": [
            {
                "engine": engine,
                "queued": depths.get(engine, {}).get(JobState.QUEUED, 0),
                "running": depths.get(engine, {}).get(JobState.RUNNING, 0),
                "processes": processes.get(engine, 0),
            }
            for engine in sorted(set(depths) | set(processes))
        ],
    }
