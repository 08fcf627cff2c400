"""FastAPI dependencies shared by the dialects: the service and the caller's key.

Auth runs as a dependency so that it is decided before the body is validated: a
request with no key gets the vendor's 401 whatever its body, as at the vendors' gateways.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from fitroom.api.auth import raw_key
from fitroom.jobs.keys import ApiKey
from fitroom.jobs.service import TryOnService


def get_service(request: Request) -> TryOnService:
    return request.app.state.service


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


_KEY = "A Fitroom API key (fr_...); any one of the three ways works on every endpoint."
# The three ways a key arrives, declared as security schemes so that the OpenAPI docs'
# "Authorize" knows them and "Try it out" sends one. ``raw_key`` reads them; these
# declarations never refuse a request themselves (auto_error=False): the dialect does.
_XApiKey = Annotated[
    str | None,
    Security(APIKeyHeader(name="X-API-KEY", scheme_name="X-API-KEY", auto_error=False, description=_KEY)),
]
_Subscription = Annotated[
    str | None,
    Security(
        APIKeyHeader(
            name="Ocp-Apim-Subscription-Key", scheme_name="Ocp-Apim-Subscription-Key", auto_error=False,
            description=_KEY,
        )
    ),
]
_Bearer = Annotated[
    HTTPAuthorizationCredentials | None,
    Security(HTTPBearer(scheme_name="Bearer", auto_error=False, description=_KEY)),
]


async def require_key(request: Request, _a: _XApiKey = None, _b: _Subscription = None, _c: _Bearer = None) -> ApiKey:
    """The caller's key; raises ``Unauthenticated`` (rendered by the dialect) if none."""
    return await get_service(request).authenticate(raw_key(request), client_address(request))


async def polling_key(
    request: Request, _a: _XApiKey = None, _b: _Subscription = None, _c: _Bearer = None
) -> ApiKey | None:
    """The caller's key where keyless polling is allowed (docs/api.md §1.2)."""
    return await get_service(request).authenticate_for_polling(raw_key(request), client_address(request))
