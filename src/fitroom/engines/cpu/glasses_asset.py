"""Glasses images into a frontal frame ready to wear.

A glasses photo arrives as a PNG with transparency or as a product shot on a plain
background, seen from the front or at the 3/4 angle of e-commerce pages. What placement
needs is the front of the frame (two lenses and the bridge) seen head-on, temples hidden,
and the lens centres; what rendering needs is how every pixel covers or filters the face:

* ``layers[..., 0:3]``: frame colour premultiplied by its alpha (what the frame adds),
* ``layers[..., 3]``: alpha (how much of the face the frame hides),
* ``layers[..., 4:7]``: lens filter, 1 − transmittance per channel (how much a lens
  dims and tints the face behind it; 0 for clear glass and outside the lenses).

Lenses are filters rather than paint because product renders draw them opaque: a clear
lens as near-white, a sunglass lens as its tint seen against white. Read as "what the
lens does to white light", both become right on a face: the clear lens stays clear, the
tinted one keeps its tint and shows the eyes dimly behind it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy import ndimage

from fitroom.engines.cpu.cache import ContentCache, content_key
from fitroom.errors import GlassesNotFound

WORK_WIDTH = 640  # px: glasses are worn at a few hundred pixels, so analyse them at this
LENS_RUN_LEVEL = 0.5  # a lens column is one whose silhouette is over half the tallest one
# The camera of a product shot stands about this many frame half-widths away: it turns
# how much nearer one lens looks than the other into the angle the frame was shot at.
# Fitted on 3/4 product shots whose frontal shot was also at hand.
CAMERA_DISTANCE = 10.0
TEMPLE_LEVEL = 0.25  # beyond the lenses, the front ends where the silhouette gets this thin
SYMMETRIC_FROM_DEG = 8.0  # shots turned further lose their near temple (gaps, symmetry)
MAX_SIN_ANGLE = 0.65  # 40°: product shots are rarely turned further, and beyond it r is noise


@dataclass(frozen=True)
class GlassesAsset:
    """A frontal frame: 7 float32 layers (see module doc) and where its lenses are."""

    layers: np.ndarray
    lens_centres: np.ndarray  # 2×2, (x, y) of the image-left lens then the image-right one
    source: str  # "alpha" (PNG transparency), "matted" (plain background), "default"
    view_angle_deg: float  # how far the photo was turned from frontal, undone here

    @property
    def width(self) -> int:
        return self.layers.shape[1]

    @property
    def lens_distance(self) -> float:
        return float(np.linalg.norm(self.lens_centres[1] - self.lens_centres[0]))

    def preview(self) -> np.ndarray:
        """uint8 RGB of the asset worn over a mid-grey "face", lens centres marked."""
        grey = np.full(self.layers.shape[:2] + (3,), 0.6, np.float32)
        rgb = grey * (1 - self.layers[..., 4:7]) * (1 - self.layers[..., 3:4]) + self.layers[..., :3]
        out = (np.clip(rgb, 0, 1) * 255).astype(np.uint8)
        for x, y in self.lens_centres:
            cv2.drawMarker(out, (round(x), round(y)), (255, 0, 0), cv2.MARKER_CROSS, 12, 2)
        return out


def _typical(pixels: np.ndarray) -> np.ndarray:
    """The per-channel median of N×C pixels, from at most ~4000 of them (a median of a
    whole lens costs more than the rest of the analysis and says nothing more)."""
    return np.median(pixels[:: max(1, len(pixels) // 4000)], axis=0)


# --- from pixels to coverage -------------------------------------------------------------


def _matte(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alpha and the backdrop colour of a product shot on a plain background.

    The backdrop is the border's median; alpha grows with the distance from it. Clear
    lenses, which show the backdrop through them, come out transparent as they should.
    """
    border = np.concatenate([rgb[:4].reshape(-1, 3), rgb[-4:].reshape(-1, 3),
                             rgb[:, :4].reshape(-1, 3), rgb[:, -4:].reshape(-1, 3)]).astype(np.float32)
    backdrop = np.median(border, axis=0)
    if np.median(np.abs(border - backdrop).max(axis=1)) > 12:
        raise GlassesNotFound("the glasses image needs transparency or a plain background")
    distance = np.abs(rgb.astype(np.float32) - backdrop).max(axis=2)
    alpha = np.clip((distance - 10) / 50, 0, 1)
    return alpha, backdrop / 255


