"""The CPU clothing try-on: MediaPipe's shipped models plus classical geometry, no weights
to download.

One run, top to bottom:

1. analyse the person (landmarks, silhouette, what they wear now and what is under it;
   cached by content hash, see ``person`` and ``wardrobe``); a product photo with a
   face printed on it is refused as "no person found";
2. cut out the garment and find its keypoints (``garment``);
3. fit: the garment moves as one piece (``fit``, ``skinning``): the torso through a
   thin-plate spline from its keypoints to the body's, each sleeve or trouser leg along
   its limb's skeleton, blended across armholes and crotch so the parts stay joined;
4. composite: the old garment is taken off where the new one leaves it showing (skin
   synthesised from the person's own where the body is, the inpainted background where
   it stood off the body), the person's shading is carried onto the garment (luminance
   ratio of a fine and a coarse blur, so folds survive and the old garment's flat colour
   does not), a soft contact shadow falls below its edges, bare arms and hands stay in
   front, the head is never touched, edges are feathered, and everything outside what
   changed is left bit-identical.

A seed draws the fit (ease, length, hem flare), so variants of one request differ in how
the garment sits, and the same seed gives the same pixels.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import cv2
import numpy as np

from fitroom.engines.base import Engine, EngineRequest, EngineResult, Input
from fitroom.engines.cpu import garment as garments
from fitroom.engines.cpu import person as persons
from fitroom.engines.cpu.cores import beside
from fitroom.engines.cpu.fit import Body, Fit, Piece, fit_garment, union, waist
from fitroom.engines.cpu.skinning import fill_half_size, nearest_on_chain
from fitroom.engines.cpu.wardrobe import matched_skin, waist_line
from fitroom.engines.registry import register
from fitroom.errors import InvalidParameter, RegionNotVisible
from fitroom.options import Effort, JobKind, Region, TryOnOptions


@dataclass(frozen=True)
class Settings:
    """What an effort level buys: a sharper garment, finer spline grid, shading, cubic
    sampling, feathering."""

    garment_side: int
    grid: int
    shading: float
    cubic: bool
    feather: float
    work_side: int | None = None  # the longest side the try-on is worked at; None: the photo's own


T = TypeVar("T")
SHADOW_STRENGTH = 0.28  # how much light the garment's contact shadow takes off the skin at its edge
PRINTED = 12.0  # grey levels of fine detail, on average, that make an old bottom a print rather than a plain weave
SEAM = 0.012  # of the shoulder width: how far a sleeve's edge over the torso is smoothed (see ``_seam``)
RIM = 0.07  # of the shoulder width: the widest rim of old garment between the new one and the outline that it covers
SCRAP = 0.02  # of the shoulder width squared: the largest part of a sleeve lying alone on an arm that is a scrap

EFFORT = {
    # fast works a 768×1024 photo at three quarters of its size (about half the pixels,
    # and most of a try-on's cost goes with them) and sets the result back in the photo
    Effort.FAST: Settings(garment_side=400, grid=24, shading=0.0, cubic=False, feather=0.0, work_side=768),
    Effort.BALANCED: Settings(garment_side=560, grid=8, shading=0.8, cubic=False, feather=1.2),
    Effort.QUALITY: Settings(garment_side=768, grid=4, shading=1.0, cubic=True, feather=1.8),
}


def _check_visible(a: persons.PersonAnalysis, region: Region) -> None:
    """Refuse a garment whose part of the body the photo does not show."""
    if region is Region.LOWER and not a.visible(
        persons.L_HIP, persons.R_HIP, persons.L_KNEE, persons.R_KNEE, margin=0.02
    ):
        raise RegionNotVisible("bottoms need the hips and knees in the person image")
    if region is Region.FULL and not a.visible(persons.L_HIP, persons.R_HIP, margin=0.05):
        raise RegionNotVisible("dresses need the hips in the person image")


def render(
    person_rgb: np.ndarray,
    analysis: persons.PersonAnalysis,
    g: garments.Garment,
    fit: Fit,
    settings: Settings,
    *,
    remove_background: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """One try-on: (image, try-on mask, facts). Pixels where the mask is 0 are the
    person's own, unchanged. All the work happens inside the garment's bounding box."""
    shape = (person_rgb.shape[0], person_rgb.shape[1])
    # widths are the torso's: arms, bare or sleeved, are not measured with it
    body = Body.of(analysis, analysis.in_front | analysis.sleeve_zone)
    pieces = fit_garment(g, body, fit, shape, grid=settings.grid, cubic=settings.cubic)
    boxes = [p.box for p in pieces]
    strip = _old_garment_to_remove(analysis, g.region, _hem_y(pieces))
    if strip is not None and strip.any():
        ys, xs = np.nonzero(strip)
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    else:
        strip = None
    x0, y0, x1, y1 = union(boxes)
    # the soft edges of what is repainted reach a few pixels past it
    pad = 4
    x0, y0, x1, y1 = max(x0 - pad, 0), max(y0 - pad, 0), min(x1 + pad, shape[1]), min(y1 + pad, shape[0])
    window = (slice(y0, y1), slice(x0, x1))

    # Where the garment may go: the body plus a little ease, never the head; arms and
    # hands stay in front of the torso piece, hands in front of sleeves too.
    # (``edge`` anti-aliased, to cut the garment along its outline; ``allowed`` its inside)
    edge = analysis.near_edge[window] * np.float32(1 / 255)
    # a skirt's hem swings past the legs
    if g.region is Region.FULL or (g.region is Region.LOWER and not g.limbs):
        hips_y = int(max(body.hip["a"][1], body.hip["b"][1]))
        edge[max(hips_y - y0, 0) :] = 1.0
    edge[analysis.head[window]] = 0.0
    allowed = edge > 0.5
    sleeved = _sleeved(pieces, body, analysis, (x0, y0, x1, y1))
    # a bare arm stays in front of the torso piece, except at the shoulder, where it is
    # the shoulder: cut out there, a sleeveless bodice had holes at its armholes
    over_torso = analysis.in_front[window] & ~sleeved & ~analysis.shoulder_caps[window]
    torso_keep = allowed & ~(over_torso | analysis.bare_hands[window])
    limb_keep = allowed & ~analysis.bare_hands[window]

    colour: np.ndarray = np.zeros((y1 - y0, x1 - x0, 3), np.float32)  # straight (not premultiplied) colour
    alpha = np.zeros((y1 - y0, x1 - x0), np.float32)
    sleeves = np.zeros((y1 - y0, x1 - x0), np.uint8)  # where a sleeve is fabric
    for piece in pieces:  # the torso first, limbs over it
        bx0, by0, bx1, by1 = piece.box
        sub = (slice(by0 - y0, by1 - y0), slice(bx0 - x0, bx1 - x0))
        a = piece.rgba[..., 3] * (limb_keep if piece.is_limb else torso_keep)[sub]
        own = np.ascontiguousarray(piece.rgba[..., :3])
        if piece.is_limb:
            own, a = _seam(own, a, alpha[sub], body.shoulder_width)
        under = alpha[sub] * (1.0 - a)
        # "over": the piece's colour weighted by its alpha, what is under by what shows
        # of it; blendLinear divides by the sum of the weights, as straight colour needs
        colour[sub] = cv2.blendLinear(own, colour[sub], a, under)
        alpha[sub] = a + under
        if piece.is_limb:
            sleeves[sub] |= (a >= 0.5).view(np.uint8)

    scraps = _scraps(alpha, sleeves, analysis.arms[window], body.shoulder_width)
    if scraps is not None:
        alpha[scraps] = 0.0
    solid = (alpha >= 0.5).astype(np.uint8)
    # Body left uncovered inside the garment is closed too: narrow slits (where torso
    # and sleeve pieces meet at a slant), and the body between the torso piece and a
    # sleeve on the same row with fabric above and below (the torso's width is measured
    # without the arms, which can hide its edge). A neckline stays open (no fabric above
    # it), and so does the space between long sleeves below the hem (none below it).
    slits = _slits(solid, body.shoulder_width)
    sides = [
        np.maximum.accumulate(solid, axis=1),
        np.maximum.accumulate(solid[:, ::-1], axis=1)[:, ::-1],
        np.maximum.accumulate(solid, axis=0),
        np.maximum.accumulate(solid[::-1], axis=0)[::-1],
    ]
    between = (sides[0] & sides[1] & sides[2] & sides[3]).astype(bool)
    gaps = (sleeved | ((slits | between) & torso_keep & analysis.binary[window])) & (solid == 0)
    if g.region is Region.LOWER and strip is not None and analysis.wardrobe is not None:
        # The old bottom on the body that the new one's pieces leave open with fabric on
        # three sides: seated, the seat under a thigh raised sideways (fashn_model),
        # which was painted as bare skin beside the fill. Below a hem (one side) and
        # between the legs (the backdrop, not body) stay as they are.
        walls = sides[0] + sides[1] + sides[2] + sides[3]
        seat = strip[window] & analysis.wardrobe.body[window] & torso_keep & analysis.binary[window]
        gaps |= seat & (walls >= 3) & (solid == 0)
    # The old top's thin rim beside the new one (see ``_rim``). Only under a sleeved
    # garment: a sleeveless one takes the old shoulders and sleeves off. Down the arms
    # only a sleeve's rim, and only before its end: the torso's rim there was an old
    # long sleeve beside it, and past the cuff a tab of the old sleeve.
    if strip is not None and sleeves.any():
        zone = analysis.sleeve_zone[window]
        reaching = np.where(zone, sleeves, solid)
        rim = _rim(reaching, strip[window], analysis.binary[window], body.shoulder_width)
        gaps |= rim & torso_keep & (sleeved | ~zone)
    if gaps.any():
        # Bottoms' gaps are wide (a seat, a strip along a leg) and their fabric is
        # plain or a weave, which the mirror continues; a top's are narrow slits and
        # arms under sleeves, where a mirrored stripe or print left seams.
        colour, alpha = _close(colour, alpha, gaps, weave=g.region is Region.LOWER)

    if settings.feather > 0:
        # cut to where the garment may go along an anti-aliased edge: cut hard, a sleeve
        # standing off a slanted arm kept the silhouette's pixel staircase as its outline
        drawn = alpha
        alpha = cv2.GaussianBlur(alpha, (0, 0), settings.feather) * edge
        # The feather reaches a pixel or two past what the pieces drew, where no colour
        # is (straight colour there is black): blended at that soft edge it drew a dark
        # line round the garment (07966's sleeve against the backdrop, brown specks
        # where holes in the old top's rim were covered). There, and where the pieces
        # drew under 2 % (whose colour came out darkened too, at a raised arm's armpit
        # on the drawn person), the fabric's colour beside it is carried out.
        fringe = (drawn < 0.02) & (alpha > 0)
        if fringe.any():
            np.copyto(colour, fill_half_size(colour, drawn), where=fringe[..., None])
    alpha[alpha < 1 / 255] = 0
    if settings.shading > 0:
        assert analysis.shading is not None  # analyze() maps it when the effort shades
        shading = analysis.shading if g.region is Region.LOWER else analysis.light_over_bottom
        light = 255 * (1 + settings.shading * (shading[window] - 1))
        colour = cv2.multiply(colour, cv2.merge([light, light, light]))
    else:
        colour = colour * 255
    garment_px = cv2.convertScaleAbs(colour)  # saturates to 0..255
    out = _white_background(person_rgb, analysis.mask) if remove_background else person_rgb.copy()
    base = np.ascontiguousarray(out[window])
    under_px, under_changed = _under_layer(
        base, analysis, strip, window, remove_background, g.region, person_rgb, alpha
    )
    if settings.shading > 0:
        under_px, shadow = _contact_shadow(under_px, alpha, analysis, window, body.shoulder_width)
        under_changed |= shadow
    blended = cv2.blendLinear(garment_px, under_px, alpha, 1 - alpha)
    # bit-exact outside what the try-on changed, whatever rounding did
    changed = (alpha > 0) | under_changed
    out[window] = np.where(changed[..., None], blended, base)
    garment_mask = np.zeros(shape, bool)
    garment_mask[window] = alpha > 0.5
    mask = garment_mask.copy()
    mask[window] |= under_changed
    return (
        out,
        mask,
        {
            **_old_garment(analysis, g.region, mask, body),
            "old_garment_removed": strip is not None,
            "garment_mask": garment_mask,
        },
    )


def _sleeved(
    pieces: list[Piece], body: Body, analysis: persons.PersonAnalysis, box: tuple[int, int, int, int]
) -> np.ndarray:
    """The arms under the new sleeves (window coordinates): each arm from the shoulder
    down to where its sleeve ends, across its whole width. There a bare arm is not in
    front of the garment but inside it; and a sleeve is warped at a typical arm's width
    while arms differ, so what it leaves of the arm is covered too (see ``_close``)."""
    x0, y0, x1, y1 = box
    window = (slice(y0, y1), slice(x0, x1))
    sw = body.shoulder_width
    offset = np.array([x0, y0], np.float64)
    body_px = analysis.binary[window] & ~analysis.hands[window] & ~analysis.head[window]
    sleeved = np.zeros(body_px.shape, bool)
    for piece in pieces:
        if piece.side is None or piece.cuff is None:
            continue
        chain = np.array([body.shoulder[piece.side], body.elbow[piece.side], body.wrist[piece.side]]) - offset
        # where the sleeve ends down the arm: its end's middle, not its farthest pixel
        # (a wide sleeve on an arm bent sharply at the elbow reaches the forearm beside
        # the elbow, and the forearm was taken as sleeved as far down)
        reach = float(nearest_on_chain(piece.cuff[None] - offset, chain)[1][0])
        arm = np.zeros(body_px.shape, np.uint8)
        for (a, b), radius in zip(zip(chain[:-1], chain[1:]), (0.17 * sw, 0.14 * sw)):
            cv2.line(arm, tuple(int(v) for v in a), tuple(int(v) for v in b), (1,), max(int(2 * radius), 1))
        # which of the arm's pixels lie before the sleeve's end: worked out on every
        # second pixel each way (a quarter of the cost), the cut's line a pixel coarser
        on_arm = (arm > 0) & body_px
        ys, xs = np.nonzero(on_arm[::2, ::2])
        inside = nearest_on_chain(np.stack([xs, ys], 1).astype(np.float64) * 2 + 0.5, chain)[1] <= reach
        before = np.zeros(on_arm[::2, ::2].shape, bool)
        before[ys[inside], xs[inside]] = True
        h, w = on_arm.shape
        sleeved |= on_arm & before.repeat(2, axis=0).repeat(2, axis=1)[:h, :w]
    return sleeved


def _seam(colour: np.ndarray, a: np.ndarray, under: np.ndarray, sw: float) -> tuple[np.ndarray, np.ndarray]:
    """A sleeve's edge where it lies over fabric (``under``, the alpha drawn so far),
    smoothed: where a raised or hanging arm pulls the sleeve away from the torso's
    spline, the inverse map jumps across the armhole's ramp, and the sleeve's edge there
    came out as a hard staircase a few pixels high (the white band meeting FILA's red
    sleeve at every armpit). Blurred and cut again at its middle, the edge keeps its
    course and loses its steps, anti-aliased. Where it moves out, it takes the colour
    beside it: the piece has none past its own edge (its map is empty there). Its edges
    over nothing (the arm's outline, the cuff) stay the warp's own."""
    sigma = max(SEAM * sw, 1.0)
    soft = cv2.GaussianBlur(a, (0, 0), sigma)
    # the blurred edge's slope at its middle is 1 / (σ√2π): scaled back to a ramp about a pixel wide
    smooth = np.clip((soft - 0.5) * (2.5 * sigma) + 0.5, 0.0, 1.0)
    over = cv2.GaussianBlur(np.clip(under * 2 - 1, 0, 1), (0, 0), 1.0)
    seamed = (a + (smooth - a) * over).astype(np.float32)
    grown = np.clip(seamed - a, 0.0, None)
    if (grown > 1 / 255).any():
        colour = cv2.blendLinear(colour, fill_half_size(colour, a).astype(np.float32), a, grown)
    return colour, seamed


def _scraps(alpha: np.ndarray, sleeves: np.ndarray, arms: np.ndarray, sw: float) -> np.ndarray | None:
    """Scraps of sleeve lying alone on an arm (with their soft rims), or ``None``: small
    parts of the fabric not joined to the rest, drawn by a sleeve piece on the arm. A
    sleeve's cut-out takes in a few pixels of what lies beside it in the flat lay (FILA's
    white band and the pale fold of its armpit), and the warp laid them past the cuff,
    a white fleck on 07966's forearm. Parts of the torso piece beside an arm (fabric
    seen between an arm and the body) stay."""
    solid = (alpha >= 0.5).view(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    if count < 3:
        return None
    areas = stats[:, cv2.CC_STAT_AREA]
    main = 1 + int(np.argmax(areas[1:]))
    found = np.zeros(solid.shape, bool)
    for part in np.flatnonzero(areas < SCRAP * sw * sw):
        if part in (0, main):
            continue
        x, y, w, h = stats[part, :4]
        box = (slice(y, y + h), slice(x, x + w))
        pixels = labels[box] == part
        if sleeves[box][pixels].mean() >= 0.5 and arms[box][pixels].mean() >= 0.8:
            found[box] |= pixels
    if not found.any():
        return None
    rim = (cv2.dilate(found.view(np.uint8), np.ones((3, 3), np.uint8)) > 0) & (solid == 0)
    return found | rim


def _slits(solid: np.ndarray, sw: float) -> np.ndarray:
    """Narrow slits in the fabric (``solid``, uint8), where torso and sleeve pieces
    meet at a slant: what a closing fills. It also fills the shallow dips of a wavy
    outline (a neckline), right at its edge, and filled, with the rim round each made
    opaque (see ``_close``), they drew teeth along FILA's collar: only what it fills a
    little way inside its outline is a slit."""
    side = max(int(0.06 * sw) | 1, 3)
    closed = cv2.morphologyEx(solid, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side)))
    return (cv2.erode(closed, np.ones((5, 5), np.uint8)) > 0) & (solid == 0)


def _rim(solid: np.ndarray, old: np.ndarray, person: np.ndarray, sw: float) -> np.ndarray:
    """The old garment left in a thin rim between the new one's outline (``solid``) and
    the silhouette's: the new shoulder line is set a little inside the outline, and the old
    top above it, painted as skin, drew a brown line along the shoulder (07966). Within
    a hem's width of both, it is the new garment's; a wider band is a garment narrower
    than the old one, and is taken off."""
    reach = max(RIM * sw, 1.0)
    # distances rather than a dilation and an erosion by a disc that wide (a tenth of the cost)
    near_garment = cv2.distanceTransform(1 - solid, cv2.DIST_L2, 3) <= reach
    near_outline = cv2.distanceTransform(person.view(np.uint8), cv2.DIST_L2, 3) <= reach
    return near_garment & near_outline & old & person


def _close(
    colour: np.ndarray, alpha: np.ndarray, gaps: np.ndarray, *, weave: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Fabric over ``gaps``: the garment's own colour carried in from around them
    (normalised convolution at half size, where only soft colour is needed), with its
    fine detail when ``weave`` (see ``_weave``)."""
    solid = np.where(alpha > 0.5, alpha, 0).astype(np.float32)  # the fabric, not its soft edge
    filled = fill_half_size(colour, solid)
    if weave:
        filled += _weave(colour, solid > 0, gaps)
    # The pieces' soft edges beside a gap are made opaque over the fill: left
    # half-transparent, the picture under them shows through as a pale seam line.
    rim = (cv2.dilate(gaps.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & ~gaps & (alpha > 0)
    # the pieces' own colour: all of it off the gaps and their rim, its alpha's share on
    # the rim (the fill takes the rest), none in the gaps
    own = np.where(gaps, 0.0, np.where(rim, alpha, 1.0)).astype(np.float32)
    closed = cv2.blendLinear(colour, filled.astype(np.float32), own, 1.0 - own)
    return closed, np.where(gaps | rim, 1.0, alpha).astype(np.float32)


def _weave(colour: np.ndarray, solid: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """The fabric's fine detail (its weave, a print's small marks) for the fill over
    ``gaps``: what lies mirrored across the nearest edge of the fabric (see
    ``_mirrored``). The fill alone is the fabric's smoothed colour, and over a wide gap
    (the seat between thighs spread seated) it read as a flat patch."""
    out = np.zeros_like(colour)
    detail = colour - cv2.GaussianBlur(colour, (0, 0), 2.0)
    # mirrored about the fabric a few pixels in: its edge (a pale cut-out rim, a seam)
    # mirrored drew streaks
    gy, gx, ry, rx = _mirrored(cv2.erode(solid.view(np.uint8), np.ones((7, 7), np.uint8)) > 0, gaps)
    out[gy, gx] = detail[ry, rx]
    return out


def _mirrored(source: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, ...]:
    """For the pixels of ``targets``, where they lie mirrored across their nearest
    pixel of ``source``, as (target rows, target columns, source rows, source
    columns): only those whose mirror falls on ``source``."""
    gy, gx = np.nonzero(targets)
    if len(gy) == 0 or not source.any():
        return gy, gx, gy, gx
    _, labels = cv2.distanceTransformWithLabels(
        (~source).view(np.uint8), cv2.DIST_L2, 3, labelType=cv2.DIST_LABEL_PIXEL
    )
    sy, sx = np.nonzero(source)  # in scan order, as the labels number them
    nearest = labels[gy, gx] - 1
    ry, rx = 2 * sy[nearest] - gy, 2 * sx[nearest] - gx
    h, w = source.shape
    ok = (ry >= 0) & (ry < h) & (rx >= 0) & (rx < w)
    ok[ok] &= source[ry[ok], rx[ok]]
    return gy[ok], gx[ok], ry[ok], rx[ok]


def _hem_y(pieces: list[Piece]) -> int:
    """The lowest row the garment reaches."""
    rows = [p.box[1] + int(np.flatnonzero((p.rgba[..., 3] > 0.5).any(axis=1)).max(initial=0)) for p in pieces]
    return max(rows, default=0)


def _old_garment_to_remove(analysis: persons.PersonAnalysis, region: Region, hem_y: int) -> np.ndarray | None:
    """What the person wears that the new garment replaces: the top for a top, the
    bottom for a bottom; nothing for outerwear, which goes over. A dress replaces the
    top, and the bottom only down to its hem: trousers below a dress stay (painting bare
    legs the length of a trouser leg is beyond a preview, and reads as worse)."""
    wardrobe = analysis.wardrobe
    if wardrobe is None or region is Region.OUTERWEAR:
        return None
    if region is Region.LOWER:
        return wardrobe.bottom
    if region is Region.FULL:
        bottom = wardrobe.bottom.copy()
        bottom[hem_y:] = False
        return wardrobe.top | bottom
    return wardrobe.top


def _under_layer(
    base: np.ndarray,
    analysis: persons.PersonAnalysis,
    strip: np.ndarray | None,
    window: tuple[slice, slice],
    remove_background: bool,
    region: Region,
    person_rgb: np.ndarray,
    alpha: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The picture under the new garment: the person with the old garment taken off
    (skin where the body is, background where the old garment stood off it), and where
    that changed anything. ``alpha`` is the new garment's, over the window."""
    if strip is None or analysis.wardrobe is None:
        return base, np.zeros(base.shape[:2], bool)
    wardrobe = analysis.wardrobe
    # The old garment's own edge (a hem's pale rim, a seam's shadow) lies a pixel or two
    # outside its cut: the repaint reaches over it, with a one-pixel soft seam where
    # real skin or background meets it.
    old = strip[window].view(np.uint8)
    grown = cv2.dilate(old, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5))) > 0
    # Off the person, the garment's soft outline and the shadow it casts on the backdrop
    # reach further: left, they drew the old sleeve's outline beside a bare arm.
    grown |= (cv2.dilate(old, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))) > 0) & ~analysis.binary[window]
    # It stops at bare skin in front (an arm or a hand lying over the old garment): the
    # new garment is cut out there, and the repaint showed through as a pale seam
    # down the arm's edge (07966's forearm on her hip).
    arm_inside = cv2.erode(analysis.in_front[window].view(np.uint8), np.ones((3, 3), np.uint8)) > 0
    grown &= (old > 0) | ~arm_inside
    # matched to the skin round what of the repaint shows (not the fringe just round
    # what the new garment covers): an arm's shaded inner side along a torso the new
    # garment covers again said nothing about the upper arm painted under an old short
    # sleeve, and darkened it
    covered = cv2.dilate((alpha >= 0.5).view(np.uint8), np.ones((7, 7), np.uint8))
    shows = grown & (covered == 0)
    skin = matched_skin(
        wardrobe.skin[window], person_rgb[window], shows, wardrobe.bare[window], analysis.shoulder_width
    )
    # skin meets background along the body's outline with an anti-aliased edge
    body = cv2.GaussianBlur(wardrobe.body[window].astype(np.float32), (0, 0), 0.8)
    behind = np.full_like(base, 255) if remove_background else wardrobe.background[window]
    replacement = cv2.blendLinear(skin, behind, body, 1 - body)
    if region in (Region.UPPER, Region.OUTERWEAR):
        _bottom_under_old_top(replacement, person_rgb, analysis, grown, window)
    cover = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), 1.0)
    cover[cover < 1 / 255] = 0
    under = cv2.blendLinear(replacement, base, cover, 1 - cover)
    return under, cover > 0


