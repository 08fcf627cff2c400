"""Bytes to checked pixels: every refusal that can be made before decoding is made first.

The order matters. The byte cap and the pixel cap come before any pixel is decoded (a
50-byte PNG may declare 10 gigapixels); format and side checks need only the header, so
they come before decoding too; only then does Pillow decode, and any failure from here on
is a ``MalformedImage`` rather than one of Pillow's many exception types.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from fitroom.errors import (
    DecompressionBomb,
    ImageTooLarge,
    MalformedImage,
    ResolutionTooHigh,
    ResolutionTooLow,
    UnsupportedImageFormat,
)
from fitroom.images.limits import ImageLimits

# The formats decode() reads at all. Pillow can open many more, but some (EPS runs
# Ghostscript, for one) are attack surface no try-on client needs.
DECODABLE = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
Image.init()  # registers every plugin; Image.open(formats=...) only looks among registered ones

# A phone's JPEG often carries a second image, and Pillow's JPEG opener then names it
# MPO; to a client it is a JPEG.
_SAME_AS = {"MPO": "JPEG"}


@dataclass(frozen=True)
class DecodedImage:
    """Pixels upright (EXIF orientation applied) as uint8 RGB, or RGBA where kept.

    The array is read-only: it is the job's input, shared by whatever reads it.
    """

    array: np.ndarray  # H×W×3, or H×W×4 when the limits keep alpha and the image has some
    format: str  # Pillow's format name for the bytes as sent: "JPEG", "PNG", ...
    width: int
    height: int


def decode(
    data: bytes, limits: ImageLimits, *, max_pixels: int, field: str | None = None
) -> DecodedImage:
    """Check ``data`` against ``limits`` and decode it. Raises an ``ImageError`` subclass,
    and nothing else, for any image that cannot be used."""
    if len(data) > limits.max_bytes:
        raise ImageTooLarge(f"the image is larger than {limits.max_bytes} bytes", field=field)
    try:
        # Opening reads only the header. Pillow's own bomb check runs here too (its
        # warning is an exception where warnings are errors); the cap that counts is
        # ``max_pixels``, checked next.
        image = Image.open(io.BytesIO(data), formats=DECODABLE)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise DecompressionBomb(field=field) from None
    except Exception:  # Pillow signals an unreadable header with several exception types
        raise MalformedImage("the data is not an image this server can read", field=field) from None
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise DecompressionBomb(
                f"the image declares {width}×{height} pixels, more than the {max_pixels} "
                "this server decodes",
                field=field,
            )
        fmt = image.format or ""
        if limits.formats is not None and _SAME_AS.get(fmt, fmt) not in limits.formats:
            allowed = ", ".join(sorted(limits.formats))
            raise UnsupportedImageFormat(
                f"{fmt} images are not accepted here; use {allowed}", field=field
            )
        # Both sides are bounded alike, so the quarter turn an EXIF orientation may ask for
        # cannot change the verdict: checking the stored size checks the upright one.
        _check_sides(width, height, limits, field=field)
        try:
            array = _pixels(image, keep_alpha=limits.keep_alpha)
        except Exception:  # truncated or corrupt data fails in the codec, in many ways
            raise MalformedImage("the image data is truncated or corrupt", field=field) from None
    return DecodedImage(array=array, format=fmt, width=array.shape[1], height=array.shape[0])


def _check_sides(width: int, height: int, limits: ImageLimits, *, field: str | None) -> None:
    if min(width, height) < limits.min_side:
        raise ResolutionTooLow(
            f"the image is {width}×{height}; each side must be at least {limits.min_side} pixels",
            field=field,
        )
    if limits.max_side is not None and max(width, height) > limits.max_side:
        raise ResolutionTooHigh(
            f"the image is {width}×{height}; each side must be at most {limits.max_side} pixels",
            field=field,
        )


# Pillow's modes for one channel of more than 8 bits. Its RGB conversion clips them at
# 255 instead of scaling, which turns a 16-bit greyscale photo solid white.
_DEEP_GREY = {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}


def _pixels(image: Image.Image, *, keep_alpha: bool) -> np.ndarray:
    image.load()
    upright = ImageOps.exif_transpose(image)
    if upright.mode in _DEEP_GREY:
        upright = _to_8_bit_grey(upright)
    if not upright.has_transparency_data:
        return np.asarray(upright.convert("RGB"))
    rgba = upright.convert("RGBA")
    if keep_alpha:
        return np.asarray(rgba)
    # Dropping alpha by conversion would show whatever colour hides under transparent
    # pixels (often black); a garment cut-out is meant to be seen on white.
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))


def _to_8_bit_grey(image: Image.Image) -> Image.Image:
    """A deep greyscale image scaled to 8 bits: 16-bit data (and 32-bit integers that
    hold it, as TIFF gives them) by its full range, floats taken as 0..1 when they are."""
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "F" and values.size and values.max() <= 1.0:
        top = 1.0
    elif values.size and values.max() > 255:
        top = 65535.0
    else:
        top = 255.0
    grey = np.clip(np.round(values / top * 255.0), 0, 255).astype(np.uint8)
    return Image.fromarray(grey, mode="L")
