"""The CPU reframe engine (FASHN's ``reframe``): crop to an aspect ratio, person whole."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu.reframe import frame, parse_aspect_ratio
from fitroom.errors import InvalidParameter, NoPersonFound
from fitroom.options import JobKind, TryOnOptions


def run(image: np.ndarray, ratio: str):
    engine = registry.get("cpu-reframe")
    return engine.run(EngineRequest(images={"image": image}, options=TryOnOptions(extras={"aspect_ratio": ratio})))


def test_the_frame_is_the_largest_of_that_shape_centred_on_the_body() -> None:
    assert frame((1000, 800), (300, 100, 500, 900), 1.0) == (0, 100, 800, 900)
    assert frame((1000, 800), (0, 0, 100, 100), 4 / 5) == (0, 0, 800, 1000)  # already 4:5
    assert frame((600, 1200), (900, 0, 1100, 600), 1.0) == (600, 0, 1200, 600)  # clamped right


def test_a_portrait_reframed_keeps_the_person_and_the_ratio() -> None:
    photo = data.astronaut()  # 512×512, head and shoulders
    result = run(photo, "3:4")
    image = result.images[0]
    assert image.shape[0] == 512 and image.shape[1] == 384
    x0, y0, x1, y1 = result.metadata["applied"]["crop_box"]
    assert np.array_equal(image, photo[y0:y1, x0:x1])
    assert registry.default_name(JobKind.REFRAME) == "cpu-reframe"


def test_a_frame_that_cuts_the_person_says_so() -> None:
    result = run(data.astronaut(), "1:3")
    assert result.images[0].shape[1] * 3 == pytest.approx(result.images[0].shape[0], abs=3)
    assert "generative engine" in result.metadata["not_applied"]["keep_person_whole"]


def test_bad_ratios_and_empty_photos_are_refused() -> None:
    for bad in ("square", "0:3", "4/5", ""):
        with pytest.raises(InvalidParameter, match="aspect_ratio"):
            parse_aspect_ratio(bad)
    with pytest.raises(NoPersonFound):
        run(np.full((400, 300, 3), 90, np.uint8), "1:1")
