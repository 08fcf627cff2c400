"""Fitting a garment to a body: where each keypoint of the garment goes on the person,
and the warped pieces that result.

Tops and dresses: a thin-plate spline from the garment's neck, shoulders and edge rows
to the body's, whose widths come from the person's silhouette with a little ease and
whose length comes from the torso (garment photos and bodies disagree on proportions).
Sleeves and trouser legs: a skeletal warp along the arm or leg landmarks, so a sleeve
follows a raised arm. A skirt is a spline from waistband to hem.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
from scipy.interpolate import RBFInterpolator

from fitroom.engines.cpu import garment as garments
from fitroom.engines.cpu import person as persons
from fitroom.engines.cpu.cores import beside
from fitroom.engines.cpu.skinning import (
    bounds,
    grid_vertices,
    invert,
    limb_forward,
    nearest_on_chain,
    smoothstep,
)
from fitroom.engines.cpu.warp import sample, tps_map
from fitroom.options import Region

SHOULDER_SEAM = 1.08  # shoulder seams sit just outside MediaPipe's shoulder points: width / their distance
ARM_WIDTH = 0.44  # a sleeve's width at the shoulder on the body, per shoulder width (0.36 bared the inner arm)
SLEEVE_EASE = 1.1  # the least a sleeve is on the body: its arm's width (``arm_size``) times this
WAIST_ABOVE_HIPS = 0.18  # a mid-rise waistband, as a share of the hip-to-knee length
ARMHOLE_ROOT = 0.3  # where a hanging sleeve starts, from the shoulder corner (0) to the armpit (1)
LONG_SLEEVE = 0.75  # a sleeve reaching this share of the arm on the body is a long sleeve
TRAPEZIUS = 0.4  # where the shoulder line is pinned near the neck: share of the way from shoulder to centre
ROWS = 6  # spline control rows between a top's armpits and its hem
OVERLAP = 0.03  # of the shoulder width: how far a new waistband reaches over the old top's hem
ARMHOLE_RAMP = (0.5, 1.5)  # down a sleeve from its root, per armhole height: where its blend with the torso ends
THIGH_STANDING = 0.8  # a thigh this near the body's line (the cosine of their angle) is a standing one's
LEG_REACH = 0.3  # of the shoulder width: the furthest a leg's outline lies from its bone (a wide trouser leg)
CUFF = 0.35  # of the shin: the most of old trousers between a long dress's hem and the ankles that it covers
LEGS_SETTLE = 0.5  # of the shoulder width: how far below the hips a skirt's middle moves onto the legs' middle


@dataclass(frozen=True)
class Fit:
    """How one variant wears the garment; drawn from the seed."""

    ease: float  # width over the body's silhouette
    length: float  # garment length relative to its proportions
    flare: float  # hem width relative to the garment's own

    @classmethod
    def draw(cls, seed: int, variant: int) -> Fit:
        rng = np.random.default_rng([seed, variant])
        u = rng.random(3)
        return cls(
            ease=round(1.02 + 0.1 * u[0], 3), length=round(0.92 + 0.16 * u[1], 3), flare=round(0.94 + 0.2 * u[2], 3)
        )


@dataclass
class Body:
    """The person's landmarks in image-left ('a') / image-right ('b') terms."""

    analysis: persons.PersonAnalysis
    shoulder: dict[str, np.ndarray]
    elbow: dict[str, np.ndarray]
    wrist: dict[str, np.ndarray]
    hip: dict[str, np.ndarray]
    knee: dict[str, np.ndarray]
    ankle: dict[str, np.ndarray]
    exclude: np.ndarray  # pixels that are not torso when measuring widths (bare arms, hands)
    arm: dict[str, tuple[float, float]]  # each arm's (upper arm, forearm) width, see ``arm_size``

    @classmethod
    def of(cls, a: persons.PersonAnalysis, exclude: np.ndarray) -> Body:
        p = a.point
        flip = p(persons.R_SHOULDER)[0] < p(persons.L_SHOULDER)[0]  # facing the camera

        def pair(left: int, right: int) -> dict[str, np.ndarray]:
            first, second = (right, left) if flip else (left, right)
            return {"a": p(first).astype(np.float64), "b": p(second).astype(np.float64)}

        first, second = (persons.R_SHOULDER, persons.L_SHOULDER) if flip else (persons.L_SHOULDER, persons.R_SHOULDER)

        return cls(
            analysis=a,
            shoulder=pair(persons.L_SHOULDER, persons.R_SHOULDER),
            elbow=pair(persons.L_ELBOW, persons.R_ELBOW),
            wrist=pair(persons.L_WRIST, persons.R_WRIST),
            hip=pair(persons.L_HIP, persons.R_HIP),
            knee=pair(persons.L_KNEE, persons.R_KNEE),
            ankle=pair(persons.L_ANKLE, persons.R_ANKLE),
            exclude=exclude,
            arm={"a": a.arm_size(first), "b": a.arm_size(second)},
        )

    @property
    def shoulder_width(self) -> float:
        return float(np.linalg.norm(self.shoulder["a"] - self.shoulder["b"]))

    @property
    def down(self) -> np.ndarray:
        axis = (self.hip["a"] + self.hip["b"] - self.shoulder["a"] - self.shoulder["b"]) / 2
        return axis / max(float(np.linalg.norm(axis)), 1e-6)

    def centre_at(self, y: float) -> float:
        """x of the body's centre line at row ``y`` (shoulder mid to hip mid, extended)."""
        top = (self.shoulder["a"] + self.shoulder["b"]) / 2
        bottom = (self.hip["a"] + self.hip["b"]) / 2
        t = (y - top[1]) / max(bottom[1] - top[1], 1e-6)
        return float(top[0] + t * (bottom[0] - top[0]))

    def shoulder_top(self, side: str) -> np.ndarray:
        """Where the silhouette's shoulder line is above this shoulder joint, measured a
        little towards the neck (where a garment's shoulder rests): the joint landmark
        sits inside the shoulder, well below the fabric line."""
        return np.array([self.shoulder[side][0], self.outline_above(side, 0.25)[1]])

    def outline_above(self, side: str, toward_neck: float) -> np.ndarray:
        """The top of the body's outline (hair not counted: it lies over the shoulder)
        on the column ``toward_neck`` of the way from this shoulder joint to the centre
        between both, just inside it."""
        sw = self.shoulder_width
        centre = (self.shoulder["a"] + self.shoulder["b"]) / 2
        joint = self.shoulder[side]
        x = int(round(joint[0] + (centre[0] - joint[0]) * toward_neck))
        y = int(round(joint[1]))
        h, w = self.analysis.shape
        column = (self.analysis.binary & ~self.analysis.head)[
            max(y - int(0.4 * sw), 0) : max(y, 1), int(np.clip(x, 0, w - 1))
        ]
        outside = np.flatnonzero(~column[::-1])  # first non-person pixel going up
        rise = float(outside[0]) if outside.size else 0.4 * sw
        return np.array([float(x), joint[1] - min(rise, 0.3 * sw) + 0.02 * sw])

    def legs_span(self, y: float) -> tuple[float, float] | None:
        """The outer edges (x) of both legs together at row ``y``, where a skirt hangs
        round them: each leg's outline found out from its own bone (hip, knee, ankle),
        no further than a wide trouser leg reaches, so a bag held against the thigh
        only widens it that far. ``None`` off the photo."""
        h, w = self.analysis.shape
        row = int(round(y))
        if not 0 <= row < h:
            return None
        person = self.analysis.binary[row] & ~self.exclude[row]
        reach = int(LEG_REACH * self.shoulder_width)
        edges = []
        for side, sign in (("a", -1), ("b", 1)):
            chain = np.array([self.hip[side], self.knee[side], self.ankle[side]])
            x = int(np.clip(round(float(np.interp(y, chain[:, 1], chain[:, 0]))), 0, w - 1))
            ahead = person[x::sign][: reach + 1]  # from the bone outwards
            gap = np.flatnonzero(~ahead)
            edges.append(x + sign * (int(gap[0]) if gap.size else len(ahead)))
        return float(min(edges)), float(max(edges))

    def leg_runs(self, side: str) -> tuple[tuple[float, float], tuple[float, float]]:
        """This leg's thigh and shin as the silhouette shows them across the bone: each
        part's (width, middle's offset along the bone's normal) in pixels, medians over
        stations down it, (0, 0) where it was not measured. Each side of the bone
        reaches no further than a wide trouser leg (``LEG_REACH``) nor past half way to
        the other leg's bone: legs standing together show no gap between them."""
        o = "b" if side == "a" else "a"
        other = np.array([self.hip[o], self.knee[o], self.ankle[o]])
        person = self.analysis.binary & ~self.exclude & ~self.analysis.hands
        reach = int(LEG_REACH * self.shoulder_width)
        parts: list[tuple[float, float]] = []
        for a, b in ((self.hip[side], self.knee[side]), (self.knee[side], self.ankle[side])):
            runs = []
            for station, left, right in persons.runs_across(person, a, b, reach):
                limit = min(reach, int(nearest_on_chain(station[None], other)[0][0] / 2))
                low = min(reach if left is None else left, limit)
                high = min(reach if right is None else right, limit)
                runs.append((float(low + high + 1), (high - low) / 2))
            parts.append(tuple(np.median(runs, axis=0)) if len(runs) >= 2 else (0.0, 0.0))
        return parts[0], parts[1]

    @cached_property
    def old_waistband(self) -> float | None:
        """The row where the old bottom starts right under the old top (a top tucked in,
        a dress the wardrobe cut at the waist), over the middle of the hips; ``None``
        where it does not (bare skin between them, or no bottom)."""
        wardrobe = self.analysis.wardrobe
        if wardrobe is None:
            return None
        xa, xb = sorted((self.hip["a"][0], self.hip["b"][0]))
        inset = 0.2 * (xb - xa)
        columns = slice(max(int(xa + inset), 0), max(int(xb - inset), 0))
        bottom, top = wardrobe.bottom[:, columns], wardrobe.top[:, columns]
        worn = bottom.any(axis=0)
        if worn.sum() < 3:
            return None
        starts = np.argmax(bottom[:, worn], axis=0)
        # the top must reach down to it, within a few rows
        reach = max(int(0.04 * self.shoulder_width), 2)
        joined = [top[max(y - reach, 0) : y, i].any() for y, i in zip(starts, np.flatnonzero(worn))]
        if np.mean(joined) < 0.5:
            return None
        # where it starts highest (a top's hem curves up at the sides, a waistband does
        # not), and a few rows up: the old bottom's top edge (its shadow, a hem's
        # fold) is cut with it, and a waistband set exactly there left paint above it
        return float(np.percentile(starts, 25)) - OVERLAP * self.shoulder_width

    def half_width(self, y: float) -> float | None:
        """Half the silhouette's width at row ``y`` without arms and hands, or ``None``
        where the row is outside the photo or the centre is not on the body."""
        run = self.analysis.torso_run(int(round(y)), self.centre_at(y), self.exclude)
        if run is None:
            return None
        half = (run[1] - run[0]) / 2
        return half if half < 1.6 * self.shoulder_width else None


