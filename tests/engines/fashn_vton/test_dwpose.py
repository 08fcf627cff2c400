"""DWPose chain against the published FASHN VTON code, on seeded stand-in models.

The reference (``tests/fixtures/fashn_vton/pose_reference.*``) was written by
``scripts/make_pose_reference.py`` running the published Wholebody / DWposeDetector /
draw_pose on the same stand-in models and synthetic photos; see that script.
"""

from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image

from fitroom.engines.fashn_vton import dwpose, resize, standin
from fitroom.engines.fashn_vton.dwpose import DETECTOR_FILE, POSE_FILE, DWPose
from fitroom.engines.fashn_vton.skeleton import draw_skeleton
from tests.engines.fashn_vton.references import FIXTURES, pose_arrays, pose_reference

TOL = 1e-4


def sha256(data: bytes | np.ndarray) -> str:
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return pose_reference()


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return pose_arrays()


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory, reference: dict[str, Any]) -> Path:
    return standin.write_pose_standins(tmp_path_factory.mktemp("weights"), seed=reference["standin_seed"])


@pytest.fixture(scope="module")
def estimator(weights: Path) -> DWPose:
    return DWPose.from_folder(weights)


def photo_bgr(record: dict[str, Any]) -> np.ndarray:
    """The pre-resized photo as the published pipeline hands it to DWPose (RGB flipped to BGR)."""
    return _photo_bgr(record["height"], record["width"], record["seed"], record["sha256"], record["pre_resized_sha256"])


@functools.cache
def _photo_bgr(height: int, width: int, seed: int, photo_sha: str, resized_sha: str) -> np.ndarray:
    rgb = standin.synthetic_person_image(height, width, seed)
    assert sha256(rgb) == photo_sha, "synthetic photo generator drifted; rerun make_pose_reference.py"
    resized = np.array(resize.pre_resize(Image.fromarray(rgb)))
    assert sha256(resized) == resized_sha
    bgr = resized[..., ::-1]
    bgr.flags.writeable = False
    return bgr


def photo_ids(reference_path: Path = FIXTURES / "pose_reference.json") -> list[str]:
    return [p["name"] for p in json.loads(reference_path.read_text())["photos"]]


def photo(reference: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in reference["photos"] if p["name"] == name)


def test_standins_are_the_pinned_models(weights: Path, reference: dict[str, Any]) -> None:
    for name in (DETECTOR_FILE, POSE_FILE):
        assert sha256((weights / name).read_bytes()) == reference["models"][name], name
        assert (weights / name).stat().st_size < 1_000_000


def test_standin_signatures(estimator: DWPose) -> None:
    det, pose = estimator.sessions.detector, estimator.sessions.pose
    assert det.get_inputs()[0].shape == [1, 3, 640, 640]
    assert pose.get_inputs()[0].shape == [1, 3, 384, 288]
    assert dwpose.pose_input_size(pose) == (288, 384)
    outputs = det.run(None, {det.get_inputs()[0].name: np.zeros((1, 3, 640, 640), np.float32)})
    assert outputs[0].shape == (1, 8400, 85)
    simcc = pose.run(None, {pose.get_inputs()[0].name: np.zeros((1, 3, 384, 288), np.float32)})
    assert [o.shape for o in simcc] == [(1, 133, 576), (1, 133, 768)]


@pytest.mark.parametrize("name", photo_ids())
def test_detection_matches_published(
    estimator: DWPose, reference: dict[str, Any], arrays: dict[str, np.ndarray], name: str
) -> None:
    bgr = np.ascontiguousarray(photo_bgr(photo(reference, name)))
    boxes = dwpose.detect_people(estimator.sessions.detector, bgr)
    expected = arrays[f"{name}_boxes"]
    assert boxes.shape == expected.shape and len(boxes) >= 1
    np.testing.assert_allclose(boxes, expected, rtol=0, atol=TOL)


@pytest.mark.parametrize("name", photo_ids())
def test_every_person_matches_published(
    estimator: DWPose, reference: dict[str, Any], arrays: dict[str, np.ndarray], name: str
) -> None:
    keypoints, scores = estimator.people(photo_bgr(photo(reference, name)))
    assert keypoints.shape == arrays[f"{name}_people_keypoints"].shape
    np.testing.assert_allclose(keypoints, arrays[f"{name}_people_keypoints"], rtol=0, atol=TOL)
    np.testing.assert_allclose(scores, arrays[f"{name}_people_scores"], rtol=0, atol=TOL)


