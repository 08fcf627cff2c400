"""The upper arm under an old short sleeve, continued from the bare arm below its hem.

Taken off, a tee's sleeve must leave the arm the photo would have shown: as wide as the
arm below the hem, its edges where they were, lit across as it is lit (a bright middle,
a side turning away into shadow), in its own colour. A capsule round the skeleton gets
none of this: painted as wide as the sleeve it replaced, it kept the sleeve's outline
and was one flat colour above a shaded forearm. So the arm is straightened into a strip
along shoulder→elbow, the hem found where bare skin starts down it, and the arm's
cross-section just below the hem is carried up to the shoulder, a little wider there
(the deltoid).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fitroom.engines.cpu import person as persons

HEM_GAP = 0.04  # of the shoulder width: skipped below the hem (its shadow, a slanted cut)
BAND = 0.12  # of the shoulder width: the bare arm below that gives the cross-section
ARM_WIDTH = (0.1, 0.45)  # of the shoulder width: a run of skin across the strip that is one arm
DELTOID = 0.12  # the arm widens by this share towards the shoulder
EDGE_PAD = 1.5  # pixels: the skin map's edge lies this far inside the arm's soft outline
TAPER = 0.15  # pixels per pixel up the arm: the most either edge moves out above the hem
SAMPLES = 24  # across the arm


@dataclass(frozen=True)
class ContinuedArm:
    """One upper arm redrawn, over a window of the photo: inside ``zone`` the arm is
    ``arm`` and nothing else of the arm's capsule; ``colour`` is its skin there."""

    window: tuple[slice, slice]
    zone: np.ndarray  # bool, the window's pixels whose arm this decides
    arm: np.ndarray  # bool, the arm inside the zone
    colour: np.ndarray  # N×3 float32 RGB: the arm's skin, on ``arm``'s pixels in ``np.nonzero`` order
    # bool: the bare arm just below the hem, in the sleeve's shadow: repainted with the
    # sleeve, or a darker band marks where the sleeve was
    hem_shadow: np.ndarray


def continued_arms(rgb: np.ndarray, a: persons.PersonAnalysis, top: np.ndarray) -> list[ContinuedArm]:
    """Every upper arm whose top the old garment ``top`` covers and whose bare skin shows
    below the hem: redrawn from that skin. An arm the sleeve covers to the elbow, or a
    bare one, is left to the skeleton's capsule."""
    bare = a.limb_skin
    assert bare is not None  # analyze() maps the skin before the wardrobe
    out = []
    for shoulder, elbow in ((persons.L_SHOULDER, persons.L_ELBOW), (persons.R_SHOULDER, persons.R_ELBOW)):
        if not a.visible(shoulder, elbow):
            continue
        arm = _continued(rgb, a, bare, top, a.point(shoulder), a.point(elbow), a.arm_offsets(shoulder)[0])
        if arm is not None:
            out.append(arm)
    return out


