"""The CPU background-remove engine: the person on transparency."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.errors import NoPersonFound
from fitroom.options import JobKind, TryOnOptions


@pytest.fixture(scope="module")
def engine():
    return registry.get("cpu-cutout")


def test_person_kept_background_transparent(engine):
    photo = data.astronaut()
    result = engine.run(EngineRequest(images={"image": photo}))
    (rgba,) = result.images
    assert rgba.shape == (*photo.shape[:2], 4) and rgba.dtype == np.uint8
    assert np.array_equal(rgba[..., :3], photo)
    assert rgba[120:160, 200:250, 3].min() > 200  # the face
    assert rgba[:40, :40, 3].max() < 30  # background corner
    assert registry.default_name(JobKind.BACKGROUND_REMOVE) == "cpu-cutout"


def test_try_on_options_are_reported_as_not_applied(engine):
    result = engine.run(
        EngineRequest(images={"image": data.astronaut()}, options=TryOnOptions(crop=True, extras={"foo": 1}))
    )
    assert set(result.metadata["not_applied"]) == {"crop", "foo"}


def test_no_person(engine):
    with pytest.raises(NoPersonFound):
        engine.run(EngineRequest(images={"image": np.full((400, 300, 3), 90, np.uint8)}))
