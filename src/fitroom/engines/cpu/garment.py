"""Garment extraction: cut the garment out of its photo, decide its category, find its
keypoints.

Two kinds of garment photo reach the engine. Product photos (flat lay, ghost mannequin)
sit on a plain white, grey or coloured background, which a colour distance to the
border's colour removes. Photos of the garment worn by a model are cut with the same
person analysis as the shopper's photo: the person's silhouette minus head, skin and the
other half of the outfit. The photo type is detected (a face above a pair of shoulders
means someone wears it) unless the request says which it is.

Keypoints come from the mask's row profile (the run of garment pixels through the centre
column), or for a worn garment directly from the wearer's landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cached_property

import cv2
import numpy as np

from fitroom.engines.cpu import person as person_analysis
from fitroom.engines.cpu import wardrobe
from fitroom.engines.cpu.cache import ContentCache, content_key
from fitroom.engines.cpu.skinning import fill_half_size
from fitroom.errors import NoGarmentFound
from fitroom.options import PhotoType, Region

CACHE_SIZE = 64
WORK_SIDE = 560  # garments are analysed and sampled at most this large (they shrink on the body anyway)
MIN_GARMENT_SHARE = 0.03
RECOVERY_SIDE = 160  # GrabCut runs at most this large
RECOVERED_MIN_SHARE = 0.02  # of the image: smaller proposals are rims and specks...
RECOVERED_SMALL_SHARE = 0.008  # ...unless at least this big and by colour not backdrop at all (a white cap sleeve)
RECOVERED_MIN_DISTANCE = 5.0  # CIELAB distance from the backdrop a recovered part needs
OUTLINE_STEP = 3  # grey levels over three pixels: the least change that fences the backdrop's fill off
_FENCE_HALF = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
WORN_HEM_EDGE = 4.0  # a worn top's hem: the least vertical lightness gradient (Sobel, 8-bit L) across the hips
WORN_HEM_STEP = 4.0  # and the least change of median lightness (8-bit L) from above it to below


@dataclass
class Limb:
    """A sleeve or trouser leg: an axis from ``root`` to ``end`` and the pixels it owns."""

    root: np.ndarray
    end: np.ndarray
    width: float
    mask: np.ndarray  # H×W bool, this limb's pixels in the garment image

    @property
    def axis(self) -> np.ndarray:
        """Unit vector from ``root`` to ``end``."""
        return (self.end - self.root) / max(float(np.linalg.norm(self.end - self.root)), 1e-6)


@dataclass
class Garment:
    rgb: np.ndarray  # H×W×3 uint8
    mask: np.ndarray  # H×W bool, the whole garment
    region: Region  # upper, lower or full (outerwear uses upper's geometry)
    photo_type: PhotoType
    points: dict[str, np.ndarray] = field(default_factory=dict)  # 'a' = image left, 'b' = image right
    limbs: dict[str, Limb] = field(default_factory=dict)  # 'a'/'b': sleeves or trouser legs

    def extent(self, y: float) -> tuple[float, float]:
        """Left and right edge of the garment's body (not its limbs) around row ``y``."""
        anchor = self.points.get("neck", self.points.get("crotch"))
        assert anchor is not None  # upper-body geometry has a neck, lower-body a crotch
        cx = int(anchor[0])
        return _central_width(self.body_mask, int(y) - 2, int(y) + 3, cx)

    @cached_property
    def bled(self) -> np.ndarray:
        """The garment's colours (float32, 0..1) with its rim replaced by its interior's,
        carried outwards: the product photo's backdrop bleeds into the cut-out's edge
        pixels, and warped and laid over each other (sleeve over torso) those pale rims
        read as seams. Kept with the garment: every try-on with it warps these."""
        rgb = self.rgb.astype(np.float32) * (1 / 255)
        inner = cv2.erode(self.mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(np.float32)
        if inner.sum() < 16:
            return rgb
        filled = fill_half_size(rgb, inner)
        return np.where(inner[..., None] > 0, rgb, np.clip(filled, 0, 1)).astype(np.float32)

    @cached_property
    def body_mask(self) -> np.ndarray:
        """The garment without its limbs: what the torso (or pelvis) warp moves."""
        out = self.mask.copy()
        for limb in self.limbs.values():
            out &= ~limb.mask
        return out


_cache: ContentCache[Garment] = ContentCache(CACHE_SIZE)


def _fit(rgb: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    scale = side / max(rgb.shape[:2])
    if scale >= 1:
        return rgb[..., :3].copy()
    return cv2.resize(rgb[..., :3], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def _clean(mask: np.ndarray) -> np.ndarray:
    """Largest blob, holes filled, edge noise opened away."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return mask.astype(bool)
    blob = (labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))).astype(np.uint8)
    # fill holes: whatever the outside cannot reach from the corner is inside
    outside = np.pad(blob, 1)
    cv2.floodFill(outside, None, (0, 0), (1,))
    return (blob > 0) | (outside[1:-1, 1:-1] == 0)


def remove_background(rgb: np.ndarray) -> np.ndarray:
    """Garment mask of a product photo.

    A backdrop is smooth, so a flood fill from the border that only steps between
    neighbours differing by one grey level takes the backdrop, its soft shadows and
    gradients, and stops at the garment's outline even where the garment has the
    backdrop's colour (a white shirt on white), and a second fill fenced off at soft
    outlines finds what the first crept into. It starts only from border pixels of the
    backdrop's colour, since a garment may touch the frame. Where the fill leaks in
    anyway (no outline at all), a colour distance to the backdrop takes over.
    """
    if rgb.shape[-1] == 4 and rgb[..., 3].min() < 250:  # already cut out
        return _clean(rgb[..., 3] > 127)
    rgb = np.ascontiguousarray(rgb[..., :3])
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    h, w = lab.shape[:2]
    m = max(2, min(h, w) // 50)
    border = lab[_border(h, w, m)]
    background = np.median(border, axis=0)
    spread = np.percentile(np.linalg.norm(border - background, axis=1), 60)
    threshold = max(6.0, 2.0 * spread + 3.0)
    diff = lab - background
    distance = cv2.sqrt(cv2.transform(diff * diff, np.ones((1, 3), np.float32)))

    starts = _border(h, w, m) & (distance < threshold)
    backdrop = _flood(rgb, starts)
    # The fill's small steps can creep over a soft outline (a white cap sleeve fading
    # into a vignetted backdrop), one grey level at a time. Filled again with outlines
    # fenced off, what only the first fill reached and that is not the backdrop's colour
    # is garment it crept into. The fence also closes narrow gaps (between a cuff and a
    # hem), so backdrop-coloured parts stay with the first fill.
    fenced = _flood(rgb, starts, fence=_outlines(rgb, starts))
    crept = (backdrop & ~fenced).astype(np.uint8)
    count, labels = cv2.connectedComponents(crept, connectivity=4)
    if count > 1:
        inside = crept.ravel() > 0  # most of the frame is in no part: only the parts are summed
        part = labels.ravel()[inside]
        size = np.bincount(part, minlength=count)
        apart = np.bincount(part, weights=distance.ravel()[inside], minlength=count) / np.maximum(size, 1)
        garment_parts = np.flatnonzero(apart[1:] >= RECOVERED_MIN_DISTANCE) + 1
        backdrop &= ~np.isin(labels, garment_parts)
    flooded = _clean(~backdrop)
    by_colour = distance > threshold
    mask = _clean(flooded | by_colour) if flooded.sum() < 0.6 * by_colour.sum() else flooded
    mask = _recover_backdrop_coloured_parts(rgb, distance, threshold, mask)
    return _open_slits(mask, distance, threshold)


def _border(h: int, w: int, m: int) -> np.ndarray:
    """The frame's outer ``m`` pixels."""
    out = np.zeros((h, w), bool)
    out[:m], out[-m:], out[:, :m], out[:, -m:] = True, True, True, True
    return out


def _flood(rgb: np.ndarray, starts: np.ndarray, fence: np.ndarray | None = None) -> np.ndarray:
    """The backdrop reached from ``starts`` (border pixels) stepping between neighbours
    a grey level apart, never onto ``fence``."""
    h, w = starts.shape
    fill = np.zeros((h + 2, w + 2), np.uint8)
    if fence is not None:
        fill[1:-1, 1:-1][fence] = 1
    step = max(min(h, w) // 48, 1)
    seeds = [(x, y) for x in range(0, w, step) for y in (0, h - 1)] + [
        (x, y) for y in range(0, h, step) for x in (0, w - 1)
    ]
    for x, y in seeds:
        if not fill[y + 1, x + 1] and starts[y, x]:
            cv2.floodFill(rgb, fill, (x, y), (0,), (1, 1, 1), (1, 1, 1), 8 | cv2.FLOODFILL_MASK_ONLY | (255 << 8))
    reached = fill[1:-1, 1:-1] == 255
    if fence is None:
        return reached
    # A fence is a few pixels thick and its outer half is backdrop: the backdrop is grown
    # back over it, so the cut stays on the outline itself.
    return cv2.dilate(reached.astype(np.uint8), _FENCE_HALF) > 0


def _outlines(rgb: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    """Pixels where the colour changes across three pixels by more than the backdrop's
    own grain does (``backdrop``: pixels certainly of it): outlines, soft ones too. A
    smooth studio backdrop changes by a grey level or two there, a vignette by less."""
    cross = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))
    # per channel: a white garment on a warm grey backdrop differs most in its blue
    red, green, blue = cv2.split(cv2.morphologyEx(rgb, cv2.MORPH_GRADIENT, cross))
    change = cv2.max(cv2.max(red, green), blue)
    grain = float(np.percentile(change[backdrop], 90)) if backdrop.any() else 0.0
    return change > max(OUTLINE_STEP, 2.0 * grain + 1.0)


def _open_slits(mask: np.ndarray, distance: np.ndarray, threshold: float) -> np.ndarray:
    """Reopen the backdrop seen between a sleeve laid along the body and the body.

    Where the cuff touches the hem, that slit is enclosed, so the fill from the border
    never reaches it and filling the cut-out's holes takes it in: warped, it is a white
    streak between sleeve and torso. A white stripe or a white garment's side can have
    the backdrop's colour too, so a region counts as a slit only by shape, place and
    shade: tall and thin, with fabric unlike the backdrop beside it on both sides along
    most of its length (a white garment's edge has the backdrop itself on its outer
    side), and nearer the backdrop's colour than half the cut's threshold."""
    xs = np.flatnonzero(mask.any(axis=0))
    if xs.size == 0:
        return mask
    garment_width = float(xs[-1] - xs[0] + 1)
    backdrop = distance < threshold
    count, labels, stats, _ = cv2.connectedComponentsWithStats((mask & backdrop).astype(np.uint8), connectivity=4)
    fabric = mask & ~backdrop
    h, w = mask.shape
    reach = 4  # pixels beside the slit that must be fabric
    out = mask
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if area < 0.001 * h * w or bw > 0.08 * garment_width or bh < 4 * bw:
            continue
        rows, cols = np.nonzero(labels[y : y + bh, x : x + bw] == i)
        left = np.full(bh, w, np.int64)
        right = np.full(bh, -1, np.int64)
        np.minimum.at(left, rows, cols + x)
        np.maximum.at(right, rows, cols + x)
        present = right >= 0
        ry = np.arange(y, y + bh)[present]
        outside_left = np.clip(left[present] - reach, 0, w - 1)
        outside_right = np.clip(right[present] + reach, 0, w - 1)
        beside = fabric[ry, outside_left] & fabric[ry, outside_right]
        if beside.mean() >= 0.8 and np.median(distance[labels == i]) <= threshold / 2:
            if out is mask:
                out = mask.copy()
            out[labels == i] = False
    return out


def _recover_backdrop_coloured_parts(
    rgb: np.ndarray, distance: np.ndarray, threshold: float, mask: np.ndarray
) -> np.ndarray:
    """Add back the parts of a garment that look like the backdrop (a white tee on a
    light-grey sweep), which the fill above loses wherever the outline has no contrast.

    GrabCut, initialised with the backdrop's border as certain background and the found
    garment as certain foreground, learns both colour models and proposes more garment.
    It is run small (its cost grows with pixels; the parts it recovers are large) and a
    proposed part is kept only if it is a sizeable blob that touches no image border and
    whose colour differs from the backdrop's: that rejects shadows-free backdrop patches
    between trouser legs and beside skirts, which GrabCut also likes to take. A smaller
    part (a white tee's cap sleeve) is kept only if its colour is further from the
    backdrop's than the cut's own threshold: a shaded patch of backdrop is not.
    """
    h, w = mask.shape
    scale = RECOVERY_SIDE / max(h, w)
    if scale >= 1:
        return mask
    # A part is kept only if its median colour is far enough from the backdrop's, so at
    # least half its pixels are: with fewer such pixels outside the cut, no part can be,
    # and GrabCut (the costliest step of a garment's analysis) is not run. Most garments
    # stand out from their backdrop and end here.
    outside = ~mask
    large = np.count_nonzero((distance >= RECOVERED_MIN_DISTANCE) & outside) >= 0.5 * RECOVERED_MIN_SHARE * h * w
    small_parts = np.count_nonzero((distance > threshold) & outside) >= 0.5 * RECOVERED_SMALL_SHARE * h * w
    if not (large or small_parts):
        return mask
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    border = max(2, min(sh, sw) // 40)
    trimap = np.full((sh, sw), cv2.GC_PR_FGD, np.uint8)
    core = cv2.erode(mask.astype(np.uint8), np.ones((9, 9), np.uint8))
    trimap[cv2.resize(core, (sw, sh), interpolation=cv2.INTER_NEAREST) > 0] = cv2.GC_FGD
    trimap[:border], trimap[-border:], trimap[:, :border], trimap[:, -border:] = (cv2.GC_BGD,) * 4
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    # Started from the trimap, grabCut reads no rectangle: an empty one (what None means).
    # Two passes: the parts it recovers settle by the second, and each pass costs as much
    # as a whole try-on's compositing.
    cv2.setRNGSeed(0)  # GrabCut's GMMs start from OpenCV's global RNG: same photo, same cut
    cv2.grabCut(small, trimap, (0, 0, 0, 0), *models, 2, cv2.GC_INIT_WITH_MASK)
    proposed: np.ndarray = np.isin(trimap, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    proposed = cv2.resize(proposed, (w, h), interpolation=cv2.INTER_LINEAR) > 0
    extra: np.ndarray = (proposed & ~mask).astype(np.uint8)
    k = max(5, (min(h, w) // 40) | 1)  # thin rims round the garment are not parts
    extra = cv2.morphologyEx(extra, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(extra, connectivity=8)
    margin = max(2, min(h, w) // 40)
    added = np.zeros_like(mask)
    for i in range(1, count):
        x, y, bw, bh, area = stats[i]
        if area < RECOVERED_SMALL_SHARE * h * w:
            continue
        if x <= margin or y <= margin or x + bw >= w - margin or y + bh >= h - margin:
            continue
        part = labels == i
        apart = float(np.median(distance[part]))
        if apart < (RECOVERED_MIN_DISTANCE if area >= RECOVERED_MIN_SHARE * h * w else threshold):
            continue
        added |= part
    return _clean(mask | added) if added.any() else mask


def detect_photo_type(rgb: np.ndarray) -> tuple[PhotoType, person_analysis.PersonAnalysis | None]:
    """Worn when the pose model finds a face clearly above a pair of shoulders: a face
    printed on a tee sits below the tee's shoulders and does not count."""
    if not person_analysis.face_boxes(rgb):  # cheap test first: most product photos end here
        return PhotoType.FLAT_LAY, None
    wearer = person_analysis.detect(rgb)
    if wearer is None or not wearer.visible(person_analysis.NOSE, person_analysis.L_EYE, person_analysis.R_EYE):
        return PhotoType.FLAT_LAY, None
    if not wearer.visible(person_analysis.L_SHOULDER, person_analysis.R_SHOULDER):
        return PhotoType.FLAT_LAY, None
    shoulder_y = wearer.landmarks[[person_analysis.L_SHOULDER, person_analysis.R_SHOULDER], 1].mean()
    nose = wearer.point(person_analysis.NOSE)
    if nose[1] > shoulder_y - 0.3 * wearer.shoulder_width:
        return PhotoType.FLAT_LAY, None
    if not any(x <= nose[0] <= x + w and y <= nose[1] <= y + h for x, y, w, h in person_analysis.face_boxes(rgb)):
        return PhotoType.FLAT_LAY, None
    return PhotoType.WORN, wearer


def worn_mask(rgb: np.ndarray, wearer: person_analysis.PersonAnalysis, region: Region) -> np.ndarray:
    """The garment a model wears: silhouette minus head, skin and hands, cut to the
    rows where ``region``'s garment sits."""
    skin = person_analysis.skin_from_face(rgb, wearer).mask(rgb)
    sw = wearer.shoulder_width
    forearms = wearer.limb((person_analysis.L_ELBOW, person_analysis.L_WRIST), (0.14 * sw,)) | wearer.limb(
        (person_analysis.R_ELBOW, person_analysis.R_WRIST), (0.14 * sw,)
    )
    mask = wearer.binary & ~wearer.head & ~wearer.hands & ~skin & ~forearms
    if region in (Region.UPPER, Region.OUTERWEAR):
        # a top ends where what is worn below it starts, though both be black
        mask &= wardrobe.worn_top(rgb, replace(wearer, skin=skin & wearer.binary))
    hips_y = wearer.landmarks[[person_analysis.L_HIP, person_analysis.R_HIP], 1].mean()
    knees_y = wearer.landmarks[[person_analysis.L_KNEE, person_analysis.R_KNEE], 1].mean()
    shoulders_y = wearer.landmarks[[person_analysis.L_SHOULDER, person_analysis.R_SHOULDER], 1].mean()
    rows = np.arange(mask.shape[0])[:, None]
    if region is Region.LOWER:
        mask &= rows > hips_y - 0.25 * (knees_y - hips_y)
    elif region is not Region.FULL:
        mask &= rows < hips_y + 0.2 * (knees_y - hips_y)
        hem = _worn_hem(rgb, wearer, mask)
        if hem is not None:
            mask &= rows < hem
    mask &= rows > shoulders_y - 0.3 * wearer.shoulder_width
    return _clean(mask)


def _worn_hem(rgb: np.ndarray, wearer: person_analysis.PersonAnalysis, mask: np.ndarray) -> int | None:
    """The row of a worn top's hem where the cut above could not find it (a black tee
    over black trousers is one colour to it): the strongest horizontal edge across the
    hips between the waist and the cut's end, kept only if what lies below it is
    lighter or darker than what lies above (a fold's shadow has the same cloth on both
    sides)."""
    lm = wearer.landmarks
    shoulders_y = float(lm[[person_analysis.L_SHOULDER, person_analysis.R_SHOULDER], 1].mean())
    hips_y = float(lm[[person_analysis.L_HIP, person_analysis.R_HIP], 1].mean())
    ys = np.flatnonzero(mask.any(axis=1))
    if ys.size == 0:
        return None
    y0, y1 = int(shoulders_y + 0.7 * (hips_y - shoulders_y)), int(ys.max()) - 2
    x0, x1 = sorted(int(v) for v in lm[[person_analysis.L_HIP, person_analysis.R_HIP], 0])
    if y1 - y0 < 8 or x1 - x0 < 8:
        return None
    band = max(int(0.1 * wearer.shoulder_width), 3)
    lightness = cv2.cvtColor(rgb[max(y0 - band, 0) : y1 + 2 * band, x0:x1], cv2.COLOR_RGB2LAB)[..., 0]
    lightness = cv2.GaussianBlur(lightness.astype(np.float32), (0, 0), 1.5)
    inside = mask[max(y0 - band, 0) : y1 + 2 * band, x0:x1]
    edges = np.abs(cv2.Sobel(lightness, cv2.CV_32F, 0, 1, ksize=3))
    offset = y0 - max(y0 - band, 0)
    profile = np.array([np.median(edges[r][inside[r]]) if inside[r].any() else 0.0 for r in range(len(edges))])
    peak = offset + int(np.argmax(profile[offset : offset + y1 - y0]))
    if profile[peak] < WORN_HEM_EDGE:
        return None
    above = lightness[max(peak - band, 0) : peak - 2][inside[max(peak - band, 0) : peak - 2]]
    below = lightness[peak + band // 2 : peak + 2 * band][inside[peak + band // 2 : peak + 2 * band]]
    if above.size < 10 or below.size < 10 or abs(float(np.median(below)) - float(np.median(above))) < WORN_HEM_STEP:
        return None
    return max(y0 - band, 0) + peak


def detect_region(mask: np.ndarray) -> Region:
    """Trousers have a gap between the legs at the bottom; dresses are tall; else a top."""
    ys, xs = np.nonzero(mask)
    top, bottom, left, right = ys.min(), ys.max(), xs.min(), xs.max()
    height, width = bottom - top + 1, right - left + 1
    centre = int((left + right) / 2)
    column = mask[top : bottom + 1, max(centre - 2, 0) : centre + 3].any(axis=1)
    gap = height - (np.flatnonzero(column).max() + 1) if column.any() else height
    if gap > 0.25 * height:
        return Region.LOWER
    if height > 1.45 * width:
        return Region.FULL
    return Region.UPPER


def _runs(mask: np.ndarray, centre_x: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the outer extent of garment pixels; rows without any get NaN."""
    any_row = mask.any(axis=1)
    left = np.where(any_row, np.argmax(mask, axis=1), np.nan).astype(np.float32)
    right = np.where(any_row, mask.shape[1] - 1 - np.argmax(mask[:, ::-1], axis=1), np.nan).astype(np.float32)
    return left, right


def _central_edges(mask: np.ndarray, cx: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the left and right end of the run of garment pixels through column
    ``cx``; rows where ``cx`` holds no garment get NaN."""
    padded = np.pad(mask, ((0, 0), (1, 1)))  # every row then has a gap on both sides
    left = cx - np.argmax(~padded[:, : cx + 1][:, ::-1], axis=1)
    right = cx - 1 + np.argmax(~padded[:, cx + 1 :], axis=1)
    inside = mask[:, cx]
    return np.where(inside, left, np.nan).astype(np.float32), np.where(inside, right, np.nan).astype(np.float32)


def _central_width(mask: np.ndarray, y0: int, y1: int, cx: int) -> tuple[float, float]:
    """Median extent of the run through ``cx`` over rows y0..y1 (sleeves hanging apart
    from the body are not part of that run)."""
    y0, y1 = max(y0, 0), min(y1, mask.shape[0])
    left, right = _central_edges(mask[y0:y1], cx)
    if np.isnan(left).all():
        ys, xs = np.nonzero(mask[y0:y1])
        return float(xs.min()), float(xs.max())
    return float(np.nanmedian(left)), float(np.nanmedian(right))


def _torso_sides(mask: np.ndarray, top: int, bottom: int, cx: int) -> tuple[float, float, float, float]:
    """A top's width below its armpits: the outer ends of the run through the centre
    (the garment's span) and the body's own edges inside any sleeve laid along it.

    Both are the run through the centre over rows from half to four fifths down, unless
    a long sleeve lies flat beside the body. It touches the body for most of its length
    and there that run takes the sleeve in; but its cuff usually hangs free lower down,
    and on those rows the run ends at the body's own edge. A side whose free rows end
    well inside the band's run has its body edge measured on them. The span stays: the
    sleeve covers the body's side, whose true edge is hidden under it."""
    height = bottom - top + 1
    left, right = _central_edges(mask, cx)
    outer_left, outer_right = _runs(mask, cx)
    span_l, span_r = _central_width(mask, top + int(0.55 * height), top + int(0.8 * height), cx)
    body = {"a": span_l, "b": span_r}
    rows = slice(top + int(0.45 * height), bottom - max(height // 50, 1))
    for side, edge, outer, sign in (("a", left, outer_left, -1), ("b", right, outer_right, 1)):
        free = (outer[rows] - edge[rows]) * sign > 2  # garment beyond a gap on this side
        if free.sum() < max(3, 0.03 * height):
            continue
        inner = float(np.median(edge[rows][free]))
        if (body[side] - inner) * sign > 0.1 * (span_r - span_l):
            body[side] = inner
    return span_l, span_r, body["a"], body["b"]


def top_row(mask: np.ndarray, x: float) -> float | None:
    """The garment's first row in column ``x`` (kept inside the image), ``None`` where
    that column holds no garment."""
    column = mask[:, int(np.clip(x, 0, mask.shape[1] - 1))]
    return float(np.argmax(column)) if column.any() else None


def _bodice(mask: np.ndarray, top: int, height: int, cx: int) -> tuple[float, float, float]:
    """A dress's bodice: its edges at the chest, and its waist's row. Below its armpits a
    dress is as wide as its skirt, which the body's torso does not wear. The waist is
    where it is narrowest above the skirt (between a seventh and a half of the way
    down); the chest is the widest it grows from there upwards before sleeves join it
    (the run widens by more than a tenth from one row to the next) or the armholes
    narrow it to straps."""
    left, right = _central_edges(mask, cx)
    width = right - left
    rows = np.arange(top + int(0.15 * height), top + int(0.45 * height))
    if np.isnan(width[rows]).all():
        return float(cx - 1), float(cx + 1), float(rows.mean())
    waist = int(rows[np.nanargmin(width[rows])])
    chest = waist
    for y in range(waist - 1, top, -1):
        if not width[y] <= 1.1 * width[y + 1] or width[y] < 0.5 * width[chest]:  # NaN stops too
            break
        if width[y] > width[chest]:
            chest = y
    near = slice(max(chest - 3, top), chest + 4)
    return float(np.nanmedian(left[near])), float(np.nanmedian(right[near])), float(waist)


def _upper_points(mask: np.ndarray, dress: bool = False) -> dict[str, np.ndarray]:
    ys, xs = np.nonzero(mask)
    # Flat lays are laid out symmetric, so the bounding box's middle is the centre line;
    # the hem is the lowest garment row near it (cuffs of hanging sleeves can be lower).
    cx = int((xs.min() + xs.max()) / 2)
    top = int(ys.min())
    centre_band = mask[:, max(cx - 10, 0) : cx + 11].any(axis=1)
    bottom = int(np.flatnonzero(centre_band).max()) if centre_band.any() else int(ys.max())
    height = bottom - top + 1
    if dress:
        span_l, span_r, bodice_waist = _bodice(mask, top, height, cx)
        body_l, body_r = span_l, span_r
    else:
        span_l, span_r, body_l, body_r = _torso_sides(mask, top, bottom, cx)
    # laid out symmetric: both sides' mean
    tl, tr = cx - (span_r - span_l) / 2, cx + (span_r - span_l) / 2
    bl, br = cx - (body_r - body_l) / 2, cx + (body_r - body_l) / 2
    width = tr - tl

    def first_row(x: float) -> float:
        row = top_row(mask, x)
        return float(top) if row is None else row

    # The top's height: the highest point between the seam and the collar on each side, so
    # a strap dress is held by its straps rather than by its armholes.
    def shoulder_top(x0: float, x1: float) -> float:
        return min(first_row(x) for x in np.linspace(x0, x1, 6))

    sh_y = (shoulder_top(tl + 0.04 * width, tl + 0.3 * width) + shoulder_top(tr - 0.3 * width, tr - 0.04 * width)) / 2

    # Each shoulder corner sits at the garment's own edge, on the column an eighth of the
    # width in from it (where the body's shoulder line is measured, a quarter of the way
    # to the neck): a flat top's shoulders slope down from its collar, and a corner at the
    # collar's height would hold the edge that much below the body's shoulder line, which
    # then shows bare above it. A strap's armhole drops far below: there the strap holds.
    def corner_y(x: float) -> float:
        own = first_row(x)
        return own if own < sh_y + 0.2 * width else sh_y

    neck_cols = mask[:, int(cx - 0.08 * width) : int(cx + 0.08 * width) + 1]
    neck_y = min(float(np.argmax(neck_cols.any(axis=1))), sh_y)  # a front neckline dips; the neck does not
    # Armpit: the last row from the top where the outer extent still juts past the torso
    # (the sleeve's underside), kept within what a real armhole can be.
    left, right = _runs(mask, cx)
    rows = np.arange(len(left))
    jut = ((left < bl - 0.06 * width) | (right > br + 0.06 * width)) & (rows < top + 0.6 * height)
    armpit_y = float(rows[jut].max()) if jut.any() else sh_y + 0.45 * width
    armpit_y = float(np.clip(armpit_y, sh_y + 0.3 * width, sh_y + 0.6 * width))
    armpit_y = min(armpit_y, top + 0.6 * height)
    # a dress's waist is its bodice's; a top's is half-way down from its armpits
    waist_y = bodice_waist if dress and bodice_waist > armpit_y else (armpit_y + bottom) / 2
    wl, wr = _central_width(mask, int(waist_y) - 3, int(waist_y) + 4, cx)
    hl, hr = _central_width(mask, bottom - max(height // 25, 2), bottom - 1, cx)
    # where a sleeve lies along the body, the run at the waist and hem takes it in too
    if bl > tl:
        wl, hl = max(wl, bl), max(hl, bl)
    if br < tr:
        wr, hr = min(wr, br), min(hr, br)
    return {
        "neck": np.array([cx, neck_y]),
        "shoulder_a": np.array([tl, corner_y(tl + width / 8)]),
        "shoulder_b": np.array([tr, corner_y(tr - width / 8)]),
        "armpit_a": np.array([bl, armpit_y]),
        "armpit_b": np.array([br, armpit_y]),
        "waist_a": np.array([wl, waist_y]),
        "waist_b": np.array([wr, waist_y]),
        "hem_a": np.array([hl, float(bottom)]),
        "hem_b": np.array([hr, float(bottom)]),
        "hem": np.array([cx, float(bottom)]),
    }


def _sleeves(mask: np.ndarray, points: dict[str, np.ndarray], region: Region) -> dict[str, Limb]:
    """Pixels outside the body's edge at each armpit, from the shoulder's height down,
    are that side's sleeve; a sleeve smaller than a few percent of the garment is no
    sleeve."""
    h, w = mask.shape
    yy = np.arange(h, dtype=np.float32)[:, None]
    xx = np.arange(w, dtype=np.float32)[None, :]
    limit = points["hem"][1] - 0.02 * (points["hem"][1] - points["neck"][1])
    if region is Region.FULL:
        limit = points["waist_a"][1]
    limbs: dict[str, Limb] = {}
    total = mask.sum()
    for side, sign in (("a", -1), ("b", 1)):
        ap = points[f"armpit_{side}"]
        # The cut is the body's edge, straight up from the armpit to the shoulder's
        # height (the shoulder corner itself lies further out where a sleeve lies along
        # the body).
        sh = np.array([ap[0], points[f"shoulder_{side}"][1]])
        reach = abs(float(ap[1] - sh[1]))
        rows = (yy < limit) & (yy > sh[1] - 0.1 * reach)
        sleeve = mask & ((xx - ap[0]) * sign > 0.02 * reach) & rows
        count, labels, stats, _ = cv2.connectedComponentsWithStats(sleeve.astype(np.uint8), connectivity=8)
        if count < 2:
            continue
        biggest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        if stats[biggest, cv2.CC_STAT_AREA] < 0.02 * total:
            continue
        sleeve = labels == biggest
        root = (sh + ap) / 2
        # The axis points at the sleeve's centroid (its farthest pixel can be the top of
        # a short, wide sleeve) and ends where the sleeve's pixels end along it.
        sy, sx = np.nonzero(sleeve)
        offsets = np.stack([sx - root[0], sy - root[1]], axis=1)
        direction = offsets.mean(axis=0)
        direction /= max(float(np.linalg.norm(direction)), 1e-6)
        along = offsets @ direction
        end = root + direction * float(np.percentile(along, 98))
        # The cap behind the root line stays with the torso: rotated onto a hanging arm
        # it would otherwise stick up over the shoulder like a wing.
        sleeve[sy[along < 0], sx[along < 0]] = False
        # Centre the axis across the sleeve so the sleeve hangs centred on the arm.
        normal = np.array([-direction[1], direction[0]])
        shift = float(np.median(offsets[along >= 0] @ normal))
        root, end = root + normal * shift, end + normal * shift
        limbs[side] = Limb(root=root, end=end, width=reach, mask=sleeve)
    return limbs


def _lower_points(mask: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, Limb]]:
    ys, xs = np.nonzero(mask)
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top + 1
    band = mask[top : top + max(height // 30, 2)]
    bx = np.nonzero(band)[1]
    wl, wr = float(bx.min()), float(bx.max())
    cx = int((wl + wr) / 2)
    column = mask[:, max(cx - 2, 0) : cx + 3].any(axis=1)
    crotch_y = float(np.flatnonzero(column).max())
    points = {
        "waist_a": np.array([wl, float(top)]),
        "waist_b": np.array([wr, float(top)]),
        "crotch": np.array([float(cx), crotch_y]),
    }
    limbs: dict[str, Limb] = {}
    if bottom - crotch_y > 0.25 * height:  # trousers: each half is a leg
        for side, cols in (("a", slice(0, cx)), ("b", slice(cx, mask.shape[1]))):
            leg = np.zeros_like(mask)
            leg[:, cols] = mask[:, cols]
            ly, lx = np.nonzero(leg)
            if lx.size == 0:
                continue
            root_band = ly < top + 0.05 * height
            end_band = ly > ly.max() - 0.03 * height
            root = np.array([lx[root_band].mean(), float(top)])
            end = np.array([lx[end_band].mean(), float(ly.max())])
            width = float(np.ptp(lx[root_band]) + 1)
            limbs[side] = Limb(root=root, end=end, width=width, mask=leg)
    else:  # a skirt: one piece from waist to hem
        hl, hr = _central_width(mask, bottom - max(height // 25, 2), bottom - 1, cx)
        points.update(
            hem_a=np.array([hl, float(bottom)]), hem_b=np.array([hr, float(bottom)]), hem=np.array([cx, float(bottom)])
        )
    return points, limbs


def extract(
    rgb: np.ndarray, *, region: Region, photo_type: PhotoType, preprocess: bool, side: int = WORK_SIDE
) -> Garment:
    """Cut out the garment, at most ``side`` pixels high, and describe its shape.
    Raises ``NoGarmentFound``.

    Cached by content and arguments: a shop's garment is tried on by many shoppers, and
    the returned ``Garment`` is only ever read."""
    key = content_key(rgb, region.value, photo_type.value, preprocess, side)
    return _cache.get_or_compute(
        key, lambda: _extract(rgb, region=region, photo_type=photo_type, preprocess=preprocess, side=side)
    )[0]


def clear_cache() -> None:
    _cache.clear()


def _extract(rgb: np.ndarray, *, region: Region, photo_type: PhotoType, preprocess: bool, side: int) -> Garment:
    work = _fit(rgb[..., :3], side)
    alpha = _fit(np.repeat(rgb[..., 3:4], 3, axis=2), side)[..., 0] if rgb.shape[-1] == 4 else None
    wearer = None
    if photo_type is PhotoType.AUTO:
        photo_type, wearer = detect_photo_type(work)
    elif photo_type is PhotoType.WORN:
        wearer = person_analysis.detect(work)
        if wearer is None:
            raise NoGarmentFound("no one wearing a garment was found in the garment image")
    if photo_type is PhotoType.WORN:
        chosen = Region.UPPER if region in (Region.AUTO, Region.OUTERWEAR) else region
        assert wearer is not None  # WORN comes with the wearer found, or was refused above
        mask = worn_mask(work, wearer, chosen)
    elif not preprocess:
        # The caller says the photo is already a clean cut-out: trust its alpha, or else
        # everything that is not pure white.
        mask = _clean(alpha > 127) if alpha is not None else _clean(work.min(axis=2) < 250)
    else:
        mask = remove_background(np.dstack([work, alpha]) if alpha is not None else work)
    if mask.mean() < MIN_GARMENT_SHARE or mask.mean() > 0.97:
        raise NoGarmentFound("no garment could be separated from the garment image's background")
    # Two pixels in from the cut: its anti-aliased rim is half backdrop and would draw a
    # pale outline round the garment on the body.
    mask = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    if region is Region.AUTO:
        region = detect_region(mask) if photo_type is PhotoType.FLAT_LAY else Region.UPPER
    geometry = Region.UPPER if region is Region.OUTERWEAR else region
    if geometry is Region.LOWER:
        points, limbs = _lower_points(mask)
    else:
        points = _upper_points(mask, dress=geometry is Region.FULL)
        limbs = _sleeves(mask, points, geometry)
    return Garment(rgb=work, mask=mask, region=region, photo_type=photo_type, points=points, limbs=limbs)
