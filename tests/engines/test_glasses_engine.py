"""The glasses engine on a face a package ships and on glasses drawn here.

The drawn frame is magenta, a colour the astronaut photo has nowhere near her face, so the
tests can find where it landed in the output pixels and check its lenses against the
pupils that face analysis finds on the untouched photo.
"""

from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest
from scipy import ndimage
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu.face import find_faces
from fitroom.engines.cpu.glasses_asset import load_glasses
from fitroom.errors import GlassesNotFound, NoFaceFound
from fitroom.options import Region, TryOnOptions

MAGENTA = (230, 20, 200)
# Drawn frame: lens centres at (160, 120) and (480, 120), 640 wide.
WIDTH, HEIGHT = 640, 240
LENS_CENTRES = np.array([[160.0, 120.0], [480.0, 120.0]])
LENS_HALF = (112, 76)
RIM = 16
CLEAR, WHITE, GREEN = None, (250, 252, 255), (40, 90, 60)


def draw_frontal(lens: tuple[int, int, int] | None = CLEAR) -> np.ndarray:
    """RGBA frontal glasses: two rounded-rectangle rims, a bridge, endpieces.

    ``lens`` None leaves the lenses transparent; a colour paints them opaque, as product
    renders do (near-white for clear glass, a tint for sunglasses)."""
    rgba = np.zeros((HEIGHT, WIDTH, 4), np.uint8)
    frame = (*MAGENTA, 255)
    for cx, cy in LENS_CENTRES.astype(int):
        a, b = LENS_HALF
        cv2.rectangle(rgba, (cx - a - RIM, cy - b - RIM), (cx + a + RIM, cy + b + RIM), frame, -1, cv2.LINE_AA)
        fill = (0, 0, 0, 0) if lens is None else (*lens, 255)
        cv2.rectangle(rgba, (cx - a, cy - b), (cx + a, cy + b), fill, -1, cv2.LINE_AA)
    cv2.rectangle(rgba, (270, 60), (370, 74), frame, -1)  # bridge
    return rgba


def draw_angled(lens: tuple[int, int, int] | None = CLEAR, degrees: float = 30) -> np.ndarray:
    """The same frame turned about its vertical axis and seen in perspective, as a 3/4
    product shot, with the far temple running off to the right."""
    theta = math.radians(degrees)
    distance = 2000.0
    centre = np.array([[1, 0, -WIDTH / 2], [0, 1, -HEIGHT / 2], [0, 0, 1]])
    turn = np.array([[distance * math.cos(theta), 0, 0], [0, distance, 0], [math.sin(theta), 0, distance]])
    place = np.array([[1, 0, 380], [0, 1, 180], [0, 0, 1]])
    homography = place @ turn @ centre
    canvas = cv2.warpPerspective(draw_frontal(lens), homography, (900, 380), flags=cv2.INTER_LINEAR)
    hinge = cv2.perspectiveTransform(np.float32([[[WIDTH - 4, 70]]]), homography)[0, 0]
    cv2.line(canvas, tuple(int(v) for v in hinge), (int(hinge[0]) + 190, int(hinge[1]) + 25),
             (*MAGENTA, 255), 12, cv2.LINE_AA)
    return canvas


@pytest.fixture(scope="module")
def person() -> np.ndarray:
    # Twice the shipped size, so the frame's rims are a few pixels wide to measure.
    return cv2.resize(data.astronaut(), (1024, 1024), interpolation=cv2.INTER_CUBIC)


@pytest.fixture(scope="module")
def face(person):
    (face,) = find_faces(person)
    return face


@pytest.fixture(scope="module")
def engine():
    return registry.get("cpu-glasses")


def run(engine, person, glasses=None, **options):
    images = {"person": person} if glasses is None else {"person": person, "glasses": glasses}
    return engine.run(EngineRequest(images=images, options=TryOnOptions(**options)))