def _to_layers(image: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Work-size float layers (premultiplied colour, alpha), the backdrop, and the source.

    For a PNG the backdrop is white: what a product render's opaque lens shows is its
    colour over white.
    """
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise GlassesNotFound("the glasses image is not an RGB or RGBA image")
    has_alpha = image.shape[2] == 4 and image[..., 3].min() < 250
    if has_alpha:
        # Product PNGs are mostly empty canvas: work on what is there (the faint haze some
        # renders leave across the canvas does not count), plus a margin.
        x, y, w, h = cv2.boundingRect((image[..., 3] > 8).astype(np.uint8))
        if w == 0:
            raise GlassesNotFound("the glasses image is fully transparent")
        image = image[max(y - 8, 0):y + h + 8, max(x - 8, 0):x + w + 8]
    scale = min(1.0, WORK_WIDTH / image.shape[1])
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    if has_alpha:
        # Premultiply before resampling, or the colour of invisible pixels bleeds into edges.
        alpha = np.ascontiguousarray(image[..., 3:])
        rgb = cv2.multiply(np.ascontiguousarray(image[..., :3]), cv2.merge([alpha] * 3), scale=1 / 255)
        rgba = cv2.resize(cv2.merge([rgb, alpha]), size, interpolation=cv2.INTER_AREA)
        return rgba.astype(np.float32) / 255, np.ones(3, np.float32), "alpha"
    rgb = cv2.resize(np.ascontiguousarray(image[..., :3]), size, interpolation=cv2.INTER_AREA)
    alpha, backdrop = _matte(rgb)
    rgb_f = rgb.astype(np.float32) / 255
    # Unmix the backdrop out of edge pixels: observed = alpha·colour + (1 − alpha)·backdrop.
    colour = np.clip(rgb_f - (1 - alpha[..., None]) * backdrop, 0, None)
    return np.dstack([colour, alpha]), backdrop.astype(np.float32), "matted"


# --- finding the front: lenses and bridge --------------------------------------------------


def _silhouette(alpha: np.ndarray) -> np.ndarray:
    """The frame's filled outline: opaque pixels, specks dropped, lens openings filled."""
    solid = (alpha > 0.5).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    if n <= 1:
        raise GlassesNotFound("the glasses image is empty")
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.concatenate([[False], areas >= 0.01 * areas.max()])  # a lookup by label
    return ndimage.binary_fill_holes(keep[labels])


def _lens_runs(filled: np.ndarray) -> list[tuple[int, int]]:
    """Column spans of the two lenses: where the silhouette is tall. The bridge between
    them and the temples beside them are thin, so the column profile dips there."""
    profile = ndimage.uniform_filter1d(filled.sum(axis=0).astype(np.float32), 5)
    for level in (LENS_RUN_LEVEL, 0.65, 0.8):  # a tall bridge can join the lenses at 0.5
        tall = np.concatenate([[False], profile > level * profile.max(), [False]])
        edges = np.flatnonzero(np.diff(tall.astype(np.int8)))
        runs = sorted(zip(edges[::2], edges[1::2]), key=lambda r: r[0] - r[1])[:2]
        if len(runs) == 2 and min(b - a for a, b in runs) > 0.08 * filled.shape[1]:
            return sorted((int(a), int(b)) for a, b in runs)
    raise GlassesNotFound("no pair of lenses was found in the glasses image")


def _lens_mask(
    over: np.ndarray, solid: np.ndarray, filled: np.ndarray, run: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """One lens: its convex outline, and the part of it that is lens material.

    The smooth region grown from the run's middle (a floating-range flood fill, stopped by
    the rim's edge) is most of the lens. What a temple seen through the lens cuts off from
    it is found again by colour and opacity, among regions the rim encloses (so neither a
    light frame of the lens's own colour nor a gap between temple and rim is taken for it).
    Lenses are convex: the outline of both is the lens, and what crosses it inside (a
    temple, nose pads) is not lens material.
    """
    x = (run[0] + run[1]) // 2
    rows = np.flatnonzero(filled[:, x])
    seed = (x, int((rows[0] + rows[-1]) // 2))
    # Walls: outside the outline, and whatever is far from the seed's colour (a soft edge
    # can ramp gently enough from lens to rim for a floating range to climb it).
    seed_colour = _typical(over[max(seed[1] - 2, 0):seed[1] + 3, max(seed[0] - 2, 0):seed[0] + 3].reshape(-1, 3))
    unlike = np.abs(over.astype(np.int16) - seed_colour).max(axis=2) > 60
    mask = np.pad(~filled | unlike, 1).astype(np.uint8)
    cv2.floodFill(over, mask, seed, (0,), (3, 3, 3), (3, 3, 3), 8 | cv2.FLOODFILL_MASK_ONLY | (2 << 8))
    grown = mask[1:-1, 1:-1] == 2
    if not grown.any():
        raise GlassesNotFound("a lens of the glasses could not be outlined")
    lens_colour = _typical(over[grown])
    alike: np.ndarray = np.zeros(filled.shape, np.uint8)
    band = slice(run[0], run[1])
    alike[:, band] = np.abs(over[:, band].astype(np.int16) - lens_colour).max(axis=2) < 12
    alike &= cv2.erode(filled.astype(np.uint8), np.ones((3, 3), np.uint8))
    alike &= solid == (np.mean(solid[grown]) > 0.5)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(alike, connectivity=4)
    rim = cv2.dilate((~filled).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    enclosed = stats[:, cv2.CC_STAT_AREA] >= 0.02 * grown.sum()  # a lookup by label; not a glint
    enclosed[0] = False
    enclosed[labels[rim]] = False
    material = grown | enclosed[labels]
    hull = np.zeros(filled.shape, np.uint8)
    cv2.fillConvexPoly(hull, cv2.convexHull(cv2.findNonZero(material.astype(np.uint8))), (1,))
    return hull.astype(bool) & filled, material


# --- rectifying a 3/4 view -------------------------------------------------------------------


def _rectifying_homography(outer_left: float, inner_left: float, inner_right: float,
                           outer_right: float, centre_y: float) -> tuple[np.ndarray, float]:
    """A homography that turns a frame shot at an angle (about its vertical axis) to face
    the camera, and that angle in degrees.

    A plane turned about a vertical axis projects by x' = αu / (γu + 1) (u across the
    front, 0 to 1); asking both lenses to come out equally wide fixes γ (the quadratic
    below), and γ gives how much nearer one end is than the other, r. With the camera
    CAMERA_DISTANCE half-widths away that is an angle θ, whose cos θ foreshortening (and
    the perspective widening of the middle) is undone so the frame keeps its true shape.
    """
    width = outer_right - outer_left
    p, q = (inner_left - outer_left) / width, (inner_right - outer_left) / width
    # Lenses that differ wildly are a detection gone wrong, not a view: cap the depth ratio.
    gamma = float(np.clip(-1 + math.sqrt(max(0.0, 1 - (p + q - 1) / (p * q))), -0.4, 0.7))
    alpha = gamma + 1
    nearer = max(gamma + 1, 1 / (gamma + 1))  # depth ratio of the far end to the near end
    sin_theta = min(MAX_SIN_ANGLE, CAMERA_DISTANCE * (nearer - 1) / (nearer + 1))
    cos_theta = math.sqrt(1 - sin_theta**2)
    true_width = width * (4 * nearer / (nearer + 1) ** 2) / cos_theta
    u_mid = 0.5 / (alpha - 0.5 * gamma)
    depth_mid = gamma * u_mid + 1  # heights are kept at the scale of the bridge
    normalise = np.array([[1 / width, 0, -outer_left / width], [0, 1, -centre_y], [0, 0, 1]])
    project = np.array([[true_width * alpha, 0, 0], [0, depth_mid, 0], [gamma, 0, 1]])
    return project @ normalise, math.degrees(math.asin(sin_theta))


def _warp(layers: np.ndarray, homography: np.ndarray, masks: list[np.ndarray]):
    """Apply ``homography`` to the layers and masks, on a canvas that holds the result."""
    h, w = layers.shape[:2]
    corners = cv2.perspectiveTransform(
        np.array([[[0, 0]], [[w, 0]], [[w, h]], [[0, h]]], np.float32), homography
    ).reshape(-1, 2)
    x0, y0 = corners.min(axis=0) - 2
    size = np.ceil(corners.max(axis=0) - (x0, y0) + 2).astype(int)
    shifted = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]]) @ homography
    warped = cv2.warpPerspective(layers, shifted, tuple(size), flags=cv2.INTER_LINEAR)
    warped_masks = [
        cv2.warpPerspective(m.astype(np.uint8), shifted, tuple(size), flags=cv2.INTER_NEAREST) > 0
        for m in masks
    ]
    return warped, warped_masks


# --- putting it together -------------------------------------------------------------------


def _frontal_frame(layers: np.ndarray, backdrop: np.ndarray, source: str) -> GlassesAsset:
    colour, alpha = layers[..., :3], layers[..., 3]
    filled = _silhouette(alpha)
    runs = _lens_runs(filled)
    # The photo as it looks over its backdrop: what the flood fill and lens filter read.
    over = colour + (1 - alpha[..., None]) * backdrop
    over_u8 = cv2.GaussianBlur((np.clip(over, 0, 1) * 255).astype(np.uint8), (3, 3), 0)
    solid = alpha > 0.5
    (lens_l, material_l), (lens_r, material_r) = (_lens_mask(over_u8, solid, filled, r) for r in runs)
    lenses = [lens_l, lens_r]

    # Lens pixels stop being paint and become a filter: 1 − (colour over white light). What
    # crosses a lens (a temple, a nose pad) takes the lens's typical filter instead.
    lens_filter = 1 - np.clip(over / backdrop, 0, 1)
    for lens, material in ((lens_l, material_l), (lens_r, material_r)):
        lens_filter[lens & ~material] = _typical(lens_filter[lens & material])
    lens_any = (lens_l | lens_r)[..., None]
    layers = np.dstack([np.where(lens_any, 0, colour), np.where(lens_any[..., 0], 0, alpha),
                        np.where(lens_any, lens_filter, 0)]).astype(np.float32)

    (a0, a1), (b0, b1) = (np.flatnonzero(m.any(axis=0))[[0, -1]] for m in lenses)
    # Keep the front and a margin for endpieces: a long temple would reach towards the
    # homography's horizon, where it blows up.
    margin = (b1 - a0) // 5
    x_lo, x_hi = max(a0 - margin, 0), b1 + margin + 1
    layers, filled = layers[:, x_lo:x_hi], filled[:, x_lo:x_hi]
    lenses = [m[:, x_lo:x_hi] for m in lenses]
    a0, a1, b0, b1 = a0 - x_lo, a1 - x_lo, b0 - x_lo, b1 - x_lo
    centres = np.array([ndimage.center_of_mass(m)[::-1] for m in lenses])
    homography, angle = _rectifying_homography(a0, a1 + 1, b0, b1 + 1, float(centres[:, 1].mean()))
    # A camera above or below the frame slants its horizontal lines; a vertical shear (not
    # a rotation: verticals stay vertical) levels the lens centres.
    (x0, y0), (x1, y1) = cv2.perspectiveTransform(centres[None].astype(np.float64), homography)[0]
    level = np.array([[1, 0, 0], [-(y1 - y0) / (x1 - x0), 1, (y1 - y0) / (x1 - x0) * x0], [0, 0, 1]])
    layers, (filled, *lenses) = _warp(layers, level @ homography, [filled, *lenses])

    layers = _hide_temples(layers, filled, lenses)
    centres = np.array([ndimage.center_of_mass(m)[::-1] for m in lenses])
    if angle > SYMMETRIC_FROM_DEG:
        layers = _drop_above_gaps(layers, lenses)
        layers = _keep_symmetric(layers, filled, float(centres[:, 0].mean()))
    # Crop to what is visible.
    visible = (layers[..., 3] > 0.01) | (layers[..., 4:].max(axis=2) > 0.01)
    ys, xs = np.flatnonzero(visible.any(axis=1)), np.flatnonzero(visible.any(axis=0))
    layers = np.ascontiguousarray(layers[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1])
    return GlassesAsset(layers, centres - (xs[0], ys[0]), source, round(angle, 1))


def _hide_temples(layers: np.ndarray, filled: np.ndarray, lenses: list[np.ndarray]) -> np.ndarray:
    """Cut the arms off beyond the endpieces: on a head they run back along it, out of
    sight from the front. The front ends where the silhouette beside a lens gets thin."""
    profile = filled.sum(axis=0).astype(np.float32)
    left_edge = int(np.flatnonzero(lenses[0].any(axis=0))[0])
    right_edge = int(np.flatnonzero(lenses[1].any(axis=0))[-1])
    lens_height = float(np.median(profile[left_edge:right_edge + 1]))
    reach = int(0.12 * (right_edge - left_edge))  # endpieces are never wider than this
    thin = profile < TEMPLE_LEVEL * lens_height
    left = left_edge - next((i for i in range(reach) if thin[max(left_edge - i, 0)]), reach)
    right = right_edge + next((i for i in range(reach) if thin[min(right_edge + i, len(thin) - 1)]), reach)
    keep = np.zeros(layers.shape[1], np.float32)
    keep[max(left, 0):right + 1] = 1
    keep = np.convolve(keep, np.ones(3) / 3, mode="same")  # a pixel of feather, no hard cut
    return layers * keep[None, :, None]


def _drop_above_gaps(layers: np.ndarray, lenses: list[np.ndarray]) -> np.ndarray:
    """Over each lens, keep only the rim that rises from it unbroken: in a turned shot the
    near temple runs back just above the frame, parted from it by a sliver of background."""
    lens = lenses[0] | lenses[1]
    columns = np.flatnonzero(lens.any(axis=0))
    rows = np.arange(layers.shape[0])[:, None]
    solid = layers[:, columns, 3] >= 0.3
    last = layers.shape[0] - 1

    def nearest_above(mask: np.ndarray, below: np.ndarray) -> np.ndarray:
        """Per column, the lowest row of ``mask`` above row ``below`` (−1 if none)."""
        mask = mask & (rows < below)
        return np.where(mask.any(axis=0), last - mask[::-1].argmax(axis=0), -1)

    rim = nearest_above(solid, lens[:, columns].argmax(axis=0))  # the rim over the lens
    gap = nearest_above(~solid, rim)  # and the first see-through row over the rim
    keep = np.ones(layers.shape[:2], np.float32)
    keep[:, columns] = (rows > gap) | (rim < 0)
    # What that cut leaves of the temple over the bridge now floats free: drop pieces much
    # smaller than the frame itself.
    pieces = (layers[..., 3] * keep >= 0.3).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(pieces, connectivity=8)
    if n > 2:
        areas = stats[:, cv2.CC_STAT_AREA]
        small = areas < 0.1 * areas[1:].max()
        small[0] = False
        keep *= 1 - cv2.dilate(small[labels].astype(np.uint8), np.ones((3, 3), np.uint8))
    return layers * keep[..., None]


def _keep_symmetric(layers: np.ndarray, filled: np.ndarray, axis_x: float) -> np.ndarray:
    """Drop what has no mirror image across the bridge. A frame's front is symmetric; in a
    turned product shot, what is not is the near temple running across it (seen from the
    front, on a head, it would be hidden) or a shadow on one side."""
    h, w = filled.shape
    mirror = cv2.warpAffine(filled.astype(np.uint8), np.array([[-1, 0, 2 * axis_x], [0, 1, 0]], np.float32), (w, h))
    # Rectification is not exact: a mirror image a few pixels off still counts.
    reach = max(3, round(0.015 * w)) | 1
    mirrored = cv2.dilate(mirror, np.ones((reach, reach), np.uint8)).astype(np.float32)
    keep = cv2.GaussianBlur(mirrored, (3, 3), 0)[..., None]
    return np.dstack([layers[..., :4] * keep, layers[..., 4:]])


CACHE_SIZE = 32  # shops send the same few product photos again and again
_cache: ContentCache[GlassesAsset] = ContentCache(CACHE_SIZE)


def load_glasses(image: np.ndarray) -> GlassesAsset:
    """The frontal frame in ``image`` (uint8 RGB or RGBA). Raises ``GlassesNotFound``.

    Results are cached by content, so a product photo is analysed once per process.
    """

    def analyse() -> GlassesAsset:
        layers, backdrop, source = _to_layers(image)
        return _frontal_frame(layers, backdrop, source)

    return _cache.get_or_compute(content_key(image), analyse)[0]


# --- the default pair ----------------------------------------------------------------------


def _superellipse(cx: float, cy: float, a: float, b: float, n: float = 3.2) -> np.ndarray:
    """A rounded-rectangle lens outline (|x/a|^n + |y/b|^n = 1), as polygon points."""
    t = np.linspace(0, 2 * np.pi, 180, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    x = cx + a * np.sign(c) * np.abs(c) ** (2 / n)
    y = cy + b * np.sign(s) * np.abs(s) ** (2 / n)
    return np.stack([x, y], axis=1)


@lru_cache(maxsize=1)
def default_glasses() -> GlassesAsset:
    """The pair worn when a request brings none: a dark acetate frame with clear lenses,
    drawn from vector shapes at 4× and downsampled for smooth edges."""
    k = 4  # supersampling
    w, h = 560, 190
    lens_a, lens_b, gap = 118.0, 78.0, 64.0  # lens half-width, half-height, bridge width
    centres = np.array([[w / 2 - gap / 2 - lens_a, 96.0], [w / 2 + gap / 2 + lens_a, 96.0]])
    rim = 15.0
    frame = np.zeros((h * k, w * k), np.uint8)
    lenses = np.zeros_like(frame)
    shift = 4  # fixed-point bits for sub-pixel polygon vertices

    def poly(points: np.ndarray) -> list[np.ndarray]:
        return [np.round(points * k * (1 << shift)).astype(np.int32)]

    for cx, cy in centres:
        cv2.fillPoly(frame, poly(_superellipse(cx, cy, lens_a + rim, lens_b + rim)), (255,), cv2.LINE_AA, shift)
        cv2.fillPoly(lenses, poly(_superellipse(cx, cy, lens_a, lens_b)), (255,), cv2.LINE_AA, shift)
        # Endpiece: a block on the outer top corner where the hinge sits.
        side = np.sign(cx - w / 2)
        x_out = cx + side * (lens_a + rim - 6)
        block = np.array([[x_out, cy - lens_b - rim + 8], [x_out + side * 22, cy - lens_b - rim + 12],
                          [x_out + side * 22, cy - lens_b + 26], [x_out, cy - lens_b + 34]])
        cv2.fillPoly(frame, poly(block), (255,), cv2.LINE_AA, shift)
    # Bridge: a bar arching between the lenses' upper inner corners.
    t = np.linspace(0, np.pi, 40)
    top = np.stack([w / 2 - (gap / 2 + 10) * np.cos(t), 60 - 14 * np.sin(t)], axis=1)
    bridge = np.concatenate([top, top[::-1] + (0, 16)])
    cv2.fillPoly(frame, poly(bridge), (255,), cv2.LINE_AA, shift)

    def down(mask: np.ndarray) -> np.ndarray:
        return cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255

    lens = down(lenses)
    alpha = np.clip(down(frame) - lens, 0, 1)
    # Acetate: near-black with a faint warm sheen towards the top of the rims.
    shade = np.linspace(0.16, 0.07, h, dtype=np.float32)[:, None, None] * np.array([1.0, 0.9, 0.85], np.float32)
    colour = shade * alpha[..., None]
    # Clear lenses with the faint blue-grey of an anti-reflective coating.
    lens_filter = lens[..., None] * np.array([0.06, 0.04, 0.02], np.float32)
    layers = np.dstack([colour, alpha, lens_filter]).astype(np.float32)
    return GlassesAsset(layers, centres, "default", 0.0)