def _width(body: Body, y: float, garment_half: float, fit: Fit) -> float:
    """A garment's half width on the body: the silhouette plus ease. A flat garment is
    half its circumference wide, far wider than the body seen from the front, so its own
    width only counts where no body is there to measure (below the photo, between legs)."""
    sw = body.shoulder_width
    for rise in np.linspace(0, 0.6 * sw, 7):  # below the photo or between the legs: nearest row above
        body_half = body.half_width(y - rise)
        if body_half is not None:
            return float(
                max(body_half * fit.ease, min(garment_half, body_half * 1.4)) if rise else body_half * fit.ease
            )
    return garment_half / 1.3


def _upper_controls(
    g: garments.Garment, body: Body, fit: Fit
) -> tuple[np.ndarray, np.ndarray, float, dict[str, np.ndarray]]:
    """Keypoint pairs (body, garment) for a top or dress, the garment→body scale, and
    where each armhole's middle lands on the body (the sleeves hang from there)."""
    pts = g.points
    sw = body.shoulder_width
    g_sw = float(pts["shoulder_b"][0] - pts["shoulder_a"][0])
    scale = sw * SHOULDER_SEAM * fit.ease / max(g_sw, 1.0)
    down = body.down
    right = np.array([down[1], -down[0]])  # image-right when the body is upright
    tops = {side: body.shoulder_top(side) for side in ("a", "b")}
    seam = (tops["a"] + tops["b"]) / 2
    g_cx, g_top = float(pts["neck"][0]), float(pts["neck"][1])
    # Garment photos and bodies disagree on length-to-width, so the length is set on the
    # body: a top's hem lands around the hips, a dress's between knees and ankles.
    hips = (body.hip["a"] + body.hip["b"]) / 2
    torso = float(np.dot(hips - seam, down))
    stretch = scale * fit.length
    hem_drop = (float(pts["hem"][1]) - g_top) * stretch
    if g.region is Region.FULL:
        knees = (body.knee["a"] + body.knee["b"]) / 2
        thigh = float(np.dot(knees - hips, down))
        hem_drop = float(np.clip(hem_drop * fit.length, torso + 0.85 * thigh, torso + 1.9 * thigh))
        hem_drop = max(hem_drop, _over_the_cuffs(body, seam, hem_drop))
    else:
        # A long top reaches the upper thighs standing. Seated, the thighs come forward
        # and are seen end-on: the hem lies on the lap, and from the front it ends about
        # at the hips; carried on down the torso's line it covered the lap as a wedge
        # (fashn_model in 03032).
        standing = min(min(_thigh_down(body, side) for side in ("a", "b")) / THIGH_STANDING, 1.0)
        longest = 1.0 + 0.3 * standing
        hem_drop = float(np.clip(hem_drop, torso * 0.9, torso * longest)) * fit.length
    stretch = hem_drop / max(float(pts["hem"][1]) - g_top, 1.0)

    def place(gy: float, offset: float) -> np.ndarray:
        drop = (gy - g_top) * (stretch if gy > g_top else scale)
        return seam + down * max(drop, -0.25 * sw) + right * offset

    body_pts, garment_pts = [], []
    body_pts.append(place(pts["neck"][1], 0.0))
    garment_pts.append(pts["neck"])
    corners: dict[str, np.ndarray] = {}
    for side, sign in (("a", -1), ("b", 1)):
        corners[side] = tops[side] + right * sign * (SHOULDER_SEAM - 1) / 2 * sw
        body_pts.append(corners[side])
        garment_pts.append(pts[f"shoulder_{side}"])
        # The shoulder line near the neck rises over the trapezius; a flat garment's
        # runs straight from its corner to its collar, and between the two a wedge of
        # the old top (or skin) would show. Its top edge there is pinned to the body's
        # outline, unless the garment is not there (a wide or off-shoulder neckline).
        gx = float(pts[f"shoulder_{side}"][0] + (g_cx - pts[f"shoulder_{side}"][0]) * TRAPEZIUS)
        gy = garments.top_row(g.mask, gx)
        if gy is not None and gy < g_top + 0.06 * g_sw:
            body_pts.append(body.outline_above(side, TRAPEZIUS))
            garment_pts.append(np.array([gx, gy]))
    armpits: dict[str, np.ndarray] = {}
    # Edge pairs on rows from the armpits to the hem: enough rows that the garment's edge
    # follows the body's outline rather than its own flat-lay contour.
    hips_y = float((body.hip["a"][1] + body.hip["b"][1]) / 2)
    for i, gy in enumerate(np.linspace(float(pts["armpit_a"][1]), float(pts["hem"][1]), ROWS)):
        gl, gr = (
            g.extent(gy) if 0 < i < ROWS - 1 else (float(pts[f"{'armpit' if i == 0 else 'hem'}_{s}"][0]) for s in "ab")
        )
        centre = place(gy, 0.0)
        half = (gr - gl) / 2 * scale
        if centre[1] > hips_y:
            # Below the hips a dress hangs round both legs, with its own flare, and
            # centred on them: legs standing off the torso's line (a hip pushed out)
            # had it cover them as a wide box, symmetric about that line.
            span = body.legs_span(float(centre[1]))
            legs = 0.0
            if span is not None:
                settle = float(np.clip((centre[1] - hips_y) / (LEGS_SETTLE * sw), 0.0, 1.0))
                centre = centre + np.array([((span[0] + span[1]) / 2 - centre[0]) * settle, 0.0])
                legs = max(centre[0] - span[0], span[1] - centre[0])
            flat = half
            half = max(half / 1.3 * fit.flare, legs * fit.ease)
            if g.region is not Region.FULL:
                # A top's hem reaching past the hips hangs straight down from them:
                # seated, the thighs spread out under it, and followed they spread it
                # over the lap like a skirt. It is as wide as the hips, or as it lies flat;
                # the hips' row no wider than a wide trouser leg past the hip joints (it
                # runs along a thigh raised sideways, seated).
                joints = abs(float(body.hip["a"][0] - body.hip["b"][0])) / 2 + LEG_REACH * sw
                hips = min(body.half_width(hips_y) or 0.0, joints)
                half = min(half, max(flat, hips * fit.ease))
        else:
            half = _width(body, float(centre[1]), half, fit)
        for side, sign, gx in (("a", -1, gl), ("b", 1, gr)):
            body_pts.append(centre + right * sign * half)
            garment_pts.append(np.array([gx, gy]))
            armpits.setdefault(side, body_pts[-1])
        body_pts.append(centre)
        garment_pts.append(np.array([g_cx, gy]))
    armholes = {side: corners[side] + (armpits[side] - corners[side]) * ARMHOLE_ROOT for side in ("a", "b")}
    return np.array(body_pts), np.array(garment_pts), scale, armholes


