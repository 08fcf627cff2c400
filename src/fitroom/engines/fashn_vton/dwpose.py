"""DWPose whole-body pose estimation on ONNX Runtime, as FASHN VTON v1.5 runs it.

Two models: a YOLOX-L person detector (``yolox_l.onnx``) and DWPose's distilled RTMPose
whole-body model (``dw-ll_ucoco_384.onnx``, 133 COCO-WholeBody keypoints read from SimCC
vectors). FASHN VTON was trained on skeletons drawn from exactly this chain, so every
number below is the one the published preprocessing uses, and every step reproduces its
output bit for bit for the same ONNX outputs (tests pin it against the published code on
stand-in models, see ``standin``):

* Detection: the BGR photo is resized (bilinear) to fit 640×640 and pasted top-left on
  grey 114; boxes are decoded on the YOLOX grids (strides 8, 16, 32); a candidate needs
  objectness × person score above 0.1, greedy NMS at IoU 0.45 follows, then a person
  needs a score above 0.3. Only the person class is decoded: the published NMS is per
  class, so the other 79 classes cannot change the person boxes.
* Pose: each box is widened by 1.25, grown to the model's 3:4 aspect and warped (bilinear,
  black border) to the model input, normalised with ImageNet's mean and std (applied to
  BGR channels, as published); SimCC maxima give locations (bins of half a pixel) and
  the smaller of the x and y maxima is the score. No box at all means the whole image.
* Assembly: a neck (mean of the shoulders, "visible" only if both are above 0.3) is
  inserted and the body reordered to OpenPose's 18-joint order; of several people the
  published heuristic keeps one (see ``pick_person``); coordinates are divided by the
  image size; a keypoint is visible when its score is above 0.3 (body) or not below 0.3
  (hands and face), as published.

Arithmetic follows the published dtypes on purpose (float32 decoding and NMS, float64
geometry, the same OpenCV calls to build and apply the crop warp): a one-ulp difference
in a box can move a warped pixel and, through the model, an argmax. NMS is our own
vectorised loop rather than ``cv2.dnn.NMSBoxes``, whose IoU has no "+1" pixel convention
and so disagrees with the published one near the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

DETECTOR_FILE = "yolox_l.onnx"
POSE_FILE = "dw-ll_ucoco_384.onnx"

DETECTOR_SIDE = 640
LETTERBOX_GREY = 114
DETECTOR_STRIDES = (8, 16, 32)
CANDIDATE_SCORE = 0.1
NMS_IOU = 0.45
PERSON_SCORE = 0.3
BOX_PADDING = 1.25
PIXEL_MEAN = np.array([123.675, 116.28, 103.53])
PIXEL_STD = np.array([58.395, 57.12, 57.375])
SIMCC_BINS_PER_PIXEL = 2.0
VISIBILITY = 0.3

# Whole-body layout after the neck is inserted (134 keypoints): 18 OpenPose body joints,
# 6 feet, 68 face, 21 + 21 hands.
BODY = slice(0, 18)
FEET = slice(18, 24)
FACE = slice(24, 92)
HANDS = slice(92, 134)
WHOLE_BODY_KEYPOINTS = 134
NECK = 17  # where the neck is inserted, before reordering
# For each OpenPose body position, the COCO index (neck = 17 once inserted) it takes its
# keypoint from; positions 0, 5 and 11 (nose, left shoulder, left hip) coincide.
_COCO_FOR_OPENPOSE = np.array([0, 17, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3])
_SHOULDERS = (5, 6)  # COCO left and right shoulder
_TORSO_AND_LIMBS = slice(1, 14)  # OpenPose joints 1..13: everything but the head

FloatArray = NDArray[np.float64]


class OnnxSession(Protocol):
    """The part of ``onnxruntime.InferenceSession`` used here."""

    def get_inputs(self) -> Sequence[Any]: ...

    def run(self, output_names: Sequence[str] | None, input_feed: dict[str, Any]) -> Sequence[Any]: ...


@dataclass(frozen=True)
class WholeBodyPose:
    """One person's 134 whole-body keypoints in OpenPose order (``BODY``, ``FEET``, ``FACE``,
    ``HANDS``), as fractions of the image width and height, with their scores.

    Coordinates are kept for invisible keypoints too (they may lie outside 0..1); the
    properties apply the published visibility rules. ``people`` is how many people the
    estimator found before keeping one (0 for the flat-lay placeholder)."""

    keypoints: FloatArray  # (134, 2): x / W, y / H
    scores: FloatArray  # (134,)
    people: int = 1

    @property
    def body(self) -> FloatArray:
        """(18, 2) OpenPose body joints: nose, neck, right arm, left arm, right leg, left
        leg, eyes, ears."""
        return self.keypoints[BODY]

    @property
    def body_visible(self) -> NDArray[np.bool_]:
        return self.scores[BODY] > VISIBILITY

    @property
    def face(self) -> FloatArray:
        """(68, 2) face landmarks, -1 where not visible."""
        return _mask_invisible(self.keypoints[FACE], self.scores[FACE])

    @property
    def hands(self) -> FloatArray:
        """(2, 21, 2) hand keypoints (the person's left hand first), -1 where not visible."""
        return _mask_invisible(self.keypoints[HANDS], self.scores[HANDS]).reshape(2, 21, 2)


def _mask_invisible(points: FloatArray, scores: FloatArray) -> FloatArray:
    return np.where((scores < VISIBILITY)[:, None], -1.0, points)


# --- sessions ---------------------------------------------------------------------------


def providers_for(device: str, available: Sequence[str]) -> list[Any]:
    """ONNX Runtime providers for ``device`` ("cpu", "cuda", "cuda:N"): CUDA on that device
    when this onnxruntime build has it, with CPU behind it for any node CUDA lacks;
    otherwise CPU alone. (The published code asks for CUDA alone whenever the device
    says "cuda", whatever the build.)"""
    if device.startswith("cuda") and "CUDAExecutionProvider" in available:
        index = device.partition(":")[2]
        return [("CUDAExecutionProvider", {"device_id": int(index or 0)}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@dataclass(frozen=True)
class PoseSessions:
    detector: OnnxSession
    pose: OnnxSession


def load_sessions(folder: str | Path, device: str = "cpu") -> PoseSessions:
    """Open ``yolox_l.onnx`` and ``dw-ll_ucoco_384.onnx`` from ``folder`` (the published
    weights' ``dwpose`` folder)."""
    import onnxruntime as ort  # loaded only when a model is

    folder = Path(folder)
    missing = [str(folder / f) for f in (DETECTOR_FILE, POSE_FILE) if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"DWPose weights missing: {', '.join(missing)}")
    providers = providers_for(device, ort.get_available_providers())
    return PoseSessions(
        detector=ort.InferenceSession(str(folder / DETECTOR_FILE), providers=providers),
        pose=ort.InferenceSession(str(folder / POSE_FILE), providers=providers),
    )


# --- detection --------------------------------------------------------------------------


def letterbox(bgr: np.ndarray) -> tuple[NDArray[np.float32], float]:
    """The detector input ([1, 3, 640, 640] float32, 0..255 BGR) and the resize ratio."""
    h, w = bgr.shape[:2]
    ratio = min(DETECTOR_SIDE / h, DETECTOR_SIDE / w)
    new_w, new_h = int(w * ratio), int(h * ratio)
    canvas = np.full((DETECTOR_SIDE, DETECTOR_SIDE, 3), LETTERBOX_GREY, np.uint8)
    canvas[:new_h, :new_w] = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    return np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32), ratio


def _grids() -> tuple[np.ndarray, np.ndarray]:
    cells, strides = [], []
    for s in DETECTOR_STRIDES:
        side = DETECTOR_SIDE // s
        gy, gx = np.mgrid[0:side, 0:side]
        cells.append(np.stack([gx.ravel(), gy.ravel()], axis=1))
        strides.append(np.full((side * side, 1), s))
    return np.concatenate(cells), np.concatenate(strides)


_GRID_CELLS, _GRID_STRIDES = _grids()


def nms(boxes: NDArray[np.float32], scores: NDArray[np.float32], iou: float = NMS_IOU) -> NDArray[np.intp]:
    """Greedy NMS, best score first, with the inclusive-pixel (+1) box size; indices kept.

    A box survives a kept one only when their IoU is ``<= iou`` (so a NaN IoU suppresses).
    The tie order of equal scores is numpy's ``argsort`` reversed, as published."""
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        iw = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        ih = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        inter = iw * ih
        overlap = inter / (areas[best] + areas[rest] - inter)
        order = rest[overlap <= iou]
    return np.array(keep, dtype=np.intp)


def decode_people(raw: np.ndarray, ratio: float) -> FloatArray:
    """Person boxes (x0, y0, x1, y1 in photo pixels), best first, from the detector's
    [1, 8400, 85] output."""
    pred = np.asarray(raw, dtype=np.float32)[0]
    centres = ((pred[:, :2] + _GRID_CELLS) * _GRID_STRIDES).astype(np.float32)
    sizes = (np.exp(pred[:, 2:4]) * _GRID_STRIDES).astype(np.float32)
    person = pred[:, 4] * pred[:, 5]
    boxes = np.concatenate([centres - sizes / 2.0, centres + sizes / 2.0], axis=1)
    boxes /= np.float32(ratio)
    candidates = person > CANDIDATE_SCORE
    boxes, person = boxes[candidates], person[candidates]
    kept = nms(boxes, person)
    sure = person[kept].astype(np.float64) > PERSON_SCORE
    return boxes[kept][sure].astype(np.float64)


def detect_people(session: OnnxSession, bgr: np.ndarray) -> FloatArray:
    tensor, ratio = letterbox(bgr)
    (raw, *_) = session.run(None, {session.get_inputs()[0].name: tensor})
    return decode_people(raw, ratio)


# --- pose -------------------------------------------------------------------------------


def pose_input_size(session: OnnxSession) -> tuple[int, int]:
    """(width, height) of the pose model input, read from the model (288×384 for DWPose-L)."""
    h, w = session.get_inputs()[0].shape[2:]
    if not isinstance(h, int) or not isinstance(w, int):
        raise TypeError(f"pose model input must have a fixed size, got {h}×{w}")
    return w, h


def crop_box(box: np.ndarray, input_wh: tuple[int, int]) -> tuple[FloatArray, FloatArray]:
    """Centre and size (w, h) of the crop for ``box``: widened by 1.25, then grown along one
    axis to the model's aspect ratio."""
    x0, y0, x1, y1 = np.asarray(box, dtype=np.float64)
    centre = np.array([x0 + x1, y0 + y1]) * 0.5
    w, h = np.array([x1 - x0, y1 - y0]) * BOX_PADDING
    aspect = input_wh[0] / input_wh[1]
    size = np.array([w, w / aspect]) if w > h * aspect else np.array([h * aspect, h])
    return centre, size


def crop_warp(centre: FloatArray, size: FloatArray, input_wh: tuple[int, int]) -> np.ndarray:
    """The 2×3 affine that maps the crop onto the model input.

    Built, as published, by ``cv2.getAffineTransform`` from three float32 point pairs
    (centre, half a width above it, and that vector turned by 90°) rather than in closed
    form: the result then matches to the last bit, which ``warpAffine``'s fixed-point
    sampling can tell apart."""
    out_w, out_h = input_wh
    src = np.zeros((3, 2), np.float32)
    src[0] = centre
    src[1] = centre + np.array([0.0, size[0] * -0.5])
    up = src[0] - src[1]
    src[2] = src[1] + np.array([-up[1], up[0]], np.float32)
    dst = np.zeros((3, 2), np.float32)
    dst[0] = [out_w * 0.5, out_h * 0.5]
    dst[1] = [out_w * 0.5, out_h * 0.5 - out_w * 0.5]
    down = dst[0] - dst[1]
    dst[2] = dst[1] + np.array([-down[1], down[0]], np.float32)
    return cv2.getAffineTransform(src, dst)


def pose_input(bgr: np.ndarray, centre: FloatArray, size: FloatArray, input_wh: tuple[int, int]) -> NDArray[np.float32]:
    """The normalised [1, 3, H, W] float32 model input for one crop."""
    crop = cv2.warpAffine(bgr, crop_warp(centre, size, input_wh), input_wh, flags=cv2.INTER_LINEAR)
    normalised = (crop - PIXEL_MEAN) / PIXEL_STD  # float64, rounded once to float32 below
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[None], dtype=np.float32)


def decode_simcc(simcc_x: np.ndarray, simcc_y: np.ndarray) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Keypoint locations in model-input pixels (K, 2) and scores (K,) from one person's
    SimCC vectors; a non-positive score puts the location at (-0.5, -0.5)."""
    sx, sy = np.asarray(simcc_x)[0], np.asarray(simcc_y)[0]
    locs = np.stack([sx.argmax(axis=1), sy.argmax(axis=1)], axis=-1).astype(np.float32)
    best_x, best_y = sx.max(axis=1), sy.max(axis=1)
    scores = np.where(best_x > best_y, best_y, best_x)  # the smaller one; NaN handling as published
    locs[scores <= 0.0] = -1
    return locs / np.float32(SIMCC_BINS_PER_PIXEL), scores


def estimate_keypoints(session: OnnxSession, bgr: np.ndarray, boxes: np.ndarray) -> tuple[FloatArray, FloatArray]:
    """COCO-WholeBody keypoints (N, 133, 2) in photo pixels and their scores (N, 133), one
    row per box (the whole photo when there is none)."""
    if len(boxes) == 0:
        boxes = np.array([[0, 0, bgr.shape[1], bgr.shape[0]]])
    input_wh = pose_input_size(session)
    name = session.get_inputs()[0].name
    all_points, all_scores = [], []
    for box in boxes:
        centre, size = crop_box(box, input_wh)
        simcc_x, simcc_y = session.run(None, {name: pose_input(bgr, centre, size, input_wh)})[:2]
        locs, scores = decode_simcc(simcc_x, simcc_y)
        all_points.append(locs / np.array(input_wh) * size + centre - size / 2)
        all_scores.append(scores)
    return np.stack(all_points), np.stack(all_scores).astype(np.float64)


def to_openpose(keypoints: FloatArray, scores: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Insert the neck (keypoint 17) and move the body joints to OpenPose order: (N, 134, 2)
    and (N, 134). The neck's score is 1 when both shoulders score above 0.3, else 0."""
    left, right = _SHOULDERS
    neck = (keypoints[:, left] + keypoints[:, right]) / 2
    neck_score = ((scores[:, left] > VISIBILITY) & (scores[:, right] > VISIBILITY)).astype(np.float64)
    points = np.insert(keypoints, NECK, neck, axis=1)
    values = np.insert(scores, NECK, neck_score, axis=1)
    points[:, BODY] = points[:, _COCO_FOR_OPENPOSE]
    values[:, BODY] = values[:, _COCO_FOR_OPENPOSE]
    return points, values


def pick_person(keypoints: FloatArray, scores: FloatArray) -> int:
    """Which of several people to keep, by the published heuristic: the sum of the scores
    above 0.3 of the 13 torso and limb joints, times the area of the box around those
    joints. Quirks kept on purpose, since they decide which skeleton the model sees: the
    joints entering every person's box are the ones visible for the *first* person, and
    zero or negative coordinates are left out of it. When every product is 0 (or not
    finite) the best score sum alone decides."""
    part = scores[:, _TORSO_AND_LIMBS]
    visible = part > VISIBILITY
    sums = (part * visible).sum(axis=1)
    areas = np.zeros(len(keypoints))
    for n, points in enumerate(keypoints[:, _TORSO_AND_LIMBS][:, visible[0]]):
        xs, ys = points[:, 0][points[:, 0] > 0], points[:, 1][points[:, 1] > 0]
        if len(xs) and len(ys):
            areas[n] = (xs.max() - xs.min()) * (ys.max() - ys.min())
    with np.errstate(invalid="ignore", over="ignore"):
        products = sums * areas
    products[~np.isfinite(products)] = 0
    return int(np.argmax(sums) if np.all(products == 0) else np.argmax(products))


class DWPose:
    """The published DWPose chain for one BGR photo: the single best person's pose."""

    def __init__(self, sessions: PoseSessions) -> None:
        self.sessions = sessions

    @classmethod
    def from_folder(cls, folder: str | Path, device: str = "cpu") -> DWPose:
        return cls(load_sessions(folder, device))

    def people(self, bgr: np.ndarray) -> tuple[FloatArray, FloatArray]:
        """Every person found: OpenPose-ordered keypoints (N, 134, 2) in pixels and scores
        (N, 134); N >= 1, since no detection means one pose over the whole photo."""
        bgr = np.ascontiguousarray(bgr)
        boxes = detect_people(self.sessions.detector, bgr)
        return to_openpose(*estimate_keypoints(self.sessions.pose, bgr, boxes))

    def __call__(self, bgr: np.ndarray) -> WholeBodyPose:
        """``bgr``: H×W×3 uint8 in BGR order (the published pipeline flips its RGB arrays)."""
        if bgr.ndim != 3 or bgr.shape[2] != 3 or bgr.dtype != np.uint8:
            raise ValueError(f"expected an H×W×3 uint8 BGR image, got {bgr.dtype} {bgr.shape}")
        keypoints, scores = self.people(bgr)
        n = pick_person(keypoints, scores) if len(keypoints) > 1 else 0
        h, w = bgr.shape[:2]
        normalised = keypoints[n] / np.array([float(w), float(h)])
        return WholeBodyPose(keypoints=normalised, scores=scores[n], people=len(keypoints))
