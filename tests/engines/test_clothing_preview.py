"""What makes the CPU clothing result a preview rather than a cut-out: the old garment
is taken off where the new one does not cover it, and a photo that is not of a person
(a flat-lay garment, a print with a face on it) is refused. Images are drawn here or
come from scikit-image; nothing is downloaded."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest
from skimage import data

from fitroom.engines import registry
from fitroom.engines.base import EngineRequest
from fitroom.engines.cpu import person as persons
from fitroom.engines.cpu import wardrobe as wardrobes
from fitroom.engines.cpu.clothing import garment_and_change_masks
from fitroom.engines.cpu.fit import TRAPEZIUS, Body
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


def test_a_bare_arm_painted_over_the_torso_keeps_its_own_edges():
    # a torso block with an arm lying over its side: the arm's edge inside the torso is
    # darker than the torso beside it (the crease that makes it read as an arm)
    torso = np.zeros((100, 100), bool)
    torso[10:90, 20:80] = True
    arms = np.zeros_like(torso)
    arms[15:85, 60:76] = True
    parts = wardrobes.BodyParts(torso=torso, arms=arms, legs=np.zeros_like(torso))
    shade = wardrobes._roundness(parts, np.ones_like(torso), sw=100.0)
    assert shade[50, 60] < shade[50, 55] - 0.1  # the arm's inner edge, the torso next to it
    assert shade[50, 68] > shade[50, 60] + 0.1  # the arm's middle is lit


def test_the_old_tops_broad_shade_carries_onto_the_skin_but_its_print_does_not():
    # a white top whose right half turns away from the light (a broad shade) with a
    # black letter-sized print on its lit half
    rgb = np.full((120, 160, 3), 235, np.uint8)
    rgb[:, 110:] = 185
    rgb[50:58, 30:60] = 20  # the print: narrower than the closing reaches
    worn = np.zeros((120, 160), bool)
    worn[10:110, 10:150] = True
    light = wardrobes._worn_light(rgb, [worn], sw=100.0)
    assert abs(float(light[54, 45]) - 1.0) < 0.03  # under the print: lit as around it
    assert float(light[60, 130]) < 0.9  # the shaded half: darker skin
    far = ~cv2.dilate(worn.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)
    assert np.allclose(light[far], 1.0, atol=1e-3)  # nothing worn there: nothing to say


def test_the_shoulder_line_near_the_neck_is_covered(engine):
    # A flat tee's shoulder runs straight from its corner to its collar; the body's
    # rises over the trapezius. The garment follows the body there, so no wedge of the
    # old top or of painted skin shows between collar and shoulder.
    person = data.astronaut()
    request = EngineRequest(images={"person": person, "garment": draw_tee()}, options=TryOnOptions(seed=1))
    garment, _ = garment_and_change_masks(request)
    analysis, _ = persons.analyze(person)
    body = Body.of(analysis, analysis.in_front | analysis.sleeve_zone)
    for side in ("a", "b"):
        x, y = body.outline_above(side, TRAPEZIUS)
        below = garment[int(y) + 2 : int(y + 0.1 * body.shoulder_width), int(x) - 3 : int(x) + 4]
        assert below.mean() > 0.97, side  # a flat shoulder line leaves a tenth of it bare


def test_the_old_tops_edge_is_set_at_full_size_by_its_colour():
    """The cut is made small and upscaled: its edge is a staircase short of the sleeve's
    outline, which would leave a line of the old sleeve beside a painted arm. Set again
    by colour, it takes the whole sleeve and neither the backdrop nor the trousers."""
    img = np.full((400, 300, 3), 210, np.uint8)  # grey backdrop
    img[200:, 150:] = (20, 20, 25)  # dark trousers beside the sleeve
    outline = np.zeros((400, 300), np.uint8)
    cv2.fillPoly(outline, [np.array([[100, 40], [150, 40], [140, 380], [85, 380]], np.int32)], (1,))
    sleeve = outline > 0
    img[sleeve] = (150, 25, 40)
    # what an upscaled cut at a ninth of the size makes of it: coarse and a few pixels in
    small = cv2.resize(sleeve.astype(np.float32), (300 // 9, 400 // 9), interpolation=cv2.INTER_AREA)
    coarse = cv2.resize(small, (300, 400), interpolation=cv2.INTER_NEAREST) > 0.5
    coarse = cv2.erode(coarse.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    allowed = np.ones_like(sleeve)
    assert (sleeve & ~coarse).sum() > 1500
    person = sleeve | (img[..., 0] == 20)  # the sleeve and the trousers
    snapped = wardrobes._snap_edge(img, coarse, allowed, person, shoulder_width=200.0)
    inner = cv2.erode(sleeve.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    assert (inner & ~snapped).sum() < 0.01 * inner.sum()  # the whole sleeve, bar its last pixel
    beyond = snapped & (cv2.dilate(outline, np.ones((3, 3), np.uint8)) == 0)
    assert beyond.sum() < 10  # of backdrop and trousers, a stray pixel at most


def test_painted_skin_takes_its_colour_from_skin_not_from_a_skin_coloured_print():
    # The skin map goes by colour: a tan leopard skirt counts as skin in it. Under an
    # old top with long sleeves the only other skin is the neck, and painted arms took
    # the print's colour (khaki bars on 01008). Skin is smooth and such a print is not,
    # so the colour comes from the smooth skin.
    from tests.engines.test_clothing_geometry import _stick_person

    img, a = _stick_person(False)
    img = img.copy()
    img[a.skin] = (30, 30, 35)  # long black sleeves
    neck = np.zeros(a.shape, bool)
    neck[200:236, 280:321] = True
    img[neck] = (225, 180, 150)
    rng = np.random.default_rng(3)
    skirt = np.zeros(a.shape, bool)
    skirt[440:560, 205:396] = True
    img[skirt] = (205, 150, 85)  # tan...
    for y in range(440, 560, 9):
        for x in range(205, 396, 9):
            dx, dy = rng.integers(-2, 3, size=2)
            cv2.circle(img, (x + int(dx), y + int(dy)), 3, (35, 25, 20), -1)  # ...with black spots
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=a.mask, shape=a.shape, skin=neck | skirt, shading=a.shading)
    wardrobe = wardrobes.analyse(img, a)
    assert wardrobe.bare[neck].mean() > 0.9 and wardrobe.bare[skirt].mean() < 0.1  # nor does it match to the print
    for y, x in ((300, 300), (420, 300), (420, 210)):  # chest, belly, an arm above the skirt
        painted = wardrobe.skin[y - 5 : y + 6, x - 5 : x + 6].reshape(-1, 3).astype(np.float32).mean(axis=0)
        assert np.linalg.norm(painted - (225, 180, 150)) < 25, (y, x, painted)


def test_a_skin_coloured_print_beside_a_sleeved_arm_is_not_an_arm_in_front():
    # 01008: a long black sleeve hanging beside a leopard skirt. The arm's zone reaches
    # over the skirt's side, whose tan counts as skin by colour, so it was taken for a
    # bare arm in front of the new top, cut out of it, and showed as a leopard strip
    # between the top and the arm. Bare arms are smooth skin; so are the pores and
    # creases the coarse smoothness test leaves as pinholes in one.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region
    from tests.engines.test_clothing_geometry import _stick_person

    img, a = _stick_person(False)
    img = img.copy()
    right_arm = a.skin & (np.arange(a.shape[1])[None, :] < 300)
    img[a.skin & ~right_arm] = (30, 30, 35)  # a long black sleeve on the image's left arm...
    crease = np.zeros(a.shape, bool)
    crease[450:466, 205:219] = True  # ...a busy patch of creases on the bare right arm, over the torso
    img[crease & (np.arange(a.shape[0])[:, None] % 4 < 2)] = (150, 110, 90)
    rng = np.random.default_rng(3)
    skirt = np.zeros(a.shape, bool)
    skirt[440:560, 205:393] = True  # its side under the sleeve's zone: the arm is slim
    skirt &= ~right_arm
    img[skirt] = (205, 150, 85)  # ...and a tan skirt with black spots
    for y in range(440, 560, 9):
        for x in range(205, 393, 9):
            dx, dy = rng.integers(-2, 3, size=2)
            if not right_arm[y, x]:
                cv2.circle(img, (x + int(dx), y + int(dy)), 3, (35, 25, 20), -1)
    a = persons.PersonAnalysis(
        landmarks=a.landmarks, mask=a.mask, shape=a.shape, skin=right_arm | skirt, shading=a.shading
    )
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    assert not a.wardrobe.bare[crease].all()  # the test's pinhole
    side = skirt & a.arms & ~right_arm.any(axis=0)[None, :]  # the print in the sleeved arm's zone
    side[:445] = side[515:] = False  # down to the new top's hem
    assert not a.in_front[side].any()
    assert a.in_front[crease].all()
    tee = extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    _, _, found = render(img, a, tee, Fit(ease=1.05, length=1.1, flare=1.0), EFFORT[Effort.BALANCED])
    reached = side & (np.arange(a.shape[1])[None, :] < 380)  # as far as the new top's side reaches
    assert reached.sum() > 100
    assert found["garment_mask"][reached].all()
    assert not found["garment_mask"][crease].any()


def test_the_fast_effort_skips_the_shading_map_and_a_later_effort_still_gets_it(engine):
    # The fast effort does not shade, so its person analysis is made (and cached)
    # without the shading map; a later balanced try-on of the same photo must come out
    # exactly as if the photo were new.
    from fitroom.options import Effort

    photo = data.astronaut()

    def request(effort: Effort) -> EngineRequest:
        return EngineRequest(images={"person": photo, "garment": crop_top()}, options=TryOnOptions(effort=effort))

    persons.clear_cache()
    engine.run(request(Effort.FAST))
    analysis, cached = persons.analyze(photo, shading=False)
    assert cached and analysis.shading is None
    after_fast = engine.run(request(Effort.BALANCED)).images[0]
    persons.clear_cache()
    fresh = engine.run(request(Effort.BALANCED)).images[0]
    assert np.array_equal(after_fast, fresh)
    assert persons.analyze(photo)[0].shading is not None


def test_an_analysis_gaining_its_wardrobe_keeps_its_geometry_and_derives_again_what_reads_the_wardrobe():
    # The hands, head and arms the wardrobe was found with are kept (every render needs
    # them again); bare arms in front of the torso read the wardrobe's bare skin, and
    # kept from before it they were the skin map's (226 pixels apart on the astronaut).
    persons.clear_cache()
    found, _ = persons.analyze(data.astronaut())
    plain = persons.PersonAnalysis(landmarks=found.landmarks, mask=found.mask, shape=found.shape, skin=found.skin)
    hands, head, in_front = plain.hands, plain.head, plain.in_front
    dressed = plain.adding(wardrobe=found.wardrobe)
    assert dressed.hands is hands and dressed.head is head
    assert np.array_equal(dressed.in_front, found.in_front)
    assert not np.array_equal(dressed.in_front, in_front)


def _dressed(
    top: tuple[int, int, int], bottom: tuple[int, int, int], hem: int
) -> tuple[np.ndarray, persons.PersonAnalysis, np.ndarray, np.ndarray]:
    """The drawn stick person in a top of one colour down to row ``hem`` and a bottom
    of another below it: (photo, analysis, the clothed torso, row numbers)."""
    from tests.engines.test_clothing_geometry import _stick_person

    img, a = _stick_person(False)
    img = img.copy()
    torso = a.binary & ~a.skin & ~a.head
    rows = np.arange(a.shape[0])[:, None]
    img[torso & (rows < hem)] = top
    img[torso & (rows >= hem)] = bottom
    return img, a, torso, rows


def test_under_a_long_old_top_the_trousers_go_on_up_to_the_new_hem():
    # A new top shorter than the old one, which hung over the trousers: between the new
    # hem and the trousers' visible top is the trousers' waistband, not bare skin (a
    # painted midriff strip on 049205 with fashn_garment).
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region

    img, a, _, _ = _dressed((235, 235, 235), (40, 60, 160), hem=545)  # a long white tee over blue trousers
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    assert a.wardrobe is not None and a.wardrobe.bottom[550:560, 280:320].all()
    top = extract(crop_top(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, top, Fit(ease=1.05, length=0.92, flare=1.0), EFFORT[Effort.BALANCED])
    hem = int(np.flatnonzero(found["garment_mask"][:, 295:306].any(axis=1)).max())
    assert hem < 530, hem  # the new top does end above the trousers
    gap = out[hem + 4 : 541, 285:316].reshape(-1, 3).astype(np.float32)
    blue = np.linalg.norm(gap - (40, 60, 160), axis=1) < 40
    assert blue.mean() > 0.9, blue.mean()


def test_under_a_long_old_top_a_printed_bottom_goes_on_up_as_its_print():
    # 02849's zebra skirt: continued column by column up to the new hem, a print came
    # out as vertical streaks under every new top. Its print goes on up instead.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region
    from tests.engines.test_clothing_geometry import _in_trousers

    img, a = _in_trousers(True)
    rows, cols = np.arange(a.shape[0])[:, None], np.arange(a.shape[1])[None, :]
    clothed = a.binary & ~a.skin & ~a.head
    img[clothed & (rows < 545)] = (235, 235, 235)  # a long white tee over checked trousers
    checks = clothed & (rows >= 545) & (rows < 750)
    img[checks] = (30, 30, 30)
    img[checks & ((rows // 8 + cols // 8) % 2 == 0)] = (240, 240, 240)
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    top = extract(crop_top(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, top, Fit(ease=1.05, length=0.92, flare=1.0), EFFORT[Effort.BALANCED])
    hem = int(np.flatnonzero(found["garment_mask"][:, 295:306].any(axis=1)).max())
    gap = out[hem + 4 : 541, 250:350].astype(np.float32).mean(axis=2)
    assert gap.shape[0] > 8
    # the checks go on: light and dark down each column, not one colour per column
    assert np.abs(np.diff(gap, axis=0)).mean() > 15, np.abs(np.diff(gap, axis=0)).mean()


def test_the_slope_from_the_shoulders_to_the_neck_is_body():
    # Between the shoulder joints the outline rises over the trapezius to the neck. The
    # body under the clothes stopped at the shoulder line there, so an old top taken off
    # under a wide new neckline was painted as backdrop: a grey block either side of
    # the neck (model_7, 07966 under a square-necked dress).
    from tests.engines.test_clothing_geometry import _stick_person

    img, a = _stick_person(False)
    slope = np.zeros(a.shape, np.uint8)
    cv2.fillPoly(slope, [np.array([[205, 250], [265, 200], [335, 200], [395, 250]], np.int32)], (1,))
    mask = np.maximum(a.mask, slope.astype(np.float32))
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=a.skin, shading=a.shading)
    body = wardrobes.analyse(img, a).body
    for x in (240, 360):  # beside the neck, above the shoulder joints (y 250)
        assert body[225:245, x - 5 : x + 6].all(), x


def test_an_old_tops_trim_in_the_backdrops_colour_is_taken_off_with_it():
    # 02849's white top has a whiter collar band, the white wall's colour: GrabCut gave
    # the band to the backdrop's model, and under a wider new neckline the old collar
    # showed above it. Clothing above the waist in the top's colour, joined to it, is
    # the top.
    img, a, torso, rows = _dressed((170, 172, 176), (40, 50, 120), hem=470)  # a light grey top over trousers...
    trim = torso & (rows < 262)
    img[trim] = (200, 200, 200)  # ...its neckline trim the backdrop's grey
    wardrobe = wardrobes.analyse(img, a)
    assert wardrobe.top[trim].mean() > 0.95, wardrobe.top[trim].mean()
    assert wardrobe.top[torso & (rows >= 480)].mean() < 0.01  # and the trousers stay on


def test_painted_skin_meets_the_real_skin_round_the_repaint():
    # The skin layer's colour comes from all the skin in the photo: on model_7 the lit
    # arms made the chest painted under a square neckline lighter and redder than the
    # neck in the chin's shadow, and the two met at a hard line. The painted skin now
    # starts at the neck's own colour and turns to the layer's further down.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region

    img, a, _, _ = _dressed((40, 40, 60), (30, 30, 30), hem=470)  # a navy top
    lit, shaded = (240, 200, 170), (170, 125, 100)
    img[a.skin] = lit  # bare arms in the light...
    neck = np.zeros(a.shape, bool)
    neck[195:241, 272:329] = True
    img[neck] = shaded  # ...and a neck in shade above the top's neckline
    mask = np.maximum(a.mask, neck.astype(np.float32))
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=a.skin | neck, shading=a.shading)
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    top = extract(crop_top(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, top, Fit(ease=1.05, length=0.92, flare=1.0), EFFORT[Effort.BALANCED])
    assert not found["garment_mask"][236:262, 296:305].any()  # the new neckline is lower than the old
    below_neck = out[241:247, 290:311].reshape(-1, 3).astype(np.float32).mean(axis=0)
    assert np.abs(below_neck - shaded).max() < 12, below_neck


def test_skin_is_matched_along_bare_skin_only_and_fades_with_distance():
    h, w = 200, 120
    layer = np.full((h, w, 3), (200, 150, 120), np.uint8)
    photo = np.full((h, w, 3), (30, 30, 40), np.uint8)  # the old top
    real = np.zeros((h, w), bool)
    real[:60] = True
    photo[real] = (140, 95, 75)  # bare skin above it
    repaint = np.zeros((h, w), np.uint8)
    repaint[60:] = 1
    out = wardrobes.matched_skin(layer, photo, repaint, real, shoulder_width=100.0).astype(np.int32)
    assert np.abs(out[61:65] - (140, 95, 75)).max() < 8  # it meets the skin above
    assert np.abs(out[190:] - (200, 150, 120)).max() < 4  # 1.3 shoulder widths on, the layer's own
    # a skin-coloured print beside the repaint is not bare skin: it moves nothing
    assert np.array_equal(wardrobes.matched_skin(layer, photo, repaint, np.zeros_like(real), 100.0), layer)


def test_a_high_collar_inside_the_heads_mask_is_taken_off_with_the_top():
    # The head's mask reaches a margin below a chin guessed from eyes and mouth; on a
    # face turned down (01008) the black collar's ends lay inside it and stayed on
    # above a new wide neckline. Below the mouth, what is neither skin nor joined to
    # the hair is clothing.
    img, a, _, _ = _dressed((30, 30, 40), (200, 200, 200), hem=470)  # a black top
    neck = np.zeros(a.shape, bool)
    neck[195:241, 280:321] = True
    img[neck] = (225, 180, 150)
    collar = np.zeros(a.shape, bool)
    collar[212:241, 262:280] = collar[212:241, 321:339] = True
    img[collar] = (30, 30, 40)  # the collar's ends either side of the neck, joined to the top
    mask = np.maximum(a.mask, (neck | collar).astype(np.float32))
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=a.skin | neck, shading=a.shading)
    assert a.head[collar & (np.arange(a.shape[0])[:, None] < 226)].mean() > 0.9  # inside the head's mask
    wardrobe = wardrobes.analyse(img, a)
    assert wardrobe.top[collar].mean() > 0.9, wardrobe.top[collar].mean()
    assert not wardrobe.top[neck].any()


def test_painted_skin_is_matched_to_the_skin_round_what_shows_of_it():
    # An upper arm painted under an old short sleeve was darkened by the arm's shaded
    # inner side along the torso, although the new garment covers the torso again:
    # only the skin round what of the repaint shows sets its match.
    from fitroom.engines.cpu.clothing import _under_layer
    from fitroom.options import Region
    from tests.engines.test_clothing_geometry import _stick_person

    img, a = _stick_person(False)
    img = img.copy()
    h, w = a.shape
    shows, covered = np.zeros((h, w), bool), np.zeros((h, w), bool)
    shows[250:400, 262:290] = True  # old garment the new one leaves showing...
    covered[250:400, 290:380] = True  # ...and old garment it covers
    img[shows | covered] = (40, 40, 60)
    below, above = np.zeros((h, w), bool), np.zeros((h, w), bool)
    below[400:480, 262:290] = True  # bare skin in the light below what shows
    above[200:250, 300:380] = True  # and in shade above what is covered
    img[below], img[above] = (235, 195, 165), (130, 85, 65)
    mask = np.maximum(a.mask, (below | above).astype(np.float32))
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=below | above, shading=a.shading)
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    assert a.wardrobe is not None
    window = (slice(0, h), slice(0, w))
    new = covered.astype(np.float32)  # the new garment's alpha
    under, _ = _under_layer(img.copy(), a, shows | covered, window, False, Region.UPPER, img, new)
    far_from_the_light = under[255:270, 266:286].reshape(-1, 3).astype(np.float32).mean(axis=0)
    layer = a.wardrobe.skin[255:270, 266:286].reshape(-1, 3).astype(np.float32).mean(axis=0)
    assert np.abs(far_from_the_light - layer).max() < 6, (far_from_the_light, layer)
    near_the_light = under[390:398, 266:286].reshape(-1, 3).astype(np.float32).mean(axis=0)
    assert np.abs(near_the_light - (235, 195, 165)).max() < 12, near_the_light


def test_the_repaint_of_an_old_top_stops_at_a_bare_arm_in_front_of_it():
    # The repaint reaches a little past the old garment's cut (its edge lies outside
    # it), but not into a bare arm in front: the new garment is cut out there, and the
    # arm's shaded edge was repainted in the light skin round it, a pale seam down the
    # arm (07966's forearm on her hip).
    from fitroom.engines.cpu.clothing import _under_layer
    from fitroom.options import Region

    img, a, torso, rows = _dressed((120, 120, 120), (30, 30, 30), hem=470)
    old = torso & (rows < 470)
    near_old = cv2.dilate(old.view(np.uint8), np.ones((9, 9), np.uint8)) > 0
    shaded = a.skin & near_old & ~old & (rows < 470)  # the arms' edges along the old top
    img[shaded] = (150, 105, 80)
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    h, w = a.shape
    window = (slice(0, h), slice(0, w))
    under, _ = _under_layer(img.copy(), a, old, window, False, Region.UPPER, img, np.zeros((h, w), np.float32))
    inside = cv2.erode(a.in_front.view(np.uint8), np.ones((5, 5), np.uint8)) > 0
    edge = shaded & inside  # two pixels and more inside the arm
    assert edge.sum() > 100
    moved = np.abs(under[edge].astype(int) - img[edge].astype(int)).max(axis=1)
    assert np.percentile(moved, 90) <= 10, np.percentile(moved, 90)
    assert (np.abs(under[old].astype(int) - img[old].astype(int)).max(axis=1) > 40).mean() > 0.9  # the top is off


def test_skin_right_by_an_old_garments_edge_is_bare_skin():
    # The detail test that keeps a skin-coloured print out of the bare skin saw the
    # old garment's edge and called the skin by it busy: the match round a repaint then
    # lost the very skin that borders it.
    img, a, _, _ = _dressed((40, 40, 60), (30, 30, 30), hem=470)
    neck = np.zeros(a.shape, bool)
    neck[195:241, 272:329] = True
    img[neck] = (170, 125, 100)
    mask = np.maximum(a.mask, neck.astype(np.float32))
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=a.skin | neck, shading=a.shading)
    assert wardrobes.analyse(img, a).bare[232:241, 280:321].all()  # the neck down to the top's neckline


def test_the_match_keeps_off_the_shadow_an_old_garment_casts_by_its_edge():
    # Skin right below a sleeve's hem lies in the sleeve's shadow: matched to it, an
    # upper arm painted under the sleeve came out darker than the arm below it.
    h, w = 200, 120
    layer = np.full((h, w, 3), (200, 150, 120), np.uint8)
    photo = np.full((h, w, 3), (170, 125, 100), np.uint8)  # the arm below the hem
    photo[58:60] = (60, 40, 30)  # the hem's shadow on it
    real = np.zeros((h, w), bool)
    real[:60] = True
    repaint = np.zeros((h, w), np.uint8)
    repaint[60:] = 1  # the sleeve
    out = wardrobes.matched_skin(layer, photo, repaint, real, shoulder_width=100.0).astype(np.int32)
    assert np.abs(out[61:65] - (170, 125, 100)).max() < 8, out[61:65].reshape(-1, 3).mean(axis=0)


def test_a_painted_arm_is_centred_where_its_bare_skin_shows():
    # The landmarks are the joints' centres; in a turned pose the arm's outline lies off
    # the line between them, and an upper arm painted under a short sleeve was as wide
    # as the sleeve on one side, with a step at the old hem (049205).
    from tests.engines.test_clothing_geometry import _stick_person

    _, a = _stick_person(False)
    arm = np.zeros(a.shape, np.uint8)
    shoulder, elbow, wrist = (a.point(i).astype(int) for i in (persons.R_SHOULDER, persons.R_ELBOW, persons.R_WRIST))
    for start, end in ((shoulder, elbow), (elbow, wrist)):
        cv2.line(arm, tuple(int(v) for v in start - (12, 0)), tuple(int(v) for v in end - (12, 0)), (1,), 40)
    mask = np.maximum(a.mask, arm.astype(np.float32))
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=arm > 0, shading=a.shading)
    upper, fore = a.arm_offsets(persons.R_SHOULDER)
    assert 9 < upper < 15 and 9 < fore < 15, (upper, fore)  # the normal points to the image's left here
    painted = wardrobes.body_parts(a).arms
    y = int((elbow[1] + wrist[1]) / 2)
    xs = np.flatnonzero(painted[y, :300])
    assert abs((xs.min() + xs.max()) / 2 - ((elbow[0] + wrist[0]) / 2 - 12)) < 3, (xs.min(), xs.max())


def test_a_logo_on_the_old_top_is_not_light_but_a_fold_is():
    # A white logo on a black tee is no fine texture the blur washes out, and it is
    # several times brighter than its ground: read as light, 051918's CK showed as a
    # bright patch on every new top. A fold's shade, a few tens of percent, stays.
    rgb = np.full((600, 480, 3), 25, np.uint8)  # a black tee...
    rgb[150:230, 260:360] = 240  # ...with a white logo on its chest
    grey = np.full((600, 480), 150.0, np.float32)  # and a plain grey one...
    xs = np.arange(480, dtype=np.float32)[None, :]
    grey *= 1.0 - 0.2 * np.exp(-0.5 * ((xs - 150) / 12) ** 2)  # ...with a fold down it
    folded = np.repeat(np.clip(grey, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    logo = persons.shading_map(rgb, shoulder_width=300.0)
    assert np.abs(logo[150:230, 260:360] - 1.0).max() < 0.02, logo[150:230, 260:360].max()
    fold = persons.shading_map(folded, shoulder_width=300.0)
    assert fold[300, 150] < 0.92 and abs(fold[300, 400] - 1.0) < 0.02, (fold[300, 150], fold[300, 400])


def test_a_new_bottoms_waistband_goes_up_to_where_the_old_bottom_started():
    # A tank tucked into jeans, a dress the wardrobe cuts at its waist: the old bottom
    # starts right under the old top, above a mid-rise waist. A new bottom at that waist
    # left the body between them painted bare, a midriff the photo never showed.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.fit import Body, waist
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region
    from tests.engines.test_clothing_geometry import draw_trousers

    img, a, torso, rows = _dressed((235, 235, 235), (40, 60, 160), hem=480)
    wardrobe = wardrobes.analyse(img, a)
    wardrobe = dataclasses.replace(wardrobe, top=torso & (rows < 480), bottom=torso & (rows >= 480))
    a = dataclasses.replace(a, wardrobe=wardrobe)
    body = Body.of(a, a.in_front | a.sleeve_zone)
    assert waist(body)[1] < 480 < 520 - 0.18 * (700 - 520)  # above the old waistband, which is above mid-rise
    bottom = extract(draw_trousers(), region=Region.LOWER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, _ = render(img, a, bottom, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    band = out[470:500, 240:361].reshape(-1, 3).astype(np.float32)
    painted = np.linalg.norm(band - a.wardrobe.skin[470:500, 240:361].reshape(-1, 3), axis=1) < 40
    assert painted.mean() < 0.01, painted.mean()  # no painted skin between top and trousers


def test_a_tucked_tops_sides_the_cut_gave_the_bottom_are_the_top():
    rgb = np.full((100, 100, 3), (40, 60, 160), np.uint8)  # blue jeans...
    rgb[:40] = (235, 235, 235)  # ...under a white top
    rgb[40:55, :15] = (230, 232, 236)  # whose side hangs lower than the cut
    top, bottom = np.zeros((100, 100), bool), np.zeros((100, 100), bool)
    top[:40], bottom[40:] = True, True
    found = wardrobes._Top(
        full=top, small=top, clothing=top | bottom, person=top | bottom, scale=1.0, image=rgb, lab=wardrobes._lab(rgb)
    )
    moved = wardrobes._top_coloured(rgb, found, bottom, (40, 70), shoulder_width=100.0)
    assert moved[40:55, :15].all() and moved.sum() == 15 * 15


def _sleeved_arm() -> tuple[np.ndarray, persons.PersonAnalysis]:
    """The drawn person, its left arm (the image's right) hanging straight down, lit
    across (dark sides, a bright middle), in a navy tee whose short sleeve is more than
    twice as wide as the arm and ends at row 330."""
    from tests.engines.test_clothing_geometry import _stick_person

    _, a = _stick_person(False)
    lm = a.landmarks.copy()
    lm[persons.L_SHOULDER, :2], lm[persons.L_ELBOW, :2], lm[persons.L_WRIST, :2] = (382, 250), (382, 400), (382, 530)
    lm[[persons.L_INDEX, persons.L_PINKY], :2] = (382, 550)
    h, w = a.shape
    rows = np.arange(h)[:, None]
    head = (a.mask > 0) & (rows < 240)
    torso = np.zeros((h, w), bool)
    torso[235:560, 205:360] = True
    sleeve = np.zeros((h, w), bool)
    sleeve[235:330, 345:421] = True
    arm = np.zeros((h, w), bool)
    arm[240:560, 367:398] = True
    bare = arm & ~sleeve
    img = np.full((h, w, 3), 200, np.uint8)
    img[head] = (225, 180, 150)
    img[torso | sleeve] = (35, 40, 70)
    # a round arm: its sides turn from the light
    light = 1.0 - 0.45 * np.clip((np.arange(w) - 382) / 15, -1, 1) ** 2
    lit = np.clip(np.array([235.0, 190.0, 160.0]) * light[:, None], 0, 255).astype(np.uint8)
    img[bare] = lit[np.nonzero(bare)[1]]
    img[330:334, 367:398] = (img[330:334, 367:398] * 0.7).astype(np.uint8)  # the sleeve's shadow below its hem
    mask = (head | torso | sleeve | arm).astype(np.float32)
    skin = bare | (a.skin & (np.arange(w)[None, :] < 300))  # the other arm is bare too
    return img, persons.PersonAnalysis(landmarks=lm, mask=mask, shape=a.shape, skin=skin, shading=a.shading)


def test_an_upper_arm_under_a_short_sleeve_goes_on_from_the_arm_below_its_hem():
    # Taken off, 051918's tee sleeves left upper arms painted as capsules as wide as the
    # sleeve and one flat colour above forearms lit across: the sleeve's outline in
    # skin. The arm below the hem is now carried up, as wide and as lit.
    img, a = _sleeved_arm()
    wardrobe = wardrobes.analyse(img, a)
    assert wardrobe.top[280, 345:421].all()  # the sleeve is the old top...
    assert wardrobe.top[330:334, 372:393].all()  # ...and so is its shadow on the arm: repainted with it
    body = wardrobe.body[290:320]
    assert body[:, 369:396].all()  # the arm under the sleeve is body...
    assert not body[:, 401:421].any()  # ...and the sleeve's overhang past it is not
    painted = wardrobe.skin[290:320].astype(np.float32).mean(axis=0)
    below = img[345:360].astype(np.float32).mean(axis=0)  # the arm, out of the sleeve's shadow
    for x in (369, 382, 395):  # each side and the middle, as lit as the arm below the hem
        assert np.abs(painted[x] - below[x]).max() < 14, (x, painted[x], below[x])


def test_a_white_sleeves_rim_on_a_pale_backdrop_is_the_sleeve():
    # 02849's white tee on a pale wall: by colour its sleeve's rim was as near the wall
    # as the tee, the edge set it on the wall's side, and the rim stayed beside the bare
    # arm, a white strip. Inside the silhouette, the top's own colour is the top.
    rgb = np.full((60, 90, 3), 228, np.uint8)  # the wall...
    rgb[:, 40:] = 250  # ...the tee...
    rgb[:, 40:46] = 233  # ...and its rim, nearer the wall's colour than the tee's
    top = np.zeros((60, 90), bool)
    top[:, 46:] = True
    person = np.zeros((60, 90), bool)
    person[:, 41:] = True  # the silhouette takes in the rim
    snapped = wardrobes._snap_edge(rgb, top, np.ones_like(top), person, shoulder_width=200.0)
    assert snapped[:, 41:46].all() and not snapped[:, :40].any()


def test_an_old_tops_soft_outline_off_the_person_is_taken_off_with_it(engine):
    # A garment's outline is soft, and on a pale backdrop it casts a shadow: the pixels
    # just outside the silhouette keep a trace of it, and the repaint stopped two pixels
    # out, so the old sleeve's outline stayed drawn on the wall beside a bare arm (051918).
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region

    img, a, _, _ = _dressed((35, 40, 70), (30, 30, 30), hem=470)  # a navy top
    img[231:235, 250:280] = (120, 120, 130)  # its soft edge on the wall above its shoulder
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    assert a.wardrobe is not None and a.wardrobe.top[236:240, 250:280].all() and not a.binary[231:235, 250:280].any()
    top = extract(crop_top(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, top, Fit(ease=1.05, length=0.92, flare=1.0), EFFORT[Effort.BALANCED])
    assert not found["garment_mask"][225:236, 250:280].any()
    # three pixels off the person, the wall's grey again
    assert np.abs(out[232, 250:270].astype(np.int32) - 200).max() < 12, out[232, 250:270]


def test_where_a_garment_may_go_has_an_anti_aliased_edge():
    # A sleeve standing off a slanted arm is cut to the silhouette grown by a little
    # ease; cut to a hard mask, its outline was the mask's pixel staircase (the FILA
    # tee's sleeves on model_1). The segmentation's own soft edge is kept instead.
    from tests.engines.test_clothing_geometry import _stick_person

    _, a = _stick_person(False)
    h, w = a.shape
    slanted = np.zeros((h, w), np.float32)
    cv2.fillPoly(slanted, [np.array([[200, 100], [300, 100], [340, 700], [240, 700]], np.int32)], (1.0,))
    soft = cv2.GaussianBlur(slanted, (0, 0), 1.5)  # as soft as MediaPipe's mask at this size
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=soft, shape=a.shape, skin=a.skin, shading=a.shading)
    edge = a.near_edge / 255
    assert np.array_equal(a.near, edge > 0.5)
    rows = edge[200:600]
    partial = (rows > 0.1) & (rows < 0.9)
    assert partial.any(axis=1).all()  # every row crosses the outline through in-between values...
    assert partial.sum(axis=1).max() <= 8  # ...over a few pixels each side, not a blur


def test_a_hole_in_the_silhouette_gets_no_ease():
    # An arm bent to the hip frames a hole of backdrop against the torso. Grown by the
    # ease from all round, the hole closed, and a boxy sleeve hung over it as a flap
    # (07966 in the FILA tee). The outline round the person keeps its ease.
    from tests.engines.test_clothing_geometry import _stick_person

    _, a = _stick_person(False)
    mask = a.mask.copy()
    mask[420:436, 292:308] = 0  # 16 px across: the ease from either side would meet
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=a.skin, shading=a.shading)
    assert a.near_edge[426:430, 298:302].max() == 0
    assert a.near_edge[400, 396:400].min() == 255  # a few pixels past the torso's outer edge


def _with_old_sleeve_to(x1: int) -> tuple[np.ndarray, persons.PersonAnalysis]:
    """``_sleeved_arm`` with the old navy sleeve reaching out to column ``x1``."""
    img, a = _sleeved_arm()
    sleeve = np.zeros(a.shape, bool)
    sleeve[235:330, 345:x1] = True
    img = img.copy()
    img[sleeve & ~a.skin] = (35, 40, 70)
    mask = np.maximum(a.mask, sleeve.astype(np.float32))
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=mask, shape=a.shape, skin=a.skin, shading=a.shading)
    return img, dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))


def test_a_thin_rim_of_the_old_sleeve_beside_the_new_one_is_covered():
    # The new shoulder and sleeve lines sit a little inside the silhouette's; the old
    # top left in the rim between was painted as skin, a brown line along the shoulder
    # (07966 in the FILA tee). A rim that thin is the new garment's.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region

    img, a = _with_old_sleeve_to(431)
    tee = extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, tee, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    edge = int(np.flatnonzero(found["garment_mask"][290, :440]).max())
    assert edge >= 428, edge  # the sleeve reaches the old one's outline
    assert np.linalg.norm(out[290, 420:428].astype(np.float32) - (20, 170, 60), axis=1).max() < 60
    # a sleeveless top takes the old sleeve off instead
    top = extract(crop_top(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, top, Fit(ease=1.05, length=0.92, flare=1.0), EFFORT[Effort.BALANCED])
    assert not found["garment_mask"][290, 400:431].any()


def test_the_white_stripes_of_a_printed_skirt_are_not_the_white_top_above_it():
    # 02849: a white top over a zebra skirt. The skirt's white stripes are nearer the
    # top's colour than the skirt's median grey, so below the waist they were taken
    # for the sides of a tucked-in top, and repainted as the skirt's column colours:
    # vertical streaks under every new top. Only a patch mostly of the top's colour is.
    img, a, torso, rows = _dressed((235, 235, 235), (20, 20, 20), hem=470)
    cols = np.arange(a.shape[1])[None, :]
    stripes = torso & (rows >= 470) & (((cols + rows) // 7) % 2 == 0)
    img[stripes] = (240, 240, 240)
    wardrobe = wardrobes.analyse(img, a)
    skirt = torso & (rows >= 520)  # below the waist line, well into the skirt
    assert (wardrobe.top & skirt).sum() < 0.05 * (stripes & skirt).sum()


def test_the_trousers_on_a_seated_lap_are_not_old_garment_showing():
    # The flag counted all clothing in a top's zone (shoulders to just below the hips)
    # that the try-on left as it was: seated, the lap's trousers are in that zone, and
    # under any top that ends at the hips (fashn_model) they read as the old top showing.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region
    from tests.engines.test_clothing_geometry import seated_person

    img, a = seated_person()
    rows = np.arange(a.shape[0])[:, None]
    clothed = a.binary & ~a.skin & ~a.head
    img[clothed & (rows < 480)] = (235, 235, 235)  # a white top...
    img[clothed & (rows >= 480)] = (40, 60, 160)  # ...over blue trousers, on the lap too
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    tee = extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    _, _, found = render(img, a, tee, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    assert found["old_garment_visible"] is False, found["old_garment_visible_share"]


def test_a_tattoo_on_a_bare_arm_is_not_old_garment_showing():
    # fashn_model's tattooed forearm: its ink is not skin, so the flag counted it (and
    # the arm's outline) as clothing left in the top's zone, on every top he tried.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region

    img, a, _, rows = _dressed((235, 235, 235), (40, 60, 160), hem=470)  # a white top over blue trousers
    cols = np.arange(a.shape[1])[None, :]
    ink = a.skin & (rows > 420) & (rows < 520) & ((rows + cols) % 6 < 2)  # a tattoo's lines on the forearms
    img[ink] = (45, 55, 50)
    a = persons.PersonAnalysis(landmarks=a.landmarks, mask=a.mask, shape=a.shape, skin=a.skin & ~ink, shading=a.shading)
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    tee = extract(draw_tee(), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    _, _, found = render(img, a, tee, Fit(ease=1.05, length=1.0, flare=1.0), EFFORT[Effort.BALANCED])
    assert found["old_garment_visible_share"] < 0.01 and found["old_garment_visible"] is False


def test_a_tops_light_over_the_old_bottom_is_mostly_not_taken_on():
    # Over the old bottom the photo's light and dark are mostly its own wash and print:
    # faded jeans' whiskers came out as grey smudges across a long white tee's hem
    # (051918, 01861). A fold over the old top still shades the new one.
    from fitroom.engines.cpu.clothing import EFFORT, Fit, render
    from fitroom.engines.cpu.garment import extract
    from fitroom.options import Effort, PhotoType, Region

    img, a, _, _ = _dressed((30, 30, 30), (90, 110, 160), hem=420)
    shading = np.ones(a.shape, np.float32)
    shading[330:380, 270:330] = 0.85  # a fold on the old top
    shading[470:510, 270:330] = 0.85  # a faded patch of the old bottom
    a = dataclasses.replace(a, shading=shading)
    a = dataclasses.replace(a, wardrobe=wardrobes.analyse(img, a))
    assert a.wardrobe is not None and a.wardrobe.bottom[470:510, 270:330].all()
    tee = extract(draw_tee((180, 200, 220)), region=Region.UPPER, photo_type=PhotoType.FLAT_LAY, preprocess=True)
    out, _, found = render(img, a, tee, Fit(ease=1.05, length=1.15, flare=1.0), EFFORT[Effort.BALANCED])
    assert found["garment_mask"][330:510, 270:330].all()  # the tee covers both
    grey = out[..., :3].astype(np.float32).mean(axis=2)

    def darkening(rows: slice) -> float:
        beside = grey[rows, 240:260].mean() + grey[rows, 340:360].mean()
        return beside / 2 - grey[rows, 280:320].mean()

    over_top, over_bottom = darkening(slice(340, 370)), darkening(slice(480, 500))
    assert over_top > 15, over_top
    assert over_bottom < over_top / 3, (over_top, over_bottom)
