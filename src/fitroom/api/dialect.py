"""What every dialect module provides to the app.

The app mounts each dialect's router and, for any error raised while serving a path
under one of the dialect's prefixes (validation, auth, limits, unknown routes, bugs),
asks that dialect to render it, so every byte a client sees is in its vendor's shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import APIRouter
from starlette.responses import Response


class RouteNotFound(Exception):
    """No route matches the path (or the method) under a dialect's prefix."""

    def __init__(self, status_code: int = 404) -> None:
        super().__init__("Endpoint not found")
        self.status_code = status_code


@dataclass(frozen=True)
class Dialect:
    """A vendor contract: its routes and how it renders errors.

    ``render_error`` receives a ``fitroom.errors.FitroomError`` (its subclass says what
    went wrong), a ``RouteNotFound``, or any other exception (an internal error, which
    must render as the vendor's 500 body without internals).
    """

    name: str
    prefixes: tuple[str, ...]
    router: APIRouter
    render_error: Callable[[Exception], Response]
