"""Result pixels to file bytes, and the names clients see for them.

Encoding is deterministic (same array, same bytes): the same inputs and seed must give
the same output bytes, as r-vton's ``seed`` promises, so nothing time- or run-dependent
(timestamps, encoder-chosen metadata) goes into a file.
"""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from fitroom.options import OutputFormat

_CONTENT_TYPES = {OutputFormat.JPEG: "image/jpeg", OutputFormat.PNG: "image/png", OutputFormat.WEBP: "image/webp"}
_EXTENSIONS = {OutputFormat.JPEG: "jpg", OutputFormat.PNG: "png", OutputFormat.WEBP: "webp"}


def encode(array: np.ndarray, fmt: OutputFormat, *, quality: int = 92) -> bytes:
    """Encode a uint8 H×W (grey), H×W×3 (RGB) or H×W×4 (RGBA) array.

    JPEG has no alpha, so RGBA is laid onto white for it; PNG keeps RGBA as it is.
    """
    channels = array.shape[2] if array.ndim == 3 else None
    if array.dtype != np.uint8 or array.ndim not in (2, 3) or channels not in (None, 3, 4):
        raise ValueError(f"not a uint8 H×W, H×W×3 or H×W×4 array: {array.dtype} {array.shape}")
    image = Image.fromarray(np.ascontiguousarray(array))
    out = io.BytesIO()
    if fmt == OutputFormat.JPEG:
        if image.mode == "RGBA":
            white = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(white, image)
        image.convert("RGB").save(out, format="JPEG", quality=quality)
    elif fmt == OutputFormat.WEBP:
        image.save(out, format="WEBP", quality=quality, method=4)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def content_type(fmt: OutputFormat) -> str:
    """The MIME type of files ``encode`` writes in ``fmt``."""
    return _CONTENT_TYPES[fmt]


def extension(fmt: OutputFormat) -> str:
    """The file name extension of files ``encode`` writes in ``fmt``."""
    return _EXTENSIONS[fmt]


def data_uri(data: bytes, content_type: str) -> str:
    """``data:<type>;base64,<data>``, the form FASHN's ``return_base64`` answers with."""
    return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
