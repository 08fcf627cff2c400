"""Interactive API docs that work without the internet.

FastAPI's ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN, so on a machine
without internet (most servers this runs on) they are blank. The same assets ship in the
``fastapi-offline`` package (MIT); they are served from there, under ``/docs-assets``.
"""

from __future__ import annotations

from importlib.resources import files
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = "/docs-assets"

_KEY = "A Fitroom API key (fr_...); any one of the three ways works on every endpoint."
# The three ways a key arrives (``fitroom.api.auth``), as OpenAPI security schemes, so that
# "Authorize" knows them and "Try it out" sends one.
SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "X-API-KEY": {"type": "apiKey", "in": "header", "name": "X-API-KEY", "description": _KEY},
    "Ocp-Apim-Subscription-Key": {
        "type": "apiKey",
        "in": "header",
        "name": "Ocp-Apim-Subscription-Key",
        "description": _KEY,
    },
    "Bearer": {"type": "http", "scheme": "bearer", "description": _KEY},
}


def declare_security(app: FastAPI, prefixes: tuple[str, ...], keyless: frozenset[str]) -> None:
    """Add the key schemes to the OpenAPI document: every operation under ``prefixes``
    takes a key; those in ``keyless`` may also come without one."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        anyone: list[dict[str, list[str]]] = [{name: []} for name in SECURITY_SCHEMES]
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith(prefixes):
                continue
            for operation in operations.values():
                operation["security"] = [*anyone, {}] if path in keyless else anyone
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise it


def mount(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` with locally installed assets (create the app with
    ``docs_url=None, redoc_url=None``)."""
    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")), name="docs-assets")
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – API docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png",
            # Keys entered under "Authorize" survive a reload, as a user expects.
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @router.get("/redoc")
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – API reference",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    app.include_router(router)
