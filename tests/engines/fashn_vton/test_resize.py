"""Pre-resize, resize-and-pad and unpad against the published ``AspectPreserveResize`` and
``ResizePad`` (hashes and paddings from ``scripts/make_pose_reference.py``)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from fitroom.engines.fashn_vton import resize
from fitroom.engines.fashn_vton.resize import Padding, pre_resize, resize_and_pad, restore_size, unpad
from fitroom.engines.fashn_vton.standin import synthetic_person_image

REFERENCE = json.loads(
    (Path(__file__).resolve().parents[2] / "fixtures" / "fashn_vton" / "pose_reference.json").read_text()
)


def sha256(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def case_id(case: dict[str, Any]) -> str:
    return f"{case['height']}x{case['width']}x{case.get('channels', 3)}-{case.get('interpolation') or 'default'}"


@pytest.mark.parametrize("case", REFERENCE["resize_pad"], ids=case_id)
def test_resize_and_pad_matches_published(case: dict[str, Any]) -> None:
    image = synthetic_person_image(case["height"], case["width"], case["seed"])
    if case["channels"] == 1:
        image = np.ascontiguousarray(image[..., 0])
    assert sha256(image) == case["input_sha256"]
    flag = None if case["interpolation"] is None else getattr(cv2, case["interpolation"])
    padded, padding = resize_and_pad(image, interpolation=flag)
    assert list(padded.shape) == case["shape"]
    assert padded.shape[:2] == (resize.MODEL_HEIGHT, resize.MODEL_WIDTH) and padded.dtype == np.uint8
    assert [padding.left, padding.top, padding.right, padding.bottom] == case["padding"]
    assert sha256(padded) == case["sha256"]
    unpadded = unpad(padded, padding)
    assert list(unpadded.shape) == case["unpadded_shape"] and sha256(unpadded) == case["unpadded_sha256"]


@pytest.mark.parametrize("case", REFERENCE["pre_resize"], ids=case_id)
def test_pre_resize_matches_published(case: dict[str, Any]) -> None:
    image = synthetic_person_image(case["height"], case["width"], case["seed"])
    assert sha256(image) == case["input_sha256"]
    out = np.array(pre_resize(Image.fromarray(image)))
    assert list(out.shape) == case["shape"] and sha256(out) == case["sha256"]
    assert max(out.shape[:2]) <= 864


@pytest.mark.parametrize("photo", REFERENCE["photos"], ids=lambda p: p["name"])
def test_photo_path_matches_published(photo: dict[str, Any]) -> None:
    """Pre-resize, resize-and-pad with the default filters, unpad of a PIL image (what the
    published pipeline does to the person photo and, with its padding, to the result)."""
    rgb = synthetic_person_image(photo["height"], photo["width"], photo["seed"])
    resized = np.array(pre_resize(Image.fromarray(rgb)))
    assert list(resized.shape) == photo["pre_resized_shape"] and sha256(resized) == photo["pre_resized_sha256"]
    padded, padding = resize_and_pad(resized)
    assert list(padded.shape) == photo["model_photo_shape"] and sha256(padded) == photo["model_photo_sha256"]
    assert [padding.left, padding.top, padding.right, padding.bottom] == photo["photo_padding"]
    assert sha256(np.array(unpad(Image.fromarray(padded), padding))) == photo["unpadded_sha256"]


def test_pre_resize_returns_small_images_untouched() -> None:
    image = Image.new("RGB", (300, 500))
    assert pre_resize(image) is image


def test_unpad_array_and_image_agree() -> None:
    padded, padding = resize_and_pad(synthetic_person_image(100, 300, 3))
    assert padding == Padding(left=0, top=336, right=0, bottom=336)  # 300 × 100 grows to 576 × 192
    np.testing.assert_array_equal(np.array(unpad(Image.fromarray(padded), padding)), unpad(padded, padding))


def test_restore_size() -> None:
    image = Image.new("RGB", (576, 823), (10, 20, 30))
    restored = restore_size(image, (1000, 1429))
    assert restored.size == (1000, 1429) and restored.getpixel((500, 700)) == (10, 20, 30)
    assert restore_size(image, (576, 823)) is image
