"""What makes the CPU clothing result a preview rather than a cut-out: the old garment
is taken off where the new one does not cover it, and a photo that is not of a person
(a flat-lay garment, a print with a face on it) is refused. Images are drawn here or
come from scikit-image; nothing is downloaded."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu import person as persons
from fitroom.engines.cpu.clothing import garment_and_change_masks
from fitroom.errors import NoPersonFound
from fitroom.options import TryOnOptions
from tests.engines.test_clothing_geometry import draw_tee


@pytest.fixture(scope="module")
def engine():
    e = registry.get("cpu-clothing")
    e.warm_up()
    return e


def flat_lay_with_a_face() -> np.ndarray:
    """A product photo of a printed tee: a flat tee on white with a face on its chest,
    the kind of photo the pose model mistakes for a person."""
    tee = cv2.resize(draw_tee((30, 30, 30)), (768, 960))
    face = data.astronaut()[40:220, 150:300]
    tee[380:560, 309:459] = face
    return tee


def crop_top(colour: tuple[int, int, int] = (230, 200, 30)) -> np.ndarray:
    """A sleeveless, short top: it leaves much of an old long-sleeved top uncovered."""
    img = np.full((600, 480, 3), 255, np.uint8)
    cv2.fillPoly(img, [np.array([[150, 120], [330, 120], [330, 330], [150, 330]], np.int32)], colour)
    cv2.ellipse(img, (240, 120), (45, 30), 0, 0, 180, (255, 255, 255), -1)
    return img


@pytest.mark.parametrize("person", [flat_lay_with_a_face(), draw_tee(), cv2.resize(draw_tee(), (768, 1024))])
def test_a_flat_lay_garment_is_not_a_person(engine, person):
    with pytest.raises(NoPersonFound) as info:
        engine.run(EngineRequest(images={"person": person, "garment": draw_tee()}))
    assert info.value.code == "no_person_found"


def test_a_face_below_the_shoulders_is_a_print_not_a_head():
    lm = np.zeros((33, 3), np.float32)
    lm[:, 2] = 1.0
    lm[persons.L_SHOULDER, :2], lm[persons.R_SHOULDER, :2] = (500, 300), (300, 300)
    lm[persons.NOSE, :2] = (400, 380)  # on the chest
    mask = np.zeros((1000, 800), np.float32)
    mask[150:900, 200:600] = 1
    analysis = persons.PersonAnalysis(landmarks=lm, mask=mask, shape=(1000, 800))
    assert "shoulders" in (persons.not_a_person(analysis) or "")
    lm[persons.NOSE, :2] = (400, 180)  # a head above them, on the silhouette
    assert persons.not_a_person(analysis) is None


def test_the_astronauts_suit_is_found_as_the_old_top():
    analysis, _ = persons.analyze(data.astronaut())
    wardrobe = analysis.wardrobe
    assert wardrobe is not None
    # the chest between the shoulders is the old top, the face is not
    p = analysis.point
    chest = ((p(persons.L_SHOULDER) + p(persons.R_SHOULDER)) / 2 + (p(persons.L_HIP) + p(persons.R_HIP)) / 2) / 2
    x, y = int(chest[0]), int(min(chest[1], 500))
    sw = int(analysis.shoulder_width * 0.15)
    assert wardrobe.top[max(y - sw, 0) : y, x - sw : x + sw].mean() > 0.6
    assert not (wardrobe.top & analysis.head).any()
    assert wardrobe.skin.shape == data.astronaut().shape and wardrobe.background.shape == data.astronaut().shape


def test_old_top_is_taken_off_where_the_new_one_does_not_cover_it(engine):
    person = data.astronaut()
    request = EngineRequest(images={"person": person, "garment": crop_top()}, options=TryOnOptions(seed=1))
    out = engine.run(request).images[0]
    garment, changed = garment_and_change_masks(request)
    analysis, _ = persons.analyze(person)
    assert analysis.wardrobe is not None
    uncovered = analysis.wardrobe.top & ~garment
    assert uncovered.sum() > 500  # the sleeveless top leaves the suit's sleeves and more
    # those pixels are repainted (skin or background), and the mask says so
    repainted = np.any(out != person, axis=2)
    assert repainted[uncovered].mean() > 0.9
    assert changed[uncovered].mean() > 0.9
    # and nothing changes away from garment, old top and their soft edges
    far = cv2.distanceTransform((~changed).astype(np.uint8), cv2.DIST_L2, 3) > 12
    assert not repainted[far].any()


def test_repainted_skin_is_not_a_flat_colour():
    analysis, _ = persons.analyze(data.astronaut())
    assert analysis.wardrobe is not None
    skin = analysis.wardrobe.skin[analysis.wardrobe.body].astype(np.float32)
    grey = skin.mean(axis=1)
    assert grey.std() > 1.0  # grain and round shading, not one colour


def test_same_seed_same_bytes_with_the_old_garment_taken_off(engine):
    request = EngineRequest(images={"person": data.astronaut(), "garment": crop_top()}, options=TryOnOptions(seed=5))
    persons.clear_cache()
    first = engine.run(request).images[0]
    persons.clear_cache()
    again = engine.run(request).images[0]
    assert np.array_equal(first, again)