def _continued(
    rgb: np.ndarray,
    a: persons.PersonAnalysis,
    bare: np.ndarray,
    top: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    offset: float,
) -> ContinuedArm | None:
    sw = a.shoulder_width
    length = float(np.linalg.norm(end - start))
    reach = int(persons.ARM_REACH * sw)
    if length < 0.3 * sw or reach < 4:
        return None
    axis = (end - start) / length
    normal = np.array([-axis[1], axis[0]])
    # the strip: row i is i pixels down the arm from the shoulder, column j lies j - reach
    # pixels along the normal
    rows, cols = np.mgrid[0 : int(length), -reach : reach + 1].astype(np.float32)
    map_x = (start[0] + rows * axis[0] + cols * normal[0]).astype(np.float32)
    map_y = (start[1] + rows * axis[1] + cols * normal[1]).astype(np.float32)
    on = cv2.remap(bare.view(np.uint8), map_x, map_y, cv2.INTER_NEAREST, borderValue=(0,)) > 0
    covered = cv2.remap(top.view(np.uint8), map_x, map_y, cv2.INTER_NEAREST, borderValue=(0,)) > 0
    width = on.shape[1]
    centre = int(np.clip(reach + round(offset), 1, width - 2))
    # the run of skin through the arm's middle, row by row: the last gap left of the
    # middle and the first right of it
    index = np.arange(width)
    left = np.maximum.accumulate(np.where(on, -1, index), axis=1)[:, centre]
    right = np.minimum.accumulate(np.where(on, width, index)[:, ::-1], axis=1)[:, ::-1][:, centre]
    run = right - left - 1
    arm_row = on[:, centre] & (left >= 0) & (right < width) & (run >= ARM_WIDTH[0] * sw) & (run <= ARM_WIDTH[1] * sw)
    hem = _hem(arm_row, covered[:, centre], sw)
    if hem is None:
        return None
    gap, band = int(HEM_GAP * sw), max(int(BAND * sw), 3)
    rows_used = np.flatnonzero(arm_row[hem + gap : hem + gap + band]) + hem + gap
    if len(rows_used) < 3:
        return None
    # The arm's outline on each row: the run's edges, moved out a little (the skin map's
    # edge lies inside the arm's soft outline).
    low = left + 0.5 - EDGE_PAD
    high = right - 0.5 + EDGE_PAD
    # the cross-section: each row's outline resampled to the same samples, the median
    # over the band (a crease or a freckle in one row does not make the arm)
    u = (np.arange(SAMPLES) + 0.5) / SAMPLES
    xs = low[rows_used, None] + (high - low)[rows_used, None] * u[None, :]
    strip = cv2.remap(rgb, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    x0 = np.clip(np.floor(xs).astype(int), 0, width - 2)
    frac = np.clip(xs - x0, 0, 1)[..., None]
    samples = strip[rows_used[:, None], x0] * (1 - frac) + strip[rows_used[:, None], x0 + 1] * frac
    profile = np.median(samples, axis=0)  # SAMPLES×3
    # The arm's edges, a line each down the band, carried up past the hem: an upper arm
    # narrows to the elbow, so the band's own width, set at the hem, left a notch there.
    # Going up it may widen (the deltoid), never narrow, and not by much.
    low_edge, high_edge = _edge_lines(rows_used, low - reach, high - reach, hem)
    last = int(rows_used[-1])  # drawn down through the band, so it meets the photo's arm there
    return _drawn(a.shape, start, axis, normal, low_edge, high_edge, (hem, hem + gap, last), profile)


def _edge_lines(
    rows: np.ndarray, low: np.ndarray, high: np.ndarray, hem: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Each edge of the arm as (offset at the hem, change per row down the arm), fitted
    over ``rows``; going up from the hem the arm widens by at most ``TAPER`` per row a side."""
    lines = []
    # going up, the low edge moves to lower offsets and the high edge to higher ones:
    # down the arm, the low edge's slope is at least 0, the high edge's at most 0
    for edge, most in ((low[rows], (0.0, TAPER)), (high[rows], (-TAPER, 0.0))):
        slope, at_hem = np.polyfit(rows - hem, edge, 1) if len(np.unique(rows)) > 1 else (0.0, float(edge.mean()))
        lines.append((float(at_hem), float(np.clip(slope, *most))))
    return lines[0], lines[1]


def _hem(arm_row: np.ndarray, covered: np.ndarray, sw: float) -> int | None:
    """The first row down the strip where the arm shows bare and goes on showing, with
    the old garment above it: a short sleeve's hem. None for a bare upper arm (no
    garment above) or a sleeve to the elbow (no bare arm below)."""
    span = max(int(0.08 * sw), 2)
    n = len(arm_row)
    if n < 3 * span:
        return None
    kernel = np.ones(span, np.float32) / span
    # the share of arm rows in the span below each row, and of covered rows above it
    below = np.convolve(arm_row.astype(np.float32), kernel, mode="full")[span - 1 :][:n]
    above = np.convolve(covered.astype(np.float32), kernel, mode="full")[:n]
    rows = np.arange(n)
    found = np.flatnonzero(arm_row & (below >= 0.8) & (np.roll(above, 1) >= 0.6) & (rows >= span) & (rows < 0.85 * n))
    return int(found[0]) if found.size else None


def _drawn(
    shape: tuple[int, int],
    start: np.ndarray,
    axis: np.ndarray,
    normal: np.ndarray,
    low: tuple[float, float],
    high: tuple[float, float],
    rows: tuple[int, int, int],
    profile: np.ndarray,
) -> ContinuedArm:
    """The arm from the shoulder down to row ``last`` of the strip (``rows`` is the
    hem's, the end of its shadow's and that last) between its edge
    lines ``low`` and ``high`` (offsets along ``normal``, see ``_edge_lines``), widening
    a little more towards the shoulder, its round end there; each pixel coloured by
    where across the arm it lies."""
    h, w = shape
    hem, shaded, last = rows

    def edges(along: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        rows = np.minimum(along, last) - hem
        lo, hi = low[0] + low[1] * rows, high[0] + high[1] * rows
        grow = DELTOID / 2 * (hi - lo) * np.clip(-rows / max(hem, 1), 0, 1)
        return lo - grow, hi + grow

    top_lo, top_hi = (float(v) for v in edges(0.0))
    radius = (top_hi - top_lo) / 2
    sides = (top_lo - radius, top_hi + radius)
    corners = np.array([start + axis * r + normal * c for r in (-radius, last) for c in sides])
    x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 1, (w, h))
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] - np.float32(start[1])
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] - np.float32(start[0])
    along = xs * np.float32(axis[0]) + ys * np.float32(axis[1])
    across = xs * np.float32(normal[0]) + ys * np.float32(normal[1])
    lo, hi = edges(np.maximum(along, 0))
    zone = (along >= -radius) & (along <= last) & (across >= sides[0]) & (across <= sides[1])
    cap = along**2 + (across - (top_lo + top_hi) / 2) ** 2 <= radius**2
    arm = zone & (across >= lo) & (across <= hi) & ((along >= 0) | cap)
    # coloured only where the arm is: the window round a slanted arm is mostly not arm
    on = np.nonzero(arm)
    share = (across[on] - lo[on]) / np.maximum(hi[on] - lo[on], 1.0)
    position = np.clip(share * len(profile) - 0.5, 0, len(profile) - 1)
    index = np.minimum(position.astype(np.intp), len(profile) - 2)
    frac = (position - index)[:, None]
    colour = profile[index] * (1 - frac) + profile[index + 1] * frac
    return ContinuedArm(
        window=(slice(y0, y1), slice(x0, x1)),
        zone=zone,
        arm=arm,
        colour=colour.astype(np.float32),
        hem_shadow=arm & (along >= hem - 2) & (along < shaded),
    )
