"""Where a key arrives: any of the three headers every vendor's clients use."""

from __future__ import annotations

from starlette.requests import Request

KEY_HEADERS = ("ocp-apim-subscription-key", "x-api-key")


def raw_key(request: Request) -> str | None:
    """The API key sent with ``request``, or None. Header names are case-insensitive."""
    for name in KEY_HEADERS:
        value = request.headers.get(name)
        if value and value.strip():
            return value.strip()
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None
