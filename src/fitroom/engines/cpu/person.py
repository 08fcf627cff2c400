"""Person analysis: body landmarks, a person mask and the parts that must stay in front.

One MediaPipe Pose pass (the ``model_complexity=1`` model that the 0.10.21 wheel ships,
with its segmentation head on) gives both the 33 body landmarks and the person mask, so
the analysis costs a single inference. Everything else (head, arms, hands, skin) is
derived from those two with geometry, because no shipped model segments body parts.

The analysis of a photo does not depend on the garment, so it is cached by content hash:
a shopper trying ten garments pays for the model once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fitroom.engines.cpu.cache import ContentCache, content_key
from fitroom.engines.cpu.cores import beside
from fitroom.errors import NoPersonFound

if TYPE_CHECKING:
    from fitroom.engines.cpu.wardrobe import Wardrobe

# MediaPipe Pose landmark indices used here.
NOSE, L_EYE, R_EYE, L_EAR, R_EAR, MOUTH_L, MOUTH_R = 0, 2, 5, 7, 8, 9, 10
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 11, 12, 13, 14, 15, 16
L_PINKY, R_PINKY, L_INDEX, R_INDEX = 17, 18, 19, 20
L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANKLE, R_ANKLE = 23, 24, 25, 26, 27, 28

CACHE_SIZE = 32
ARM_RADII = (0.16, 0.13)  # upper arm and forearm, of the shoulder width
ARM_REACH = 0.35  # of the shoulder width: how far either side of an arm's bone its skin is looked for
MIN_PERSON_SHARE = 0.02  # a mask smaller than this share of the frame is not a shopper
# Shoulders narrower than this share of the photo's longer side belong to a figure in a
# print, not to the shopper (full-body shop photos have about 0.17).
MIN_SHOULDER_SHARE = 0.07
LIGHT_OVER_BOTTOM = 0.25  # how much of the photo's light over the old bottom a top or dress takes on
# Fine-detail energy (grey levels 0..1) of plain fabric and of a busy print, and how much
# shading a busy print keeps (see ``shading_map``).
TEXTURE_PLAIN, TEXTURE_BUSY, SHADING_FLOOR = 0.03, 0.08, 0.2
PRINT_CHANGE = (0.25, 0.5)  # luminance change over its surroundings: light up to the first, a print past the second

# a quarter to three quarters of the way becomes none to all of it, in bytes
_STEEPER = np.clip((np.arange(256) - 64) * 2, 0, 255).astype(np.uint8)

_model = None
_face_model = None
# One lock per model: a graph is not re-entrant, but the two may run at once (a
# garment photo's faces are looked for while the person's pose is found).
_pose_lock = threading.Lock()
_face_lock = threading.Lock()
_cache: ContentCache[PersonAnalysis] = ContentCache(CACHE_SIZE)


@dataclass(frozen=True)
class PersonAnalysis:
    """What the engine knows about the person photo; arrays are never mutated."""

    landmarks: np.ndarray  # 33×3: x, y in pixels, visibility 0..1
    mask: np.ndarray  # H×W float32 0..1, the person's silhouette
    shape: tuple[int, int]
    skin: np.ndarray | None = None  # H×W bool, skin-coloured pixels of the silhouette
    shading: np.ndarray | None = None  # H×W float32 around 1: folds and shadows (see ``shading_map``)
    skin_colour: np.ndarray | None = None  # RGB 0..1, the face's median skin colour
    wardrobe: Wardrobe | None = None  # what the person wears, and what is under it (see ``wardrobe``)

    def point(self, index: int) -> np.ndarray:
        return self.landmarks[index, :2]

    def adding(self, **layers: object) -> PersonAnalysis:
        """This analysis with ``layers`` (skin, shading, skin colour, wardrobe) added,
        keeping the parts already derived from the landmarks and the mask alone: the
        wardrobe is found with the head, hands and arms, and every render needs them
        again. Re-derived on the new analysis, they cost a cold try-on ten milliseconds."""
        added = replace(self, **layers)  # type: ignore[arg-type]
        for name in _GEOMETRY & self.__dict__.keys():
            added.__dict__[name] = self.__dict__[name]
        return added

    def visible(self, *indices: int, margin: float = 0.0) -> bool:
        """Whether these landmarks are confidently inside the frame (not extrapolated)."""
        h, w = self.shape
        for i in indices:
            x, y, vis = self.landmarks[i]
            if vis < 0.5 or not (-margin * w <= x <= (1 + margin) * w and -margin * h <= y <= (1 + margin) * h):
                return False
        return True

    @property
    def shoulder_width(self) -> float:
        return float(np.linalg.norm(self.point(L_SHOULDER) - self.point(R_SHOULDER)))

    @cached_property
    def binary(self) -> np.ndarray:
        return self.mask > 0.5

    @cached_property
    def light_over_bottom(self) -> np.ndarray:
        """The shading map for a garment worn from the shoulders (a top, a dress), damped
        to a quarter over the old bottom with a soft edge: there the photo's light and
        dark are mostly the bottom's own wash and print, not folds of the body, and faded
        jeans' whiskers came out as grey smudges on a white tee's hem. It reaches a little
        above the bottom, over the shadow the old top's hem cast on it (a dark band across
        a longer new top)."""
        assert self.shading is not None  # only asked for when the effort shades
        if self.wardrobe is None or not self.wardrobe.bottom.any():
            return self.shading
        # worked at a quarter of the size, where the soft edge is cheap
        h, w = self.shape
        quarter = (max(w // 4, 1), max(h // 4, 1))
        bottom = cv2.resize(self.wardrobe.bottom.view(np.uint8), quarter, interpolation=cv2.INTER_AREA)
        side = max(int(0.1 * self.shoulder_width / 4) | 1, 3)
        bottom = cv2.dilate(bottom, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))).astype(np.float32)
        bottom = cv2.GaussianBlur(bottom, (0, 0), max(0.03 * self.shoulder_width / 4, 1.0))
        keep = 1.0 - (1.0 - LIGHT_OVER_BOTTOM) * cv2.resize(bottom, (w, h), interpolation=cv2.INTER_LINEAR)
        return (1.0 + (self.shading - 1.0) * keep).astype(np.float32)

    @cached_property
    def head(self) -> np.ndarray:
        """Face and hair: an ellipse from the face landmarks, and everything of the person
        above the neck within the head's columns (hair on top and at the sides)."""
        h, w = self.shape
        sw = self.shoulder_width
        face = self.landmarks[[NOSE, L_EYE, R_EYE, L_EAR, R_EAR, MOUTH_L, MOUTH_R], :2]
        centre = face.mean(axis=0)
        half_w = max(np.ptp(face[:, 0]) * 0.75, sw * 0.2)
        mouth_y = self.landmarks[[MOUTH_L, MOUTH_R], 1].mean()
        chin = mouth_y + (mouth_y - self.landmarks[[L_EYE, R_EYE], 1].mean()) * 1.1
        half_h = max(chin - centre[1], half_w)
        out = np.zeros(self.shape, np.uint8)
        cv2.ellipse(out, (int(centre[0]), int(centre[1])), (int(half_w), int(half_h * 1.6)), 0, 0, 360, (1,), -1)
        # The ellipse reaches past the chin for hair at the sides of the face; below the
        # chin it is neck and collar, which a try-on must be free to change.
        out[max(int(chin + 0.15 * (chin - centre[1])), 0) :] = 0
        neck_y = int(min(chin, self.landmarks[[L_SHOULDER, R_SHOULDER], 1].min() - 0.1 * sw))
        x0, x1 = int(max(centre[0] - 1.6 * half_w, 0)), int(min(centre[0] + 1.6 * half_w, w))
        above = np.zeros(self.shape, bool)
        above[: max(neck_y, 0), x0:x1] = True
        return out.astype(bool) | (above & self.binary)

    def limb(self, indices: tuple[int, ...], radii: tuple[float, ...]) -> np.ndarray:
        """A capsule mask along a chain of landmarks, clipped to the person's silhouette."""
        out = np.zeros(self.shape, np.uint8)
        pts = [self.point(i) for i in indices]
        for (a, b), r in zip(zip(pts, pts[1:]), radii):
            thickness = max(int(2 * r), 1)
            cv2.line(out, tuple(int(v) for v in a), tuple(int(v) for v in b), (1,), thickness)
            cv2.circle(out, tuple(int(v) for v in b), int(r), (1,), -1)
        return out.astype(bool) & self.binary

    @cached_property
    def arms(self) -> np.ndarray:
        """Both arms, shoulder to wrist (upper arms a little wider than forearms)."""
        radii = (ARM_RADII[0] * self.shoulder_width, ARM_RADII[1] * self.shoulder_width)
        return self.limb((L_SHOULDER, L_ELBOW, L_WRIST), radii) | self.limb((R_SHOULDER, R_ELBOW, R_WRIST), radii)

    @cached_property
    def near(self) -> np.ndarray:
        """The silhouette grown by a little ease: as far as a garment may stand off the body."""
        return self.near_edge > 127

    @cached_property
    def near_edge(self) -> np.ndarray:
        """``near`` as an anti-aliased mask, uint8 0..255: the segmentation's own soft
        edge, grown (a grey-level dilation keeps its ramp) and steepened to about two
        pixels, so a garment cut to it has a smooth outline rather than the pixel
        staircase of a hard mask. Grown at half size and in bytes (a sixth of the cost
        of a full-size disc that wide), the ease being a proportion, not an edge to keep
        to the pixel.

        A hole in the silhouette (the backdrop framed by an arm bent to the hip and the
        torso) gets no ease: grown from all round it, the ease closed it, and a boxy
        sleeve hung over it as a flap (07966)."""
        h, w = self.shape
        half = (max(w // 2, 1), max(h // 2, 1))
        reach = max(int(0.03 * self.shoulder_width), 1)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        small = cv2.convertScaleAbs(cv2.resize(self.mask, half, interpolation=cv2.INTER_AREA), alpha=255.0)
        grown = cv2.dilate(small, kernel)
        count, labels = cv2.connectedComponents((small < 128).view(np.uint8), connectivity=4)
        if count > 2:
            is_hole = np.ones(count, bool)
            is_hole[0] = False  # the person
            is_hole[np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]])] = False  # the backdrop
            holes = is_hole[labels]
            grown[holes] = small[holes]
        full = cv2.resize(grown, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.LUT(full, _STEEPER)

    @cached_property
    def sleeve_zone(self) -> np.ndarray:
        """Forearms and the lower upper arms: where an old long sleeve shows under a new
        short one. The top of the upper arm is left out: there the arm meets the torso,
        and torso clothing must not be mistaken for a sleeve."""
        sw = self.shoulder_width
        zone = np.zeros(self.shape, bool)
        for shoulder, elbow, wrist in ((L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST)):
            start = self.point(shoulder) + (self.point(elbow) - self.point(shoulder)) * 0.4
            out = np.zeros(self.shape, np.uint8)
            cv2.line(
                out,
                tuple(int(v) for v in start),
                tuple(int(v) for v in self.point(elbow)),
                (1,),
                max(int(0.26 * sw), 1),
            )
            cuff = self.point(wrist) + (self.point(wrist) - self.point(elbow)) * 0.15  # past the wrist: cuffs
            cv2.line(
                out,
                tuple(int(v) for v in self.point(elbow)),
                tuple(int(v) for v in cuff),
                (1,),
                max(int(0.22 * sw), 1),
            )
            zone |= out > 0
        return zone & self.binary & ~self.hands & ~self.head

    @cached_property
    def in_front(self) -> np.ndarray:
        """Bare arms and hands: what stays in front of a garment's torso. Bare is the
        wardrobe's smooth skin where it has been mapped: a skin-coloured print (a leopard
        skirt beside a hanging arm) is no arm, and cut out of a new top it showed."""
        if self.wardrobe is not None:
            # closed over the pinholes the coarse smoothness test leaves in an arm (each
            # cut a bar of the new garment across it, 051482), and out to the skin's own
            # soft edge, which it leaves out
            bare = cv2.morphologyEx(self.wardrobe.bare.view(np.uint8), cv2.MORPH_CLOSE, _PINHOLE)
            bare = cv2.dilate(bare, np.ones((3, 3), np.uint8))
            skin = (bare > 0) & self.skin if self.skin is not None else bare > 0
        else:
            skin = self.skin if self.skin is not None else np.zeros(self.shape, bool)
        return (self.arms & skin) | self.bare_hands

    @cached_property
    def shoulder_caps(self) -> np.ndarray:
        """The top of each arm, its upper arm's first two fifths from the shoulder joint
        (what ``sleeve_zone`` leaves out): there the arm is not in front of the torso but
        is the shoulder, which a sleeveless garment's armhole frames or covers."""
        h, w = self.shape
        radii = (ARM_RADII[0] * self.shoulder_width, ARM_RADII[1] * self.shoulder_width)
        out = np.zeros(self.shape, bool)
        for shoulder, elbow, wrist in ((L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST)):
            joint, bone = self.point(shoulder), self.point(elbow) - self.point(shoulder)
            # only the square round the joint that can hold such pixels is looked at
            reach = int(0.4 * np.linalg.norm(bone) + radii[0]) + 2
            x0, y0 = int(np.clip(joint[0] - reach, 0, w)), int(np.clip(joint[1] - reach, 0, h))
            x1, y1 = int(np.clip(joint[0] + reach, 0, w)), int(np.clip(joint[1] + reach, 0, h))
            ys, xs = np.nonzero(self.limb((shoulder, elbow, wrist), radii)[y0:y1, x0:x1])
            along = ((xs + x0 - joint[0]) * bone[0] + (ys + y0 - joint[1]) * bone[1]) / max(float(bone @ bone), 1e-6)
            out[ys[along < 0.4] + y0, xs[along < 0.4] + x0] = True
        return out

    @cached_property
    def arm_widths(self) -> dict[int, tuple[float | None, float | None]]:
        """Each arm's width (pixels) where its bare skin shows, as (upper arm, forearm),
        keyed by its shoulder's landmark; ``None`` where that part is covered or lies
        against bare skin (the torso's), which would measure both as one."""
        return {shoulder: (upper[0], fore[0]) for shoulder, (upper, fore) in self._arm_runs.items()}

    def arm_offsets(self, shoulder: int) -> tuple[float, float]:
        """How far the middle of the arm hanging from ``shoulder`` lies off the line
        between its joints, as (upper arm, forearm), in pixels along the line's normal
        (the direction turned a quarter from shoulder to elbow, elbow to wrist): the
        landmarks are the joints' centres, and in a turned pose the arm's outline is not
        centred on them. 0 where that part's bare skin does not show."""
        upper, fore = self._arm_runs[shoulder]
        return upper[1] or 0.0, fore[1] or 0.0

    @cached_property
    def limb_skin(self) -> np.ndarray | None:
        """Skin that is neither face nor hand: what shows of bare arms and legs (``None``
        before the skin is mapped)."""
        return None if self.skin is None else self.skin & ~self.head & ~self.hands

    @cached_property
    def _arm_runs(self) -> dict[int, tuple[tuple[float | None, float | None], tuple[float | None, float | None]]]:
        """Per arm, per part: the (width, middle's offset) of the run of bare skin across
        it, medians over stations down the part (see ``arm_widths``)."""
        bare = self.limb_skin
        if bare is None:
            return {L_SHOULDER: ((None, None), (None, None)), R_SHOULDER: ((None, None), (None, None))}
        reach = int(ARM_REACH * self.shoulder_width)
        out = {}
        for shoulder, elbow, wrist in ((L_SHOULDER, L_ELBOW, L_WRIST), (R_SHOULDER, R_ELBOW, R_WRIST)):
            parts: list[tuple[float | None, float | None]] = []
            for a, b in ((self.point(shoulder), self.point(elbow)), (self.point(elbow), self.point(wrist))):
                widths, middles = [], []
                for _, left, right in runs_across(bare, a, b, reach):
                    # a run of skin reaching the end is not one arm
                    if left is not None and right is not None:
                        widths.append(float(left + right + 1))
                        middles.append((right - left) / 2)
                if len(widths) >= 2:
                    parts.append((float(np.median(widths)), float(np.median(middles))))
                else:
                    parts.append((None, None))
            out[shoulder] = (parts[0], parts[1])
        return out

    def arm_size(self, shoulder: int) -> tuple[float, float]:
        """The arm hanging from ``shoulder`` (a landmark), as (upper arm, forearm) widths
        in pixels: what its bare skin measures, never less than a slim arm's proportions
        of the shoulder width, never more than a heavy one's. A covered upper arm is
        taken as a little wider than its forearm."""
        sw = self.shoulder_width
        upper, fore = self.arm_widths[shoulder]
        forearm = float(np.clip(fore or 0.0, 0.2 * sw, 0.3 * sw))
        upper_arm = max(upper or 0.0, 1.2 * (fore or 0.0), 0.24 * sw)
        return float(min(upper_arm, 0.34 * sw)), forearm

    @cached_property
    def bare_hands(self) -> np.ndarray:
        """The hands as they show: the skin in the hands' zone, with a pixel's margin for
        its soft edge. A hand in a pocket leaves the pocket's fabric out, so a garment
        hanging there covers it."""
        if self.skin is None:
            return self.hands
        seen = (self.hands & self.skin).astype(np.uint8)
        return (cv2.dilate(seen, np.ones((3, 3), np.uint8)) > 0) & self.hands

    @cached_property
    def hands(self) -> np.ndarray:
        """Both hands, from a little past the wrist joint (the cuff of a sleeve reaches
        it, and must not count as hand) to the fingers."""
        sw = self.shoulder_width
        radius = 0.13 * sw
        out = np.zeros(self.shape, np.uint8)
        for wrist, fingers in ((L_WRIST, (L_INDEX, L_PINKY)), (R_WRIST, (R_INDEX, R_PINKY))):
            for finger in fingers:
                start, end = self.point(wrist), self.point(finger)
                start = start + (end - start) * min(radius / max(float(np.linalg.norm(end - start)), 1.0), 0.6)
                cv2.line(out, tuple(int(v) for v in start), tuple(int(v) for v in end), (1,), max(int(2 * radius), 1))
                cv2.circle(out, tuple(int(v) for v in end), int(radius), (1,), -1)
        return out.astype(bool) & self.binary

    def torso_run(self, y: int, centre_x: float, exclude: np.ndarray | None = None) -> tuple[int, int] | None:
        """The run of person pixels on row ``y`` that contains ``centre_x``."""
        h, w = self.shape
        if not 0 <= y < h:
            return None
        row = self.binary[y].copy()
        if exclude is not None:
            row &= ~exclude[y]
        cx = int(np.clip(centre_x, 0, w - 1))
        if not row[cx]:
            return None
        left = np.flatnonzero(~row[:cx])
        right = np.flatnonzero(~row[cx:])
        x0 = int(left[-1] + 1) if left.size else 0
        x1 = int(cx + right[0]) if right.size else w
        return x0, x1


_PINHOLE = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
# The derived parts that depend on the landmarks and the mask alone (see ``adding``); the
# others read the skin or the wardrobe, and are derived again once those are added.
_GEOMETRY = frozenset({"binary", "head", "arms", "near", "near_edge", "sleeve_zone", "shoulder_caps", "hands"})


@dataclass(frozen=True)
class Skin:
    """A chroma model of the person's skin, from the face."""

    mean: np.ndarray
    inv_cov: np.ndarray

    def mask(self, rgb: np.ndarray, threshold: float = 3.0) -> np.ndarray:
        """Pixels whose chroma is within ``threshold`` standard deviations of the face's.
        The test runs once per (Cr, Cb) pair into a lookup table, then per pixel."""
        cr, cb = np.meshgrid(np.arange(256, dtype=np.float32), np.arange(256, dtype=np.float32), indexing="ij")
        d = np.stack([cr, cb], axis=-1) - self.mean
        table = np.einsum("...i,ij,...j->...", d, self.inv_cov, d) < threshold**2
        # Skin is always a little red: near-neutral whites, greys and navies that a wide
        # (flat-lit) face model would take in are not skin, whatever the face says.
        table &= cr >= min(float(self.mean[0]) - 8.0, 134.0)
        table &= cb <= max(float(self.mean[1]) + 8.0, 124.0)
        ycrcb = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2YCrCb)
        # one flat index per pixel: np.take on it is twice as fast as 2-D fancy indexing
        index = ycrcb[..., 1].astype(np.uint16) * 256 + ycrcb[..., 2]
        return np.asarray(table.ravel().take(index), bool)


