"""The CPU background-remove engine: the person (or a product) on transparency."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.errors import InvalidParameter, NoGarmentFound
from fitroom.options import JobKind, TryOnOptions
from tests.helpers import drawn_tshirt


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
        EngineRequest(images={"image": data.astronaut()}, options=TryOnOptions(mask_only=True, extras={"foo": 1}))
    )
    assert set(result.metadata["not_applied"]) == {"mask_only", "foo"}


def test_a_product_photo_without_a_person_is_cut_out_along_its_backdrop(engine):
    shirt = drawn_tshirt()
    result = engine.run(EngineRequest(images={"image": shirt}))
    (rgba,) = result.images
    assert result.metadata["applied"]["subject"] == "product"
    inside = np.all(shirt == (200, 30, 60), axis=2)
    assert rgba[..., 3][inside].mean() > 250  # the garment is opaque
    assert rgba[:20, :20, 3].max() == 0  # the white backdrop is gone


def test_crop_trims_to_the_subject_with_a_margin(engine):
    shirt = drawn_tshirt()
    ys, xs = np.nonzero(np.any(shirt != 255, axis=2))
    tight = engine.run(EngineRequest(images={"image": shirt}, options=TryOnOptions(crop=True))).images[0]
    assert abs(tight.shape[0] - (ys.max() - ys.min() + 1)) <= 3 and abs(tight.shape[1] - (xs.max() - xs.min() + 1)) <= 3
    margin = TryOnOptions(crop=True, extras={"margin": "10px"})
    wide = engine.run(EngineRequest(images={"image": shirt}, options=margin))
    assert wide.images[0].shape[:2] == (tight.shape[0] + 20, tight.shape[1] + 20)
    assert wide.metadata["applied"]["margin_px"] == 10
    with pytest.raises(InvalidParameter, match="margin"):
        engine.run(EngineRequest(images={"image": shirt}, options=TryOnOptions(crop=True, extras={"margin": "x"})))


def test_nothing_to_cut_out(engine):
    with pytest.raises(NoGarmentFound, match="nothing standing out"):
        engine.run(EngineRequest(images={"image": np.full((400, 300, 3), 90, np.uint8)}))
