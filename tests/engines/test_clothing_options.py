"""Options of the CPU clothing engine: seed, variants, crop, mask, background, effort,
and the metadata that says what was and was not applied."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.options import Effort, JobKind, Region, TryOnOptions
from tests.engines.test_clothing_geometry import GREEN, draw_tee


@pytest.fixture(scope="module")
def engine():
    return registry.get("cpu-clothing")


def run(engine, **options):
    request = EngineRequest(images={"person": data.astronaut(), "garment": draw_tee()}, options=TryOnOptions(**options))
    return engine.run(request)


def test_registered_as_the_default_clothing_engine(engine):
    assert registry.default_name(JobKind.CLOTHING) == "cpu-clothing"
    assert engine.name == "cpu-clothing"


def test_same_seed_same_pixels_other_seed_other_fit(engine):
    first = run(engine, seed=7).images[0]
    again = run(engine, seed=7).images[0]
    other = run(engine, seed=8).images[0]
    assert np.array_equal(first, again)
    differs = np.any(first != other, axis=2)
    assert differs.mean() > 0.01  # a visibly different fit, not noise


def test_variants_differ_and_say_what_varies(engine):
    result = run(engine, num_outputs=3, seed=3)
    assert len(result.images) == 3
    for i in range(3):
        for j in range(i + 1, 3):
            assert np.any(result.images[i] != result.images[j], axis=2).mean() > 0.005
    variants = result.metadata["variants"]
    assert set(variants["varies"]) == {"ease", "length", "flare"}
    assert len({tuple(sorted(f.items())) for f in variants["fits"]}) == 3


def test_mask_only_is_white_on_black_over_the_torso(engine):
    mask = run(engine, mask_only=True).images[0]
    assert mask.shape == data.astronaut().shape
    assert set(np.unique(mask)) == {0, 255}
    assert 0.05 < (mask[..., 0] == 255).mean() < 0.6
    assert mask[:60, :60].max() == 0  # background corner


def test_crop_is_three_by_four(engine):
    image = run(engine, crop=True).images[0]
    h, w = image.shape[:2]
    assert abs(w / h - 3 / 4) < 0.01
    assert h <= 512 and w <= 512


def test_remove_background_puts_the_person_on_white(engine):
    image = run(engine, remove_background=True).images[0]
    assert (image[:40, :40] >= 250).all()
    assert not (image[200:300, 180:260] >= 250).all()  # the garment on the chest is not white


def test_effort_levels_give_different_results_and_record_timings(engine):
    images = {effort: run(engine, effort=effort) for effort in Effort}
    assert not np.array_equal(images[Effort.FAST].images[0], images[Effort.QUALITY].images[0])
    assert not np.array_equal(images[Effort.FAST].images[0], images[Effort.BALANCED].images[0])
    for result in images.values():
        assert set(result.metadata["timings_ms"]) >= {"person", "garment", "render"}


def test_metadata_reports_applied_and_ignored_options(engine):
    result = run(engine, region=Region.AUTO, extras={"steps": 30, "force_dc": True}, garment_description="a green tee")
    meta = result.metadata
    assert meta["region"] == "upper"  # auto decided from the drawn tee
    assert meta["photo_type"] == "flat_lay"
    assert meta["applied"]["seed"] == 42 and meta["applied"]["region"] == "upper"
    assert set(meta["not_applied"]) == {"steps", "force_dc", "garment_description"}
    assert isinstance(meta["old_garment_visible"], bool)


def test_analysis_of_the_same_person_is_cached(engine):
    person = data.astronaut().copy()
    person[0, 0] = (1, 2, 3)  # a photo no other test has analysed
    options = TryOnOptions()
    first = engine.run(EngineRequest(images={"person": person, "garment": draw_tee()}, options=options))
    second = engine.run(EngineRequest(images={"person": person, "garment": draw_tee((200, 30, 30))}, options=options))
    assert first.metadata["person_analysis_cached"] is False
    assert second.metadata["person_analysis_cached"] is True


def test_the_fast_effort_works_a_large_photo_smaller_and_sets_the_try_on_back_in_it(engine):
    # Fast works a photo longer than 768 pixels at 768 (about half the pixels of a
    # 768×1024 photo, and of the cost) and upsizes what it changed into the photo.
    photo = cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)

    def at(effort: Effort, **options):
        options = TryOnOptions(effort=effort, **options)
        return engine.run(EngineRequest(images={"person": photo, "garment": draw_tee()}, options=options))

    fast = at(Effort.FAST)
    assert fast.metadata["work_size"] == [768, 768]
    assert at(Effort.BALANCED).metadata["work_size"] == [1024, 1024]
    image = fast.images[0]
    mask = at(Effort.FAST, mask_only=True).images[0][..., 0] == 255
    assert image.shape == photo.shape and mask.shape == photo.shape[:2]
    # the garment where the full-size work puts it, in the tee's green
    full = at(Effort.BALANCED, mask_only=True).images[0][..., 0] == 255
    assert (mask & full).sum() / (mask | full).sum() > 0.85
    chest = image[560:640, 340:540].reshape(-1, 3).astype(int)
    assert np.abs(np.median(chest, axis=0) - GREEN).max() < 40
    # the photo's own pixels, to the bit, a little way off what changed
    away = cv2.dilate(mask.view(np.uint8), np.ones((9, 9), np.uint8)) == 0
    assert away.mean() > 0.3 and np.array_equal(image[away], photo[away])
    # crop and background work in the photo's pixels
    cropped = at(Effort.FAST, crop=True).images[0]
    assert abs(cropped.shape[1] / cropped.shape[0] - 3 / 4) < 0.01 and cropped.shape[0] > 700
    assert (at(Effort.FAST, remove_background=True).images[0][:60, :60] >= 250).all()
