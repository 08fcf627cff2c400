"""The loader: one call from a field's value, whatever its form, to checked pixels."""

from __future__ import annotations

import base64
import io
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from fitroom.api import glasses, rvton
from fitroom.errors import (
    ImageTooLarge,
    InvalidImageReference,
    ResolutionTooLow,
    UrlRefused,
)
from fitroom.images.loader import ImageLoader
from fitroom.settings import Settings

pytestmark = pytest.mark.anyio

RVTON = rvton.LIMITS
# Decoded as the glasses engine decodes its frame: transparency kept.
GLASSES = replace(glasses.LIMITS, keep_alpha=True)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (30, 60, 90)).save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize(
    "as_value",
    [
        lambda data: data,  # an uploaded file
        lambda data: base64.b64encode(data).decode(),
        lambda data: "data:image/png;base64," + base64.b64encode(data).decode(),
    ],
    ids=["bytes", "base64", "data-uri"],
)
async def test_every_form_loads_the_same_image(as_value) -> None:  # type: ignore[no-untyped-def]
    data = png(300, 320)
    async with ImageLoader.from_settings(Settings()) as loader:
        loaded = await loader.load(as_value(data), RVTON, field="human_img")
    assert loaded.data == data
    assert (loaded.image.width, loaded.image.height, loaded.image.format) == (300, 320, "PNG")
    assert np.all(loaded.image.array == (30, 60, 90))


async def test_errors_name_the_field() -> None:
    async with ImageLoader.from_settings(Settings()) as loader:
        with pytest.raises(ResolutionTooLow) as low:
            await loader.load(png(200, 200), GLASSES, field="glass_image_path")
        with pytest.raises(InvalidImageReference) as garbage:
            await loader.load("not an image!", RVTON, field="garm_img")
        with pytest.raises(UrlRefused) as refused:
            await loader.load("http://127.0.0.1:1/a.png", RVTON, field="human_img")
    assert (low.value.field, garbage.value.field, refused.value.field) == (
        "glass_image_path", "garm_img", "human_img"
    )


async def test_base64_over_the_dialect_cap_is_too_large() -> None:
    async with ImageLoader.from_settings(Settings()) as loader:
        with pytest.raises(ImageTooLarge):
            text = base64.b64encode(b"\0" * (GLASSES.max_bytes + 1)).decode()
            await loader.load(text, GLASSES, field="f")