def _bottom_under_old_top(
    replacement: np.ndarray,
    person_rgb: np.ndarray,
    analysis: persons.PersonAnalysis,
    repainted: np.ndarray,
    window: tuple[slice, slice],
) -> None:
    """Under an old top that hung over the trousers or skirt, below the waist, is that
    bottom, not bare skin: a new top shorter than the old one otherwise left a painted
    midriff strip between its hem and the waistband. There ``replacement`` (window
    coordinates) takes the bottom's colour, column by column, from a band of it well
    below its visible top (whose first rows may still be the old top's hem): the
    waistband continues straight up. Arms and hands beside the hips stay as they are.
    ``repainted`` is what the repaint of the old top covers, in window coordinates."""
    assert analysis.wardrobe is not None  # the caller checked
    bottom = analysis.wardrobe.bottom
    (y0, y1), (x0, x1) = (window[0].start, window[0].stop), (window[1].start, window[1].stop)
    columns = bottom[:, x0:x1].any(axis=0)
    if not columns.any():
        return
    rows = np.arange(y0, y1)[:, None]
    span = np.zeros(x1 - x0, bool)
    xs = np.flatnonzero(columns)
    span[xs[0] : xs[-1] + 1] = True
    over = repainted & (rows >= waist_line(analysis)) & span[None, :] & analysis.wardrobe.body[window]
    over &= ~(analysis.sleeve_zone[window] | analysis.hands[window])
    if not over.any():
        return
    sw = analysis.shoulder_width
    top = int(np.flatnonzero(bottom[:, x0:x1].any(axis=1))[0])
    band = slice(top + int(0.05 * sw), top + max(int(0.3 * sw), int(0.05 * sw) + 4))
    inside = bottom[band, x0:x1]
    counts = inside.sum(axis=0)
    sums = (person_rgb[band, x0:x1].astype(np.float32) * inside[..., None]).sum(axis=0)
    known = counts > 0
    if not known.any():
        return
    profile = np.stack(
        [np.interp(np.arange(x1 - x0), np.flatnonzero(known), sums[known, c] / counts[known]) for c in range(3)], 1
    )
    replacement[over] = np.clip(profile, 0, 255).astype(np.uint8)[np.nonzero(over)[1]]
    # A printed bottom continued column by column drew vertical streaks (02849's zebra
    # skirt under every new top): its print below is mirrored up instead.
    grey = cv2.cvtColor(person_rgb[band, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
    busy = float(np.abs(grey - cv2.blur(grey, (5, 5)))[inside].mean())
    if busy > PRINTED:
        # the print to mirror lies below the window too, as far again as it is tall
        below = min(y1 + (y1 - y0), bottom.shape[0])
        source = bottom[y0:below, x0:x1].copy()
        source[: y1 - y0] &= ~repainted
        targets = np.zeros_like(source)
        targets[: y1 - y0] = over
        oy, ox, ry, rx = _mirrored(source, targets)
        replacement[oy, ox] = person_rgb[y0:below, x0:x1][ry, rx]


def _contact_shadow(
    under: np.ndarray, alpha: np.ndarray, analysis: persons.PersonAnalysis, window: tuple[slice, slice], sw: float
) -> tuple[np.ndarray, np.ndarray]:
    """A soft shadow the garment casts on the body just outside its edges (neckline,
    armholes, hem): light comes from above, so it falls a little below the edge."""
    reach = max(0.012 * sw, 1.0)
    shifted = np.zeros_like(alpha)
    drop = max(int(round(reach)), 1)
    shifted[drop:] = alpha[:-drop]
    shadow = cv2.GaussianBlur(shifted, (0, 0), reach) * (1 - alpha) * analysis.binary[window]
    shadow *= SHADOW_STRENGTH
    darkened = shadow > 1 / 255
    if not darkened.any():
        return under, darkened
    # only the thin band it darkens is worked on, not the whole window
    out = under.copy()
    factor = (1 - shadow[darkened])[:, None]
    out[darkened] = np.clip(under[darkened].astype(np.float32) * factor + 0.5, 0, 255).astype(np.uint8)
    return out, darkened


def _white_background(person_rgb: np.ndarray, silhouette: np.ndarray) -> np.ndarray:
    m = silhouette[..., None]
    return np.round(person_rgb * m + 255 * (1 - m)).astype(np.uint8)


def _work_image(person_rgb: np.ndarray, settings: Settings) -> np.ndarray:
    """The photo at the size the effort works at: its longest side at most ``work_side``."""
    h, w = person_rgb.shape[:2]
    side = settings.work_side
    if side is None or max(h, w) <= side:
        return person_rgb
    scale = side / max(h, w)
    size = (max(int(round(w * scale)), 1), max(int(round(h * scale)), 1))
    return cv2.resize(person_rgb, size, interpolation=cv2.INTER_AREA)


def _full_size(
    person_rgb: np.ndarray, analysis: persons.PersonAnalysis, image: np.ndarray, masks: list[np.ndarray], white: bool
) -> tuple[np.ndarray, list[np.ndarray]]:
    """A try-on worked at a reduced size (``image``; ``masks``, its change mask first),
    set back in the photo: upscaled where it changed anything, with a soft edge a working
    pixel wide that meets the photo's own pixels, which are left bit-identical everywhere
    else (or whitened off the person, with ``white``). Only the window round the change
    is upscaled."""
    h, w = person_rgb.shape[:2]
    if white:
        out = _white_background(person_rgb, cv2.resize(analysis.mask, (w, h), interpolation=cv2.INTER_LINEAR))
    else:
        out = person_rgb.copy()
    full_masks = [np.zeros((h, w), bool) for _ in masks]
    grown = cv2.dilate(masks[0].view(np.uint8), np.ones((3, 3), np.uint8))
    if not grown.any():
        return out, full_masks
    sx, sy = image.shape[1] / w, image.shape[0] / h  # working pixels per photo pixel
    bx, by, bw, bh = cv2.boundingRect(grown)
    x0, y0 = max(int((bx - 1) / sx), 0), max(int((by - 1) / sy), 0)
    x1, y1 = min(int((bx + bw + 1) / sx) + 1, w), min(int((by + bh + 1) / sy) + 1, h)
    # each photo pixel's centre sampled from the working image, as a whole-image resize would
    to_work = np.array([[sx, 0, (x0 + 0.5) * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]], np.float32)

    def upscaled(small: np.ndarray) -> np.ndarray:
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(small, to_work, (x1 - x0, y1 - y0), flags=flags, borderMode=cv2.BORDER_REPLICATE)

    window = (slice(y0, y1), slice(x0, x1))
    weight = upscaled(grown.astype(np.float32))
    base = out[window]
    changed = weight > 0
    np.copyto(base, cv2.blendLinear(upscaled(image), base, weight, 1 - weight), where=changed[..., None])
    for small, full in zip(masks, full_masks):
        full[window] = upscaled(small.view(np.uint8) * np.uint8(255)) > 127
    return out, full_masks


def _try_on(
    person_rgb: np.ndarray,
    work_rgb: np.ndarray,
    analysis: persons.PersonAnalysis,
    g: garments.Garment,
    fit: Fit,
    settings: Settings,
    *,
    remove_background: bool = False,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """``render`` at the effort's working size (``work_rgb``, which ``analysis`` is of),
    its image and masks at the photo's."""
    image, mask, found = render(work_rgb, analysis, g, fit, settings, remove_background=remove_background)
    if work_rgb is person_rgb:
        return image, mask, found
    image, (full_mask, garment_mask) = _full_size(
        person_rgb, analysis, image, [mask, found["garment_mask"]], remove_background
    )
    return image, full_mask, {**found, "garment_mask": garment_mask}


def _old_garment(analysis: persons.PersonAnalysis, region: Region, mask: np.ndarray, body: Body) -> dict[str, Any]:
    """How much of what the person wore in the garment's zone is still visible: clothing
    (not skin, not head; on the arms, the old garment the wardrobe found) on the arms
    and torso for tops, on the legs for bottoms. A top does not replace the old bottom:
    trousers in a top's zone (the waistband under a cropped top, the lap of a seated
    person) are not counted."""
    h, _ = analysis.shape
    rows = np.arange(h)[:, None]
    hips_y = (body.hip["a"][1] + body.hip["b"][1]) / 2
    knees_y = (body.knee["a"][1] + body.knee["b"][1]) / 2
    shoulders_y = (body.shoulder["a"][1] + body.shoulder["b"][1]) / 2
    if region is Region.LOWER:
        zone = (rows > waist(body)[1]) & (rows < (body.ankle["a"][1] + body.ankle["b"][1]) / 2)
    else:
        zone = (rows > shoulders_y) & (rows < hips_y + 0.2 * (knees_y - hips_y))
    assert analysis.skin is not None  # analyze() always maps the skin
    clothing = analysis.binary & ~analysis.skin & ~analysis.head & ~analysis.hands & zone
    if analysis.wardrobe is not None:
        # On the arms only what the wardrobe found there is the old garment: a bare
        # arm's tattoo (fashn_model's forearm on his thigh) and its outline are not,
        # and counted they flagged every top on him.
        clothing &= ~analysis.arms | analysis.wardrobe.top | analysis.wardrobe.bottom
        if region in (Region.UPPER, Region.OUTERWEAR):
            clothing &= ~analysis.wardrobe.bottom
    total = int(clothing.sum())
    share = float((clothing & ~mask).sum() / total) if total else 0.0
    return {"old_garment_visible": share > 0.08, "old_garment_visible_share": round(share, 3)}


def _garment(request: EngineRequest, settings: Settings) -> garments.Garment:
    """The request's garment, cut out as its options and the effort ask."""
    options = request.options
    g = garments.extract(
        request.images["garment"],
        region=options.region,
        photo_type=options.photo_type,
        preprocess=options.preprocess_garment,
        side=settings.garment_side,
    )
    # What every fit of it warps is made now, on the garment's core while the person is
    # analysed, rather than on the person's core after it.
    _ = g.bled, g.body_mask
    return g


def garment_and_change_masks(request: EngineRequest) -> tuple[np.ndarray, np.ndarray]:
    """For ``fitroom eval``: the first variant's garment mask (where the new garment is)
    and change mask (what ``mask_only`` returns: the garment, the old garment taken off,
    the contact shadow). Coverage is measured on the first, so repainted skin never
    counts as covered by the garment."""
    person_rgb = np.ascontiguousarray(request.images["person"][..., :3])
    options = request.options
    settings = EFFORT[options.effort]
    work_rgb = _work_image(person_rgb, settings)
    analysis, _ = persons.analyze(work_rgb, shading=settings.shading > 0)
    g = _garment(request, settings)
    _, mask, found = _try_on(person_rgb, work_rgb, analysis, g, Fit.draw(options.seed, 0), settings)
    return found["garment_mask"], mask


def crop_box(analysis: persons.PersonAnalysis, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """A 3:4 window around the person's silhouette, inside the photo (of ``shape``; the
    analysis may be of the photo at a reduced size)."""
    h, w = shape
    rows, columns = np.nonzero(analysis.binary)
    ys, xs = rows * (h / analysis.shape[0]), columns * (w / analysis.shape[1])
    cx, cy = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    height = max((ys.max() - ys.min()) * 1.08, (xs.max() - xs.min()) * 1.08 * 4 / 3)
    width = height * 3 / 4
    if width > w:
        width, height = w, w * 4 / 3
    if height > h:
        height, width = h, h * 3 / 4
    x0 = int(np.clip(cx - width / 2, 0, w - width))
    y0 = int(np.clip(cy - height / 2, 0, h - height))
    return x0, y0, x0 + int(width), y0 + int(height)


def _timed(timings: dict[str, float], name: str, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``work(*args, **kwargs)``, its wall time in milliseconds put in ``timings[name]``."""
    start = time.perf_counter()
    try:
        return work(*args, **kwargs)
    finally:
        timings[name] = (time.perf_counter() - start) * 1000


@register(default=True)
class CpuClothingEngine(Engine):
    name = "cpu-clothing"
    kinds = frozenset({JobKind.CLOTHING})
    inputs = (Input("person"), Input("garment"))

    def warm_up(self) -> None:
        persons.warm_up()

    def run(self, request: EngineRequest) -> EngineResult:
        if "person" not in request.images or "garment" not in request.images:
            raise InvalidParameter("a clothing try-on needs a person and a garment image")
        options = request.options
        timings: dict[str, float] = {}
        settings = EFFORT[options.effort]
        # The garment's cut-out is found on the second core while the person is analysed:
        # the two are independent, and together they are most of a cold try-on. A bad
        # person photo is still reported first (its error is raised before the garment's).
        garment = beside(_timed, timings, "garment", _garment, request, settings)
        person_rgb = np.ascontiguousarray(request.images["person"][..., :3])
        work_rgb = _work_image(person_rgb, settings)
        analysis, cached = _timed(timings, "person", persons.analyze, work_rgb, shading=settings.shading > 0)
        g = garment.result()
        _check_visible(analysis, g.region)

        start = time.perf_counter()
        fits = [Fit.draw(options.seed, i) for i in range(options.num_outputs)]
        images: list[np.ndarray] = []
        facts: dict[str, Any] = {}
        box = crop_box(analysis, (person_rgb.shape[0], person_rgb.shape[1])) if options.crop else None
        for i, fit in enumerate(fits):
            image, mask, found = _try_on(
                person_rgb, work_rgb, analysis, g, fit, settings, remove_background=options.remove_background
            )
            found.pop("garment_mask")
            facts = facts or found
            if options.mask_only:
                image = np.repeat((mask * 255).astype(np.uint8)[..., None], 3, axis=2)
            if box is not None:
                image = np.ascontiguousarray(image[box[1] : box[3], box[0] : box[2]])
            images.append(image)
        timings["render"] = (time.perf_counter() - start) * 1000
        facts["work_size"] = [work_rgb.shape[1], work_rgb.shape[0]]  # width, height the try-on was worked at
        return EngineResult(images=images, metadata=_metadata(options, g, fits, facts, cached, timings))


def _metadata(
    options: TryOnOptions,
    g: garments.Garment,
    fits: list[Fit],
    facts: dict[str, Any],
    cached: bool,
    timings: dict[str, float],
) -> dict[str, Any]:
    applied = {
        "region": g.region.value,
        "photo_type": g.photo_type.value,
        "effort": options.effort.value,
        "num_outputs": options.num_outputs,
        "seed": options.seed,
        "crop": options.crop,
        "mask_only": options.mask_only,
        "remove_background": options.remove_background,
        "preprocess_garment": options.preprocess_garment,
        "output_format": options.output_format.value,
    }
    not_applied = {key: "not used by the CPU clothing engine" for key in options.extras}
    if options.garment_description:
        not_applied["garment_description"] = "the CPU engine reads the garment from its pixels only"
    return {
        "engine": CpuClothingEngine.name,
        "applied": applied,
        "not_applied": not_applied,
        "region": g.region.value,
        "photo_type": g.photo_type.value,
        "person_analysis_cached": cached,
        "variants": {"varies": ["ease", "length", "flare"], "fits": [asdict(f) for f in fits]},
        **facts,
        "timings_ms": {k: round(v, 1) for k, v in timings.items()},
    }
