"""The grey skeleton FASHN VTON v1.5 was trained on, drawn from a ``WholeBodyPose``.

The model reads the pose as one uint8 channel, so the drawing must be the published one
pixel for pixel (tests compare it with the published ``draw_pose(..., grayscale=True)``):

* Body: 17 limbs between the 18 OpenPose joints, each a filled ellipse polygon
  (``cv2.ellipse2Poly``, half-length ``length // 2``, half-width 4, integer angle) in its
  own grey, from 20 to 240 in 18 even steps (``np.linspace`` then a uint8 cast), painted
  in limb order on a separate layer (a later limb overwrites an earlier one) that is
  dimmed to 60% (float multiply, truncation) and merged with ``max``. Then every visible
  joint gets a filled circle of radius 4 in 1.3× (truncated, capped at 255) the grey of
  the first limb that lists it.
* Hands: the 20 edges of each hand (the person's left hand first) as 2-pixel lines in greys
  160 to 220, then a radius-4 dot of 240 on each keypoint, drawn directly on the canvas.
* Face: a radius-3 dot of 200 on each of the 68 landmarks.

Coordinates are fractions of the image size, turned into pixels by ``int(x * W)`` (so
towards zero). A hand or face point is drawn only when both pixel coordinates are at
least 1 (the published test is ``> 0.01`` on integers): points on the top row or left
column are dropped, as published. A body joint needs only its visibility.

A flat-lay garment has no wearer; its pose is ``flat_lay_pose()``, which draws nothing,
so its canvas is all zeros (the published placeholder, all keypoints -1).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from numpy.typing import NDArray

from fitroom.engines.fashn_vton.dwpose import WHOLE_BODY_KEYPOINTS, WholeBodyPose

# OpenPose limbs as 1-based joint pairs (the order decides greys and overwrites).
LIMBS = ((2, 3), (2, 6), (3, 4), (4, 5), (6, 7), (7, 8), (2, 9), (9, 10), (10, 11), (2, 12), (12, 13), (13, 14),
         (2, 1), (1, 15), (15, 17), (1, 16), (16, 18))
HAND_EDGES = ((0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
              (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20))

LIMB_HALF_WIDTH = 4
JOINT_RADIUS = 4
HAND_LINE_WIDTH = 2
HAND_DOT_RADIUS = 4
HAND_DOT_GREY = 240
FACE_DOT_RADIUS = 3
FACE_DOT_GREY = 200

# 18 greys, of which the 17 limbs use the first 17.
LIMB_GREYS = np.linspace(20, 240, 18).astype(np.uint8)
# The 60% dimming of the limb layer, as a lookup table of the published float product.
_DIM = (np.arange(256) * 0.6).astype(np.uint8)
HAND_EDGE_GREYS = np.linspace(160, 220, len(HAND_EDGES)).astype(np.uint8)


def _joint_greys() -> tuple[int, ...]:
    greys = []
    for joint in range(1, 19):
        first = next(i for i, limb in enumerate(LIMBS) if joint in limb)
        greys.append(min(255, int(LIMB_GREYS[first] * 1.3)))
    return tuple(greys)


JOINT_GREYS = _joint_greys()


def _pixels(points: NDArray[np.float64], height: int, width: int) -> NDArray[np.int64]:
    """Fractions to integer pixels, truncating towards zero like ``int()``."""
    return np.stack([points[..., 0] * width, points[..., 1] * height], axis=-1).astype(np.int64)


def draw_body(canvas: NDArray[np.uint8], body: NDArray[np.float64], visible: NDArray[np.bool_]) -> NDArray[np.uint8]:
    """Limbs then joints of one OpenPose body (18 × 2 fractions) onto ``canvas`` (H × W);
    returns the new canvas."""
    height, width = canvas.shape
    xy = [(int(x), int(y)) for x, y in _pixels(body, height, width)]
    limbs = np.zeros_like(canvas)
    for grey, (a, b) in zip(LIMB_GREYS[: len(LIMBS)], LIMBS, strict=True):
        if not (visible[a - 1] and visible[b - 1]):
            continue
        (xa, ya), (xb, yb) = xy[a - 1], xy[b - 1]
        length = int(math.hypot(xa - xb, ya - yb))
        angle = int(math.degrees(math.atan2(ya - yb, xa - xb)))
        polygon = cv2.ellipse2Poly(((xa + xb) // 2, (ya + yb) // 2), (length // 2, LIMB_HALF_WIDTH), angle, 0, 360, 1)
        cv2.fillConvexPoly(limbs, np.asarray(polygon, np.int32), (int(grey),))
    canvas = np.maximum(canvas, _DIM[limbs])
    for joint in np.flatnonzero(visible):
        cv2.circle(canvas, xy[joint], JOINT_RADIUS, (JOINT_GREYS[joint],), thickness=-1)
    return canvas


def _drawable(x: int, y: int) -> bool:
    return x >= 1 and y >= 1


def draw_hands(canvas: NDArray[np.uint8], hands: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Each hand's (21 × 2 fractions, -1 where not visible) edges, then dots, in place."""
    height, width = canvas.shape
    for hand in hands:
        xy = [(int(x), int(y)) for x, y in _pixels(hand, height, width)]
        for grey, (a, b) in zip(HAND_EDGE_GREYS, HAND_EDGES, strict=True):
            if _drawable(*xy[a]) and _drawable(*xy[b]):
                cv2.line(canvas, xy[a], xy[b], (int(grey),), thickness=HAND_LINE_WIDTH)
        for point in xy:
            if _drawable(*point):
                cv2.circle(canvas, point, HAND_DOT_RADIUS, (HAND_DOT_GREY,), thickness=-1)
    return canvas


def draw_face(canvas: NDArray[np.uint8], face: NDArray[np.float64]) -> NDArray[np.uint8]:
    """Face landmarks (68 × 2 fractions, -1 where not visible) as dots, in place."""
    height, width = canvas.shape
    for x, y in _pixels(face, height, width):
        if _drawable(int(x), int(y)):
            cv2.circle(canvas, (int(x), int(y)), FACE_DOT_RADIUS, (FACE_DOT_GREY,), thickness=-1)
    return canvas


def draw_skeleton(pose: WholeBodyPose, height: int, width: int) -> NDArray[np.uint8]:
    """The H × W uint8 pose image the model takes: body, then hands, then face, on black."""
    canvas = draw_body(np.zeros((height, width), np.uint8), pose.body, pose.body_visible)
    canvas = draw_hands(canvas, pose.hands)
    return draw_face(canvas, pose.face)


def flat_lay_pose() -> WholeBodyPose:
    """The pose of a garment photographed without a wearer: nothing visible (every
    keypoint at -1, every score 0), so ``draw_skeleton`` leaves the canvas black."""
    return WholeBodyPose(
        keypoints=np.full((WHOLE_BODY_KEYPOINTS, 2), -1.0), scores=np.zeros(WHOLE_BODY_KEYPOINTS), people=0
    )
