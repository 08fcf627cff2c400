"""One garment, one piece: a forward warp blended between bones, inverted for sampling.

The torso (or a bottom's pelvis) moves by one transform, each sleeve or trouser leg by
its limb's skeleton. Warping the parts separately leaves seams that open (skin between
sleeve and torso) or flaps that stick out (a waistband turned with the thigh). Here each
point of the garment moves by a blend of the transforms, weighted by how much it
belongs to each part (linear blend skinning, as for animated characters): the weights
change smoothly across the armhole or the crotch, so the warp is continuous and the
parts stay joined however the limb is turned.

The blend is a forward map (garment → body). ``cv2.remap`` wants a backward map, so the
forward map is evaluated on a grid of garment vertices, which are splatted onto the
output grid with their garment coordinates and the gaps filled by pull-push (see
``invert``). Each piece (torso, each sleeve) is inverted on its own, since a hanging
sleeve lies over the torso and one grid cannot hold two layers; the pieces share the
forward map, so their edges meet.
"""

from __future__ import annotations

import cv2
import numpy as np

OUTSIDE = -1.0e4  # a garment coordinate far outside the image: transparent when sampled


def smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def limb_forward(
    points: np.ndarray,
    root: np.ndarray,
    end: np.ndarray,
    chain: np.ndarray,
    along_scale: float,
    across_scale: float | np.ndarray,
    bend: float,
) -> np.ndarray:
    """Garment points (N×2) laid along the body ``chain``: distance along the garment
    axis ``root``→``end`` becomes arc length along the chain, distance across it
    becomes distance from the chain (``across_scale`` may differ per point). Within
    ``bend`` (body pixels) of a joint the across-direction turns smoothly from one
    segment's to the next, so the outside of a bent elbow or knee fans out instead of
    tearing."""
    axis = (end - root).astype(np.float64)
    axis /= max(float(np.linalg.norm(axis)), 1e-6)
    normal = np.array([-axis[1], axis[0]])
    rel = points - root
    s = (rel @ axis) * along_scale
    c = (rel @ normal) * across_scale
    segs = np.diff(chain, axis=0).astype(np.float64)
    lengths = np.maximum(np.linalg.norm(segs, axis=1), 1e-6)
    units = segs / lengths[:, None]
    normals = np.stack([-units[:, 1], units[:, 0]], axis=1)
    starts = np.concatenate([[0.0], np.cumsum(lengths)[:-1]])
    k = np.clip(np.searchsorted(starts, s, side="right") - 1, 0, len(segs) - 1)
    t = s - starts[k]  # the first segment extends backwards, the last one onwards
    position = chain[k] + units[k] * t[:, None]
    across = normals[k].copy()
    for j in range(1, len(segs)):  # smooth the across-direction round each joint
        u = smoothstep((s - starts[j] + bend) / max(2 * bend, 1e-6))[:, None]
        near = np.abs(s - starts[j]) < bend
        blended = normals[j - 1] * (1 - u) + normals[j] * u
        blended /= np.maximum(np.linalg.norm(blended, axis=1, keepdims=True), 1e-6)
        across[near] = blended[near]
    return position + across * c[:, None]


