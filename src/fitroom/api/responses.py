"""JSON responses serialised with orjson.

The hot routes (every poll, every error) return one of these rather than a dict: FastAPI
then neither validates the body against a response model nor runs it through its
encoder, and orjson writes the bytes several times faster than the standard library.
(FastAPI's own ORJSONResponse is deprecated in favour of response models, which would
validate again what the store already validated.)
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import JSONResponse


class JSON(JSONResponse):
    """``JSONResponse`` with orjson's encoder; same media type, same headers."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
