"""Face analysis for glasses: where the pupils, eye corners, nose bridge and temples are,
and how the head is turned, for every face in a photo.

MediaPipe's face mesh (with iris refinement) is accurate but only on a face that fills
much of its input, and its own detector is the short-range one. So faces are found first
with the full-range face detector (model_selection=1, which finds the small heads of
full-body shots), falling back to the pose model's head landmarks, and the mesh then runs
on a square crop around each head. Models load lazily, once per process; MediaPipe graphs
are not re-entrant, so each one is used under its own lock.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from fitroom.errors import NoFaceFound

# Face-mesh indices (MediaPipe's canonical 478-point topology with iris refinement).
# "left"/"right" below are the image's left and right (the subject's right and left eye).
IRIS_LEFT, IRIS_RIGHT = 468, 473
EYE_LEFT_OUTER, EYE_LEFT_INNER = 33, 133
EYE_RIGHT_INNER, EYE_RIGHT_OUTER = 362, 263
NOSE_BRIDGE = 168  # between the eyes, where a frame's bridge rests
TEMPLE_LEFT, TEMPLE_RIGHT = 127, 356  # face outline at eye height
FOREHEAD, CHIN = 10, 152

# A head crop is this many face-detector boxes wide: the mesh's own detector wants the
# face to fill roughly half of its input, with some hair and chin around it.
CROP_FACTOR = 2.2
CROP_SIZE = 256  # px; the landmark model itself runs at 192, so more buys nothing


@dataclass(frozen=True)
class Face:
    """One analysed face, in pixel coordinates of the photo (x right, y down).

    ``landmarks`` holds all 478 mesh points as (x, y, z), z in the same pixel scale as x
    and smaller towards the camera. Angles are in degrees: ``roll`` is the eye line's
    angle to the horizontal (positive turns clockwise on screen), ``yaw`` is positive when
    the nose points to the image's right, ``pitch`` positive when the head looks down.
    """

    landmarks: np.ndarray
    roll: float
    yaw: float
    pitch: float

    def point(self, index: int) -> np.ndarray:
        return self.landmarks[index, :2]

    @property
    def pupils(self) -> np.ndarray:
        """2×2: image-left pupil, image-right pupil."""
        return self.landmarks[[IRIS_LEFT, IRIS_RIGHT], :2]

    @property
    def eye_corners(self) -> np.ndarray:
        """4×2: left outer, left inner, right inner, right outer."""
        idx = [EYE_LEFT_OUTER, EYE_LEFT_INNER, EYE_RIGHT_INNER, EYE_RIGHT_OUTER]
        return self.landmarks[idx, :2]

    @property
    def nose_bridge(self) -> np.ndarray:
        return self.point(NOSE_BRIDGE)

    @property
    def temples(self) -> np.ndarray:
        """2×2: the face outline at eye height, left then right."""
        return self.landmarks[[TEMPLE_LEFT, TEMPLE_RIGHT], :2]

    @property
    def inter_pupil_distance(self) -> float:
        """In the image plane, in pixels (so foreshortened by yaw)."""
        return float(np.linalg.norm(self.pupils[1] - self.pupils[0]))

    @property
    def temple_width_3d(self) -> float:
        """Face width at the temples as if seen frontally, in pixels of this photo."""
        return float(np.linalg.norm(self.landmarks[TEMPLE_RIGHT] - self.landmarks[TEMPLE_LEFT]))

    def summary(self) -> dict[str, Any]:
        """The facts a caller (metadata, eval) reports, as plain JSON values."""

        def r(a: np.ndarray) -> list:
            return np.round(a, 1).tolist()

        return {
            "pupils": r(self.pupils),
            "eye_corners": r(self.eye_corners),
            "nose_bridge": r(self.nose_bridge),
            "temples": r(self.temples),
            "roll_deg": round(self.roll, 1),
            "yaw_deg": round(self.yaw, 1),
            "pitch_deg": round(self.pitch, 1),
            "inter_pupil_px": round(self.inter_pupil_distance, 1),
        }


class _Models:
    """The three MediaPipe graphs, each created on first use and guarded by a lock."""

    def __init__(self) -> None:
        self._create_lock = threading.Lock()
        self._graphs: dict[str, Any] = {}
        self._locks = {name: threading.Lock() for name in ("detector", "mesh", "pose")}

    def _graph(self, name: str) -> Any:
        with self._create_lock:
            if name not in self._graphs:
                import mediapipe as mp  # heavy; only processes that analyse faces pay for it

                if name == "detector":
                    graph = mp.solutions.face_detection.FaceDetection(
                        model_selection=1, min_detection_confidence=0.5
                    )
                elif name == "mesh":
                    graph = mp.solutions.face_mesh.FaceMesh(
                        static_image_mode=True,
                        max_num_faces=1,
                        refine_landmarks=True,
                        min_detection_confidence=0.3,
                    )
                else:  # only model_complexity=1 ships in the wheel; 0 and 2 would download
                    graph = mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1)
                self._graphs[name] = graph
            return self._graphs[name]

    def process(self, name: str, rgb: np.ndarray) -> Any:
        graph = self._graph(name)
        with self._locks[name]:
            return graph.process(rgb)

    def warm_up(self) -> None:
        for name in self._locks:
            self._graph(name)


MODELS = _Models()


def _detect(rgb: np.ndarray, x0: int = 0, y0: int = 0) -> list[tuple[float, float, float]]:
    """Heads as (centre x, centre y, size) in pixels, from the full-range detector."""
    h, w = rgb.shape[:2]
    result = MODELS.process("detector", np.ascontiguousarray(rgb))
    boxes = []
    for det in result.detections or []:
        box = det.location_data.relative_bounding_box
        size = max(box.width * w, box.height * h)
        boxes.append((x0 + (box.xmin + box.width / 2) * w, y0 + (box.ymin + box.height / 2) * h, size))
    return boxes


def _head_boxes_from_detector(rgb: np.ndarray) -> list[tuple[float, float, float]]:
    """Heads in the whole photo; failing that, in overlapping tiles of two thirds of its
    short side. The detector sees the photo at 192×192, where a full-body shot's face is a
    dozen pixels: a tile brings it closer."""
    boxes = _detect(rgb)
    if boxes:
        return boxes
    h, w = rgb.shape[:2]
    side = 2 * min(h, w) // 3
    step = side // 2
    for y in range(0, max(h - side, 0) + step, step):
        for x in range(0, max(w - side, 0) + step, step):
            for box in _detect(rgb[y:y + side, x:x + side], x, y):
                # Overlapping tiles see the same head twice; keep it once.
                if all(math.dist(box[:2], seen[:2]) > 0.5 * seen[2] for seen in boxes):
                    boxes.append(box)
    return boxes


def _head_box_from_pose(rgb: np.ndarray) -> list[tuple[float, float, float]]:
    """The one head the pose model sees: nose, eyes and ears (indices 0–8) span it."""
    h, w = rgb.shape[:2]
    result = MODELS.process("pose", rgb)
    if result.pose_landmarks is None:
        return []
    pts = np.array([(p.x * w, p.y * h, p.visibility) for p in result.pose_landmarks.landmark[:9]])
    if np.median(pts[:, 2]) < 0.5:
        return []
    xy = pts[:, :2]
    # Ear to ear is about a face-box width, and so is 2.5 eye distances (for when the ears
    # are hidden); the eyes sit a little above the box centre.
    size = max(1.1 * float(np.ptp(xy[:, 0])), 2.5 * math.dist(xy[2], xy[5]))
    cx, cy = xy.mean(axis=0)
    return [(float(cx), float(cy) + 0.1 * size, size)]


def _mesh_on_crop(rgb: np.ndarray, cx: float, cy: float, size: float) -> np.ndarray | None:
    """478×3 landmarks in photo pixels, from the mesh run on a square crop around a head."""
    side = CROP_FACTOR * size
    scale = CROP_SIZE / side
    # One affine takes photo pixels to crop pixels; borders replicate for heads at an edge.
    to_crop = np.array([[scale, 0, CROP_SIZE / 2 - scale * cx], [0, scale, CROP_SIZE / 2 - scale * cy]])
    crop = cv2.warpAffine(
        rgb, to_crop, (CROP_SIZE, CROP_SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    result = MODELS.process("mesh", crop)
    if not result.multi_face_landmarks:
        return None
    lm: np.ndarray = np.array([(p.x, p.y, p.z) for p in result.multi_face_landmarks[0].landmark]) * CROP_SIZE
    lm[:, 0] = (lm[:, 0] - to_crop[0, 2]) / scale
    lm[:, 1] = (lm[:, 1] - to_crop[1, 2]) / scale
    lm[:, 2] /= scale
    return lm


def head_pose(landmarks: np.ndarray) -> tuple[float, float, float]:
    """(roll, yaw, pitch) in degrees from the mesh's 3D points: the temple-to-temple axis
    and the forehead-to-chin axis of the face, orthogonalised, give its orientation."""
    across = landmarks[TEMPLE_RIGHT] - landmarks[TEMPLE_LEFT]
    down = landmarks[CHIN] - landmarks[FOREHEAD]
    across /= np.linalg.norm(across)
    down = down - across * float(down @ across)
    down /= np.linalg.norm(down)
    eyes = landmarks[IRIS_RIGHT, :2] - landmarks[IRIS_LEFT, :2]
    roll = math.degrees(math.atan2(eyes[1], eyes[0]))
    yaw = math.degrees(math.asin(float(np.clip(across[2], -1, 1))))
    pitch = math.degrees(math.asin(float(np.clip(down[2], -1, 1))))
    return roll, yaw, pitch


def _overlaps(lm: np.ndarray, faces: list[Face]) -> bool:
    """Whether this mesh is a face already found (two detector boxes on one head)."""
    centre = lm[NOSE_BRIDGE, :2]
    for face in faces:
        if np.linalg.norm(face.nose_bridge - centre) < 0.5 * face.inter_pupil_distance + 1:
            return True
    return False


def _eyes_inside(lm: np.ndarray, shape: tuple[int, ...]) -> bool:
    h, w = shape[:2]
    eyes = lm[[IRIS_LEFT, IRIS_RIGHT, EYE_LEFT_OUTER, EYE_RIGHT_OUTER], :2]
    return bool(np.all((eyes >= 0) & (eyes < (w, h))))


def find_faces(rgb: np.ndarray) -> list[Face]:
    """Every face in ``rgb`` (uint8 H×W×3), left to right. Raises ``NoFaceFound``."""
    boxes = _head_boxes_from_detector(rgb) or _head_box_from_pose(rgb)
    faces: list[Face] = []
    for cx, cy, size in boxes:
        lm = _mesh_on_crop(rgb, cx, cy, size)
        # The mesh always returns a whole face, guessing what the photo cut off: a head
        # whose eyes lie outside the frame (a body shot cropped at the chin) is no face to
        # put glasses on.
        if lm is None or not _eyes_inside(lm, rgb.shape) or _overlaps(lm, faces):
            continue
        faces.append(Face(lm, *head_pose(lm)))
    if not faces:
        raise NoFaceFound("no face with visible eyes was found in the person image")
    return sorted(faces, key=lambda f: float(f.nose_bridge[0]))
