"""Where the CPU clothing engine puts a garment: on the torso, along the arms, never on
the face or the background. Photos come from scikit-image (the astronaut) or are drawn
here, garments are drawn here; nothing is downloaded."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu import garment as garments
from fitroom.engines.cpu import person as persons
from fitroom.engines.cpu.clothing import EFFORT, Fit, _close, _scraps, _seam, _slits, render
from fitroom.engines.cpu.fit import LEG_REACH, Body, fit_garment
from fitroom.options import Effort, PhotoType, Region, TryOnOptions

GREEN = (20, 170, 60)


def draw_tee(colour: tuple[int, int, int] = GREEN, size: tuple[int, int] = (600, 480)) -> np.ndarray:
    """A flat-lay tee on white: body panel, two short sleeves spread at 45°, a round neck."""
    h, w = size
    img = np.full((h, w, 3), 255, np.uint8)
    body = np.array([[150, 120], [330, 120], [330, 520], [150, 520]], np.int32)
    left_sleeve = np.array([[150, 120], [60, 230], [120, 280], [150, 250]], np.int32)
    right_sleeve = np.array([[330, 120], [420, 230], [360, 280], [330, 250]], np.int32)
    for poly in (body, left_sleeve, right_sleeve):
        cv2.fillPoly(img, [poly], colour)
    cv2.ellipse(img, (240, 120), (45, 30), 0, 0, 180, (255, 255, 255), -1)  # neckline
    return img


def draw_trousers(colour: tuple[int, int, int] = (40, 60, 160), hem_inset: int = 0) -> np.ndarray:
    """Trousers laid flat, each leg 85 px wide at the hem, or ``hem_inset`` px less
    (their outer seams moved in: 30 makes skinny trousers, 84 px at the thigh, 55 at the hem)."""
    img = np.full((640, 400, 3), 255, np.uint8)
    left, right = 100 + hem_inset, 300 - hem_inset  # the hem's outer corners
    outline = [[110, 60], [290, 60], [right, 600], [215, 600], [200, 230], [185, 600], [left, 600]]
    cv2.fillPoly(img, [np.array(outline, np.int32)], colour)
    return img


@pytest.fixture(scope="module")
def engine():
    e = registry.get("cpu-clothing")
    e.warm_up()
    return e


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def is_garment_colour(img: np.ndarray, colour=GREEN, tol: float = 60) -> np.ndarray:
    return np.linalg.norm(img.astype(np.float32) - np.array(colour, np.float32), axis=2) < tol


def test_garment_lands_between_the_shoulders_and_above_the_hips(engine, astronaut):
    result = engine.run(
        EngineRequest(images={"person": astronaut, "garment": draw_tee()}, options=TryOnOptions(region=Region.UPPER))
    )
    out = result.images[0]
    assert out.shape == astronaut.shape and out.dtype == np.uint8
    analysis, _ = persons.analyze(astronaut)
    left, right = sorted([analysis.point(persons.L_SHOULDER)[0], analysis.point(persons.R_SHOULDER)[0]])
    shoulders_y = analysis.landmarks[[persons.L_SHOULDER, persons.R_SHOULDER], 1].mean()
    sw = analysis.shoulder_width

    green = is_garment_colour(out)
    ys, xs = np.nonzero(green)
    assert green.sum() > 0.05 * green.size
    # the garment's centre sits between the shoulders, below them
    assert left < xs.mean() < right
    assert ys.mean() > shoulders_y
    # nothing of it above the neck, nothing on the background beyond a little ease
    assert ys.min() > shoulders_y - 0.4 * sw
    around_body = cv2.dilate(analysis.binary.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0
    assert not (green & ~around_body).any()
    # the chest just below the shoulder line is covered
    chest = green[
        int(shoulders_y + 0.2 * sw) : int(shoulders_y + 0.6 * sw), int(left + 0.2 * sw) : int(right - 0.2 * sw)
    ]
    assert chest.mean() > 0.8


def test_face_and_background_are_unchanged(engine, astronaut):
    result = engine.run(EngineRequest(images={"person": astronaut, "garment": draw_tee()}))
    out = result.images[0]
    analysis, _ = persons.analyze(astronaut)
    face = analysis.landmarks[[persons.L_EYE, persons.R_EYE, persons.MOUTH_L, persons.MOUTH_R, persons.NOSE], :2]
    x0, y0 = np.floor(face.min(axis=0)).astype(int) - 10
    x1, y1 = np.ceil(face.max(axis=0)).astype(int) + 10
    assert np.array_equal(out[y0:y1, x0:x1], astronaut[y0:y1, x0:x1])
    # top corners are background in the astronaut photo
    assert np.array_equal(out[:60, :60], astronaut[:60, :60])
    assert np.array_equal(out[:60, -60:], astronaut[:60, -60:])
    # every pixel outside the reported try-on mask is bit-identical
    mask_request = EngineRequest(
        images={"person": astronaut, "garment": draw_tee()}, options=TryOnOptions(mask_only=True)
    )
    mask = engine.run(mask_request).images[0][..., 0] > 0
    changed = np.any(out != astronaut, axis=2)
    # only the feathered, anti-aliased rim of the garment reaches past the mask
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 3)
    assert not (changed & (distance > 12)).any()
    assert changed[distance > 0].mean() < 0.05


def _drawn(lm: np.ndarray, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The drawn person's silhouette (head, torso, arms 40 px thick along the arm
    landmarks) and its arms alone, uint8 masks."""
    silhouette = np.zeros(shape, np.uint8)
    cv2.circle(silhouette, (300, 150), 55, 1, -1)
    cv2.rectangle(silhouette, (205, 235), (395, 560), 1, -1)
    arms = np.zeros(shape, np.uint8)
    for a, b in (
        (persons.R_SHOULDER, persons.R_ELBOW),
        (persons.R_ELBOW, persons.R_WRIST),
        (persons.L_SHOULDER, persons.L_ELBOW),
        (persons.L_ELBOW, persons.L_WRIST),
    ):
        cv2.line(arms, tuple(int(v) for v in lm[a, :2]), tuple(int(v) for v in lm[b, :2]), 1, 40)
    return silhouette | arms, arms


