"""Output sizes a client asks for by name (FASHN's ``resolution``)."""

from __future__ import annotations

import cv2
import numpy as np

# The longer side each named resolution means.
RESOLUTIONS = {"1k": 1024, "2k": 2048, "4k": 4096}


def fit_long_side(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` shrunk (area averaging) so that its longer side is ``side``; an image
    already that small is returned as it is: results are never upscaled."""
    height, width = image.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)
