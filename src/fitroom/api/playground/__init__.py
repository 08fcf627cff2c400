"""The browser side of Fitroom: the try-on playground at ``/`` and the operator view at
``/admin``. Both live outside every dialect's path prefixes, so their errors are their
own; the playground itself calls only the public dialect endpoints."""

from __future__ import annotations

from fastapi import APIRouter

from fitroom.api.playground import admin, pages

router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(admin.router)

__all__ = ["router"]
