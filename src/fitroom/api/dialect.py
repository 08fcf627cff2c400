"""What every dialect module provides: its routes and a description of itself.

The app mounts each dialect's router and, for any error raised while serving a path
under one of the dialect's prefixes (validation, auth, limits, unknown routes, bugs),
asks that dialect to render it, so every byte a client sees is in its vendor's shape.
The rest of the description (price, image limits, status and webhook bodies) is what
the service, the webhook sender and the runtime read (``fitroom.jobs.terms``), so that
adding a dialect is one module plus one line in ``dialects.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from fitroom.images.limits import ImageLimits
from fitroom.jobs.model import JobView

T = TypeVar("T")


class RouteNotFound(Exception):
    """No route matches the path (or the method) under a dialect's prefix."""

    def __init__(self, status_code: int = 404) -> None:
        super().__init__("Endpoint not found")
        self.status_code = status_code


def lookup(table: Mapping[type, T], cls: type | None) -> T | None:
    """The entry of the nearest class in ``cls``'s MRO, as Starlette picks an exception
    handler: a table names the classes it treats alike, subclasses follow their parent
    unless listed themselves."""
    for base in cls.__mro__ if cls is not None else ():
        if base in table:
            return table[base]
    return None


@dataclass(frozen=True)
class Dialect:
    """A vendor contract.

    ``render_error`` receives a ``fitroom.errors.FitroomError`` (its subclass says what
    went wrong), a ``RouteNotFound``, or any other exception (an internal error, which
    must render as the vendor's 500 body without internals). ``status_body`` is what a
    client polling one of its jobs reads; ``webhook_body`` what its webhooks carry.
    """

    name: str
    prefixes: tuple[str, ...]
    router: APIRouter
    render_error: Callable[[Exception], Response]
    status_body: Callable[[JobView], dict[str, Any]]
    limits: ImageLimits
    price_per_image: int = 1
    webhook_body: Callable[[JobView], dict[str, Any]] | None = None
    # For a path two vendors share: whether this request is this dialect's, checked
    # before any prefix.
    claims: Callable[[Request], bool] | None = None
    # Paths that answer without a key too (the Pixazo polling endpoints, docs/api.md §1.2).
    keyless_paths: tuple[str, ...] = ()

    def owns(self, request: Request) -> bool:
        if self.claims is not None and self.claims(request):
            return True
        return any(request.url.path.startswith(p) for p in self.prefixes)