def skin_from_face(rgb: np.ndarray, analysis: PersonAnalysis) -> Skin:
    """Sample cheeks and nose: the patch between the eyes and the mouth."""
    eyes = analysis.landmarks[[L_EYE, R_EYE], :2]
    mouth = analysis.landmarks[[MOUTH_L, MOUTH_R], :2].mean(axis=0)
    half = max(int(np.ptp(eyes[:, 0]) * 0.5), 2)
    cx, cy = eyes[:, 0].mean(), (eyes[:, 1].mean() + mouth[1]) / 2
    h, w = rgb.shape[:2]
    y0, y1 = int(np.clip(cy - half, 0, h - 1)), int(np.clip(cy + half, 1, h))
    x0, x1 = int(np.clip(cx - half, 0, w - 1)), int(np.clip(cx + half, 1, w))
    patch = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2YCrCb)[..., 1:].reshape(-1, 2).astype(np.float32)
    if len(patch) < 8:
        patch = np.array([[150.0, 110.0], [140.0, 120.0], [145.0, 115.0]], np.float32)
    cov = np.cov(patch.T) + np.eye(2) * 9.0  # floor: a flat-lit face would give a needle-thin model
    return Skin(mean=patch.mean(axis=0), inv_cov=np.linalg.inv(cov).astype(np.float32))


