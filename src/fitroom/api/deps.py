"""FastAPI dependencies shared by the dialects: the service and the caller's key.

Auth runs as a dependency so that it is decided before the body is validated: a
request with no key gets the vendor's 401 whatever its body, as at the vendors' gateways.
"""

from __future__ import annotations

from fastapi import Request

from fitroom.api.auth import raw_key
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.service import TryOnService


def get_service(request: Request) -> TryOnService:
    return request.app.state.service


async def require_key(request: Request) -> ApiKey:
    """The caller's key; raises ``Unauthenticated`` (rendered by the dialect) if none."""
    return await get_service(request).authenticate(raw_key(request))


async def polling_key(request: Request) -> ApiKey | None:
    """The caller's key where keyless polling is allowed (docs/api.md §1.2)."""
    return await get_service(request).authenticate_for_polling(raw_key(request))
