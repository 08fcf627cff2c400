"""Decoding input images: every bad image is a named refusal, good ones come out upright."""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from fitroom.api import glasses, pixelcut, rvton
from fitroom.errors import (
    DecompressionBomb,
    ImageTooLarge,
    MalformedImage,
    ResolutionTooHigh,
    ResolutionTooLow,
    UnsupportedImageFormat,
)
from fitroom.images.decode import decode
from fitroom.images.limits import ImageLimits

MAX_PIXELS = 40_000_000

RVTON = rvton.LIMITS
# Decoded as the glasses engine decodes its frame: transparency kept.
GLASSES = replace(glasses.LIMITS, keep_alpha=True)
PIXELCUT = pixelcut.LIMITS


def noise(width: int, height: int, channels: int = 3) -> np.ndarray:
    # Noise does not compress, so cutting the file anywhere cuts into pixel data.
    return np.random.default_rng(0).integers(0, 256, (height, width, channels), dtype=np.uint8)


def save(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width``×``height`` with almost no pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_png_decodes_to_rgb_pixels() -> None:
    pixels = noise(320, 300)
    image = decode(save(Image.fromarray(pixels), "PNG"), RVTON, max_pixels=MAX_PIXELS)
    assert (image.format, image.width, image.height) == ("PNG", 320, 300)
    assert image.array.dtype == np.uint8
    assert np.array_equal(image.array, pixels)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated_file_is_malformed(fmt: str) -> None:
    data = save(Image.fromarray(noise(300, 300)), fmt)
    with pytest.raises(MalformedImage) as info:
        decode(data[: len(data) // 2], RVTON, max_pixels=MAX_PIXELS, field="human_img")
    assert info.value.field == "human_img"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not an image",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,  # a PNG signature, then nothing sensible
        bytes(range(256)) * 8,
    ],
)
def test_non_image_bytes_are_malformed(data: bytes) -> None:
    with pytest.raises(MalformedImage):
        decode(data, RVTON, max_pixels=MAX_PIXELS)


def test_declared_gigapixels_are_a_bomb_without_allocating_them() -> None:
    data = png_header_only(100_000, 100_000)
    assert len(data) < 200
    with pytest.raises(DecompressionBomb):
        decode(data, RVTON, max_pixels=MAX_PIXELS)


def test_pillows_bomb_warning_turned_error_is_still_a_bomb() -> None:
    # 100 Mpx is over Pillow's warning threshold but under its error threshold.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DecompressionBomb):
            decode(png_header_only(10_000, 10_000), RVTON, max_pixels=MAX_PIXELS)


def test_pixel_cap_is_checked_before_decoding() -> None:
    # Declares 2000×2000 = 4 Mpx over a cap of 1 Mpx. Its pixel data is missing, so if the
    # cap were checked after decoding, this would fail as malformed instead.
    with pytest.raises(DecompressionBomb):
        decode(png_header_only(2000, 2000), RVTON, max_pixels=1_000_000)


def test_byte_cap_comes_first() -> None:
    limits = ImageLimits(max_bytes=1000, min_side=1, max_side=None, formats=None)
    data = save(Image.fromarray(noise(64, 64)), "PNG")
    assert len(data) > 1000
    with pytest.raises(ImageTooLarge):
        decode(data, limits, max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("size", [(255, 400), (400, 255)])
def test_each_side_must_reach_the_minimum(size: tuple[int, int]) -> None:
    data = save(Image.new("RGB", size, "gray"), "PNG")
    with pytest.raises(ResolutionTooLow):
        decode(data, PIXELCUT, max_pixels=MAX_PIXELS)


def test_glasses_need_300_pixels_a_side() -> None:
    data = save(Image.new("RGB", (299, 600), "gray"), "PNG")
    with pytest.raises(ResolutionTooLow):
        decode(data, GLASSES, max_pixels=MAX_PIXELS)
    assert decode(save(Image.new("RGB", (300, 300), "gray"), "PNG"), GLASSES, max_pixels=MAX_PIXELS)


@pytest.mark.parametrize("size", [(1921, 300), (300, 1921)])
def test_each_side_must_stay_under_the_maximum(size: tuple[int, int]) -> None:
    data = save(Image.new("RGB", size, "gray"), "PNG")
    with pytest.raises(ResolutionTooHigh):
        decode(data, PIXELCUT, max_pixels=MAX_PIXELS)
    assert decode(data, RVTON, max_pixels=MAX_PIXELS).width == size[0]


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_glasses_take_only_jpeg_and_png(fmt: str) -> None:
    data = save(Image.new("RGB", (320, 320), "gray"), fmt)
    with pytest.raises(UnsupportedImageFormat) as info:
        decode(data, GLASSES, max_pixels=MAX_PIXELS, field="glass_image_path")
    assert fmt in str(info.value) and info.value.field == "glass_image_path"
    assert decode(data, RVTON, max_pixels=MAX_PIXELS).format == fmt


def test_exif_orientation_is_applied() -> None:
    # Stored landscape, 400 wide and 300 high, with a red block top left. Orientation 6
    # says "turn 90° clockwise to view": the viewer sees it portrait, the block top right.
    stored = Image.new("RGB", (400, 300), "white")
    stored.paste((255, 0, 0), (0, 0, 100, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    image = decode(save(stored, "JPEG", exif=exif, quality=95), RVTON, max_pixels=MAX_PIXELS)
    assert (image.width, image.height) == (300, 400)
    assert image.array.shape == (400, 300, 3)
    top_right, top_left = image.array[50, 250], image.array[50, 50]
    assert top_right[0] > 200 and top_right[1] < 60
    assert top_left.min() > 200


def _palette_png_with_transparent_index() -> bytes:
    image = Image.new("P", (320, 320), 1)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0, 0, 0] * 254)
    image.paste(0, (0, 0, 160, 320))  # the left half is index 0, made transparent by tRNS
    return save(image, "PNG", transparency=0)


def test_palette_png_transparency_is_kept_for_glasses() -> None:
    image = decode(_palette_png_with_transparent_index(), GLASSES, max_pixels=MAX_PIXELS)
    assert image.array.shape == (320, 320, 4)
    assert image.array[10, 10, 3] == 0  # transparent half
    assert tuple(image.array[10, 300]) == (200, 30, 30, 255)


def test_transparency_is_laid_on_white_where_alpha_is_not_kept() -> None:
    image = decode(_palette_png_with_transparent_index(), RVTON, max_pixels=MAX_PIXELS)
    assert image.array.shape == (320, 320, 3)
    assert tuple(image.array[10, 10]) == (255, 255, 255)
    assert tuple(image.array[10, 300]) == (200, 30, 30)


def test_opaque_image_stays_rgb_for_glasses() -> None:
    data = save(Image.new("RGB", (320, 320), "gray"), "JPEG")
    image = decode(data, GLASSES, max_pixels=MAX_PIXELS)
    assert image.array.shape == (320, 320, 3)


def test_rgba_keeps_alpha_for_glasses() -> None:
    pixels = noise(300, 300, channels=4)
    image = decode(save(Image.fromarray(pixels), "PNG"), GLASSES, max_pixels=MAX_PIXELS)
    assert np.array_equal(image.array, pixels)


@pytest.mark.parametrize(
    ("mode", "values", "top"),
    [
        ("I;16", np.linspace(0, 65535, 300 * 320).reshape(300, 320).astype(np.uint16), 65535),
        ("I", np.linspace(0, 65535, 300 * 320).reshape(300, 320).astype(np.int32), 65535),
        ("F", np.linspace(0, 1, 300 * 320).reshape(300, 320).astype(np.float32), 1),
    ],
)
def test_deep_greyscale_is_scaled_to_8_bits_not_clipped_to_white(mode: str, values: np.ndarray, top: int) -> None:
    fmt = "PNG" if mode == "I;16" else "TIFF"
    image = decode(save(Image.fromarray(values), fmt), RVTON, max_pixels=MAX_PIXELS)
    expected = np.round(values.astype(np.float64) / top * 255).astype(np.uint8)
    assert image.array.shape == (300, 320, 3)
    assert np.array_equal(image.array[..., 0], expected) and np.array_equal(image.array[..., 2], expected)