def _over_the_cuffs(body: Body, seam: np.ndarray, hem_drop: float) -> float:
    """How far down a long dress reaches (from the shoulder seam, along the body) to
    cover the old trousers' cuffs: a dress ending a little above the ankles over long
    trousers left a band of them above the shoes (051918, 051482), which reads as a
    defect where a dress a little longer reads as its own length. It then reaches just
    past the lower ankle. 0 where no trouser legs reach mid-shin, where the feet are out
    of the photo, or where more than a cuff's worth (``CUFF``) of trousers shows:
    trousers under a shorter dress stay, as worn."""
    wardrobe = body.analysis.wardrobe
    if wardrobe is None:
        return 0.0
    down = body.down
    to_ankle = max(float(np.dot(body.ankle[side] - seam, down)) for side in ("a", "b"))
    to_knees = float(np.dot((body.knee["a"] + body.knee["b"]) / 2 - seam, down))
    if not 0 < to_ankle - hem_drop < CUFF * (to_ankle - to_knees):
        return 0.0
    h = wardrobe.bottom.shape[0]
    mid_shin = int(seam[1] + (to_knees + to_ankle) / 2 * down[1])
    if not 0 <= mid_shin < h or seam[1] + to_ankle * down[1] >= h:
        return 0.0  # the feet are out of the photo
    if wardrobe.bottom[mid_shin].sum() < 0.1 * body.shoulder_width:
        return 0.0  # no trouser legs reach mid-shin
    return to_ankle + 0.1 * (to_ankle - to_knees)  # a little past: a flared hem rises at its sides