def runs_across(
    mask: np.ndarray, a: np.ndarray, b: np.ndarray, reach: int
) -> list[tuple[np.ndarray, int | None, int | None]]:
    """Where ``mask`` crosses the bone ``a``→``b``, at stations from a quarter to 0.85 of
    the way down (away from the joints, where a limb meets the torso or the next part):
    for each station on the mask, its point and how far the run through the bone
    reaches either side (pixels towards minus and plus the bone's normal), ``None``
    where it runs on past ``reach``."""
    h, w = mask.shape
    axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    normal = np.array([-axis[1], axis[0]])
    offsets = np.arange(-reach, reach + 1, dtype=np.float64)
    out: list[tuple[np.ndarray, int | None, int | None]] = []
    for t in np.linspace(0.25, 0.85, 7):
        station = a + (b - a) * t
        line = station + offsets[:, None] * normal
        xs, ys = np.round(line[:, 0]).astype(int), np.round(line[:, 1]).astype(int)
        inside = (xs >= 0) & (xs < w) & (ys >= 0) & (ys < h)
        on = np.zeros(len(offsets), bool)
        on[inside] = mask[ys[inside], xs[inside]]
        if not on[reach]:
            continue
        off = np.flatnonzero(~on)
        left, right = off[off < reach], off[off > reach]
        out.append(
            (
                station,
                int(reach - left[-1] - 1) if left.size else None,
                int(right[0] - reach - 1) if right.size else None,
            )
        )
    return out