def _stick_person(raised: bool) -> tuple[np.ndarray, persons.PersonAnalysis]:
    """A drawn person (head, torso, arms) with landmarks set by hand; the right arm of
    the image is raised above the shoulder when ``raised``."""
    h, w = 800, 600
    img = np.full((h, w, 3), 200, np.uint8)
    lm = np.zeros((33, 3), np.float32)
    lm[:, 2] = 1.0
    pts = {
        persons.NOSE: (300, 150), persons.L_EYE: (320, 135), persons.R_EYE: (280, 135),
        persons.L_EAR: (345, 145), persons.R_EAR: (255, 145), persons.MOUTH_L: (315, 175), persons.MOUTH_R: (285, 175),
        persons.R_SHOULDER: (220, 250), persons.L_SHOULDER: (380, 250),
        persons.R_ELBOW: (205, 400), persons.R_WRIST: (200, 530),
        persons.L_ELBOW: (480, 150) if raised else (395, 400), persons.L_WRIST: (560, 50) if raised else (400, 530),
        persons.R_HIP: (250, 520), persons.L_HIP: (350, 520), persons.R_KNEE: (250, 700), persons.L_KNEE: (350, 700),
        persons.R_ANKLE: (250, 790), persons.L_ANKLE: (350, 790),
    }
    for i, (x, y) in pts.items():
        lm[i, :2] = (x, y)
    for i in (persons.L_INDEX, persons.L_PINKY):
        lm[i, :2] = lm[persons.L_WRIST, :2] + (lm[persons.L_WRIST, :2] - lm[persons.L_ELBOW, :2]) * 0.15
    for i in (persons.R_INDEX, persons.R_PINKY):
        lm[i, :2] = lm[persons.R_WRIST, :2] + (lm[persons.R_WRIST, :2] - lm[persons.R_ELBOW, :2]) * 0.15
    silhouette, arms = _drawn(lm, (h, w))
    img[silhouette > 0] = (225, 180, 150)
    analysis = persons.PersonAnalysis(
        landmarks=lm,
        mask=silhouette.astype(np.float32),
        shape=(h, w),
        skin=arms > 0,  # bare arms (the torso is taken as clothed)
        shading=np.ones((h, w), np.float32),
    )
    return img, analysis


def _along(analysis: persons.PersonAnalysis, a: int, b: int, t: float) -> tuple[int, int]:
    p = analysis.point(a) + (analysis.point(b) - analysis.point(a)) * t
    return int(p[1]), int(p[0])


def test_sleeves_follow_a_raised_arm():
    tee = garments.extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    assert set(tee.limbs) == {"a", "b"}
    settings = EFFORT[Effort.BALANCED]
    for raised in (True, False):
        img, analysis = _stick_person(raised)
        out, _, _ = render(img, analysis, tee, Fit(ease=1.05, length=1.0, flare=1.0), settings)
        green = is_garment_colour(out)
        # the sleeve covers the upper arm a quarter of the way to the elbow, wherever the arm points
        y, x = _along(analysis, persons.L_SHOULDER, persons.L_ELBOW, 0.25)
        assert green[y - 3 : y + 4, x - 3 : x + 4].mean() > 0.9, f"raised={raised}"
        # and the hand beyond a short sleeve stays bare
        y, x = _along(analysis, persons.L_ELBOW, persons.L_WRIST, 0.9)
        assert not green[y - 3 : y + 4, x - 3 : x + 4].any()
    # with the arm raised, nothing hangs where a lowered sleeve would be
    img, analysis = _stick_person(True)
    out, _, _ = render(img, analysis, tee, Fit(ease=1.05, length=1.0, flare=1.0), settings)
    assert not is_garment_colour(out)[300:360, 420:470].any()


