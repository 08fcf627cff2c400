"""Encoding results: deterministic bytes, alpha handled per format."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from fitroom.images.encode import content_type, data_uri, encode
from fitroom.options import OutputFormat


def pixels(channels: int) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (40, 30, channels), dtype=np.uint8)


@pytest.mark.parametrize("fmt", list(OutputFormat))
def test_same_array_same_bytes(fmt: OutputFormat) -> None:
    assert encode(pixels(3), fmt) == encode(pixels(3).copy(), fmt)


def test_png_is_lossless_and_keeps_alpha() -> None:
    rgba = pixels(4)
    decoded = Image.open(io.BytesIO(encode(rgba, OutputFormat.PNG)))
    assert decoded.format == "PNG" and decoded.mode == "RGBA"
    assert np.array_equal(np.asarray(decoded), rgba)


def test_jpeg_lays_alpha_on_white() -> None:
    rgba = np.zeros((32, 32, 4), dtype=np.uint8)  # black, fully transparent
    rgba[:, 16:] = (200, 0, 0, 255)  # right half opaque red
    decoded = np.asarray(Image.open(io.BytesIO(encode(rgba, OutputFormat.JPEG))))
    assert decoded.shape == (32, 32, 3)
    assert decoded[16, 4].min() > 240  # white, not the black under the transparency
    assert decoded[16, 28, 0] > 180 and decoded[16, 28, 1] < 40


def test_grey_arrays_encode() -> None:
    grey = np.full((10, 12), 128, dtype=np.uint8)
    assert Image.open(io.BytesIO(encode(grey, OutputFormat.PNG))).size == (12, 10)


@pytest.mark.parametrize(
    "array",
    [np.zeros((4, 4, 3), np.float32), np.zeros((4, 4, 2), np.uint8), np.zeros(4, np.uint8)],
)
def test_arrays_that_are_not_images_are_refused(array: np.ndarray) -> None:
    with pytest.raises(ValueError):
        encode(array, OutputFormat.PNG)


def test_content_type_and_data_uri() -> None:
    assert content_type(OutputFormat.JPEG) == "image/jpeg"
    assert content_type(OutputFormat.PNG) == "image/png"
    data = encode(pixels(3), OutputFormat.PNG)
    uri = data_uri(data, "image/png")
    prefix = "data:image/png;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri.removeprefix(prefix)) == data