def shading_map(rgb: np.ndarray, shoulder_width: float) -> np.ndarray:
    """Folds and shadows of the photo as a multiplicative map around 1: a fine blur over a
    coarse blur of luminance, so flat colour and print cancel out while the light falling
    on the body stays. It depends on the photo alone, so it is cached with the analysis."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0 + 0.03
    small = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    # The fine blur is wide enough to wash out a print's detail (stripes, leopard spots)
    # but keeps folds, which are broader.
    fine_sigma, coarse_sigma = max(shoulder_width * 0.012, 1.5), max(shoulder_width * 0.05, 2.0)
    fine = cv2.GaussianBlur(small, (0, 0), fine_sigma)
    half = (small.shape[1], small.shape[0])
    quarter = (max(half[0] // 2, 1), max(half[1] // 2, 1))

    def coarse_blur(image: np.ndarray) -> np.ndarray:
        """The wide blur, at a quarter size (a kernel that wide costs a third there) and
        brought back: what it leaves is smooth, so nothing is lost by the trip."""
        down = cv2.resize(image, quarter, interpolation=cv2.INTER_AREA)
        return cv2.resize(cv2.GaussianBlur(down, (0, 0), coarse_sigma / 2), half, interpolation=cv2.INTER_LINEAR)

    coarse = coarse_blur(small)
    # Where the old garment is busily patterned (leopard, zebra, stripes) the blur cannot
    # wash the print out completely and it would ghost through the new garment; there,
    # detail finer than a fold carries a lot of energy, so the shading is damped towards
    # flat. Folds on plain fabric carry little such detail and keep their full strength.
    detail = small - fine
    texture = np.sqrt(np.maximum(coarse_blur(detail * detail), 0.0))
    keep = np.clip((TEXTURE_BUSY - texture) / (TEXTURE_BUSY - TEXTURE_PLAIN), SHADING_FLOOR, 1.0)
    # A logo or a large print is no texture, and far brighter or darker than its ground:
    # light and folds change luminance by a few tens of percent, a white logo on a black
    # tee by several times. Such a jump is not light, and near it (the blur's reach,
    # where it fades through the range of real light) the map is flat: the CK on
    # 051918's tee showed as a bright patch on every new top.
    change = np.abs(fine / coarse - 1.0)
    light = np.clip((PRINT_CHANGE[1] - change) / (PRINT_CHANGE[1] - PRINT_CHANGE[0]), 0.0, 1.0)
    reach = 2 * int(np.ceil(2 * fine_sigma)) + 1
    keep = keep * cv2.erode(light, np.ones((reach, reach), np.uint8))
    ratio: np.ndarray = 1.0 + (fine / coarse - 1.0) * keep
    ratio = cv2.resize(ratio, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    return np.clip(ratio, 0.78, 1.15)


def _pose_model():
    """MediaPipe Pose, loaded once per process on first use (importing it is slow)."""
    global _model
    with _pose_lock:
        if _model is None:
            import mediapipe as mp

            _model = mp.solutions.pose.Pose(
                static_image_mode=True,
                model_complexity=1,  # the only complexity whose weights the wheel ships
                enable_segmentation=True,
                min_detection_confidence=0.5,
            )
        return _model


def _face_detector():
    global _face_model
    with _face_lock:
        if _face_model is None:
            import mediapipe as mp

            _face_model = mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=0.6)
        return _face_model


def face_boxes(rgb: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Faces as (x, y, w, h) in pixels; a second opinion where pose alone can be fooled by
    a print on a tee."""
    model = _face_detector()
    with _face_lock:
        result = model.process(np.ascontiguousarray(rgb[..., :3]))
    h, w = rgb.shape[:2]
    boxes = []
    for det in result.detections or []:
        b = det.location_data.relative_bounding_box
        boxes.append((b.xmin * w, b.ymin * h, b.width * w, b.height * h))
    return boxes


