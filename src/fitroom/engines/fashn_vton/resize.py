"""Sizes in and out of FASHN VTON v1.5, as its published pipeline handles them.

1. ``pre_resize``: before pose estimation, photos are shrunk (never enlarged) to fit a
   square whose side is the model's longer side (864), with PIL's Lanczos filter. New
   sizes are ``int(scale * side)`` (truncation), and a photo that already fits is returned
   untouched.
2. ``resize_and_pad``: every model input (photo, garment, pose canvas) is scaled to fit
   the model's 576 × 864 (W × H) keeping its aspect, enlarging too, with OpenCV: area
   averaging when shrinking, Lanczos-4 when enlarging, unless an interpolation is given
   (pose canvases use ``cv2.INTER_NEAREST_EXACT`` so that their greys survive). The rest
   is filled with black, split evenly, the odd pixel going right or bottom. The
   ``Padding`` it returns is what ``unpad`` needs: the published pipeline crops the
   generated image with the padding of the person photo.
3. ``restore_size`` is ours: the published pipeline returns the unpadded image at model
   resolution; we scale it back (Lanczos) to the size of the photo the caller sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import cv2
import numpy as np
from PIL import Image

MODEL_HEIGHT, MODEL_WIDTH = 864, 576

ImageOrArray = TypeVar("ImageOrArray", Image.Image, np.ndarray)


def _fit_scale(width: int, height: int, box_width: int, box_height: int) -> float:
    return min(box_width / width, box_height / height)


def pre_resize(image: Image.Image, side: int = max(MODEL_HEIGHT, MODEL_WIDTH)) -> Image.Image:
    """Shrink ``image`` to fit a ``side`` × ``side`` square (Lanczos); never enlarges."""
    width, height = image.size
    scale = min(_fit_scale(width, height, side, side), 1.0)
    if scale == 1.0:
        return image
    return image.resize((int(scale * width), int(scale * height)), Image.Resampling.LANCZOS)


@dataclass(frozen=True)
class Padding:
    """Black borders added around a resized image, in pixels."""

    left: int
    top: int
    right: int
    bottom: int


def resize_and_pad(
    array: np.ndarray, height: int = MODEL_HEIGHT, width: int = MODEL_WIDTH, interpolation: int | None = None
) -> tuple[np.ndarray, Padding]:
    """Fit ``array`` (H × W or H × W × C) into ``height`` × ``width`` keeping its aspect, then
    pad it with black to exactly that size; also returns the padding."""
    h, w = array.shape[:2]
    scale = _fit_scale(w, h, width, height)
    if scale != 1.0:
        if interpolation is None:
            interpolation = cv2.INTER_LANCZOS4 if scale > 1 else cv2.INTER_AREA
        array = cv2.resize(array, (int(scale * w), int(scale * h)), interpolation=interpolation)
    h, w = array.shape[:2]
    spare_w, spare_h = max(width - w, 0), max(height - h, 0)
    padding = Padding(left=spare_w // 2, top=spare_h // 2, right=spare_w - spare_w // 2, bottom=spare_h - spare_h // 2)
    padded = cv2.copyMakeBorder(
        array, padding.top, padding.bottom, padding.left, padding.right, cv2.BORDER_CONSTANT, value=(0, 0, 0)
    )
    return padded, padding


def unpad(image: ImageOrArray, padding: Padding) -> ImageOrArray:
    """Crop ``padding`` off a PIL image or an array."""
    if isinstance(image, Image.Image):
        return image.crop((padding.left, padding.top, image.width - padding.right, image.height - padding.bottom))
    return image[padding.top : image.shape[0] - padding.bottom, padding.left : image.shape[1] - padding.right]


def restore_size(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale the unpadded result to ``size`` (W, H), the caller's photo size (Lanczos)."""
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS)
