"""Face analysis on a photo a package ships: pupils, eye corners, head angles, no-face."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from skimage import data

from fitroom.engines.cpu.face import find_faces
from fitroom.errors import NoFaceFound


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return data.astronaut()


def test_pupils_sit_between_their_eye_corners(astronaut):
    (face,) = find_faces(astronaut)
    left_outer, left_inner, right_inner, right_outer = face.eye_corners
    left, right = face.pupils
    assert left_outer[0] < left[0] < left_inner[0]
    assert right_inner[0] < right[0] < right_outer[0]
    # The pupils are about as far apart as the inner corners are from the outer ones' middle.
    assert 0.3 * np.ptp(face.eye_corners[:, 0]) < face.inter_pupil_distance < 0.8 * np.ptp(face.eye_corners[:, 0])
    # Bridge between the eyes, temples outside them.
    assert left[0] < face.nose_bridge[0] < right[0]
    assert face.temples[0, 0] < left_outer[0] and face.temples[1, 0] > right_outer[0]


def test_roll_follows_a_rotated_photo(astronaut):
    (upright,) = find_faces(astronaut)
    centre = tuple(float(c) for c in upright.nose_bridge)
    # OpenCV's positive angle turns the picture counter-clockwise on screen, so the eye
    # line's angle (y down) drops by as much.
    turned = cv2.warpAffine(astronaut, cv2.getRotationMatrix2D(centre, 20, 1.0), astronaut.shape[1::-1],
                            borderMode=cv2.BORDER_REPLICATE)
    (face,) = find_faces(turned)
    assert face.roll == pytest.approx(upright.roll - 20, abs=3)


def test_a_frontal_portrait_is_frontal(astronaut):
    (face,) = find_faces(astronaut)
    assert abs(face.yaw) < 10 and abs(face.roll) < 10 and abs(face.pitch) < 20


def test_every_face_is_found(astronaut):
    pair = np.hstack([astronaut, astronaut[:, ::-1]])
    faces = find_faces(pair)
    assert len(faces) == 2
    assert faces[0].nose_bridge[0] < 512 < faces[1].nose_bridge[0]


def test_small_face_in_a_large_photo_is_found(astronaut):
    # A head a third the size, in a photo twice as wide: the full-body case.
    small = cv2.resize(astronaut, (170, 170), interpolation=cv2.INTER_AREA)
    canvas = np.full((1024, 768, 3), 200, np.uint8)
    canvas[100:270, 300:470] = small
    (face,) = find_faces(canvas)
    (big,) = find_faces(astronaut)
    expected = big.pupils * 170 / 512 + (300, 100)
    assert np.abs(face.pupils - expected).max() < 0.15 * face.inter_pupil_distance


def test_no_face_is_a_named_error():
    rng = np.random.default_rng(0)
    with pytest.raises(NoFaceFound):
        find_faces(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8))
