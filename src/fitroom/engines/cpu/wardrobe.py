"""What the person wears now, and what shows once it is taken off.

A try-on replaces clothing; wherever the new garment does not cover the old one (a
neckline higher than the new one, straps, long sleeves under short ones, a crop top
over a longer shirt, a wide skirt under slim trousers) the old garment must go. This
module finds it and prepares what goes in its place:

- ``top`` and ``bottom``: the old garment on the torso and arms, and on the hips and
  legs. GrabCut (OpenCV's, at a reduced resolution) separates them from skin, hair,
  background and each other, seeded by the pose: the torso between shoulders and hips
  is certainly the top, skin, head and background are certainly not, the thighs are
  the bottom when their colour says they are another garment.
- ``body``: where the body is under the clothes, from the skeleton (capsules for neck,
  arms and legs, a tapered torso) within the silhouette. Old garment inside it becomes
  skin, outside it (a loose sleeve, a flared skirt) becomes background.
  An upper arm under a short sleeve goes on from the bare arm below the hem instead
  (``upper_arm``): its width, its edges and its shading across.
- ``skin``: the body as bare skin, synthesised from the person's own visible skin: its
  colour continued smoothly from where skin shows, the round shading of a limb or a
  torso, and a fine grain the size and strength of real skin's, so it is not a flat
  plate.
- ``background``: the scene behind the person, filled in from the background around
  the silhouette (``pull_push``).

All of it depends on the photo alone, so it is computed once with the person analysis
and cached with it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fitroom.engines.cpu import person as persons
from fitroom.engines.cpu.skinning import pull_push
from fitroom.engines.cpu.upper_arm import continued_arms

WORK_HEIGHT = 256  # colour fields, the background fill and the cut's seeds work at most this tall
GRABCUT_HEIGHT = 112  # and GrabCut itself no taller than this (its cost grows fast with pixels)
GRABCUT_ITERATIONS = 1
DIFFERENT_GARMENT = 18.0  # CIELAB distance between torso and thighs that says "a separate bottom"
PATCH_SHARE = 0.75  # of the bottom round a pixel of the top's colour: what makes it a patch, not a print's stripe
SLEEVE_COLOUR = 20.0  # CIELAB distance (lightness at half weight) within which an arm's cover is the top's sleeve
STRAP_COLOUR = 35.0  # CIELAB distance from the top's colour of a strap's pixels (thin, so blended with skin)
EDGE_REACH = 0.035  # of the shoulder width: how far the cut's edge is set again at full size
PLAIN_CHROMA = 10.0  # CIELAB a*b* distance from a garment's median within which it shows its plain colour
PLAIN_LIGHTNESS = 30.0  # and the L* distance (shading on it reaches this far; a print goes further)
SKIN_GRAIN = (0.8, 3.0)  # grey levels: the range a synthesised skin's grain is kept in
SMOOTH_SKIN = 5.0  # grey levels: the most fine detail skin that sets the painted skin's colour may show
SKIN_MATCH_REACH = 0.7  # of the shoulder width: how far the match to the real skin round a repaint carries
SKIN_MATCH_MOST = 80.0  # grey levels: the most that match moves the painted skin
_GRAIN_TILE = 128


@dataclass(frozen=True)
class Wardrobe:
    top: np.ndarray  # H×W bool: the old garment on the torso and arms
    bottom: np.ndarray  # H×W bool: the old garment on hips and legs (not shoes)
    body: np.ndarray  # H×W bool: the body under the clothes
    skin: np.ndarray  # H×W×3 uint8: the body as bare skin
    bare: np.ndarray  # H×W bool: the photo's own smooth bare skin (not a skin-coloured print)
    background: np.ndarray  # H×W×3 uint8: the scene without the person


def _grain() -> np.ndarray:
    """A fixed tile of fine, unit-strength noise: the same bytes in every process."""
    rng = np.random.default_rng(20240601)
    noise = cv2.GaussianBlur(rng.standard_normal((_GRAIN_TILE, _GRAIN_TILE)).astype(np.float32), (0, 0), 0.8)
    return noise / max(float(noise.std()), 1e-6)


_GRAIN = _grain()


def _capsules(shape: tuple[int, int], chain: list[np.ndarray], radii: list[float]) -> np.ndarray:
    """Thick lines along a chain of points, one radius per segment, joints rounded."""
    out = np.zeros(shape, np.uint8)
    for (a, b), r in zip(zip(chain, chain[1:]), radii):
        pa, pb = tuple(int(round(v)) for v in a), tuple(int(round(v)) for v in b)
        cv2.line(out, pa, pb, (1,), max(int(2 * r), 1))
        cv2.circle(out, pa, max(int(r), 1), (1,), -1)
        cv2.circle(out, pb, max(int(r), 1), (1,), -1)
    return out > 0


@dataclass(frozen=True)
class BodyParts:
    """The body under the clothes, part by part (not yet cut to the silhouette): the
    torso with the neck, both arms, both legs."""

    torso: np.ndarray
    arms: np.ndarray
    legs: np.ndarray

    def union(self) -> np.ndarray:
        return self.torso | self.arms | self.legs


def body_parts(a: persons.PersonAnalysis, scale: float = 1.0) -> BodyParts:
    """The body under the clothes, at ``scale`` of the photo: a skeleton fleshed out with
    proportions of the shoulder width, the arms as wide as their bare skin shows them.
    It only has to be right where old clothing stood off the body (loose sleeves,
    skirts, collars), and there it must be a body's shape: round shoulders, arms as wide
    as arms (a tee's sleeve is half as wide again)."""
    h, w = a.shape
    shape = (max(int(round(h * scale)), 1), max(int(round(w * scale)), 1))
    p = {i: a.point(i).astype(np.float64) * scale for i in range(33)}
    sw = a.shoulder_width * scale
    centre = (p[persons.L_SHOULDER] + p[persons.R_SHOULDER]) / 2
    hips = (p[persons.L_HIP] + p[persons.R_HIP]) / 2
    down = hips - centre
    down /= max(float(np.linalg.norm(down)), 1e-6)
    out = np.zeros(shape, np.uint8)
    # Torso: its top edge just above the shoulder joints (the arms' round ends make the
    # shoulders), a waist drawn in, hips well outside the hip joints (the pelvis is wider
    # than the joints MediaPipe marks).
    torso = []
    for shoulder, hip in ((persons.L_SHOULDER, persons.L_HIP), (persons.R_SHOULDER, persons.R_HIP)):
        out_hip = p[hip] - hips
        out_hip /= max(float(np.linalg.norm(out_hip)), 1e-6)
        torso.append(
            [
                p[shoulder] - down * 0.08 * sw,
                # the chest at the armpits is narrower than the shoulder joints: between
                # it and a hanging arm is air (or an old sleeve), not body
                centre + (p[shoulder] - centre) * 0.8 + down * 0.3 * sw,
                p[shoulder] + (p[hip] - p[shoulder]) * 0.6 + out_hip * 0.06 * sw,
                p[hip] + out_hip * 0.25 * sw + down * 0.12 * sw,
            ]
        )
    polygon = np.array(torso[0] + torso[1][::-1])
    cv2.fillPoly(out, [np.round(polygon).astype(np.int32)], (1,))
    # Above the shoulder line between the joints, the trapezius rises to the neck: the
    # silhouette there is body (the cut to it comes in ``analyse``), not air beside
    # a collar, and painting it as backdrop left a grey block either side of the neck.
    xa, xb = sorted((p[persons.L_SHOULDER][0], p[persons.R_SHOULDER][0]))
    line = min(p[persons.L_SHOULDER][1], p[persons.R_SHOULDER][1])
    cv2.rectangle(out, (int(xa), int(line - 0.5 * sw)), (int(xb), int(line)), (1,), -1)
    chin = (p[persons.MOUTH_L] + p[persons.MOUTH_R]) / 2
    arms = np.zeros(shape, bool)
    for shoulder, elbow, wrist in (
        (persons.L_SHOULDER, persons.L_ELBOW, persons.L_WRIST),
        (persons.R_SHOULDER, persons.R_ELBOW, persons.R_WRIST),
    ):
        # each part centred where its bare skin shows it, not on the joints' line: an
        # upper arm painted under a short sleeve otherwise came out as wide as the
        # sleeve on one side, a step at the old hem (049205 under a sleeveless dress)
        for (start, end), width, shift in zip(
            ((shoulder, elbow), (elbow, wrist)), a.arm_size(shoulder), a.arm_offsets(shoulder)
        ):
            axis = (p[end] - p[start]) / max(float(np.linalg.norm(p[end] - p[start])), 1e-6)
            off = np.array([-axis[1], axis[0]]) * shift * scale
            arms |= _capsules(shape, [p[start] + off, p[end] + off], [width * scale / 2])
    legs = np.zeros(shape, bool)
    for hip, knee, ankle in (
        (persons.L_HIP, persons.L_KNEE, persons.L_ANKLE),
        (persons.R_HIP, persons.R_KNEE, persons.R_ANKLE),
    ):
        legs |= _capsules(shape, [p[hip], p[knee], p[ankle]], [0.2 * sw, 0.12 * sw])
    return BodyParts(torso=(out > 0) | _capsules(shape, [centre, chin], [0.17 * sw]), arms=arms, legs=legs)


def _silhouette(a: persons.PersonAnalysis, shape: tuple[int, ...]) -> np.ndarray:
    """The person's segmentation at ``shape`` (rows, columns)."""
    return cv2.resize(a.mask, (shape[1], shape[0]), interpolation=cv2.INTER_AREA) > 0.5


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _within(
    lab: np.ndarray, colour: np.ndarray, limit: float, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)
) -> np.ndarray:
    """Pixels of ``lab`` within ``limit`` of ``colour`` (CIELAB, each axis weighted):
    the squared distance summed by OpenCV, a third of numpy's norm's cost."""
    w = np.asarray(weights, np.float32)
    diff = (lab - np.asarray(colour, np.float32)) * w
    return cv2.transform(diff * diff, np.ones((1, 3), np.float32)) < limit * limit