def nearest_on_chain(points: np.ndarray, chain: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point (N×2), its distance to the polyline ``chain`` and the arc length
    along the chain of its nearest point there."""
    best_d = np.full(len(points), np.inf)
    best_s = np.zeros(len(points))
    start = 0.0
    for a, b in zip(chain[:-1], chain[1:]):
        seg = b - a
        length = max(float(np.linalg.norm(seg)), 1e-6)
        t = np.clip((points - a) @ seg / length**2, 0.0, 1.0)
        d = np.linalg.norm(points - (a + t[:, None] * seg), axis=1)
        closer = d < best_d
        best_d[closer], best_s[closer] = d[closer], start + t[closer] * length
        start += length
    return best_d, best_s


def grid_vertices(mask: np.ndarray, step: int) -> np.ndarray:
    """Garment grid points (x, y) on or near ``mask``: the vertices a piece is warped by."""
    h, w = mask.shape
    # two rows of vertices beyond the cut-out: the inverse there maps outside the garment,
    # so the edge comes from the cut-out and the fill past it finds no fabric
    near = cv2.dilate(mask.astype(np.uint8), np.ones((4 * step + 1, 4 * step + 1), np.uint8)) > 0
    ys = np.arange(0, h + step, step, dtype=np.float64)
    xs = np.arange(0, w + step, step, dtype=np.float64)
    gx, gy = np.meshgrid(xs, ys)
    iy = np.clip(gy.astype(int), 0, h - 1)
    ix = np.clip(gx.astype(int), 0, w - 1)
    keep = near[iy, ix]
    return np.stack([gx[keep], gy[keep]], axis=1)


def invert(
    body_points: np.ndarray,
    garment_points: np.ndarray,
    box: tuple[int, int, int, int],
    step: int,
    on_top: tuple[np.ndarray, float] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Backward map over ``box`` from forward-mapped vertices: for each output pixel the
    garment coordinate, found on a grid every ``step`` pixels and bilinearly upsampled.

    Each vertex is splatted into the output grid with its garment coordinate; cells no
    vertex reached are filled from their neighbours by pull-push (normalised convolution
    down an image pyramid and back up), which on a smooth warp is close to the linear
    interpolation a triangulation would give, at a fraction of the cost. Cells far from
    every vertex get a far-away coordinate, so they stay empty.

    Where the forward map folds (the inside of a sharply bent elbow), vertices from two
    layers of fabric land in one cell, and their mean is a point of neither: the cell
    samples whatever lies between, a tangle of the print. ``on_top`` (a rank per vertex
    and the spread of one layer's ranks in a cell) keeps, in each cell, only the layer
    ranked highest."""
    x0, y0, x1, y1 = box
    gw = (x1 - x0) // step + 2
    gh = (y1 - y0) // step + 2
    fx = (body_points[:, 0] - x0) / step
    fy = (body_points[:, 1] - y0) / step
    # Each vertex is splatted into the four cells round it, bilinearly weighted, with
    # its garment coordinate moved to each cell's centre by the map's local inverse.
    # Left where it landed, a vertex sat up to half a cell off the centre, differently
    # in each cell, and an edge cut through the cells read as a saw-tooth a cell long
    # (a hem's, a neckline's teeth); splatted into its nearest cell alone, vertices
    # about as far apart as cells left cells empty in a beat along an edge, and the
    # fill there, taken from inside, notched it.
    ia, ib, ic, id_ = _local_inverse(body_points, garment_points)
    corners = []
    for dx in (0, 1):
        for dy in (0, 1):
            cols, rows = np.floor(fx).astype(int) + dx, np.floor(fy).astype(int) + dy
            share = (1 - np.abs(fx - cols)) * (1 - np.abs(fy - rows))
            off_x, off_y = cols * step + x0 - body_points[:, 0], rows * step + y0 - body_points[:, 1]
            values = garment_points + np.stack([ia * off_x + ib * off_y, ic * off_x + id_ * off_y], 1)
            corners.append((rows * gw + cols, share, values, cols, rows))
    index, share, values, cols, rows = (np.concatenate(part) for part in zip(*corners))
    # what lands off the grid weighs nothing (cheaper than taking it out)
    inside = (cols >= 0) & (rows >= 0) & (cols < gw) & (rows < gh)
    index = np.where(inside, index, 0)
    share = np.where(inside, share, 0.0)
    if on_top is not None:
        rank, layer = np.where(inside, np.tile(on_top[0], 4), -np.inf), on_top[1]
        top = np.full(gh * gw, -np.inf)
        np.maximum.at(top, index, rank)
        share = np.where(rank >= top[index] - layer, share, 0.0)
    weight = np.bincount(index, share, gh * gw)
    total = np.stack([np.bincount(index, share * values[:, k], gh * gw) for k in range(2)], 1)
    weight_img = weight.reshape(gh, gw).astype(np.float32)
    total_img = total.reshape(gh, gw, 2).astype(np.float32)
    coarse = pull_push(total_img, weight_img)
    # Where no vertex came within a cell there is no garment. The vertices
    # reach past the garment's cut-out, so this edge is never the garment's edge (that
    # comes, anti-aliased, from sampling the cut-out): it only stops the fill's
    # extrapolation from finding fabric again. Closed, not grown: a cell a stretch left
    # empty inside is filled, but one past the outermost vertices gets the pull-push's
    # coarse mean, a point well inside the garment, which drew a detached sliver of
    # fabric along a shoulder.
    reached = (weight_img > 0.05).astype(np.uint8)
    reach = cv2.morphologyEx(reached, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)).astype(np.float32)
    # Cell (i, j) is the output pixel (j, i) × step. ``cv2.resize`` would align the
    # grids' outer edges instead (pixel centres at half-cells), which shifts the garment
    # by up to a cell's half towards the middle of the box: the affine form is exact.
    size = (x1 - x0, y1 - y0)
    upsample = np.array([[1 / step, 0, 0], [0, 1 / step, 0]], np.float64)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP

    def upsampled(grid: np.ndarray) -> np.ndarray:
        return cv2.warpAffine(grid, upsample, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)

    full = upsampled(coarse)
    near = upsampled(reach) > 0.5
    full[~near] = OUTSIDE
    return np.ascontiguousarray(full[..., 0]), np.ascontiguousarray(full[..., 1])


