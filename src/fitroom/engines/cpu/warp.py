"""Warps that move garment pixels onto a body: a thin-plate spline for the torso and a
skeletal warp for limbs.

Both are backward maps: for every output pixel they say where in the garment image to
sample, which is what ``cv2.remap`` wants and why no output pixel is ever left as a hole.
The spline is solved on a handful of keypoints and evaluated on a coarse grid that is
then upsampled; its smoothness makes the coarse grid invisible and keeps it fast.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.interpolate import RBFInterpolator


def tps_map(
    body_points: np.ndarray, garment_points: np.ndarray, box: tuple[int, int, int, int], step: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """Backward map over ``box`` (x0, y0, x1, y1 in output pixels): for each pixel, the
    garment coordinate that the thin-plate spline through the keypoint pairs gives."""
    x0, y0, x1, y1 = box
    spline = RBFInterpolator(
        body_points.astype(np.float64), garment_points.astype(np.float64), kernel="thin_plate_spline", smoothing=1.0
    )
    gx = np.arange(x0, x1 + step, step, dtype=np.float64)
    gy = np.arange(y0, y1 + step, step, dtype=np.float64)
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    coarse = spline(grid).reshape(len(gy), len(gx), 2).astype(np.float32)
    # Upsample so that coarse node i lands on pixel i*step (align the grids, then crop).
    full = cv2.resize(coarse, ((len(gx) - 1) * step + 1, (len(gy) - 1) * step + 1), interpolation=cv2.INTER_LINEAR)
    full = full[: y1 - y0, : x1 - x0]
    return np.ascontiguousarray(full[..., 0]), np.ascontiguousarray(full[..., 1])


def limb_map(
    chain: np.ndarray,
    root: np.ndarray,
    end: np.ndarray,
    along_scale: float,
    across_scale: float,
    box: tuple[int, int, int, int],
) -> tuple[np.ndarray, np.ndarray]:
    """Backward map that lays the garment axis ``root``→``end`` along the body ``chain``
    (shoulder→elbow→wrist, or waist→knee→ankle).

    Each output pixel is projected on its nearest chain segment: the arc length to that
    projection becomes distance along the garment axis, the signed distance from the
    segment becomes distance across it (each divided by its scale). A sleeve drawn
    hanging down therefore follows a raised or bent arm.
    """
    x0, y0, x1, y1 = box
    # Evaluated every other pixel and upsampled: the map is smooth except at the joint's
    # bisector, where one pixel of blur is invisible.
    xs = np.arange(x0, x1 + 2, 2, dtype=np.float32)
    ys = np.arange(y0, y1 + 2, 2, dtype=np.float32)
    px, py = np.meshgrid(xs, ys)
    axis = (end - root).astype(np.float32)
    axis /= max(float(np.linalg.norm(axis)), 1e-6)
    normal = np.array([-axis[1], axis[0]], np.float32)
    best = np.full(px.shape, np.inf, np.float32)
    arc = np.zeros_like(px)
    across = np.zeros_like(px)
    start = 0.0
    last = len(chain) - 2
    for k, (a, b) in enumerate(zip(chain[:-1], chain[1:])):
        seg = (b - a).astype(np.float32)
        length = max(float(np.linalg.norm(seg)), 1e-6)
        u = seg / length
        n = np.array([-u[1], u[0]], np.float32)
        dx, dy = px - a[0], py - a[1]
        t = dx * u[0] + dy * u[1]
        # the first segment extends backwards (over the shoulder) and the last one onwards
        t = np.clip(t, -np.inf if k == 0 else 0.0, np.inf if k == last else length)
        d = dx * n[0] + dy * n[1]
        dist = (dx - t * u[0]) ** 2 + (dy - t * u[1]) ** 2
        closer = dist < best
        best = np.where(closer, dist, best)
        arc = np.where(closer, start + t, arc)
        across = np.where(closer, d, across)
        start += length
    s = arc / along_scale
    c = across / across_scale
    coarse = np.dstack(
        [root[0] + s * axis[0] + c * normal[0], root[1] + s * axis[1] + c * normal[1]]
    ).astype(np.float32)
    full = cv2.resize(coarse, ((len(xs) - 1) * 2 + 1, (len(ys) - 1) * 2 + 1), interpolation=cv2.INTER_LINEAR)
    full = full[: y1 - y0, : x1 - x0]
    return np.ascontiguousarray(full[..., 0]), np.ascontiguousarray(full[..., 1])


def sample(rgba: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, cubic: bool = False) -> np.ndarray:
    """Sample an RGBA float image through a backward map; outside the image is transparent."""
    interpolation = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    out = cv2.remap(rgba, map_x, map_y, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))
    return np.clip(out, 0, 1) if cubic else out