def lens_openings(output: np.ndarray, original: np.ndarray) -> list[np.ndarray]:
    """Masks of the two lens openings of the magenta frame found in ``output``, left first."""
    frame = (np.abs(output.astype(int) - MAGENTA).max(axis=2) < 60) & (
        np.abs(original.astype(int) - MAGENTA).max(axis=2) >= 60)
    frame = cv2.morphologyEx(frame.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(bool)
    holes, n = ndimage.label(ndimage.binary_fill_holes(frame) & ~frame)
    sizes = ndimage.sum_labels(np.ones_like(holes), holes, range(1, n + 1))
    biggest = np.argsort(sizes)[::-1][:2] + 1
    masks = [holes == label for label in biggest]
    return sorted(masks, key=lambda m: np.argwhere(m)[:, 1].mean())


def centroid(mask: np.ndarray) -> np.ndarray:
    return np.argwhere(mask).mean(axis=0)[::-1]


@pytest.mark.parametrize("shot", ["frontal", "angled"])
def test_lenses_land_on_the_pupils_along_the_eye_line(engine, person, face, shot):
    glasses = draw_frontal() if shot == "frontal" else draw_angled()
    result = run(engine, person, glasses)
    openings = lens_openings(result.images[0], person)
    assert len(openings) == 2 and all(m.sum() > 200 for m in openings)
    centres = np.array([centroid(m) for m in openings])
    ipd = face.inter_pupil_distance
    assert np.linalg.norm(centres - face.pupils, axis=1).max() < 0.1 * ipd

    eye, lenses = face.pupils[1] - face.pupils[0], centres[1] - centres[0]
    angle = math.degrees(math.atan2(lenses[1], lenses[0]) - math.atan2(eye[1], eye[0]))
    assert abs(angle) < 3


def test_a_rotated_face_gets_a_rotated_frame(engine, person):
    turned = cv2.warpAffine(person, cv2.getRotationMatrix2D((512, 300), -15, 1.0), (1024, 1024),
                            borderMode=cv2.BORDER_REPLICATE)
    (face,) = find_faces(turned)
    centres = np.array([centroid(m) for m in lens_openings(run(engine, turned, draw_frontal()).images[0], turned)])
    lenses = centres[1] - centres[0]
    assert math.degrees(math.atan2(lenses[1], lenses[0])) == pytest.approx(face.roll, abs=3)
    assert face.roll > 10  # the photo really turned the eye line


def test_mouth_and_background_are_untouched(engine, person, face):
    output = run(engine, person, draw_frontal()).images[0]
    changed = np.abs(output.astype(int) - person).max(axis=2) > 0
    assert changed.sum() > 1000  # the frame is there
    mouth = face.landmarks[[61, 291, 0, 17], :2]  # mouth corners, upper and lower lip
    (x0, y0), (x1, y1) = mouth.min(axis=0).astype(int) - 5, mouth.max(axis=0).astype(int) + 5
    assert not changed[y0:y1, x0:x1].any()
    # Nothing changes farther from the eyes than a frame and its shadow reach.
    ys, xs = np.nonzero(changed)
    reach = np.hypot(xs - face.pupils[:, 0].mean(), ys - face.pupils[:, 1].mean())
    assert reach.max() < 1.6 * face.inter_pupil_distance
    assert not changed[:150].any() and not changed[-300:].any()


@pytest.mark.parametrize("lens", [CLEAR, WHITE], ids=["transparent", "painted-white"])
def test_clear_lenses_stay_clear(engine, person, lens):
    output = run(engine, person, draw_frontal(lens)).images[0]
    for opening in lens_openings(output, person):
        inside = ndimage.binary_erosion(opening, iterations=4)
        assert inside.sum() > 200
        difference = np.abs(output[inside].astype(int) - person[inside]).mean()
        assert difference < 8  # the eye shows through, not a white or grey patch


def test_tinted_lenses_keep_their_tint_and_show_the_eye(engine, person):
    output = run(engine, person, draw_frontal(GREEN)).images[0]
    frame = np.abs(output.astype(int) - MAGENTA).max(axis=2) < 60
    holes = ndimage.binary_fill_holes(frame) & ~frame
    inside = ndimage.binary_erosion(holes, iterations=4)
    seen, behind = output[inside].astype(float), person[inside].astype(float)
    assert seen.mean() < 0.5 * behind.mean()  # dark
    assert seen[:, 1].mean() > seen[:, 0].mean() and seen[:, 1].mean() > seen[:, 2].mean()  # green
    assert np.corrcoef(seen.mean(axis=1), behind.mean(axis=1))[0, 1] > 0.8  # the eye shows through


def test_product_photo_on_a_plain_background_is_matted(engine, person, face):
    rgba = draw_angled(WHITE)
    white = np.full(rgba.shape[:2] + (3,), 255, np.float32)
    rgb = (rgba[..., :3] * (rgba[..., 3:] / 255) + white * (1 - rgba[..., 3:] / 255)).astype(np.uint8)
    result = run(engine, person, rgb)
    assert result.metadata["applied"]["glasses"]["source"] == "matted"
    openings = lens_openings(result.images[0], person)
    centres = np.array([centroid(m) for m in openings])
    assert np.linalg.norm(centres - face.pupils, axis=1).max() < 0.1 * face.inter_pupil_distance
    for opening in openings:
        inside = ndimage.binary_erosion(opening, iterations=4)
        assert np.abs(result.images[0][inside].astype(int) - person[inside]).mean() < 8


def test_a_turned_product_shot_is_rectified_to_the_frontal_frame():
    frontal, angled = load_glasses(draw_frontal()), load_glasses(draw_angled(degrees=35))
    assert frontal.view_angle_deg < 3 and angled.view_angle_deg > 15
    # Both lenses equally wide again, and level.
    assert abs(angled.lens_centres[0, 1] - angled.lens_centres[1, 1]) < 2
    ratio = frontal.lens_distance / frontal.width
    assert angled.lens_distance / angled.width == pytest.approx(ratio, rel=0.08)
    # The far temple is cut off: the front is no wider than the lenses and endpieces.
    assert angled.width < 1.25 * angled.lens_distance / ratio


def test_every_face_gets_a_pair(engine):
    person = cv2.resize(data.astronaut(), (768, 768), interpolation=cv2.INTER_CUBIC)
    pair = np.hstack([person, person[:, ::-1]])
    result = run(engine, pair, draw_frontal())
    assert result.metadata["faces"] == 2
    frame = np.abs(result.images[0].astype(int) - MAGENTA).max(axis=2) < 60
    assert frame[:, :768].sum() > 500 and frame[:, 768:].sum() > 500


def test_default_pair_and_metadata(engine, person, face):
    result = run(engine, person)
    meta = result.metadata
    assert meta["applied"]["glasses"]["source"] == "default"
    assert meta["faces"] == 1
    (placed,) = meta["placements"]
    assert np.allclose(placed["pupils"], face.pupils, atol=0.1)
    lenses = np.asarray(placed["lens_centres"])
    assert np.linalg.norm(lenses - face.pupils, axis=1).max() < 0.1 * face.inter_pupil_distance
    assert set(meta["timings_ms"]) >= {"faces", "glasses", "render", "total"}
    assert result.images[0].shape == person.shape and result.images[0].dtype == np.uint8
    assert (result.images[0] != person).any()
    json.dumps(meta)  # metadata travels with the job as JSON


def test_variants_differ_and_say_how(engine, person):
    result = run(engine, person, draw_frontal(), num_outputs=3, region=Region.UPPER, extras={"tint": "blue"})
    assert len(result.images) == 3
    for a in range(3):
        for b in range(a + 1, 3):
            assert (result.images[a] != result.images[b]).any()
    fits = [v["fit"] for v in result.metadata["variants"]["outputs"]]
    assert len(set(fits)) == 3
    assert "region" in result.metadata["not_applied"] and "extras.tint" in result.metadata["not_applied"]
    assert result.metadata["applied"]["num_outputs"] == 3


def test_no_face_and_no_glasses_are_named_errors(engine, person):
    with pytest.raises(NoFaceFound):
        run(engine, np.full((512, 512, 3), 128, np.uint8), draw_frontal())
    with pytest.raises(GlassesNotFound):
        run(engine, person, np.zeros((200, 400, 4), np.uint8))  # fully transparent
    with pytest.raises(GlassesNotFound):
        noise = np.random.default_rng(0).integers(0, 255, (200, 400, 3), dtype=np.uint8)
        run(engine, person, noise)  # no plain background to matte against