def _local_inverse(placed: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per vertex, the inverse of the forward map's derivative there (garment pixels
    per output pixel) as its four entries (row by row), from its neighbours on the
    garment grid (garment points lie on a regular grid, see ``grid_vertices``; one
    neighbour along an axis will do); zeros where a vertex has none along an axis, or
    where the map folds (its derivative turns the garment over)."""
    zeros = np.zeros(len(values))
    steps = np.diff(np.unique(values[:, 0]))
    if len(values) < 2 or not (steps > 1e-6).any():
        return zeros, zeros, zeros, zeros
    spacing = float(steps[steps > 1e-6].min())
    cell = np.round((values - values.min(axis=0)) / spacing).astype(int)
    lookup = np.full((int(cell[:, 1].max()) + 3, int(cell[:, 0].max()) + 3), -1)
    own = np.arange(len(values))
    lookup[cell[:, 1] + 1, cell[:, 0] + 1] = own
    derivative = []
    for dx, dy in ((1, 0), (0, 1)):
        ahead = lookup[cell[:, 1] + 1 + dy, cell[:, 0] + 1 + dx]
        behind = lookup[cell[:, 1] + 1 - dy, cell[:, 0] + 1 - dx]
        hi, lo = np.where(ahead >= 0, ahead, own), np.where(behind >= 0, behind, own)
        span = ((ahead >= 0).astype(np.float64) + (behind >= 0)) * spacing
        derivative.append((placed[hi] - placed[lo]) / np.maximum(span, 1e-9)[:, None])
    (a, c), (b, d) = derivative[0].T, derivative[1].T  # output per garment pixel, along garment x and y
    det = a * d - b * c
    size = np.abs(a) + np.abs(b) + np.abs(c) + np.abs(d)
    scale = np.where(det > 1e-3 * size * size, 1.0 / np.where(det > 0, det, 1.0), 0.0)
    return d * scale, -b * scale, -c * scale, a * scale


def pull_push(total: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``total`` (H×W×C float32, values premultiplied by ``weight``, H×W float32 in
    0..1) continued smoothly over the whole frame: normalised convolution over a
    pyramid. Each level is filled from the coarser one wherever its own weight is thin,
    so known values are kept and the gaps between them take a smooth blend of the
    nearest. All zeros where nothing is known."""
    levels: list[tuple[np.ndarray, np.ndarray]] = []
    while min(weight.shape) > 2:
        levels.append((total, weight))
        total, weight = cv2.pyrDown(total), cv2.pyrDown(weight)
    fill = total / np.maximum(weight, 1e-6)[..., None]
    for total, weight in reversed(levels):
        up = cv2.resize(fill, (weight.shape[1], weight.shape[0]), interpolation=cv2.INTER_LINEAR)
        seen = np.clip(weight * 4, 0, 1)[..., None]  # a cell a vertex reached keeps its own value
        fill = total / np.maximum(weight, 1e-6)[..., None] * seen + up * (1 - seen)
    return fill


def fill_half_size(colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``colour`` (H×W×3) continued from where ``weight`` holds into everywhere else,
    worked out at half size: used where only soft colour is wanted (a garment's rim,
    a gap in the fabric), at a quarter of the cost."""
    h, w = weight.shape
    half = (max(w // 2, 1), max(h // 2, 1))
    small_weight = cv2.resize(weight, half, interpolation=cv2.INTER_AREA)
    total = cv2.resize(colour * weight[..., None], half, interpolation=cv2.INTER_AREA)
    return cv2.resize(pull_push(total, small_weight), (w, h), interpolation=cv2.INTER_LINEAR)


def bounds(points: np.ndarray, margin: float, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The output box round forward-mapped points, inside the photo (may be empty)."""
    h, w = shape
    if len(points) == 0:
        return 0, 0, 1, 1
    x0, y0 = np.floor(points.min(axis=0) - margin).astype(int)
    x1, y1 = np.ceil(points.max(axis=0) + margin).astype(int)
    x0, y0 = min(max(int(x0), 0), w - 1), min(max(int(y0), 0), h - 1)
    return x0, y0, max(min(int(x1), w), x0 + 1), max(min(int(y1), h), y0 + 1)