def _shrunk_torso(a: persons.PersonAnalysis, scale: float, shape: tuple[int, int], amount: float) -> np.ndarray:
    """The shoulders–hips quadrilateral shrunk towards its centre: certainly torso."""
    quad = np.array([a.point(i) for i in (persons.L_SHOULDER, persons.R_SHOULDER, persons.R_HIP, persons.L_HIP)])
    quad = quad * scale
    centre = quad.mean(axis=0)
    quad = centre + (quad - centre) * (1 - amount)
    out = np.zeros(shape, np.uint8)
    cv2.fillPoly(out, [np.round(quad).astype(np.int32)], (1,))
    return out > 0


def _thighs(a: persons.PersonAnalysis, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """The middle of both thighs: certainly whatever is worn on the legs."""
    sw = a.shoulder_width * scale
    out = np.zeros(shape, bool)
    for hip, knee in ((persons.L_HIP, persons.L_KNEE), (persons.R_HIP, persons.R_KNEE)):
        if not a.visible(hip, knee):
            continue
        hp, kp = a.point(hip) * scale, a.point(knee) * scale
        out |= _capsules(shape, [hp + (kp - hp) * 0.25, hp + (kp - hp) * 0.75], [0.06 * sw])
    return out


def _arms(a: persons.PersonAnalysis, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """Both arms, shoulder to wrist, as wide as a loose sleeve."""
    sw = a.shoulder_width * scale
    out = np.zeros(shape, bool)
    for chain in (
        (persons.L_SHOULDER, persons.L_ELBOW, persons.L_WRIST),
        (persons.R_SHOULDER, persons.R_ELBOW, persons.R_WRIST),
    ):
        out |= _capsules(shape, [a.point(i) * scale for i in chain], [0.2 * sw, 0.16 * sw])
    return out


def _top_reach(a: persons.PersonAnalysis, scale: float, shape: tuple[int, int]) -> np.ndarray:
    """Where a top can be: above a little below the hips (below them the bottom's colours
    can fool the cut), and wherever the arms go."""
    hips_y = float(a.landmarks[[persons.L_HIP, persons.R_HIP], 1].mean()) * scale
    rows = np.arange(shape[0])[:, None]
    return (rows < hips_y + 0.1 * a.shoulder_width * scale) | _arms(a, scale, shape)


def _largest_parts(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The connected parts of ``mask`` that touch ``seeds`` (GrabCut's stray islands go)."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count < 2:
        return mask
    keep = np.unique(labels[seeds & mask])
    keep = keep[keep > 0]
    return np.isin(labels, keep)


def _old_top(
    small: np.ndarray,
    lab: np.ndarray,
    a: persons.PersonAnalysis,
    scale: float,
    clothing: np.ndarray,
    person: np.ndarray,
) -> np.ndarray:
    """The garment worn on the torso, at the working size (``small``, and ``lab`` its
    CIELAB; see the module's docstring)."""
    shape = (clothing.shape[0], clothing.shape[1])
    rows = np.arange(shape[0])[:, None]
    hips_y = float(a.landmarks[[persons.L_HIP, persons.R_HIP], 1].mean()) * scale
    shoulders_y = float(a.landmarks[[persons.L_SHOULDER, persons.R_SHOULDER], 1].mean()) * scale
    # the chest, not the belly: a high waistband can reach well above the hip joints
    chest = _shrunk_torso(a, scale, shape, 0.3) & (rows < shoulders_y + 0.6 * (hips_y - shoulders_y))
    core = chest & clothing
    if core.sum() < 0.05 * chest.sum():
        return np.zeros(shape, bool)  # a bare torso: no top to take off
    trimap = np.full(shape, cv2.GC_PR_BGD, np.uint8)
    sleeves = _arms(a, scale, shape) & clothing
    trimap[clothing & ((rows < hips_y) | sleeves)] = cv2.GC_PR_FGD
    trimap[~person] = cv2.GC_BGD
    trimap[person & ~clothing] = cv2.GC_BGD  # skin, head, hands
    thighs = _thighs(a, scale, shape) & clothing
    if thighs.sum() <= 10:  # a half-body photo: whatever shows just below the hips
        band = (rows > hips_y + 0.1 * a.shoulder_width * scale) & (rows < hips_y + 0.4 * a.shoulder_width * scale)
        thighs = band & _shrunk_torso(a, scale, shape, -0.2) & clothing & ~sleeves
    if thighs.sum() > 10:
        apart = float(np.linalg.norm(np.median(lab[thighs], axis=0) - np.median(lab[core], axis=0)))
        # A bottom of another colour anchors the cut between top and bottom; a dress or
        # a matching set leaves it to the colour models and the hips.
        trimap[thighs] = cv2.GC_BGD if apart > DIFFERENT_GARMENT else cv2.GC_PR_BGD
    knees_y = float(a.landmarks[[persons.L_KNEE, persons.R_KNEE], 1].mean()) * scale
    trimap[(rows > knees_y) & person] = cv2.GC_BGD
    trimap[core] = cv2.GC_FGD
    # GrabCut's cost grows with pixels: it only sees the box round what may be the top,
    # with a margin of background for its background model.
    ys, xs = np.nonzero(trimap != cv2.GC_BGD)
    margin = max(int(0.1 * a.shoulder_width * scale), 2)
    y0, y1 = max(int(ys.min()) - margin, 0), min(int(ys.max()) + margin + 1, shape[0])
    x0, x1 = max(int(xs.min()) - margin, 0), min(int(xs.max()) + margin + 1, shape[1])
    crop, box = small[y0:y1, x0:x1], trimap[y0:y1, x0:x1]
    shrink = min(1.0, GRABCUT_HEIGHT / crop.shape[0])
    size = (max(int(round(crop.shape[1] * shrink)), 1), max(int(round(crop.shape[0] * shrink)), 1))
    crop = np.ascontiguousarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA)).astype(np.uint8)
    box = cv2.resize(box, size, interpolation=cv2.INTER_NEAREST).astype(np.uint8)
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    cv2.setRNGSeed(0)  # GrabCut's GMMs start from OpenCV's global RNG: same photo, same cut
    cv2.grabCut(crop, box, (0, 0, 0, 0), *models, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    chosen = np.isin(box, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)
    cut = np.zeros(shape, bool)
    cut[y0:y1, x0:x1] = cv2.resize(chosen, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR) > 0.5
    top = (cut | core) & clothing & _top_reach(a, scale, shape)
    # Long sleeves in shade are darker than the chest and one pass of GrabCut can lose
    # them: sleeve pixels of the top's colour (lightness counting half) are the top too.
    colour = np.median(lab[top], axis=0)
    near = _within(lab, colour, SLEEVE_COLOUR, (0.5, 1.0, 1.0))
    top |= sleeves & near
    # GrabCut gives the top's whiter trim and lit shoulders to the backdrop's model when
    # the backdrop (or the bottom) shares those colours: a white top on a white wall over
    # a zebra skirt kept little more than its certain core, and its collar stayed above
    # any new neckline. Clothing above the waist in the top's colour, joined to it, is
    # the top (lightness at full weight here: dark hair on the shoulders is not a shade
    # of a grey top).
    alike = _within(lab, colour, SLEEVE_COLOUR)
    top |= clothing & alike & (rows < waist_line(a) * scale)
    return _largest_parts(top, core)


def _roundness(parts: BodyParts, silhouette: np.ndarray, sw: float) -> np.ndarray:
    """Light falling off towards the edges of each limb and of the torso, part by part:
    an arm in front of the torso keeps its own edges (the crease a bare arm makes
    against the side), which one distance over the whole body would lose."""

    def falloff(part: np.ndarray, radius: float, edge: float) -> np.ndarray:
        inside = cv2.distanceTransform((part & silhouette).astype(np.uint8), cv2.DIST_L2, 3)
        return edge + (1.0 - edge) * np.sqrt(np.clip(inside / max(radius, 1.0), 0.0, 1.0))

    # The torso runs on into the legs (no edge at the hip line); below the crotch each
    # leg rounds on its own. A limb is a narrow cylinder: its edges turn from the light
    # more than the torso's.
    shade = falloff(parts.torso | parts.legs, 0.2 * sw, 0.84)
    legs = parts.legs & ~parts.torso
    shade[legs] = np.minimum(shade, falloff(parts.legs, 0.12 * sw, 0.8))[legs]
    shade[parts.arms] = falloff(parts.arms, 0.1 * sw, 0.72)[parts.arms]
    return shade


def _worn_light(small: np.ndarray, worn: list[np.ndarray], sw: float) -> np.ndarray:
    """The light on the body as the old clothes show it: each garment's lightness over
    its own median, measured only where it shows its plain colour (a print or a logo says
    nothing about light) and filled in between; its creases are blurred away, its
    broad shading (a side turning away, the shadow under an arm) stays. A dark garment
    shows little light, so it counts less; 1 where nothing is worn."""
    lab = _lab(small)
    total = np.zeros(small.shape[:2], np.float32)
    weight = np.zeros(small.shape[:2], np.float32)
    # Dark print narrower than this (letters, stripes, creases) is closed over; the
    # broad shade of a side turning away is wider and stays.
    close = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (max(int(0.25 * sw) | 1, 3),) * 2)
    for garment in worn:
        if garment.sum() < 50:
            continue
        median = np.median(lab[garment], axis=0)
        plain = garment & _within(lab, median, PLAIN_CHROMA, (0.0, 1.0, 1.0))
        lightness = cv2.morphologyEx(np.where(garment, lab[..., 0], median[0]), cv2.MORPH_CLOSE, close)
        plain &= np.abs(lightness - median[0]) < PLAIN_LIGHTNESS
        say = float(np.clip((median[0] - 15.0) / 35.0, 0.0, 1.0))
        ratio = (lightness + 15.0) / (median[0] + 15.0)
        total += plain * (1.0 + say * (ratio - 1.0))
        weight += plain
    sigma = max(0.04 * sw, 1.0)
    spread, reach = cv2.GaussianBlur(total, (0, 0), sigma), cv2.GaussianBlur(weight, (0, 0), sigma)
    seen = np.clip(reach * 4, 0.0, 1.0)
    light = spread / np.maximum(reach, 1e-6) * seen + (1.0 - seen)
    return np.clip(light, 0.75, 1.1).astype(np.float32)


def _skin_layer(
    rgb: np.ndarray,
    small: np.ndarray,
    a: persons.PersonAnalysis,
    scale: float,
    parts: BodyParts,
    worn: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Bare skin over the whole frame (only used where the body is): local skin colour,
    the light the old clothes show, round limbs, fine grain; and, at the working size,
    where the photo's skin map is smooth skin rather than a skin-coloured print."""
    h, w = a.shape
    sh, sw_px = small.shape[:2]
    assert a.skin is not None  # analyze() maps the skin before the wardrobe
    skin_small = cv2.resize(a.skin.astype(np.uint8), (sw_px, sh), interpolation=cv2.INTER_AREA) > 0
    head_small = cv2.resize(a.head.astype(np.uint8), (sw_px, sh), interpolation=cv2.INTER_NEAREST) > 0
    # Fine detail, at half size where it costs a quarter: the grain to copy, and what
    # tells skin from a skin-coloured print. The skin map goes by colour, so a leopard
    # skirt or a tan check counts as skin; skin is smooth, such a print is not, and
    # left in it painted the arms its colour.
    grey = cv2.pyrDown(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)).astype(np.float32)
    detail = grey - cv2.blur(grey, (3, 3))
    k = max(int(0.015 * a.shoulder_width) | 1, 3)
    busy = cv2.resize(cv2.blur(np.abs(detail), (k, k)), (sw_px, sh), interpolation=cv2.INTER_AREA) > SMOOTH_SKIN
    source = skin_small & ~head_small & ~busy
    if source.sum() < 30:  # no smooth bare body in the photo: the face is all the skin there is
        source = skin_small & ~busy if (skin_small & ~busy).sum() >= 5 else skin_small
    colour = small.astype(np.float32)
    if source.sum() >= 5:
        median = np.median(colour[source], axis=0)
    elif a.skin_colour is not None:
        median = a.skin_colour.astype(np.float32) * 255
    else:
        median = np.array([205.0, 160.0, 135.0], np.float32)
    # The colour field is smooth: a quarter of the working size is plenty.
    coarse = (max(sw_px // 4, 1), max(sh // 4, 1))
    colour = cv2.resize(colour, coarse, interpolation=cv2.INTER_AREA).astype(np.float32)
    source = cv2.resize(source.astype(np.uint8), coarse, interpolation=cv2.INTER_AREA) > 0
    # Skin colour continued from where skin shows (normalised convolution), the overall
    # median where none shows nearby; lit like the skin around it, not like the face.
    sigma = max(0.35 * a.shoulder_width * scale / 4, 1.0)
    weight = cv2.GaussianBlur(source.astype(np.float32), (0, 0), sigma)
    total = cv2.GaussianBlur(colour * source[..., None], (0, 0), sigma)
    prior = 0.02
    field = (total + median * prior) / (weight + prior)[..., None]
    silhouette = _silhouette(a, (sh, sw_px))
    shade = _roundness(parts, silhouette, a.shoulder_width * scale)
    # The colour field is measured on real skin, which is already shaded: the roundness
    # only moves light from a part's edges to its middle, it does not darken it overall.
    body = parts.union() & silhouette
    if body.any():
        shade /= float(np.mean(shade[body]))
    shade *= _worn_light(small, worn, a.shoulder_width * scale)
    field = cv2.resize(field, (sw_px, sh), interpolation=cv2.INTER_LINEAR)
    field *= cv2.GaussianBlur(shade, (0, 0), 1.0)[..., None]
    layer = cv2.resize(np.clip(field + 0.5, 0, 255).astype(np.uint8), (w, h), interpolation=cv2.INTER_LINEAR)
    # Grain as strong as the real skin's fine detail (kept within a sane range).
    half_source = cv2.resize(
        (skin_small & ~head_small & ~busy).astype(np.uint8),
        (grey.shape[1], grey.shape[0]),
        interpolation=cv2.INTER_NEAREST,
    )
    strength = float(np.std(detail[half_source > 0])) if half_source.sum() > 50 else 1.5
    strength = float(np.clip(strength, *SKIN_GRAIN))
    reps = (h // _GRAIN_TILE + 1, w // _GRAIN_TILE + 1, 1)
    grain = np.round(_GRAIN * strength)  # one tile, repeated below as bytes

    def frame(half: np.ndarray) -> np.ndarray:
        tile = cv2.merge([np.clip(half, 0, 255).astype(np.uint8)] * 3)
        return np.ascontiguousarray(np.tile(tile, reps)[:h, :w])

    # added as its light and dark halves with uint8 saturation: the same bytes as
    # clipping a signed sum, without a full-frame int16 copy of the layer
    return cv2.subtract(cv2.add(layer, frame(grain)), frame(-grain)), skin_small & ~busy


def _background_plate(small: np.ndarray, person: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The scene with the person filled in from the background round them: a pull-push
    fill, which continues a studio backdrop's colour and gradient smoothly; it only ever
    shows where an old garment stood off the body, a thin margin, so texture there
    matters less than colour. White where the person fills the frame."""
    known = (cv2.dilate(person.astype(np.uint8), np.ones((5, 5), np.uint8)) == 0).astype(np.float32)
    if not known.any():
        return np.full((shape[0], shape[1], 3), 255, np.uint8)
    fill = pull_push(small.astype(np.float32) * known[..., None], known)
    plate = np.clip(fill + 0.5, 0, 255).astype(np.uint8)
    return cv2.resize(plate, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def matched_skin(
    skin: np.ndarray, photo: np.ndarray, repaint: np.ndarray, real: np.ndarray, shoulder_width: float
) -> np.ndarray:
    """``skin`` (the skin layer, or a window of it) brought to meet the real skin round
    what is repainted: the difference between the photo and the layer along a thin ring
    just outside ``repaint``, where ``real`` (the photo's own bare skin) shows, is
    continued inward and added, fading with the distance from the ring. The layer's
    colour comes from all the skin in the photo, lit arms included: alone, a neck in the
    shadow of the chin met a painted chest at a hard line, levels lighter and of another
    hue. The fill works at a quarter size: the difference is smooth."""
    h, w = repaint.shape
    # The ring keeps a little way off the repaint: skin right by an old garment's edge
    # lies in that garment's shadow (below a sleeve's hem, in a collar's crease), and
    # matched to it an upper arm was painted darker than the arm below it.
    gap, width = int(np.clip(0.02 * shoulder_width, 1, 8)), int(np.clip(0.025 * shoulder_width, 3, 10))
    inner = cv2.dilate(repaint.astype(np.uint8), np.ones((2 * gap + 1,) * 2, np.uint8))
    outer = cv2.dilate(inner, np.ones((2 * width + 1,) * 2, np.uint8))
    ys, xs = np.nonzero((outer > 0) & (inner == 0) & real)
    if len(ys) < 10:
        return skin
    # The ring is thin: its differences are summed into the quarter-size cells directly,
    # not taken over the whole window.
    size = (max(w // 4, 1), max(h // 4, 1))
    cells = np.minimum(ys // 4, size[1] - 1) * size[0] + np.minimum(xs // 4, size[0] - 1)
    difference = photo[ys, xs].astype(np.float32) - skin[ys, xs]
    count = size[0] * size[1]
    summed = [np.bincount(cells, difference[:, c], minlength=count) for c in range(3)]
    weight = (np.bincount(cells, minlength=count) / 16.0).reshape(size[1], size[0]).astype(np.float32)
    values = (np.stack(summed, axis=1) / 16.0).reshape(size[1], size[0], 3).astype(np.float32)
    offset = pull_push(values, weight)
    far = cv2.distanceTransform((weight == 0).astype(np.uint8), cv2.DIST_L2, 3)
    fade = np.exp(-0.5 * (far / max(SKIN_MATCH_REACH * shoulder_width / 4, 1.0)) ** 2)
    offset = np.clip(offset * fade[..., None], -SKIN_MATCH_MOST, SKIN_MATCH_MOST)
    offset = cv2.resize(offset, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.add(skin, offset, dtype=cv2.CV_8U)


@dataclass(frozen=True)
class _Top:
    """The old top, found at the working size and brought back to full size."""

    full: np.ndarray  # H×W bool
    small: np.ndarray  # the working size's
    clothing: np.ndarray  # the working size's: everything worn (not skin, head, hands)
    person: np.ndarray  # the working size's silhouette
    scale: float
    image: np.ndarray  # the photo at the working size
    lab: np.ndarray  # and in CIELAB


def _top(rgb: np.ndarray, a: persons.PersonAnalysis) -> _Top:
    h, w = a.shape
    scale = min(1.0, WORK_HEIGHT / h)
    size = (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)
    assert a.skin is not None  # analyze() maps the skin before the wardrobe

    def down(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_AREA) > 0.5

    person = down(a.binary)
    # The hand is its skin: a cuff reaches past the wrist landmark into the hand's zone.
    hands = a.hands & a.skin
    full_head = a.head & ~_under_the_chin(a, a.binary & ~a.skin)
    clothing = person & ~down(a.skin) & ~down(full_head) & ~down(hands)
    lab = _lab(small)
    top_small = _old_top(small, lab, a, scale, clothing, person)
    # Back to full size: the smooth upscaled cut, sharpened by the full-size clothing map.
    full_clothing = a.binary & ~a.skin & ~full_head & ~hands
    top = cv2.resize(top_small.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR) > 0.5
    top &= full_clothing
    # The upscaled cut's edge is a staircase a GrabCut pixel tall, and the silhouette
    # lies a pixel or two inside the garment's real outline: left alone, both leave a
    # line of the old garment along a painted arm. The edge is set again at full size.
    inside = cv2.erode(a.binary.view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    top = _snap_edge(rgb, top, ~a.skin & ~full_head & _top_reach(a, 1.0, (h, w)), inside, a.shoulder_width)
    if top_small.any():  # the top's median colour taken at the working size: a sixteenth of the pixels
        top |= _straps(rgb, a, top, np.median(lab[top_small], axis=0))
    return _Top(full=top, small=top_small, clothing=clothing, person=person, scale=scale, image=small, lab=lab)


def _under_the_chin(a: persons.PersonAnalysis, worn: np.ndarray) -> np.ndarray:
    """What of the head's mask (``a.head``) is clothing: the mask reaches a
    margin below a chin guessed from the eyes and mouth, and a face turned down is
    shorter than the guess, so a high collar's ends lay inside it and stayed on above a
    new wide neckline (01008). Well below the mouth, what is neither skin nor joined
    (inside the mask) to the hair above the eyes is worn (``worn``: the silhouette
    without skin). Whether it is the top goes by its colour, as for any clothing."""
    head = a.head
    out = np.zeros(head.shape, bool)
    x, y, w, h = cv2.boundingRect(head.view(np.uint8))
    if w == 0:
        return out
    box = (slice(y, y + h), slice(x, x + w))
    eye_y = float(a.landmarks[[persons.L_EYE, persons.R_EYE], 1].mean()) - y
    mouth_y = float(a.landmarks[[persons.MOUTH_L, persons.MOUTH_R], 1].mean()) - y
    dark = (worn[box] & head[box]).view(np.uint8)
    _, labels = cv2.connectedComponents(dark)
    above = max(int(eye_y), 0)
    hair = np.unique(labels[:above][dark[:above] > 0])
    rows = np.arange(h)[:, None]
    out[box] = (dark > 0) & ~np.isin(labels, hair) & (rows > mouth_y + 0.6 * (mouth_y - eye_y))
    return out


def _snap_edge(
    rgb: np.ndarray, top: np.ndarray, allowed: np.ndarray, person: np.ndarray, shoulder_width: float
) -> np.ndarray:
    """``top`` with each pixel near its edge given to whichever side its colour is
    closer to: the top's own colour just inside the edge, or what lies just outside it
    (background, skin, the bottom); inside ``person`` (the silhouette), to the top if
    it is near its colour. A pixel it gets wrong looks like the side it is
    given to, so the repaint over it hardly shows. The local colours are smooth: they
    are worked out at a quarter size; only the edge's pixels are compared at full size."""
    reach = int(np.clip(round(EDGE_REACH * shoulder_width), 2, 12))
    bx0, by0, bw, bh = cv2.boundingRect(top.view(np.uint8))
    if bw == 0:
        return top
    h, w = top.shape
    pad = 3 * reach
    y0, y1 = max(by0 - pad, 0), min(by0 + bh + pad, h)
    x0, x1 = max(bx0 - pad, 0), min(bx0 + bw + pad, w)
    inside = top[y0:y1, x0:x1].astype(np.uint8)
    square = np.ones((2 * reach + 1,) * 2, np.uint8)  # separable, so cheap at this size
    grown, shrunk = cv2.dilate(inside, square), cv2.erode(inside, square)
    band = (grown > 0) & (shrunk == 0)
    small = (max((x1 - x0) // 4, 1), max((y1 - y0) // 4, 1))
    lab = _lab(cv2.resize(rgb[y0:y1, x0:x1], small, interpolation=cv2.INTER_AREA))
    by, bx = np.nonzero(band)
    sy, sx = np.minimum(by // 4, small[1] - 1), np.minimum(bx // 4, small[0] - 1)

    def local_colour(sure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The colour of ``sure``'s pixels round each band pixel, and how many there are."""
        weight = cv2.resize(sure.astype(np.float32), small, interpolation=cv2.INTER_AREA)
        box = (reach | 1,) * 2  # at a quarter size it reaches twice the band's width: past it both ways
        spread = cv2.blur(weight, box)
        colour = cv2.blur(lab * weight[..., None], box)
        return colour[sy, sx] / np.maximum(spread[sy, sx], 1e-6)[:, None], spread[sy, sx]

    own, own_seen = local_colour(shrunk > 0)
    other, other_seen = local_colour(grown == 0)
    known = (own_seen > 0.05) & (other_seen > 0.05)
    by, bx, own, other = by[known], bx[known], own[known], other[known]
    if len(by) == 0:
        return top
    pixels = _lab(rgb[y0:y1, x0:x1][by, bx][None])[0]
    to_own = ((pixels - own) ** 2).sum(axis=1)
    closer = to_own < ((pixels - other) ** 2).sum(axis=1)
    # Inside the silhouette, a pixel of the top's own colour is the top even where the
    # backdrop is as close: a white sleeve on a pale backdrop otherwise kept its rim, and
    # the rim stayed beside the bare arm, a white strip.
    closer |= person[by + y0, bx + x0] & (to_own < SLEEVE_COLOUR**2)
    out = top.copy()
    out[by + y0, bx + x0] = closer & allowed[by + y0, bx + x0]
    return out


def worn_top(rgb: np.ndarray, a: persons.PersonAnalysis) -> np.ndarray:
    """The top a person wears, full size, apart from what they wear below it (``a`` must
    carry its skin map): also how a garment photo worn by a model is cut out."""
    return _top(rgb, a).full


def analyse(rgb: np.ndarray, a: persons.PersonAnalysis) -> Wardrobe:
    """The wardrobe of a person photo (``a`` must carry its skin map)."""
    h, w = a.shape
    found = _top(rgb, a)
    top, small, scale = found.full, found.image, found.scale
    assert a.skin is not None  # analyze() maps the skin before the wardrobe
    hands = a.hands & a.skin
    full_clothing = a.binary & ~a.skin & ~a.head & ~hands
    rows = np.arange(h)[:, None]
    waist_y = waist_line(a)
    ankles_y = float(a.landmarks[[persons.L_ANKLE, persons.R_ANKLE], 1].mean())
    knees_y = float(a.landmarks[[persons.L_KNEE, persons.R_KNEE], 1].mean())
    feet = rows > ankles_y - 0.12 * max(ankles_y - knees_y, 1.0)  # shoes and socks stay
    bottom = full_clothing & ~top & (rows > waist_y) & ~feet & ~_arms(a, 1.0, (h, w))
    hips_y = float(a.landmarks[[persons.L_HIP, persons.R_HIP], 1].mean())
    below_waist = (int(waist_y), int(hips_y + 0.25 * (knees_y - hips_y)))
    tucked = _top_coloured(rgb, found, bottom, below_waist, a.shoulder_width)
    top, bottom = top | tucked, bottom & ~tucked
    worn = [found.small, found.clothing & ~found.small]
    skin, smooth = _skin_layer(rgb, small, a, scale, body_parts(a, scale), worn)
    # Skin is bare up to the old garment's edge, where the detail test sees the edge's
    # contrast and calls it busy: smooth skin's own edge pixels count too (two working
    # pixels, a hem's width), or the match round a repaint lost the skin right by it.
    near_smooth = cv2.dilate(smooth.view(np.uint8), np.ones((5, 5), np.uint8))
    body = _body_under_clothes(rgb, a, top, skin)
    return Wardrobe(
        top=top,
        bottom=bottom,
        body=body,
        skin=skin,
        bare=a.skin & (cv2.resize(near_smooth, (w, h), interpolation=cv2.INTER_NEAREST) > 0),
        background=_background_plate(small, found.person, (h, w)),
    )


def _body_under_clothes(rgb: np.ndarray, a: persons.PersonAnalysis, top: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """The body under the clothes, full size, its upper arms under short sleeves redrawn
    from the bare arm below the hem (``upper_arm``), whose skin goes into ``skin`` (in
    place) with the layer's own grain; the sleeve's shadow on the arm joins ``top``."""
    parts = body_parts(a)
    body = parts.union()
    for arm in continued_arms(rgb, a, top):
        rest = (parts.torso | parts.legs)[arm.window]
        body[arm.window][arm.zone] = (rest | arm.arm)[arm.zone]
        layer = skin[arm.window]
        grain = layer[arm.arm].astype(np.float32) - cv2.GaussianBlur(layer, (0, 0), 1.5)[arm.arm]
        layer[arm.arm] = np.clip(arm.colour + grain + 0.5, 0, 255).astype(np.uint8)
        top[arm.window] |= arm.hem_shadow
    return body & _silhouette(a, body.shape)


def _top_coloured(
    rgb: np.ndarray, found: _Top, bottom: np.ndarray, rows: tuple[int, int], shoulder_width: float
) -> np.ndarray:
    """What the bottom took between ``rows`` (from, to) that is the top's colour, not
    the bottom's: the cut gives the sides of a top tucked into jeans to the bottom below
    the waist line, and a new bottom then had them painted as skin beside the top
    (model_5). Only where top and bottom are of different colours, each colour the
    median at the working size, and only patches mostly of the top's colour: a print of
    both (the white stripes of 02849's zebra skirt under a white top) is the bottom's,
    and taken for the top its stripes were repainted as streaks."""
    out = np.zeros(bottom.shape, bool)
    y0, y1 = max(rows[0], 0), max(rows[1], 0)
    ys, xs = np.nonzero(bottom[y0:y1])
    small_bottom = cv2.resize(bottom.view(np.uint8), found.small.shape[::-1], interpolation=cv2.INTER_NEAREST) > 0
    if len(ys) == 0 or found.small.sum() < 10 or small_bottom.sum() < 10:
        return out
    top_colour, bottom_colour = np.median(found.lab[found.small], axis=0), np.median(found.lab[small_bottom], axis=0)
    if float(np.linalg.norm(top_colour - bottom_colour)) < DIFFERENT_GARMENT:
        return out
    ys += y0
    here = _lab(rgb[ys, xs][None])[0]
    to_top, to_bottom = ((here - top_colour) ** 2).sum(axis=1), ((here - bottom_colour) ** 2).sum(axis=1)
    moved = (to_top < SLEEVE_COLOUR**2) & (to_top < to_bottom)
    out[ys[moved], xs[moved]] = True
    side = max(int(0.06 * shoulder_width) | 1, 3)
    top_near = cv2.blur(out.view(np.uint8).astype(np.float32), (side, side))
    bottom_near = cv2.blur(bottom.view(np.uint8).astype(np.float32), (side, side))
    core = (out & (top_near > PATCH_SHARE * bottom_near)).view(np.uint8)
    return out & (cv2.dilate(core, np.ones((side, side), np.uint8)) > 0)  # the patch to its edge


def _straps(rgb: np.ndarray, a: persons.PersonAnalysis, top: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Straps and thin collars of the old top: too thin to survive the cut's reduced
    size (and the skin map, smoothed, runs over them), they are found at full size as
    thin lines of the top's ``colour`` (CIELAB) over the shoulders and chest that run
    into the top. Only thin parts: hair lying on the shoulders is broad."""
    if not top.any():
        return top
    sw = a.shoulder_width
    shoulders_y = float(a.landmarks[[persons.L_SHOULDER, persons.R_SHOULDER], 1].min())
    y0, y1 = max(int(shoulders_y - 0.35 * sw), 0), int(np.flatnonzero(top.any(axis=1)).min()) + int(0.3 * sw)
    lab = _lab(rgb[y0:y1])
    near = _within(lab, colour, STRAP_COLOUR) & a.binary[y0:y1] & ~a.head[y0:y1]
    band = (near & ~top[y0:y1]).astype(np.uint8)
    width = max(int(0.04 * sw) | 1, 3)
    thin = (band > 0) & (cv2.morphologyEx(band, cv2.MORPH_OPEN, np.ones((width, width), np.uint8)) == 0)
    count, labels = cv2.connectedComponents(thin.astype(np.uint8), connectivity=8)
    grown = cv2.dilate(top[y0:y1].astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    touching = np.unique(labels[grown & thin])
    out = np.zeros_like(top)
    out[y0:y1] = np.isin(labels, touching[touching > 0])
    return out


def waist_line(a: persons.PersonAnalysis) -> float:
    """A little above the hip joints: where a bottom's waistband can start."""
    hips_y = float(a.landmarks[[persons.L_HIP, persons.R_HIP], 1].mean())
    shoulders_y = float(a.landmarks[[persons.L_SHOULDER, persons.R_SHOULDER], 1].mean())
    return hips_y - 0.3 * (hips_y - shoulders_y)
