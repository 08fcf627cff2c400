"""FastAPI dependencies shared by the dialects: the service and the caller's key.

Auth runs as a dependency so that it is decided before the body is validated: a
request with no key gets the vendor's 401 whatever its body, as at the vendors' gateways.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fitroom.api.auth import raw_key
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.service import TryOnService


async def get_service(request: Request) -> TryOnService:
    # async: FastAPI runs a plain ``def`` dependency in its thread pool, a round trip per
    # request for an attribute read.
    service: TryOnService = request.app.state.service
    return service


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


async def require_key(request: Request) -> ApiKey:
    """The caller's key; raises ``Unauthenticated`` (rendered by the dialect) if none."""
    return await request.app.state.service.authenticate(raw_key(request), client_address(request))


async def polling_key(request: Request) -> ApiKey | None:
    """The caller's key where keyless polling is allowed (docs/api.md §1.2)."""
    return await request.app.state.service.authenticate_for_polling(raw_key(request), client_address(request))


# The typed dependencies routes declare, named once. (The three key headers are declared
# as OpenAPI security schemes by ``fitroom.api.docs``, not as dependencies: resolving
# three more dependencies per request cost a poll a seventh of its time.)
ServiceDep = Annotated[TryOnService, Depends(get_service)]
KeyDep = Annotated[ApiKey, Depends(require_key)]
PollingKeyDep = Annotated[ApiKey | None, Depends(polling_key)]
