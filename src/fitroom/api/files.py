"""Result files behind HMAC-signed, expiring URLs (the local storage's URL scheme)."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from starlette.responses import JSONResponse, Response

from fitroom.errors import BlobNotFound, SignatureInvalid

router = APIRouter(tags=["files"])


@router.get("/files/{key:path}", response_class=Response)
def get_file(
    request: Request, key: str, expires: int = Query(0), sig: str = Query("")
) -> Response:
    """The blob at ``key`` if the signature matches and has not expired; 403 otherwise,
    404 when the blob is gone (its job passed retention)."""
    runtime = request.app.state.runtime
    try:
        runtime.signer.verify(key, expires, sig)
    except SignatureInvalid as exc:
        return JSONResponse({"error": "forbidden", "message": exc.message}, status_code=403)
    try:
        data, content_type = runtime.storage.get(key)
    except (BlobNotFound, ValueError):
        return JSONResponse({"error": "not_found", "message": "File not found"}, status_code=404)
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=3600"},
    )
