"""The playground page at ``/``, its static files and its example images.

The page is plain HTML, CSS and one script shipped in this package (no build step, no
CDN, nothing fetched from elsewhere), and it talks to the server only through the
vendor dialects' public endpoints, exactly as any client would: it holds no privilege.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import anyio
from fastapi import APIRouter
from starlette.responses import JSONResponse, Response

from fitroom.api.playground.examples import EXAMPLES, catalogue, example_bytes

router = APIRouter(include_in_schema=False)

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}

# Result images may come from PUBLIC_BASE_URL, which need not be the origin the browser
# used (127.0.0.1 against localhost, or a proxy's name), hence images from anywhere;
# everything else only from here. frame-ancestors keeps the pages out of other sites'
# frames (the admin view above all).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob: http: https:; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Small files that change with every upgrade: revalidate rather than cache stale.
    "Cache-Control": "no-cache",
}


def _static_names() -> frozenset[str]:
    folder = resources.files(__package__) / "static"
    return frozenset(
        entry.name
        for entry in folder.iterdir()
        if entry.is_file() and any(entry.name.endswith(suffix) for suffix in _MEDIA_TYPES)
    )


@cache
def static_file(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


def static_response(name: str, status_code: int = 200) -> Response:
    suffix = name[name.rfind(".") :]
    return Response(
        static_file(name), status_code=status_code, media_type=_MEDIA_TYPES[suffix], headers=SECURITY_HEADERS
    )


def not_found() -> Response:
    return JSONResponse({"error": "Not found"}, status_code=404, headers={"X-Content-Type-Options": "nosniff"})


# Read once: only files that shipped in the package can be asked for, so no request
# path ever reaches the file system.
STATIC = _static_names()


@router.get("/")
async def playground() -> Response:
    """The try-on playground."""
    return static_response("index.html")


@router.get("/playground/examples")
async def examples() -> JSONResponse:
    """The built-in examples the page offers: name, role, label, note and URL."""
    return JSONResponse(catalogue(), headers={"Cache-Control": "no-cache"})


@router.get("/playground/examples/{filename}")
async def example(filename: str) -> Response:
    name, _, _ = filename.rpartition(".")
    entry = EXAMPLES.get(name)
    if entry is None or entry.filename != filename:
        return not_found()
    # Drawn once per process (off the event loop: the first call imports scikit-image);
    # the bytes never change within a version.
    data = await anyio.to_thread.run_sync(example_bytes, name)
    return Response(data, media_type=entry.media_type, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/playground/{name}")
async def asset(name: str) -> Response:
    if name not in STATIC or name.endswith(".html"):
        return not_found()
    return static_response(name)
