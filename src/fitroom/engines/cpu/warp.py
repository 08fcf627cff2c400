"""Warps that move garment pixels onto a body: a thin-plate spline for a skirt (and a
torso without sleeves to blend), and sampling through a backward map. Tops and trousers
move as one piece through ``skinning``.

The spline is a backward map: for every output pixel it says where in the garment image to
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


def sample(rgba: np.ndarray, map_x: np.ndarray, map_y: np.ndarray, cubic: bool = False) -> np.ndarray:
    """Sample an RGBA float image through a backward map; outside the image is transparent."""
    interpolation = cv2.INTER_CUBIC if cubic else cv2.INTER_LINEAR
    out = cv2.remap(rgba, map_x, map_y, interpolation, borderMode=cv2.BORDER_CONSTANT, borderValue=(0,))
    return np.clip(out, 0, 1) if cubic else out