def _box(points: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    h, w = shape
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int)
    return max(int(x0), 0), max(int(y0), 0), min(int(x1), w), min(int(y1), h)


@dataclass
class Piece:
    """One warped garment piece in output coordinates: straight-alpha RGBA over ``box``."""

    rgba: np.ndarray
    box: tuple[int, int, int, int]
    is_limb: bool
    side: str | None = None  # a sleeve's side ('a' image-left, 'b' image-right)
    cuff: np.ndarray | None = None  # a sleeve's: where the middle of its end lands on the body


def union(boxes: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int]:
    return min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)


def fit_garment(
    g: garments.Garment, body: Body, fit: Fit, shape: tuple[int, int], *, grid: int, cubic: bool
) -> list[Piece]:
    """Warp the garment onto the body as one continuous piece (see ``skinning``): tops
    and dresses blend the torso's spline with each sleeve's arm, trousers the pelvis
    with each leg; a skirt is one spline from waistband to hem."""
    sw = body.shoulder_width
    rgba = np.empty((*g.mask.shape, 4), np.float32)
    rgba[..., :3] = g.bled
    # Garment vertices every few pixels, the inverse evaluated every few output pixels:
    # the effort's grid sets both.
    out_step = int(np.clip(grid // 2, 2, 8))
    vertex_step = 4  # set below from the garment's scale on the body

    def warp(mask: np.ndarray, mx: np.ndarray, my: np.ndarray, rgba: np.ndarray = rgba) -> np.ndarray:
        # a one-pixel soft edge on the cut-out so the warped outline is anti-aliased
        rgba[..., 3] = cv2.GaussianBlur(mask.astype(np.float32), (3, 3), 0)
        return sample(rgba, mx, my, cubic)

    def spacing(scale: float) -> int:
        """Vertices about two to an output cell, but never nearer than two garment
        pixels (the forward map's cost): on a garment scaled up about twice they land
        about a cell apart, which the inverse's splat is made for (see ``invert``)."""
        return int(np.clip(out_step / max(scale, 1e-3) * 0.5, 2, 10))

    def piece(
        mask: np.ndarray, forward, keep, is_limb: bool, side: str | None = None, rgba: np.ndarray = rgba
    ) -> Piece | None:
        """One part of the garment through the shared forward map. Its cut-out reaches a
        pixel into its neighbours so that, drawn together, no seam of half-alpha shows.
        ``rgba`` is the buffer its cut-out is sampled from (each thread needs its own)."""
        vertices = grid_vertices(mask, vertex_step)
        vertices = vertices[keep(vertices)]
        if len(vertices) < 3:
            return None
        placed = forward(vertices)
        box = bounds(placed, 2 * out_step, shape)
        on_top = None
        if side is not None:
            # Bent at the elbow, a sleeve folds over itself: the fabric further down the
            # sleeve (the forearm's) lies on top.
            limb = g.limbs[side]
            on_top = ((vertices - limb.root) @ limb.axis, 3.0 * vertex_step)
        mx, my = invert(placed, vertices, box, out_step, on_top)
        grown = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        return Piece(warp(grown & g.mask, mx, my, rgba), box, is_limb=is_limb, side=side)

    pieces: list[Piece] = []
    geometry = Region.UPPER if g.region is Region.OUTERWEAR else g.region
    if geometry is Region.LOWER:
        scale_w = _lower_scale(g, body, fit)
        vertex_step = spacing(scale_w)
        if g.limbs:
            pelvis, legs, leg_weight = _trouser_bones(g, body, fit, scale_w)

            def make_forward(side: str):
                def forward(v: np.ndarray) -> np.ndarray:
                    w = leg_weight(v)[:, None]
                    return (1 - w) * pelvis(v) + w * legs[side](v)

                return forward

            def leg(side: str, buffer: np.ndarray) -> Piece | None:
                forward = make_forward(side)
                return piece(g.limbs[side].mask, forward, lambda v: np.ones(len(v), bool), False, rgba=buffer)

            # the first leg is warped on the other core while this one warps the rest
            sides = list(g.limbs)
            first = beside(lambda: leg(sides[0], rgba.copy()))
            rest = [leg(side, rgba) for side in sides[1:]]
            return [made for made in (first.result(), *rest) if made is not None]
        body_pts, garment_pts = _skirt_controls(g, body, fit, scale_w)
        box = _box(body_pts, 0.12 * sw, shape)
        mx, my = tps_map(body_pts, garment_pts, box, grid)
        return [Piece(warp(g.body_mask, mx, my), box, is_limb=False)]

    body_pts, garment_pts, scale, armholes = _upper_controls(g, body, fit)
    vertex_step = spacing(scale * fit.length)
    torso = RBFInterpolator(
        garment_pts.astype(np.float64), body_pts.astype(np.float64), kernel="thin_plate_spline", smoothing=1.0
    )
    sleeves: dict[str, tuple[object, object]] = {}
    for side, limb in g.limbs.items():
        weight = _membership(limb, _hanging(body, side), g.mask, vertex_step)
        sleeves[side] = (_sleeve_bone(limb, side, body, fit, scale, armholes), weight)

    def sleeve_weights(v: np.ndarray) -> dict[str, np.ndarray]:
        return {side: weight(v) for side, (_, weight) in sleeves.items()}  # type: ignore[operator]

    def forward(v: np.ndarray) -> np.ndarray:
        weights = sleeve_weights(v)
        # Each map only where it has weight (the spline where no sleeve wholly takes
        # over, a sleeve's bone where it has any): the same blend, at a third of the cost.
        torso_counts = np.ones(len(v), bool)
        for w in weights.values():
            torso_counts &= w < 1
        out = np.zeros((len(v), 2))
        if torso_counts.any():
            out[torso_counts] = torso(v[torso_counts])
        for side, w in weights.items():
            on = w > 0
            if not on.any():
                continue
            bone = sleeves[side][0]
            out[on] = out[on] * (1 - w[on, None]) + bone(v[on]) * w[on, None]  # type: ignore[operator]
        return out

    def mostly_torso(v: np.ndarray) -> np.ndarray:
        weights = sleeve_weights(v)
        return np.ones(len(v), bool) if not weights else np.max(list(weights.values()), axis=0) < 0.75

    # Pieces are cut where the blend passes one half, not along the sleeves' cut-outs:
    # each piece's triangulation then holds every vertex its pixels are drawn from.
    owned = {side: weight.image >= 0.5 for side, (_, weight) in sleeves.items()}  # type: ignore[attr-defined]
    torso_mask = g.mask.copy()
    for part in owned.values():
        torso_mask &= ~part

    def sleeve(side: str, buffer: np.ndarray) -> Piece | None:
        weight = sleeves[side][1]

        def mostly_sleeve(v: np.ndarray) -> np.ndarray:
            return weight(v) > 0.25  # type: ignore[operator]

        made = piece(owned[side] & g.mask, forward, mostly_sleeve, is_limb=True, side=side, rgba=buffer)
        if made is not None:
            made.cuff = forward(g.limbs[side].end[None].astype(np.float64))[0]
        return made

    def both_sleeves() -> list[Piece | None]:
        buffer = rgba.copy()  # the torso's thread samples from ``rgba`` meanwhile
        return [sleeve(side, buffer) for side in g.limbs]

    # the sleeves are warped on the other core while this one warps the torso
    sleeve_pieces = beside(both_sleeves)
    made = piece(torso_mask, forward, mostly_torso, is_limb=False)
    if made is None:  # a garment that is all sleeve cannot be; keep the spline's torso
        box = _box(body_pts, 0.12 * sw, shape)
        mx, my = tps_map(body_pts, garment_pts, box, grid)
        made = Piece(warp(g.body_mask, mx, my), box, is_limb=False)
    pieces.append(made)
    pieces.extend(made for made in sleeve_pieces.result() if made is not None)
    return pieces


def _downward(body: Body, start: np.ndarray, end: np.ndarray) -> float:
    """1 for a bone from ``start`` to ``end`` straight down the body, 0 for one held
    level or raised: the cosine of its angle to the body's line, clipped at 0."""
    bone = end - start
    return float(np.clip(np.dot(bone, body.down) / max(float(np.linalg.norm(bone)), 1e-6), 0.0, 1.0))


def _thigh_down(body: Body, side: str) -> float:
    """1 for a thigh straight down the body (standing), 0 for one level with the hip or
    raised (seated)."""
    return _downward(body, body.hip[side], body.knee[side])


def _hanging(body: Body, side: str) -> float:
    """1 for an upper arm hanging straight down, 0 for one held out level or raised."""
    return _downward(body, body.shoulder[side], body.elbow[side])


def _membership(limb: garments.Limb, hanging: float, garment: np.ndarray, vertex_step: int):
    """How much each garment point belongs to this sleeve (0 on the torso, 1 down the
    sleeve, a smooth ramp across the armhole): the sleeve's cut-out, blurred. A raised
    arm takes its whole sleeve with it, the ramp moving into the torso's armhole: there
    the torso's and the arm's maps are far apart, and fabric blended half-way between
    them would leave the shoulder bare."""
    # The ramp's width follows the sleeve's: its mean width (area over length) where
    # that is far below the armhole's (a long thin sleeve laid beside the body, whose
    # armhole the outline over-measures), else a blur that wide would leave no pixel
    # wholly sleeve and the sleeve would stay on the torso.
    mean_width = float(limb.mask.sum()) / max(float(np.linalg.norm(limb.end - limb.root)), 1.0)
    sigma = max(0.18 * (mean_width if mean_width < 0.5 * limb.width else limb.width), 2.0)
    # blurred at a quarter of the size: the ramp is wide and smooth, the cost a sixteenth
    h, w = limb.mask.shape
    small = cv2.resize(limb.mask.astype(np.float32), (max(w // 4, 1), max(h // 4, 1)), interpolation=cv2.INTER_AREA)
    soft = cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / 4), (w, h), interpolation=cv2.INTER_LINEAR)
    # Nothing behind the armhole belongs to the sleeve (there the arm's bone would fold
    # the fabric back over the shoulder); a point well inside it belongs to it wholly.
    soft = np.clip(soft * 1.8 - 0.7 + 0.6 * (1.0 - hanging), 0.0, 1.0)
    # The ramp joins sleeve and torso at the armhole only. Further down, a long sleeve
    # is fabric of its own beside the torso: a ramp along its inner edge there blended
    # the edge with the torso's spline, extrapolated far past the torso's own edge, and
    # a sleeve laid on an arm that hangs beside the body folded into fragments of its
    # print, with the torso's side torn the same way (02849, 05997 with 00151). There
    # the sleeve is wholly itself, and so is the backdrop a vertex or two round it (the
    # vertices that set its edge), but not the torso's fabric.
    xs = (np.arange(w, dtype=np.float32) - limb.root[0]) * limb.axis[0]
    ys = (np.arange(h, dtype=np.float32) - limb.root[1]) * limb.axis[1]
    sleeve = _past_armhole(limb, xs[None, :] + ys[:, None]).astype(np.float32)
    side = 2 * int(np.ceil(1.5 * vertex_step)) + 1
    own = cv2.dilate(limb.mask.view(np.uint8), np.ones((side, side), np.uint8))
    own[garment & ~limb.mask] = 0
    soft = cv2.blendLinear(soft.astype(np.float32), own.astype(np.float32), 1.0 - sleeve, sleeve)

    class Weight:
        image = smoothstep(soft)  # the weight of every garment pixel

        def __call__(self, v: np.ndarray) -> np.ndarray:
            ix = np.clip(np.round(v[:, 0]).astype(int), 0, w - 1)
            iy = np.clip(np.round(v[:, 1]).astype(int), 0, h - 1)
            return self.image[iy, ix]

    return Weight()


def _past_armhole(limb: garments.Limb, along: np.ndarray) -> np.ndarray:
    """0 at a sleeve's armhole, 1 once ``along`` (distance down the sleeve from its
    root) is past it (``ARMHOLE_RAMP``), a smooth ramp between."""
    start, end = ARMHOLE_RAMP[0] * limb.width, ARMHOLE_RAMP[1] * limb.width
    return smoothstep((along - start) / max(end - start, 1.0))


def _sleeve_bone(limb: garments.Limb, side: str, body: Body, fit: Fit, scale: float, armholes: dict[str, np.ndarray]):
    """The forward map of a sleeve laid along its arm. A hanging arm: the sleeve's root
    (the middle of its armhole in the photo) goes where the torso's armhole lands. A
    raised arm turns the armhole with it, so its sleeve starts at the shoulder joint; in
    between, the root slides with the arm's angle."""
    sw = body.shoulder_width
    outward = (body.shoulder[side] - (body.shoulder["a"] + body.shoulder["b"]) / 2) / sw
    joint = body.shoulder[side] + outward * 0.1 * sw
    hanging = _hanging(body, side)
    root = joint + (armholes[side] - joint) * hanging
    chain = np.array([root, body.elbow[side], body.wrist[side]], np.float64)
    # A flat sleeve is a pressed tube, about half again as wide as the arm it goes
    # round; seen on the body it is the arm's width plus ease. Its armhole sets the scale
    # across...
    across = ARM_WIDTH * sw * fit.ease / max(limb.width, 1.0)
    along = scale * fit.length
    # A long sleeve ends at the wrist whatever the photo's proportions: one that stops
    # short leaves the old cuff showing, one that runs on covers the hand.
    arm = float(np.linalg.norm(chain[1] - chain[0]) + np.linalg.norm(chain[2] - chain[1]))
    length = float(np.linalg.norm(limb.end - limb.root))
    sleeve = length * along
    if sleeve > LONG_SLEEVE * arm:
        along *= arm * 1.02 / sleeve
    # ...but a slim sleeve under a wide armhole would come out narrower than the arm,
    # which then shows beside it: down the sleeve, it is at least as wide as the arm it
    # covers there.
    stations, widths, centres = _limb_widths(limb)
    reach = np.clip(stations * along / max(arm, 1.0), 0.0, 1.0)
    upper_arm, forearm = body.arm[side]
    floor = (upper_arm + (forearm - upper_arm) * reach) * SLEEVE_EASE * fit.ease
    scales = np.maximum(across, floor / np.maximum(widths, 1.0))
    axis = (limb.end - limb.root) / max(length, 1e-6)
    normal = np.array([-axis[1], axis[0]])

    def bone(v: np.ndarray) -> np.ndarray:
        # each station of the sleeve centred on the arm, not only the sleeve as a whole
        # (a tapered sleeve's straight axis runs off its middle towards the cuff); at
        # the armhole, where it joins the torso, it stays as it is
        s = (v - limb.root) @ axis
        shift = np.interp(s, stations, centres) * _past_armhole(limb, s)
        centred = v - normal * shift[:, None]
        return limb_forward(
            centred, limb.root, limb.end, chain, along, np.interp(s, stations, scales), bend=0.5 * ARM_WIDTH * sw
        )

    return bone


def _limb_widths(limb: garments.Limb, count: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A sleeve's or trouser leg's flat width (pixels across its axis) at ``count``
    stations from its root to its end, and where its middle lies across the axis there:
    the spread of its pixels across the axis in each, which a station the limb only
    partly reaches (its end) measures as well as a full one."""
    length = max(float(np.linalg.norm(limb.end - limb.root)), 1.0)
    axis = (limb.end - limb.root) / length
    normal = np.array([-axis[1], axis[0]])
    ys, xs = np.nonzero(limb.mask)
    rel = np.stack([xs, ys], 1) - limb.root
    along, across = rel @ axis, rel @ normal
    edges = np.linspace(0.0, length, count + 1)
    station = np.clip(np.searchsorted(edges, along, side="right") - 1, 0, count - 1)
    widths, middles = np.zeros(count), np.zeros(count)
    for k in range(count):
        here = across[station == k]
        if len(here) >= 4:
            low, high = np.percentile(here, (2, 98))
            widths[k], middles[k] = high - low, (high + low) / 2
    stations = (edges[:-1] + edges[1:]) / 2
    if not widths.any():
        return stations, np.full(count, length), np.zeros(count)
    # a station without pixels (a gap in a ragged cut-out) takes the nearest measured one
    known = np.flatnonzero(widths)
    steps = np.arange(count)
    return stations, np.interp(steps, known, widths[known]), np.interp(steps, known, middles[known])


def _trouser_bones(g: garments.Garment, body: Body, fit: Fit, scale_w: float):
    """Trousers: the waistband and seat move with the pelvis (an affine map of waistband
    and crotch), each leg along its leg's skeleton below; the blend goes from all pelvis
    at the waistband to all leg at the crotch, so the waistband stays level and whole
    however the thighs turn (seated or striding)."""
    pts = g.points
    belt = waist(body)
    half = float(pts["waist_b"][0] - pts["waist_a"][0]) / 2 * scale_w
    top_y, crotch_y = float(pts["waist_a"][1]), float(pts["crotch"][1])
    hips = (body.hip["a"] + body.hip["b"]) / 2
    knees = (body.knee["a"] + body.knee["b"]) / 2
    thigh = knees - hips
    rise = float(np.clip((crotch_y - top_y) * scale_w, 0.1 * np.linalg.norm(thigh), 0.45 * np.linalg.norm(thigh)))
    down = body.down
    crotch_body = belt + down * rise
    source = np.array([pts["waist_a"], pts["waist_b"], pts["crotch"]], np.float32)
    target = np.array([belt - [half, 0], belt + [half, 0], crotch_body], np.float32)
    affine = cv2.getAffineTransform(source, target).astype(np.float64)

    def pelvis(v: np.ndarray) -> np.ndarray:
        return v @ affine[:, :2].T + affine[:, 2]

    legs = {}
    for side, limb in g.limbs.items():
        chain = _leg_chain(body, side, half / 2)
        length = sum(float(np.linalg.norm(b - a)) for a, b in zip(chain[:-1], chain[1:])) * 1.03
        along = float(length * fit.length / max(float(np.linalg.norm(limb.end - limb.root)), 1e-6))

        # A trouser leg is at least as wide as the leg it covers (with ease), and centred
        # on it: a slim one over wide old trousers, or over a thigh seen end-on (seated),
        # left the old fabric beside it. Where the garment's own leg is wider, it keeps
        # its width.
        stations, widths, _ = _limb_widths(limb)
        (thigh, thigh_middle), (shin, shin_middle) = body.leg_runs(side)
        bones = np.linalg.norm(np.diff(chain, axis=0), axis=1)
        parts = [bones[0] / 2, bones[0] + bones[1] / 2]
        floor = np.interp(stations * along, parts, [thigh, shin]) * fit.ease
        scales = np.maximum(scale_w, floor / np.maximum(widths, 1.0))
        middles = np.interp(stations * along, parts, [thigh_middle, shin_middle]) / scales

        def leg(v: np.ndarray, limb=limb, chain=chain, along=along, stations=stations, scales=scales, middles=middles):
            s = (v - limb.root) @ limb.axis
            moved = v + np.array([-limb.axis[1], limb.axis[0]]) * np.interp(s, stations, middles)[:, None]
            across = np.interp(s, stations, scales)
            return limb_forward(moved, limb.root, limb.end, chain, along, across, bend=0.2 * body.shoulder_width)

        legs[side] = leg
    span = max(crotch_y - top_y, 1.0)

    def leg_weight(v: np.ndarray) -> np.ndarray:
        return smoothstep((v[:, 1] - top_y) / span * 1.25 - 0.15)

    return pelvis, legs, leg_weight


def _lower_scale(g: garments.Garment, body: Body, fit: Fit) -> float:
    """Width scale of a bottom, from the body's waist (its length follows the legs)."""
    waist_y = waist(body)[1]
    half = body.half_width(waist_y) or 0.6 * body.shoulder_width
    g_width = float(g.points["waist_b"][0] - g.points["waist_a"][0])
    return 2 * half * fit.ease / max(g_width, 1.0)


def waist(body: Body) -> np.ndarray:
    """Where a bottom's waistband sits: a mid-rise waist above the hips, or higher where
    the old bottom started higher right under the old top (a tank tucked into jeans, a
    dress cut at its waist): lower, the body between the old top and the new waistband
    was painted bare, a midriff strip the photo never showed (model_5, model_9)."""
    hips = (body.hip["a"] + body.hip["b"]) / 2
    knees = (body.knee["a"] + body.knee["b"]) / 2
    belt = hips - (knees - hips) * WAIST_ABOVE_HIPS
    old = body.old_waistband
    if old is not None and old < belt[1]:
        belt = belt + body.down * (old - belt[1]) / max(float(body.down[1]), 1e-6)
    return belt


def _leg_chain(body: Body, side: str, offset: float) -> np.ndarray:
    """Waistband point above this hip, knee, ankle."""
    belt = waist(body)
    sign = -1 if side == "a" else 1
    top = belt + np.array([sign * offset, 0.0])
    return np.array([top, body.knee[side], body.ankle[side]])


def _skirt_controls(g: garments.Garment, body: Body, fit: Fit, scale: float) -> tuple[np.ndarray, np.ndarray]:
    pts = g.points
    belt = waist(body)
    half = float(pts["waist_b"][0] - pts["waist_a"][0]) / 2 * scale
    length = (pts["hem"][1] - pts["waist_a"][1]) * scale * fit.length
    hem = belt + np.array([0.0, length])
    hem_half = _width(body, float(hem[1]), float(pts["hem_b"][0] - pts["hem_a"][0]) / 2 * scale * fit.flare, fit)
    body_pts = [belt - [half, 0], belt + [half, 0], belt, hem - [hem_half, 0], hem + [hem_half, 0], hem]
    garment_pts = [
        pts["waist_a"],
        pts["waist_b"],
        np.array([(pts["waist_a"][0] + pts["waist_b"][0]) / 2, pts["waist_a"][1]]),
        pts["hem_a"],
        pts["hem_b"],
        pts["hem"],
    ]
    return np.array(body_pts, np.float64), np.array(garment_pts, np.float64)