def warm_up() -> None:
    """Load both models now (workers call this at start, so no job pays for it)."""
    _pose_model()
    _face_detector()


def detect(rgb: np.ndarray) -> PersonAnalysis | None:
    """Run the model; ``None`` when no person is in the photo."""
    model = _pose_model()
    with _pose_lock:  # the graph is not re-entrant
        result = model.process(np.ascontiguousarray(rgb[..., :3]))
    if result.pose_landmarks is None or result.segmentation_mask is None:
        return None
    h, w = rgb.shape[:2]
    lm = np.array([(p.x * w, p.y * h, p.visibility) for p in result.pose_landmarks.landmark], np.float32)
    mask = result.segmentation_mask.astype(np.float32)
    if (mask > 0.5).mean() < MIN_PERSON_SHARE:
        return None
    return PersonAnalysis(landmarks=lm, mask=mask, shape=(h, w))


def analyze(rgb: np.ndarray, *, shading: bool = True) -> tuple[PersonAnalysis, bool]:
    """The photo's analysis and whether it came from the cache. Raises ``NoPersonFound``.

    The shading map is only made when asked for (the fast effort does not shade, and
    skips its cost); an analysis cached without it gets it on the first call that asks."""
    key = content_key(rgb)
    analysis, cached = _cache.get_or_compute(key, lambda: _analyze(rgb, shading=shading))
    if shading and analysis.shading is None:
        analysis = analysis.adding(shading=shading_map(rgb, analysis.shoulder_width))
        _cache.put(key, analysis)
    return analysis, cached


