"""Glasses try-on on a CPU: a frame on every face, sized and turned as it would sit.

    person ──► face.find_faces ──► pupils, temples, roll/yaw/pitch (per face)
    glasses ─► glasses_asset.load_glasses (or the default pair) ──► frontal frame + lenses
                      │
                      └──► placement: lens centres onto pupils, width to the temples,
                           rotated with the eye line, foreshortened by yaw and pitch
                           ──► render: soft shadow, lens filter, frame over the face

Placement is one affine map per face, from the frontal frame's pixels to the photo's.
Its scale comes from the face's width at the temples, as an optician would pick a frame,
held within ``LENS_TOLERANCE`` of the scale that puts each lens centre exactly on its
pupil: real frames are a little wider between lens centres than the eyes are, and lenses
are ground off-centre for it, but a try-on that lets the lenses drift off the eyes looks
wrong. Only the pixels around each frame change; the rest of the photo is returned as is.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from fitroom.engines.base import Engine, EngineRequest, EngineResult, Input
from fitroom.engines.cpu.face import MODELS as FACE_MODELS
from fitroom.engines.cpu.face import Face, find_faces
from fitroom.engines.cpu.glasses_asset import (
    GlassesAsset,
    default_glasses,
    load_glasses,
)
from fitroom.engines.registry import register
from fitroom.options import JobKind, TryOnOptions

# The frame's scale may differ from the pupils-exact scale by this fraction; each lens
# centre then lands within half of it (in inter-pupil distances) of its pupil.
LENS_TOLERANCE = 0.12
SHADOW_STRENGTH = 0.3  # how much light the frame keeps off the skin just below it
SHADOW_DROP = 0.06  # shadow offset below the frame, in inter-pupil distances
SHADOW_BLUR = 0.04  # shadow softness (Gaussian sigma), in inter-pupil distances

# Options a glasses try-on cannot honour, and why.
NOT_FOR_GLASSES = {
    "region": "glasses always go on the face",
    "photo_type": "the glasses image kind (PNG or product shot) is detected",
    "effort": "there is a single quality level; it already runs in tens of milliseconds",
    "crop": "the whole photo is returned",
    "mask_only": "glasses are composited, not masked",
    "remove_background": "the photo's background is kept unchanged",
    "preprocess_garment": "glasses images are always analysed the same way",
    "garment_description": "the frame is taken from the glasses image",
    "seed": "placement is deterministic; variants differ by fit, not by chance",
}


@dataclass(frozen=True)
class Fit:
    """How one output wears the frame: the variants of ``num_outputs`` differ in this."""

    name: str
    drop: float  # lower on the nose by this many inter-pupil distances (negative: higher)
    width: float  # × the width matched to the face


FITS = (
    Fit("standard", 0.0, 1.0),
    Fit("higher on the nose", -0.05, 1.0),
    Fit("lower on the nose", 0.05, 1.0),
    Fit("narrower", 0.0, 0.94),
    Fit("wider", 0.0, 1.06),
)


def _rotation(angle: float) -> np.ndarray:
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s], [s, c]])


def placement(face: Face, asset: GlassesAsset, fit: Fit = FITS[0]) -> np.ndarray:
    """The 2×3 affine map from the frontal frame's pixels to the photo's, for one face."""
    eyes = face.pupils[1] - face.pupils[0]
    ipd = float(np.linalg.norm(eyes))
    roll = math.atan2(eyes[1], eyes[0])
    lenses = asset.lens_centres[1] - asset.lens_centres[0]
    tilt = math.atan2(lenses[1], lenses[0])
    cos_yaw = min(1.0, max(0.5, math.cos(math.radians(face.yaw))))
    cos_pitch = min(1.0, max(0.7, math.cos(math.radians(face.pitch))))

    on_pupils = ipd / asset.lens_distance  # the image-plane scale (already foreshortened)
    to_temples = face.temple_width_3d * cos_yaw / asset.width
    across = fit.width * float(np.clip(to_temples, on_pupils * (1 - LENS_TOLERANCE),
                                       on_pupils * (1 + LENS_TOLERANCE)))
    # A turned head shows the frame narrower, not shorter; a bowed one shows it shorter.
    down = across / cos_yaw * cos_pitch
    linear = _rotation(roll) @ np.diag([across, down]) @ _rotation(-tilt)
    below = _rotation(roll) @ np.array([0.0, 1.0])
    shift = face.pupils.mean(axis=0) + fit.drop * ipd * below - linear @ asset.lens_centres.mean(axis=0)
    return np.hstack([linear, shift[:, None]])


def _apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ affine[:, :2].T + affine[:, 2]


def render(photo: np.ndarray, asset: GlassesAsset, affine: np.ndarray, ipd: float) -> None:
    """Draw the frame onto ``photo`` (uint8 RGB, changed in place) inside the frame's box:
    only those pixels are converted to float and back, the rest are never touched."""
    layers = asset.layers
    # Shrink the frame to its final size first: an area filter keeps thin rims smooth
    # where a warp that minifies would alias them.
    scale = math.sqrt(abs(np.linalg.det(affine[:, :2])))
    if scale < 0.9:
        size = (max(2, round(layers.shape[1] * scale)), max(2, round(layers.shape[0] * scale)))
        # (OpenCV's area filter takes at most 4 channels at a time.)
        layers = np.dstack([cv2.resize(np.ascontiguousarray(part), size, interpolation=cv2.INTER_AREA)
                            for part in (layers[..., :4], layers[..., 4:])])
        shrink = np.diag([asset.layers.shape[1] / size[0], asset.layers.shape[0] / size[1]])
        affine = np.hstack([affine[:, :2] @ shrink, affine[:, 2:]])

    h, w = layers.shape[:2]
    corners = _apply(affine, np.array([[0, 0], [w, 0], [w, h], [0, h]], float))
    margin = (SHADOW_DROP + 3 * SHADOW_BLUR) * ipd + 2
    x0, y0 = np.floor(corners.min(axis=0) - margin).astype(int).clip(0)
    x1, y1 = np.ceil(corners.max(axis=0) + margin).astype(int).clip(None, (photo.shape[1], photo.shape[0]))
    if x1 <= x0 or y1 <= y0:
        return
    to_box = affine - np.array([[0, 0, x0], [0, 0, y0]])
    warped = cv2.warpAffine(layers, to_box, (int(x1 - x0), int(y1 - y0)), flags=cv2.INTER_LINEAR)
    colour, alpha, lens_filter = warped[..., :3], warped[..., 3:4], warped[..., 4:7]

    below = affine[:, :2] @ np.array([0.0, 1.0])
    below *= SHADOW_DROP * ipd / np.linalg.norm(below)
    shadow = cv2.warpAffine(np.ascontiguousarray(alpha[..., 0]),
                            np.array([[1, 0, below[0]], [0, 1, below[1]]], np.float32),
                            (alpha.shape[1], alpha.shape[0]))
    shadow = cv2.GaussianBlur(shadow, (0, 0), SHADOW_BLUR * ipd)[..., None]

    box = photo[y0:y1, x0:x1].astype(np.float32) / 255
    box *= 1 - SHADOW_STRENGTH * shadow
    box *= 1 - lens_filter
    box *= 1 - alpha
    box += colour
    photo[y0:y1, x0:x1] = (np.clip(box, 0, 1) * 255 + 0.5).astype(np.uint8)


@register(default=True)
class CpuGlassesEngine(Engine):
    """MediaPipe face mesh + a rectified frame, composited in tens of milliseconds."""

    name = "cpu-glasses"
    kinds = frozenset({JobKind.GLASSES})
    # The frame's transparency is its shape: a PNG product shot keeps its alpha.
    inputs = (Input("person"), Input("glasses", required=False, keep_alpha=True))

    def warm_up(self) -> None:
        FACE_MODELS.warm_up()
        default_glasses()

    def run(self, request: EngineRequest) -> EngineResult:
        start = time.perf_counter()
        person = np.ascontiguousarray(request.images["person"][..., :3])
        options = request.options
        given = request.images.get("glasses")

        faces = find_faces(person)
        faces_done = time.perf_counter()
        asset = default_glasses() if given is None else load_glasses(given)
        glasses_done = time.perf_counter()

        fits = FITS[: options.num_outputs]
        images, placements = [], []
        for fit in fits:
            canvas = person.copy()
            placed = []
            for face in faces:
                affine = placement(face, asset, fit)
                render(canvas, asset, affine, face.inter_pupil_distance)
                placed.append(affine)
            images.append(canvas)
            placements.append(placed)
        end = time.perf_counter()

        metadata = {
            "engine": self.name,
            "applied": self._applied(options, asset, given is None),
            "not_applied": self._not_applied(options),
            "faces": len(faces),
            "placements": [self._facts(face, asset, affine) for face, affine in zip(faces, placements[0])],
            "variants": {
                "varies": "fit: how high the frame sits on the nose and how wide it is",
                "outputs": [{"index": i, "fit": f.name, "drop_ipd": f.drop, "width_scale": f.width}
                            for i, f in enumerate(fits)],
            },
            "timings_ms": {
                "faces": round(1000 * (faces_done - start), 1),
                "glasses": round(1000 * (glasses_done - faces_done), 1),
                "render": round(1000 * (end - glasses_done), 1),
                "total": round(1000 * (end - start), 1),
            },
        }
        return EngineResult(images=images, metadata=metadata)

    @staticmethod
    def _facts(face: Face, asset: GlassesAsset, affine: np.ndarray) -> dict[str, Any]:
        """Where this face's frame went: enough to measure it against the face."""
        lens_centres = _apply(affine, asset.lens_centres)
        frame_ends = _apply(affine, np.array([[0.0, asset.lens_centres[:, 1].mean()],
                                              [asset.width, asset.lens_centres[:, 1].mean()]]))
        return {
            **face.summary(),
            "lens_centres": np.round(lens_centres, 1).tolist(),
            "frame_width_px": round(float(np.linalg.norm(frame_ends[1] - frame_ends[0])), 1),
            "face_width_px": round(float(np.linalg.norm(face.temples[1] - face.temples[0])), 1),
        }

    @staticmethod
    def _applied(options: TryOnOptions, asset: GlassesAsset, default: bool) -> dict[str, Any]:
        glasses: dict[str, Any] = {"source": asset.source}
        if not default:
            glasses["rectified_from_deg"] = asset.view_angle_deg
        return {"num_outputs": options.num_outputs, "glasses": glasses}

    @staticmethod
    def _not_applied(options: TryOnOptions) -> dict[str, str]:
        reasons = {name: why for name, why in NOT_FOR_GLASSES.items() if name in options.model_fields_set}
        reasons.update({f"extras.{key}": "not a glasses option" for key in options.extras})
        return reasons