@pytest.mark.parametrize("name", photo_ids())
def test_chosen_pose_matches_published(
    estimator: DWPose, reference: dict[str, Any], arrays: dict[str, np.ndarray], name: str
) -> None:
    record = photo(reference, name)
    pose = estimator(photo_bgr(record))
    assert pose.people == record["people"]
    np.testing.assert_allclose(pose.body, arrays[f"{name}_body"], rtol=0, atol=TOL)
    subset = arrays[f"{name}_subset"][0]
    np.testing.assert_array_equal(pose.body_visible, subset != -1)
    np.testing.assert_array_equal(subset[subset != -1], np.flatnonzero(pose.body_visible))
    np.testing.assert_allclose(pose.hands, arrays[f"{name}_hands"], rtol=0, atol=TOL)
    np.testing.assert_allclose(pose.face, arrays[f"{name}_faces"][0], rtol=0, atol=TOL)
    # The stand-ins exercise both sides of every visibility rule.
    assert 0 < pose.body_visible.sum() < 18
    assert 0 < (pose.hands[..., 0] == -1).sum() < 42 and 0 < (pose.face[:, 0] == -1).sum() < 68


@pytest.mark.parametrize("name", photo_ids())
def test_pose_canvas_matches_published(
    estimator: DWPose, reference: dict[str, Any], arrays: dict[str, np.ndarray], name: str
) -> None:
    """The whole published person-pose path: pre-resize, DWPose, grey drawing, resize-and-pad."""
    record = photo(reference, name)
    bgr = photo_bgr(record)
    canvas = draw_skeleton(estimator(bgr), *bgr.shape[:2])
    np.testing.assert_array_equal(canvas, arrays[f"{name}_canvas"])
    model_canvas, padding = resize.resize_and_pad(canvas, interpolation=cv2.INTER_NEAREST_EXACT)
    np.testing.assert_array_equal(model_canvas, arrays[f"{name}_model_canvas"])
    assert [padding.left, padding.top, padding.right, padding.bottom] == record["canvas_padding"]


def test_whole_photo_is_the_box_when_nobody_is_found(
    estimator: DWPose, reference: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    bgr = np.ascontiguousarray(photo_bgr(reference["photos"][0]))
    keypoints, scores = dwpose.estimate_keypoints(estimator.sessions.pose, bgr, np.empty((0, 4)))
    np.testing.assert_allclose(keypoints, arrays["whole_photo_keypoints"], rtol=0, atol=TOL)
    np.testing.assert_allclose(scores, arrays["whole_photo_scores"], rtol=0, atol=TOL)


def test_pick_person_matches_published(reference: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    for case in range(reference["picks"]):
        candidate, subset = arrays[f"pick{case}_candidate"], arrays[f"pick{case}_subset"]
        n = dwpose.pick_person(candidate, subset)
        np.testing.assert_array_equal(candidate[n], arrays[f"pick{case}_chosen_candidate"][0], err_msg=f"case {case}")
        np.testing.assert_array_equal(subset[n], arrays[f"pick{case}_chosen_subset"][0], err_msg=f"case {case}")


def test_different_photos_give_different_poses(estimator: DWPose, reference: dict[str, Any]) -> None:
    bodies = [estimator(photo_bgr(p)).body for p in reference["photos"]]
    assert not np.allclose(bodies[0], bodies[1]) and not np.allclose(bodies[1], bodies[2])


def test_nms_counts_boxes_in_inclusive_pixels() -> None:
    """Why not ``cv2.dnn.NMSBoxes``: with the published "+1" sizes these two boxes overlap by
    IoU 0.47 (> 0.45, one is suppressed); OpenCV's plain sizes give 0.43 and keep both."""
    boxes = np.array([[0, 0, 9, 9], [3.6, 0, 12.6, 9]], np.float32)
    scores = np.array([0.9, 0.8], np.float32)
    assert dwpose.nms(boxes, scores).tolist() == [0]
    xywh = [[float(x0), float(y0), float(x1 - x0), float(y1 - y0)] for x0, y0, x1, y1 in boxes]
    assert len(cv2.dnn.NMSBoxes(xywh, scores.tolist(), 0.1, dwpose.NMS_IOU)) == 2


def test_nms_keeps_separate_boxes_best_first() -> None:
    boxes = np.array([[0, 0, 10, 10], [100, 100, 120, 120], [1, 1, 10, 10]], np.float32)
    scores = np.array([0.5, 0.9, 0.7], np.float32)
    assert dwpose.nms(boxes, scores).tolist() == [1, 2]
    assert dwpose.nms(np.empty((0, 4), np.float32), np.empty(0, np.float32)).tolist() == []


def test_providers() -> None:
    cuda_build = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert dwpose.providers_for("cpu", cuda_build) == ["CPUExecutionProvider"]
    assert dwpose.providers_for("cuda:1", cuda_build) == [
        ("CUDAExecutionProvider", {"device_id": 1}),
        "CPUExecutionProvider",
    ]
    assert dwpose.providers_for("cuda", cuda_build)[0] == ("CUDAExecutionProvider", {"device_id": 0})
    assert dwpose.providers_for("cuda:0", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_missing_weights(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"yolox_l\.onnx"):
        DWPose.from_folder(tmp_path)


def test_rejects_anything_but_bgr_uint8(estimator: DWPose) -> None:
    with pytest.raises(ValueError):
        estimator(np.zeros((64, 64), np.uint8))
    with pytest.raises(ValueError):
        estimator(np.zeros((64, 64, 3), np.float32))