def not_a_person(a: PersonAnalysis) -> str | None:
    """Why a pose the model found is not a person wearing clothes, or ``None``.

    The pose model also "finds" people in product photos: a face printed on a tee gives
    it a nose, a figure in a print gives it a whole tiny skeleton. A shopper's photo has
    a head above the shoulders (or cut off by the top of the frame, as in shop photos
    cropped at the chin), on the silhouette, and a silhouette that is a body around the
    skeleton rather than a garment many skeletons wide."""
    h, w = a.shape
    sw = a.shoulder_width
    if sw < MIN_SHOULDER_SHARE * max(h, w):
        return "the pose found is too small to be the person the photo shows (a figure in a print?)"
    nose = a.point(NOSE)
    shoulders_y = float(a.landmarks[[L_SHOULDER, R_SHOULDER], 1].mean())
    if shoulders_y - nose[1] < 0.3 * sw:
        return "what looks like a face is not above a pair of shoulders (a print on a garment?)"
    nx, ny = int(np.clip(nose[0], 0, w - 1)), int(nose[1])
    cut_off = ny < 0.06 * h  # the head is above the frame
    if not cut_off and not a.binary[ny, nx]:
        return "no head on the silhouette above the shoulders"
    column = a.binary[:, nx]
    if not cut_off and column.any() and nose[1] - float(np.argmax(column)) > 1.2 * sw:
        return "the silhouette reaches far above the face: a garment, not a head"
    centre = (a.point(L_SHOULDER) + a.point(R_SHOULDER)) / 2
    run = a.torso_run(int(np.clip(centre[1] + 0.3 * sw, 0, h - 1)), float(centre[0]))
    if run is not None and run[1] - run[0] > 3.2 * sw:
        return "the silhouette is many times wider than the shoulders: a laid-out garment"
    return None


def _analyze(rgb: np.ndarray, *, shading: bool) -> PersonAnalysis:
    analysis = detect(rgb)
    if analysis is None or not analysis.visible(L_SHOULDER, R_SHOULDER):
        raise NoPersonFound("no person with visible shoulders was found in the person image")
    reason = not_a_person(analysis)
    if reason is not None:
        raise NoPersonFound(f"no person found in the person image: {reason}")
    # the shading map needs only the photo and the scale: made on the other core meanwhile
    light = beside(shading_map, rgb, analysis.shoulder_width) if shading else None
    skin = skin_from_face(rgb, analysis).mask(rgb) & analysis.binary
    skin = cv2.morphologyEx(skin.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)).astype(bool)
    face_skin = skin & analysis.head
    colour = np.median(rgb[face_skin], axis=0) / 255.0 if face_skin.sum() > 50 else None
    analysis = analysis.adding(skin=skin, shading=light.result() if light else None, skin_colour=colour)
    from fitroom.engines.cpu import wardrobe  # it builds on this module's analysis

    return analysis.adding(wardrobe=wardrobe.analyse(np.ascontiguousarray(rgb[..., :3]), analysis))


def clear_cache() -> None:
    _cache.clear()
