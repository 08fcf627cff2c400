"""Grey skeleton drawing against the published ``draw_pose(..., grayscale=True)``.

References come from ``scripts/make_pose_reference.py`` (``tests/fixtures/fashn_vton``):
crafted poses with points inside, outside and on the edge of the canvas, and the poses the
published DWPose chain found on the stand-in photos. The end-to-end path (our DWPose, then
this drawing) is in ``test_dwpose.py``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from fitroom.engines.fashn_vton.dwpose import FACE, HANDS, WHOLE_BODY_KEYPOINTS, WholeBodyPose
from fitroom.engines.fashn_vton.skeleton import (
    JOINT_GREYS,
    LIMB_GREYS,
    draw_body,
    draw_face,
    draw_hands,
    draw_skeleton,
    flat_lay_pose,
)
from tests.engines.fashn_vton.references import pose_arrays, pose_reference


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    return pose_reference()


@pytest.fixture(scope="module")
def arrays() -> dict[str, np.ndarray]:
    return pose_arrays()


def pose_from_published(body: np.ndarray, subset: np.ndarray, hands: np.ndarray, faces: np.ndarray) -> WholeBodyPose:
    """A ``WholeBodyPose`` holding a published pose dict's content (hands and face arrive
    with -1 already at their invisible points, so they are given score 1)."""
    keypoints = np.full((WHOLE_BODY_KEYPOINTS, 2), -1.0)
    scores = np.ones(WHOLE_BODY_KEYPOINTS)
    keypoints[:18] = body
    scores[:18] = np.where(subset[0] == -1, 0.0, 1.0)
    scores[18:24] = 0.0
    keypoints[FACE] = faces[0]
    keypoints[HANDS] = hands.reshape(-1, 2)
    return WholeBodyPose(keypoints=keypoints, scores=scores)


def test_crafted_poses_match_published(reference: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    for case, record in enumerate(reference["draws"]):
        body, subset = arrays[f"draw{case}_body"], arrays[f"draw{case}_subset"]
        canvas = draw_body(np.zeros((record["height"], record["width"]), np.uint8), body, subset[0] != -1)
        canvas = draw_hands(canvas, arrays[f"draw{case}_hands"])
        canvas = draw_face(canvas, arrays[f"draw{case}_faces"][0])
        expected = arrays[f"draw{case}_canvas"]
        assert (expected > 0).sum() == record["lit"] > 0
        np.testing.assert_array_equal(canvas, expected, err_msg=f"case {case}")


def test_crafted_poses_through_draw_skeleton(reference: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    for case, record in enumerate(reference["draws"]):
        pose = pose_from_published(*(arrays[f"draw{case}_{k}"] for k in ("body", "subset", "hands", "faces")))
        canvas = draw_skeleton(pose, record["height"], record["width"])
        np.testing.assert_array_equal(canvas, arrays[f"draw{case}_canvas"], err_msg=f"case {case}")


def test_published_pipeline_poses(reference: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    for record in reference["photos"]:
        name = record["name"]
        pose = pose_from_published(*(arrays[f"{name}_{k}"] for k in ("body", "subset", "hands", "faces")))
        height, width = record["pre_resized_shape"][:2]
        canvas = draw_skeleton(pose, height, width)
        assert canvas.dtype == np.uint8 and canvas.shape == (height, width)
        np.testing.assert_array_equal(canvas, arrays[f"{name}_canvas"], err_msg=name)


def test_flat_lay_pose_draws_nothing(reference: dict[str, Any]) -> None:
    flat = reference["flat_lay"]
    pose = flat_lay_pose()
    canvas = draw_skeleton(pose, flat["height"], flat["width"])
    assert list(canvas.shape) == flat["shape"] and str(canvas.dtype) == flat["dtype"]
    assert int((canvas > 0).sum()) == flat["lit"] == 0
    assert pose.people == 0 and not pose.body_visible.any()
    assert (pose.hands == -1).all() and (pose.face == -1).all()


def test_grey_levels() -> None:
    """The published greys, spelled out: limbs 20..240 in 18 steps (truncated), joints 1.3×
    their first limb's grey."""
    assert LIMB_GREYS.tolist() == [20, 32, 45, 58, 71, 84, 97, 110, 123, 136, 149, 162, 175, 188, 201, 214, 227, 240]
    assert JOINT_GREYS == (227, 26, 26, 58, 75, 41, 92, 109, 126, 143, 159, 176, 193, 210, 244, 255, 255, 255)