def test_trouser_legs_follow_the_legs():
    trousers = garments.extract(draw_trousers(), region=Region.LOWER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    assert set(trousers.limbs) == {"a", "b"}
    img, analysis = _stick_person(False)
    # give the drawn person legs to wear them on
    legs = analysis.mask.copy()
    cv2.line(legs, (250, 520), (250, 790), 1, 60)
    cv2.line(legs, (350, 520), (350, 790), 1, 60)
    analysis = persons.PersonAnalysis(
        landmarks=analysis.landmarks, mask=legs, shape=analysis.shape, skin=analysis.skin, shading=analysis.shading
    )
    out, _, _ = render(img, analysis, trousers, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    blue = is_garment_colour(out, (40, 60, 160))
    for x in (250, 350):
        assert blue[640:660, x - 5 : x + 5].mean() > 0.9  # on each shin
    assert not blue[640:660, 295:305].any()  # not between the legs below the crotch
    assert not blue[:480].any()  # nothing above the waist


def test_a_slim_trouser_leg_covers_the_wider_leg_it_goes_on():
    # Skinny trousers over wide old ones, or over a thigh seen end-on (fashn_model,
    # seated): each leg was the garment's own width scaled by the waist's, centred on
    # the bone, and the old trousers showed beside it. A leg is now at least as wide
    # as the silhouette's leg across its bone, and centred on it.
    trousers = garments.extract(
        draw_trousers(hem_inset=30), region=Region.LOWER, photo_type=PhotoType.FLAT_LAY, preprocess=True
    )
    img, analysis = _stick_person(False)
    legs = analysis.mask.copy()
    cv2.line(legs, (245, 520), (245, 790), 1, 80)  # 80 px wide, their middles 5 px outside the bones
    cv2.line(legs, (355, 520), (355, 790), 1, 80)
    img = img.copy()
    img[legs > 0] = (225, 180, 150)
    analysis = persons.PersonAnalysis(
        landmarks=analysis.landmarks, mask=legs, shape=analysis.shape, skin=analysis.skin, shading=analysis.shading
    )
    out, _, _ = render(img, analysis, trousers, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    blue = is_garment_colour(out, (40, 60, 160))
    for x in (210, 280, 320, 390):  # near each shin's edges
        assert blue[730:760, x - 3 : x + 4].mean() > 0.9, x
    assert not blue[730:760, 297:303].any()  # the gap between the legs stays open


def draw_slim_long_sleeves(colour: tuple[int, int, int] = GREEN) -> np.ndarray:
    """A fitted long-sleeved top laid flat: wide armholes, slim sleeves hanging close
    beside the body and reaching below its short hem (like a ribbed turtleneck)."""
    img = np.full((600, 480, 3), 255, np.uint8)
    body = np.array([[150, 100], [330, 100], [330, 440], [150, 440]], np.int32)
    left_sleeve = np.array([[150, 100], [105, 130], [85, 540], [125, 540], [150, 250]], np.int32)
    right_sleeve = np.array([[330, 100], [375, 130], [395, 540], [355, 540], [330, 250]], np.int32)
    for poly in (body, left_sleeve, right_sleeve):
        cv2.fillPoly(img, [poly], colour)
    cv2.ellipse(img, (240, 100), (40, 25), 0, 0, 180, (255, 255, 255), -1)
    return img


def test_a_slim_sleeve_covers_its_arm_across_its_width():
    # The armhole sets a sleeve's scale across; a slim sleeve under a wide armhole at that
    # scale is a strip down the middle of the arm. Each sleeve piece itself (not the
    # fill that closes gaps) reaches across the arm, elbow to wrist.
    top = garments.extract(
        draw_slim_long_sleeves(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True
    )
    assert set(top.limbs) == {"a", "b"}
    img, analysis = _stick_person(False)
    body = Body.of(analysis, analysis.in_front | analysis.sleeve_zone)
    pieces = fit_garment(top, body, Fit(ease=1.05, length=1.0, flare=1.0), analysis.shape, grid=8, cubic=False)
    h, w = analysis.shape
    sleeves = np.zeros((h, w), bool)
    for piece in pieces:
        if piece.is_limb:
            x0, y0, x1, y1 = piece.box
            sleeves[y0:y1, x0:x1] |= piece.rgba[..., 3] > 0.5
    for elbow, wrist in ((persons.L_ELBOW, persons.L_WRIST), (persons.R_ELBOW, persons.R_WRIST)):
        for t in (0.2, 0.5, 0.8):
            y, x = _along(analysis, elbow, wrist, t)
            across = sleeves[y, x - 18 : x + 19]  # the drawn arm is 40 px wide
            assert across.all(), (elbow, t, across.mean())


def draw_angled_long_sleeves() -> np.ndarray:
    """A long-sleeved top photographed flat with its sleeves angled out from the body,
    sleeves red and body green (like 00151, a striped Breton top)."""
    img = np.full((600, 480, 3), 255, np.uint8)
    for sleeve in (
        [[150, 100], [100, 130], [60, 520], [110, 520], [150, 260]],
        [[330, 100], [380, 130], [420, 520], [370, 520], [330, 260]],
    ):
        cv2.fillPoly(img, [np.array(sleeve, np.int32)], (200, 30, 30))
    cv2.fillPoly(img, [np.array([[150, 100], [330, 100], [330, 440], [150, 440]], np.int32)], GREEN)
    cv2.ellipse(img, (240, 100), (40, 25), 0, 0, 180, (255, 255, 255), -1)
    return img


def test_a_long_sleeve_on_an_arm_beside_the_body_is_whole_and_its_own():
    # Below the armhole a long sleeve is fabric of its own: blended there with the
    # torso's spline (extrapolated past the torso's edge), a sleeve on an arm hanging
    # beside the body folded into holes and fragments of its print (02849 and 05997
    # with 00151). From elbow to wrist it is whole across the arm, and all sleeve.
    photo = draw_angled_long_sleeves()
    top = garments.extract(photo, region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    assert set(top.limbs) == {"a", "b"}
    _, analysis = _stick_person(False)
    body = Body.of(analysis, analysis.in_front | analysis.sleeve_zone)
    pieces = fit_garment(top, body, Fit(ease=1.05, length=1.0, flare=1.0), analysis.shape, grid=8, cubic=False)
    h, w = analysis.shape
    alpha, colour = np.zeros((h, w), np.float32), np.zeros((h, w, 3), np.float32)
    for piece in pieces:
        if piece.is_limb:
            x0, y0, x1, y1 = piece.box
            a = piece.rgba[..., 3]
            colour[y0:y1, x0:x1] = piece.rgba[..., :3] * a[..., None] + colour[y0:y1, x0:x1] * (1 - a[..., None])
            alpha[y0:y1, x0:x1] = np.maximum(alpha[y0:y1, x0:x1], a)
    for elbow, wrist in ((persons.L_ELBOW, persons.L_WRIST), (persons.R_ELBOW, persons.R_WRIST)):
        for t in (0.1, 0.3, 0.5, 0.7, 0.9):
            y, x = _along(analysis, elbow, wrist, t)
            band = (slice(y - 2, y + 3), slice(x - 15, x + 16))  # the drawn arm is 40 px wide
            assert (alpha[band] > 0.5).all(), (elbow, t, (alpha[band] > 0.5).mean())
            red = np.linalg.norm(colour[band] * 255 - (200, 30, 30), axis=-1) < 60
            assert red.all(), (elbow, t, red.mean())


def test_nothing_is_filled_in_between_long_sleeves_below_the_hem():
    # Long sleeves on hanging arms reach below a short top's hem; between them, below
    # the hem, is what the person wears there, not a smear of the top's colour.
    top = garments.extract(
        draw_slim_long_sleeves(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True
    )
    img, analysis = _stick_person(False)
    out, _, found = render(img, analysis, top, Fit(ease=1.05, length=0.92, flare=1.0), EFFORT[Effort.BALANCED])
    garment = found["garment_mask"]
    rows = np.flatnonzero(garment[:, 290:311].any(axis=1))
    hem = int(rows.max())  # the torso's lowest row at the centre line
    sleeves_end = int(np.flatnonzero(garment[:, 390:411].any(axis=1)).max())
    assert sleeves_end > hem + 10  # the sleeves do reach below the hem here
    assert not is_garment_colour(out)[hem + 4 : sleeves_end - 4, 250:350].any()


def test_a_hand_in_a_pocket_is_in_front_but_the_pocket_is_not():
    # The hand's zone round the wrist landmark is wider than what shows of a hand in a
    # pocket: the garment stays off the hand's skin, and covers the fabric around it.
    img, analysis = _stick_person(False)
    lm = analysis.landmarks.copy()
    lm[persons.L_ELBOW, :2], lm[persons.L_WRIST, :2] = (370, 380), (330, 450)  # the hand on the belly
    for i in (persons.L_INDEX, persons.L_PINKY):
        lm[i, :2] = (322, 470)
    skin = analysis.skin.copy()
    skin[:] = False
    cv2.circle(skin.view(np.uint8), (324, 468), 10, 1, -1)  # all that shows of the hand
    analysis = persons.PersonAnalysis(
        landmarks=lm, mask=analysis.mask, shape=analysis.shape, skin=skin, shading=analysis.shading
    )
    tee = garments.extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, _ = render(img, analysis, tee, Fit(ease=1.05, length=1.1, flare=1.0), EFFORT[Effort.BALANCED])
    green = is_garment_colour(out)
    assert not green[462:475, 318:331].any()  # the hand
    hand_zone = analysis.hands & ~cv2.dilate(skin.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool)
    hand_zone[480:] = False  # the tee's hem
    assert hand_zone.sum() > 300
    assert green[hand_zone].mean() > 0.95  # the pocket round it


def test_a_slit_between_pieces_is_closed_but_a_wavy_outline_is_left_as_it_is():
    # FILA's collar on model_7: the closing that shuts slits between torso and sleeve
    # also filled the one-pixel dips of the warped neckline's outline, and the rim
    # made opaque round each fill drew a row of teeth along the collar.
    sw = 200.0
    solid = np.zeros((120, 200), np.uint8)
    xs = np.arange(200)
    outline = (40 + 1.5 * np.sin(xs / 3.0)).astype(int)  # a neckline's edge, a pixel or two of wave
    for x, y in zip(xs, outline):
        solid[y:, x] = 1
    solid[60:, 98:101] = 0  # a slit three pixels wide where two pieces meet
    slits = _slits(solid, sw)
    assert slits[70:110, 98:101].all()
    assert not slits[:55].any()


def test_a_sleeves_edge_over_the_torso_is_smoothed_and_keeps_its_colour():
    # At the armpit the inverse map jumps across the armhole's ramp, and the sleeve's
    # edge drawn over the torso came out as a hard staircase (FILA's red sleeve against
    # its white band, on every person). Its free edge, over nothing, is the warp's own.
    red = np.array([0.8, 0.1, 0.15], np.float32)
    h, w = 120, 80
    rows = np.arange(h)
    edge = 30 + rows * 0.2 + np.where((rows // 4) % 2 == 0, 2.5, -2.5)  # a slanted edge in 4-row steps
    xs = np.arange(w)[None, :]
    a = (xs >= edge[:, None]).astype(np.float32)
    a[:, 70:] = 0.0  # the sleeve's outer edge, over the backdrop
    colour = np.where(a[..., None] > 0, red, 0.0).astype(np.float32)  # a piece has no colour past its edge
    under = np.zeros((h, w), np.float32)
    under[:, :60] = 1.0  # the torso piece, drawn before the sleeve
    seamed_colour, seamed = _seam(colour, a, under, 200.0)
    crossing = (seamed[20:100, :55] >= 0.5).argmax(axis=1).astype(np.float64)
    straight = np.polyval(np.polyfit(rows[20:100], crossing, 1), rows[20:100])
    assert np.abs(crossing - straight).max() < 1.5  # the steps were 5 px
    shown = seamed_colour * seamed[..., None]
    assert np.abs(shown[seamed > 0.3] / seamed[seamed > 0.3, None] - red).max() < 0.02  # no black where it grew
    assert np.array_equal(seamed[:, 62:], a[:, 62:])  # the free edge as it was


def test_a_gap_filled_in_the_fabric_leaves_no_pale_seam_beside_it():
    """Where the warped pieces leave a gap, the fill meets their soft edge: left
    half-transparent, that edge let the repainted body show through as a pale line."""
    navy = np.array([0.1, 0.1, 0.25], np.float32)
    colour = np.broadcast_to(navy, (40, 60, 3)).copy()
    alpha = np.zeros((40, 60), np.float32)
    alpha[:, :30] = 1.0
    alpha[:, 30:32] = (0.7, 0.55)  # the torso piece's anti-aliased edge
    gaps = np.zeros((40, 60), bool)
    gaps[:, 32:50] = True  # bare shoulder the fill closes
    closed_colour, closed_alpha = _close(colour, alpha, gaps)
    white = np.ones(3, np.float32)
    shown = closed_colour * closed_alpha[..., None] + white * (1 - closed_alpha[..., None])
    assert np.abs(shown[:, 25:50] - navy).max() < 0.02  # fabric, edge and fill all read as navy
    assert (closed_alpha[:, 52:] == 0).all()  # nothing beyond the gap



def draw_sleeves_along_the_body(colour: tuple[int, int, int] = GREEN) -> np.ndarray:
    """A long-sleeved top laid flat with its sleeves down its sides, as shops photograph
    them: each sleeve touches the body at the armhole and again at the cuff, and between
    the two a thin slit of the backdrop shows, enclosed. Drawn at the size garments are
    analysed at, so its coordinates are the analysis's."""
    img = np.full((560, 480, 3), 255, np.uint8)
    body = np.array([[150, 100], [330, 100], [330, 460], [150, 460]], np.int32)
    left_sleeve = np.array([[150, 100], [100, 125], [95, 470], [150, 470]], np.int32)
    right_sleeve = np.array([[330, 100], [380, 125], [385, 470], [330, 470]], np.int32)
    for poly in (body, left_sleeve, right_sleeve):
        cv2.fillPoly(img, [poly], colour)
    img[250:430, 138:146] = 255  # the slits, closed above by the armhole and below by the cuff
    img[250:430, 334:342] = 255
    cv2.ellipse(img, (240, 100), (40, 25), 0, 0, 180, (255, 255, 255), -1)
    return img


def test_sleeves_laid_along_the_body_are_whole_and_bring_no_backdrop():
    # The enclosed slit is backdrop, not fabric: taken in, it was warped between sleeve
    # and torso as a white streak. Each sleeve is the whole strip beside the body, and
    # the body's edge (where the torso piece ends) is at the slit, not at the sleeve's
    # outer edge.
    top = garments.extract(
        draw_sleeves_along_the_body(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True
    )
    assert not top.mask[260:420, 142].any() and not top.mask[260:420, 338].any()
    assert abs(top.points["armpit_a"][0] - 148) < 8 and abs(top.points["armpit_b"][0] - 332) < 8
    assert set(top.limbs) == {"a", "b"}
    for side, x in (("a", 118), ("b", 362)):
        assert top.limbs[side].mask[200:400, x].all(), side  # down the middle of each sleeve
    img, analysis = _stick_person(False)
    out, _, found = render(img, analysis, top, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    white = out.min(axis=2) > 240  # the drawn person and the backdrop hold no white
    assert white.sum() < 20, white.sum()


def draw_sloped_shoulders(colour: tuple[int, int, int] = GREEN) -> np.ndarray:
    """A tee laid flat whose shoulders fall from the collar to the sleeves, as real
    shoulder seams do: the corners sit 40 px below the top of the collar."""
    img = np.full((600, 480, 3), 255, np.uint8)
    body = np.array([[190, 80], [290, 80], [330, 120], [330, 440], [150, 440], [150, 120]], np.int32)
    left_sleeve = np.array([[150, 120], [60, 230], [120, 280], [150, 250]], np.int32)
    right_sleeve = np.array([[330, 120], [420, 230], [360, 280], [330, 250]], np.int32)
    for poly in (body, left_sleeve, right_sleeve):
        cv2.fillPoly(img, [poly], colour)
    cv2.ellipse(img, (240, 80), (40, 25), 0, 0, 180, (255, 255, 255), -1)
    return img


def test_a_sloped_shoulders_corners_are_on_its_own_edge():
    # Flat tops' shoulders fall from the collar; a corner held level with the collar
    # is in the air above the fabric, and the fabric's edge at the shoulder came to rest
    # that far below the body's shoulder line (bare skin showed above it on photos).
    tee = garments.extract(draw_sloped_shoulders(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    for side, inward in (("a", 1), ("b", -1)):
        x, y = tee.points[f"shoulder_{side}"]
        width = tee.points["shoulder_b"][0] - tee.points["shoulder_a"][0]
        edge = garments.top_row(tee.mask, x + inward * width / 8)
        assert edge is not None and abs(y - edge) <= 2, (side, y, edge)
        assert y > tee.points["neck"][1] + 10


def test_where_a_sleeve_folds_each_pixel_samples_one_layer():
    # Inside a sharply bent elbow two layers of the sleeve land on the same pixels. A
    # pixel's garment coordinate must come from one of them (the one on top), not
    # their mean: that is a point of neither, and sampling it drew a tangle of print.
    from fitroom.engines.cpu.skinning import invert

    gy, gx = np.mgrid[0:40:2, 0:40:2].reshape(2, -1).astype(np.float64)
    under = np.stack([gx, gy], 1)  # garment near the origin...
    over = under + 200.0  # ...and further down the sleeve
    body = np.concatenate([under, over - 200.0]) + 100.0  # both onto the same square
    garment = np.concatenate([under, over])
    rank = garment[:, 1]  # further down the sleeve lies on top
    mx, my = invert(body, garment, (90, 90, 150, 150), 4, on_top=(rank, 6.0))
    inner = (slice(15, 40), slice(15, 40))  # well inside the square (box starts at 90)
    assert np.all(np.abs(mx[inner] - 200 - (np.arange(105, 130) - 100)[None, :]) < 3)
    assert np.all(np.abs(my[inner] - 200 - (np.arange(105, 130) - 100)[:, None]) < 3)


def _turned_and_scaled(garment: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A smooth forward map (20° turn, ×1.37, moved) of garment points, and its matrix."""
    turn = np.deg2rad(20.0)
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]]) * 1.37
    return garment @ matrix.T + np.array([100.0, 50.0]), matrix


def test_a_smooth_warp_is_inverted_exactly_between_its_vertices():
    # Each output cell's garment coordinate was the mean of the vertices that landed in
    # it, up to half a cell off the cell's centre and differently in each cell: an edge
    # cut through the cells came out as a saw-tooth a cell long (the teeth along a
    # neckline), and the whole piece sat up to half a cell towards its box's middle.
    from fitroom.engines.cpu.skinning import invert

    gy, gx = np.mgrid[0:120:1.5, 0:120:1.5].reshape(2, -1)  # two vertices a cell, as the engine spaces them
    garment = np.stack([gx, gy], 1).astype(np.float64)
    body, matrix = _turned_and_scaled(garment)
    mx, my = invert(body, garment, (0, 0, 300, 300), 4)
    yy, xx = np.mgrid[0:300, 0:300].astype(np.float64)
    truth = np.stack([xx - 100, yy - 50], -1) @ np.linalg.inv(matrix).T
    inner = np.all((truth > 10) & (truth < 110), axis=-1)
    error = np.hypot(mx - truth[..., 0], my - truth[..., 1])[inner]
    assert error.max() < 0.05, error.max()  # garment pixels


def test_a_warp_with_vertices_about_a_cell_apart_is_inverted_exactly_to_its_edge():
    # The engine spaces vertices at least two garment pixels apart: on a garment scaled
    # up ×1.8 (a balanced try-on) they land about a cell apart, most cells got one or
    # none, each coordinate stayed where its vertex landed, and the empty cells were
    # filled from inside: every hem and neckline came out with teeth.
    from fitroom.engines.cpu.skinning import invert

    gy, gx = np.mgrid[0:120:2.0, 0:120:2.0].reshape(2, -1)
    garment = np.stack([gx, gy], 1).astype(np.float64)
    turn = np.deg2rad(8.0)
    matrix = np.array([[np.cos(turn), -np.sin(turn)], [np.sin(turn), np.cos(turn)]]) * 1.8
    body = garment @ matrix.T + np.array([40.0, 30.0])
    mx, my = invert(body, garment, (0, 0, 300, 300), 4)
    yy, xx = np.mgrid[0:300, 0:300].astype(np.float64)
    truth = np.stack([xx - 40, yy - 30], -1) @ np.linalg.inv(matrix).T
    inner = np.all((truth > 2) & (truth < 116), axis=-1)  # to within a vertex of the last row
    error = np.hypot(mx - truth[..., 0], my - truth[..., 1])[inner]
    assert error.max() < 0.05, error.max()  # garment pixels


def test_no_fabric_is_drawn_past_the_outermost_vertices():
    # Vertices reach two rows past the cut-out. A cell beyond them got the fill's coarse
    # mean, a point well inside the garment, and drew fabric there: a detached sliver
    # along the shoulder, with bare shoulder between it and the tee.
    from fitroom.engines.cpu.skinning import invert

    gy, gx = np.mgrid[-3:123.1:1.5, -3:123.1:1.5].reshape(2, -1)  # the cut-out is 0..120
    garment = np.stack([gx, gy], 1).astype(np.float64)
    body, matrix = _turned_and_scaled(garment)
    mx, my = invert(body, garment, (0, 0, 300, 300), 4)
    yy, xx = np.mgrid[0:300, 0:300].astype(np.float64)
    truth = np.stack([xx - 100, yy - 50], -1) @ np.linalg.inv(matrix).T
    beyond = np.any((truth < -6) | (truth > 126), axis=-1)  # past the vertices by more than two rows
    fabric = (mx >= 0) & (mx <= 120) & (my >= 0) & (my <= 120)
    assert not (fabric & beyond).any(), (fabric & beyond).sum()


def test_a_long_tops_hem_hangs_straight_over_a_seated_lap():
    # Seated, the thighs spread out below the hips; a top's hem that reaches past the
    # hips followed them and lay over the lap like a skirt. It hangs from the hips.
    img, a = _stick_person(False)
    lm = a.landmarks.copy()
    lm[persons.R_KNEE, :2], lm[persons.L_KNEE, :2] = (110, 600), (490, 600)
    lm[persons.R_ANKLE, :2], lm[persons.L_ANKLE, :2] = (100, 790), (500, 790)
    silhouette = (a.mask > 0).astype(np.uint8)
    for hip, knee in ((persons.R_HIP, persons.R_KNEE), (persons.L_HIP, persons.L_KNEE)):
        cv2.line(silhouette, tuple(int(v) for v in lm[hip, :2]), tuple(int(v) for v in lm[knee, :2]), 1, 70)
    img = img.copy()
    img[silhouette > 0] = (225, 180, 150)
    seated = persons.PersonAnalysis(
        landmarks=lm, mask=silhouette.astype(np.float32), shape=a.shape, skin=a.skin, shading=a.shading
    )
    tee = garments.extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, seated, tee, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    garment = found["garment_mask"]
    hem = int(np.flatnonzero(garment[:, 295:306].any(axis=1)).max())
    assert hem > 540  # the hem does reach past the hips (row 520)
    cols = np.flatnonzero(garment[hem - 10])
    assert cols.min() > 300 - 95 * 1.3 and cols.max() < 300 + 95 * 1.3, (cols.min(), cols.max())


def seated_person() -> tuple[np.ndarray, persons.PersonAnalysis]:
    """The drawn person seated with both thighs level (knees out to the sides at the
    hips' height, 70 px thick), hands off the hips; its arms are its bare skin."""
    img, a = _stick_person(False)
    lm = a.landmarks.copy()
    lm[persons.R_WRIST, :2], lm[persons.L_WRIST, :2] = (130, 470), (470, 470)  # hands off the hips
    for fingers, wrist, elbow in (
        ((persons.R_INDEX, persons.R_PINKY), persons.R_WRIST, persons.R_ELBOW),
        ((persons.L_INDEX, persons.L_PINKY), persons.L_WRIST, persons.L_ELBOW),
    ):
        lm[list(fingers), :2] = lm[wrist, :2] + (lm[wrist, :2] - lm[elbow, :2]) * 0.15
    lm[persons.R_KNEE, :2], lm[persons.L_KNEE, :2] = (90, 535), (510, 535)
    lm[persons.R_ANKLE, :2], lm[persons.L_ANKLE, :2] = (80, 790), (520, 790)
    silhouette, arms = _drawn(lm, a.shape)
    for hip, knee in ((persons.R_HIP, persons.R_KNEE), (persons.L_HIP, persons.L_KNEE)):
        cv2.line(silhouette, tuple(int(v) for v in lm[hip, :2]), tuple(int(v) for v in lm[knee, :2]), 1, 70)
    img = np.full_like(img, 200)
    img[silhouette > 0] = (225, 180, 150)
    seated = persons.PersonAnalysis(
        landmarks=lm, mask=silhouette.astype(np.float32), shape=a.shape, skin=arms > 0, shading=a.shading
    )
    return img, seated


def test_new_trousers_cover_the_seat_between_thighs_spread_seated():
    # fashn_model seated, a thigh raised sideways: the trouser legs follow the thighs
    # out to the knees, the pelvis piece ends at the crotch, and the old trousers' seat
    # between them (body, fabric of the new pair on three sides) was painted as bare
    # skin. It is the new trousers' fabric.
    from fitroom.engines.cpu import wardrobe as wardrobes

    img, a = seated_person()
    silhouette = (a.mask > 0).astype(np.uint8)
    for top, bottom in (((90, 535), (80, 790)), ((510, 535), (520, 790))):
        cv2.line(silhouette, top, bottom, 1, 60)  # the shins, hanging from the knees
    a = persons.PersonAnalysis(
        landmarks=a.landmarks, mask=silhouette.astype(np.float32), shape=a.shape, skin=a.skin, shading=a.shading
    )
    img = np.full_like(img, 200)
    img[silhouette > 0] = (225, 180, 150)
    rows = np.arange(a.shape[0])[:, None]
    clothed = a.binary & ~a.skin & ~a.head
    img[clothed & (rows < 480)] = (235, 235, 235)  # a white top over blue trousers
    img[clothed & (rows >= 480)] = (40, 60, 160)
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    flat = draw_trousers((200, 40, 40))
    woven = flat.copy()
    fabric = np.all(flat == (200, 40, 40), axis=-1)
    woven[fabric & (np.arange(flat.shape[1])[None, :] % 4 < 2)] = (150, 30, 30)  # a fine pinstripe
    trousers = garments.extract(woven, region=Region.LOWER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, trousers, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    seat = a.wardrobe.bottom & a.wardrobe.body & (rows > 530) & (rows < 560)
    seat[:, :230] = seat[:, 370:] = False  # between the thighs, below the crotch
    assert seat.sum() > 500
    assert found["garment_mask"][seat].mean() > 0.98
    assert not is_garment_colour(out, (225, 180, 150), 30)[seat].any()  # no bare skin painted there
    # and it is the fabric, weave and all, not a flat patch of its mean colour
    red = out[..., 0].astype(np.float32)
    assert np.abs(cv2.Sobel(red, cv2.CV_32F, 1, 0))[seat].mean() > 10


def test_a_long_top_seated_with_level_thighs_ends_at_the_hips():
    # Seated with the thighs level (seen end-on, or raised sideways as fashn_model's
    # are), a long tee's length carried on down the torso's line covered the lap as a
    # wedge, as wide as the thigh along the hips' row. It lies on the lap: from the
    # front it ends about at the hips, about as wide as them.
    img, seated = seated_person()
    tee = garments.extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, seated, tee, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    garment = found["garment_mask"]
    hem = int(np.flatnonzero(garment[:, 295:306].any(axis=1)).max())
    assert 500 < hem < 550, hem  # about at the hips (row 520), not down the lap
    cols = np.flatnonzero(garment[hem - 5])
    assert cols.min() > 150 and cols.max() < 450, (cols.min(), cols.max())  # not out along the thighs


def draw_flared_dress(colour: tuple[int, int, int] = GREEN) -> np.ndarray:
    """A sleeveless dress laid flat: a straight bodice as wide as a chest, and a skirt
    flaring from its waist seam to twice that at the hem."""
    img = np.full((600, 420, 3), 255, np.uint8)
    bodice = np.array([[160, 40], [260, 40], [262, 170], [158, 170]], np.int32)
    skirt = np.array([[158, 170], [262, 170], [330, 560], [90, 560]], np.int32)
    for poly in (bodice, skirt):
        cv2.fillPoly(img, [poly], colour)
    cv2.ellipse(img, (210, 40), (30, 22), 0, 0, 180, (255, 255, 255), -1)
    return img


def test_a_dress_is_measured_by_its_bodice_not_its_skirt():
    # Below its armpits a dress is as wide as its skirt. Measured there (as a top is),
    # its shoulders sat at the skirt's width, and on the body the bodice came out half
    # the torso's width with painted skin either side: an apron.
    dress = garments.extract(draw_flared_dress(), region=Region.FULL, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    shrink = garments.WORK_SIDE / 600  # the photo is analysed at the working size
    for side, edge in (("a", 160), ("b", 260)):
        assert abs(dress.points[f"shoulder_{side}"][0] - edge * shrink) <= 5, (side, dress.points[f"shoulder_{side}"])
    assert dress.limbs == {}  # and the skirt's flare is no sleeve
    img, analysis = _stick_person(False)
    out, _, _ = render(img, analysis, dress, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    green = is_garment_colour(out)
    for y in (280, 340, 400):  # chest to waist, across the torso between the arms
        assert green[y, 245:356].mean() > 0.95, (y, green[y, 245:356].mean())


def test_a_sleeveless_bodice_covers_the_shoulders_it_reaches():
    # A bare arm stays in front of the torso piece, but its top is the shoulder: cut out
    # there, a sleeveless bodice wide enough to reach the shoulders had a hole at each.
    dress = garments.extract(draw_flared_dress(), region=Region.FULL, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    img, analysis = _stick_person(False)
    out, _, _ = render(img, analysis, dress, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    green = is_garment_colour(out)
    for x in (233, 367):  # just inside each shoulder joint, where the bare arm's capsule begins
        assert green[255:280, x - 3 : x + 4].mean() > 0.95, (x, green[255:280, x - 3 : x + 4].mean())


def _standing_off_the_line() -> tuple[np.ndarray, persons.PersonAnalysis]:
    """The drawn person with legs (60 px wide) that stand off the torso's line: knees and
    ankles 60 px to the image's right of the hips, as with a hip pushed out; a bag held
    against the left thigh (the image's left), 80 px wide."""
    img, a = _stick_person(False)
    lm = a.landmarks.copy()
    for i, x in ((persons.R_KNEE, 310), (persons.L_KNEE, 410), (persons.R_ANKLE, 310), (persons.L_ANKLE, 410)):
        lm[i, 0] = x
    silhouette = (a.mask > 0).astype(np.uint8)
    legs = ((persons.R_HIP, persons.R_KNEE, persons.R_ANKLE), (persons.L_HIP, persons.L_KNEE, persons.L_ANKLE))
    for hip, knee, ankle in legs:
        for start, end in ((hip, knee), (knee, ankle)):
            cv2.line(silhouette, tuple(int(v) for v in lm[start, :2]), tuple(int(v) for v in lm[end, :2]), 1, 60)
    silhouette[560:640, 170:260] = 1  # the bag, against the thigh
    img = img.copy()
    img[silhouette > 0] = (225, 180, 150)
    analysis = persons.PersonAnalysis(
        landmarks=lm, mask=silhouette.astype(np.float32), shape=a.shape, skin=a.skin, shading=a.shading
    )
    return img, analysis


def test_a_dress_hangs_round_the_legs_where_they_stand():
    # 051482 stands with her legs off the torso's line and holds a bag at her thigh: the
    # skirt, measured as the widest reach from that line either side and centred on it,
    # came out as a wide box, stepped out below the hips. It now centres on the legs,
    # and a thing held against a thigh widens it no further than a trouser leg reaches.
    img, analysis = _standing_off_the_line()
    body = Body.of(analysis, analysis.in_front | analysis.sleeve_zone)
    span = body.legs_span(600)  # at the bag: the left bone is at x 270 there
    assert span is not None and span[0] >= 270 - LEG_REACH * body.shoulder_width - 1, span
    dress = garments.extract(draw_flared_dress(), region=Region.FULL, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, analysis, dress, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    garment = found["garment_mask"]
    hem = int(np.flatnonzero(garment.any(axis=1)).max())
    assert hem > 700  # the hem is on the lower legs
    cols = np.flatnonzero(garment[hem - 15])
    assert abs((cols.min() + cols.max()) / 2 - 360) < 20, (cols.min(), cols.max())  # centred on the legs
    assert cols.min() < 280 and cols.max() > 440  # and round both of them


def _in_trousers(trousers: bool) -> tuple[np.ndarray, persons.PersonAnalysis]:
    """The drawn person with straight legs (knees at row 650, ankles at 740) in a white
    top, and in blue trousers down to the ankles, or bare-legged below a blue skirt
    ending above the knees."""
    from fitroom.engines.cpu import wardrobe as wardrobes

    img, a = _stick_person(False)
    lm = a.landmarks.copy()
    for i, (x, y) in ((persons.R_KNEE, (250, 650)), (persons.L_KNEE, (350, 650))):
        lm[i, :2] = (x, y)
    for i, (x, y) in ((persons.R_ANKLE, (250, 740)), (persons.L_ANKLE, (350, 740))):
        lm[i, :2] = (x, y)
    silhouette = (a.mask > 0).astype(np.uint8)
    for x in (250, 350):
        cv2.line(silhouette, (x, 520), (x, 760), 1, 60)
    rows = np.arange(a.shape[0])[:, None]
    clothed = (silhouette > 0) & ~a.skin & ~a.head
    img = img.copy()
    img[silhouette > 0] = (225, 180, 150)
    img[clothed & (rows < 470)] = (235, 235, 235)
    bottom = clothed & (rows >= 470) & (rows < (750 if trousers else 620))
    img[bottom] = (40, 60, 160)
    skin = a.skin | (clothed & (rows >= 470) & ~bottom)
    a = persons.PersonAnalysis(
        landmarks=lm, mask=silhouette.astype(np.float32), shape=a.shape, skin=skin, shading=a.shading
    )
    return img, dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))


def test_a_long_dress_covers_the_trouser_cuffs_it_would_leave_showing():
    # 051482, 051918: a long dress ending a little above the ankles left a band of the
    # old trousers above the shoes. It reaches past the ankles there; over bare legs it
    # keeps its own length.
    dress = garments.extract(draw_flared_dress(), region=Region.FULL, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    fit = Fit(ease=1.05, length=0.72, flare=1.0)
    img, analysis = _in_trousers(False)
    _, _, bare = render(img, analysis, dress, fit, EFFORT[Effort.BALANCED])
    hem = int(np.flatnonzero(bare["garment_mask"][:, 240:361].any(axis=1)).max())
    assert 690 < hem < 735, hem  # its own length: above the ankles, within a cuff of them
    img, analysis = _in_trousers(True)
    _, _, dressed = render(img, analysis, dress, fit, EFFORT[Effort.BALANCED])
    assert dressed["garment_mask"][742, 235:266].all() and dressed["garment_mask"][742, 335:366].all()


def test_a_short_sleeve_on_an_arm_bent_to_the_hip_leaves_the_forearm_bare():
    # A hand on the hip folds the forearm back under the upper arm. Where the sleeve
    # ends was its farthest pixel along the arm, and a wide sleeve's pixels beside the
    # elbow lie nearest the forearm: the forearm was taken as sleeved half way down and
    # filled in with the sleeve's colour (07966 in the FILA tee). It is where the
    # sleeve's own end lands.
    img, a = _stick_person(False)
    lm = a.landmarks.copy()
    lm[persons.L_ELBOW, :2], lm[persons.L_WRIST, :2] = (445, 335), (380, 450)
    for i in (persons.L_INDEX, persons.L_PINKY):
        lm[i, :2] = (370, 465)
    silhouette, arms = _drawn(lm, a.shape)
    img = np.full_like(img, 200)
    img[silhouette > 0] = (225, 180, 150)
    a = persons.PersonAnalysis(
        landmarks=lm, mask=silhouette.astype(np.float32), shape=a.shape, skin=arms > 0, shading=a.shading
    )
    tee = garments.extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, _ = render(img, a, tee, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    green = is_garment_colour(out)
    y, x = _along(a, persons.L_ELBOW, persons.L_WRIST, 0.2)  # a fifth of the way down the forearm
    assert not green[y - 4 : y + 5, x - 4 : x + 5].any()


@pytest.mark.parametrize("drawn", ["tee", "trousers"])
def test_pieces_warped_on_the_other_core_are_those_warped_on_one(drawn, monkeypatch):
    # A top's sleeves (a pair of trousers' first leg) are warped on the other core while
    # this one warps the rest, each thread sampling from its own buffer: the pieces must
    # be to the bit those warped one after the other.
    from concurrent.futures import Future

    from fitroom.engines.cpu import fit as fits

    if drawn == "tee":
        garment, region = draw_tee(), Region.UPPER
        _, analysis = _stick_person(False)
    else:
        garment, region = draw_trousers(), Region.LOWER
        _, analysis = _in_trousers(True)
    g = garments.extract(garment, region=region, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    body = Body.of(analysis, analysis.in_front | analysis.sleeve_zone)

    def pieces() -> list[tuple[tuple[int, int, int, int], bytes]]:
        made = fit_garment(g, body, Fit(ease=1.05, length=1.0, flare=1.0), analysis.shape, grid=8, cubic=True)
        return [(p.box, p.rgba.tobytes()) for p in made]

    # a race between the threads shows only now and then: given a few chances
    side_by_side = [pieces() for _ in range(4)]

    def one_after_the_other(work, *args, **kwargs):
        done: Future = Future()
        done.set_result(work(*args, **kwargs))
        return done

    monkeypatch.setattr(fits, "beside", one_after_the_other)
    alone = pieces()
    assert len(alone) == (3 if drawn == "tee" else 2)
    assert all(made == alone for made in side_by_side)


def test_a_garments_feathered_edge_blends_into_what_is_under_it_and_never_darkens_it():
    # The feather spreads the garment's alpha a pixel or two past the fabric the pieces
    # drew, where no colour was: blended there it was black, and a dark line ran round
    # every garment at the default effort (07966's sleeves against the backdrop). Off
    # the shading (whose contact shadow darkens the body on purpose), a pale tee over a
    # grey backdrop and a pale body can only make each pixel as dark as the lighter of
    # the two.
    pale = (250, 240, 90)
    tee = garments.extract(draw_tee(pale), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    settings = dataclasses.replace(EFFORT[Effort.BALANCED], shading=0.0)
    assert settings.feather > 0
    for raised in (True, False):
        img, analysis = _stick_person(raised)
        out, _, _ = render(img, analysis, tee, Fit(ease=1.05, length=1.0, flare=1.0), settings)
        floor = np.minimum(img, np.array(pale, np.uint8)).astype(int) - 3
        darker = (out.astype(int) < floor).any(axis=2)
        assert darker.sum() == 0, f"raised={raised}: {darker.sum()} pixels darker than garment and body"


def test_a_scrap_of_sleeve_alone_on_an_arm_is_taken_off_and_fabric_beside_an_arm_is_not():
    # A sleeve's cut-out takes in a few pixels of what lies beside it in the flat lay
    # (FILA's white band, the pale fold of its armpit), and the warp laid them past the
    # cuff as a white fleck on the forearm (07966). Fabric of the torso seen between an
    # arm and the body is cut into such parts too, and stays.
    h, w = 300, 300
    alpha = np.zeros((h, w), np.float32)
    alpha[20:200, 40:160] = 1.0  # the garment
    alpha[230:240, 200:212] = 1.0  # a scrap past the cuff
    alpha[230:240, 60:72] = 1.0  # a part of the same size off the arm
    arms = np.zeros((h, w), bool)
    arms[210:280, 180:260] = True
    sleeves = np.zeros((h, w), np.uint8)
    sleeves[20:120, 120:160] = 1
    sleeves[230:240, 200:212] = 1
    scraps = _scraps(alpha, sleeves, arms, sw=100.0)
    assert scraps is not None
    assert scraps[230:240, 200:212].all()  # the scrap, and its soft rim
    assert scraps[229, 205] and scraps[240, 205]
    assert not scraps[:200].any() and not scraps[:, :180].any()  # the garment and the part off the arm stay
    # drawn by the torso piece, the same part on the arm is fabric beside it
    sleeves[230:240, 200:212] = 0
    assert _scraps(alpha, sleeves, arms, sw=100.0) is None
    # and a sleeve's part larger than a scrap stays
    big = alpha.copy()
    big[220:260, 190:250] = 1.0
    sleeves[220:260, 190:250] = 1
    assert _scraps(big, sleeves, arms, sw=100.0) is None
