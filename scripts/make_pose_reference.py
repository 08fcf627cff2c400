"""Write the pose/skeleton/resize reference fixtures by running the *published* FASHN VTON code.

    .venv/bin/python scripts/make_pose_reference.py --published /path/to/fashn-vton-1.5/src \
        --out tests/fixtures/fashn_vton

Run it with an interpreter that can import ``fitroom`` (the project venv, or another one with
``PYTHONPATH=src``), OpenCV, onnxruntime, onnx and Pillow.

The published modules are imported from ``--published`` (never copied here): its DWPose
package (``Wholebody``, ``DWposeDetector``, ``draw_pose``, the detector and pose helpers),
``preprocessing/transforms.py`` and ``utils/keypoints.py``. The package ``__init__`` files
that would pull in the try-on model, the human parser, einops and torchvision are bypassed
by registering bare package modules in ``sys.modules``; torch and matplotlib are replaced by
inert stand-ins when they are not installed (DWPose only uses ``torch.inference_mode`` as a
decorator, and matplotlib only for the colour drawing, which is not exercised).

Inputs are ours and deterministic: the stand-in ONNX models of
``fitroom.engines.fashn_vton.standin`` built from ``--seed``, and its synthetic photos. The
JSON pins their SHA-256, so a test fails loudly if either generator drifts.

Outputs (``pose_reference.json`` and ``pose_reference.npz``, together well under 500 KB):

* For three photos of different sizes and aspect ratios, run the way the published pipeline
  runs them (pre-resize, RGB → BGR, detector, pose, assembly, grey drawing, resize-and-pad
  of the canvas with nearest-exact and of the photo with the default filters): the person
  boxes, every person's 134 keypoints and scores, the chosen pose (body, subset, hands,
  faces), the canvas at photo size and at model size, paddings and hashes.
* The pose stage on the whole photo, as when the detector finds nobody.
* The single-person choice (``DWposeDetector._find_best_candidate``) on crafted candidates,
  including its corner cases.
* ``draw_pose(..., grayscale=True)`` on crafted poses with points on and off the canvas,
  near its top-left edge, and invisible.
* ``ResizePad`` (shapes, paddings, hashes of padded and unpadded results) and the pre-resize
  ``AspectPreserveResize`` for sizes that shrink, grow, and fit exactly.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from fitroom.engines.fashn_vton import standin
from fitroom.engines.fashn_vton.dwpose import DETECTOR_FILE, POSE_FILE

PUBLISHED_REPO = "fashn-AI/fashn-vton-1.5"
KNOWN_COMMIT = "7c0f10af3f91ad4048fe9729c470a13ef905d25a"
PUBLISHED_FILES = (
    "fashn_vton/dwpose/__init__.py",
    "fashn_vton/dwpose/dwpose.py",
    "fashn_vton/dwpose/wholebody.py",
    "fashn_vton/dwpose/onnxdet.py",
    "fashn_vton/dwpose/onnxpose.py",
    "fashn_vton/dwpose/utils.py",
    "fashn_vton/preprocessing/transforms.py",
    "fashn_vton/utils/keypoints.py",
)
MODEL_W, MODEL_H = 576, 864

# (name, height, width, image seed): portrait (enlarged to the model), landscape (pre-resized,
# then padded top and bottom), tall (pre-resized to exactly the model height: no resize, padded
# left and right).
PHOTOS = (("portrait", 640, 480, 0), ("landscape", 500, 1000, 1), ("tall", 1200, 700, 2))
DRAW_SIZES = ((97, 131), (256, 192), (333, 250))
# (height, width, channels, interpolation name or None, image seed)
RESIZE_CASES: tuple[tuple[int, int, int, str | None, int], ...] = (
    (1200, 700, 3, None, 10),
    (300, 200, 3, None, 11),
    (864, 576, 3, None, 12),
    (500, 900, 3, None, 13),
    (700, 500, 1, "INTER_NEAREST_EXACT", 14),
    (200, 150, 1, "INTER_NEAREST_EXACT", 15),
    (431, 287, 1, None, 16),
)
PRE_RESIZE_CASES = ((1200, 700, 20), (500, 400, 21), (864, 2000, 22), (864, 864, 23), (865, 300, 24))


def sha256(data: bytes | np.ndarray) -> str:
    if isinstance(data, np.ndarray):
        data = np.ascontiguousarray(data).tobytes()
    return hashlib.sha256(data).hexdigest()


def _stub_if_missing(name: str, build: Any) -> None:
    try:
        importlib.import_module(name)
    except ImportError:
        sys.modules[name] = build()


def _torch_stub() -> types.ModuleType:
    module = types.ModuleType("torch")

    def inference_mode(mode: bool = True) -> Any:
        return lambda fn: fn

    module.inference_mode = inference_mode  # type: ignore[attr-defined]
    return module


def _matplotlib_stub() -> types.ModuleType:
    module = types.ModuleType("matplotlib")
    colors = types.ModuleType("matplotlib.colors")

    def hsv_to_rgb(*_: Any) -> Any:
        raise RuntimeError("colour drawing is not part of the reference")

    colors.hsv_to_rgb = hsv_to_rgb  # type: ignore[attr-defined]
    module.colors = colors  # type: ignore[attr-defined]
    sys.modules["matplotlib.colors"] = colors
    return module


def import_published(src: Path) -> types.SimpleNamespace:
    missing = [f for f in PUBLISHED_FILES if not (src / f).is_file()]
    if missing:
        raise SystemExit(f"not the published src folder (missing {', '.join(missing)}): {src}")
    _stub_if_missing("torch", _torch_stub)
    _stub_if_missing("matplotlib", _matplotlib_stub)
    for package in ("fashn_vton", "fashn_vton.preprocessing", "fashn_vton.utils"):
        module = types.ModuleType(package)
        module.__path__ = [str(src / package.replace(".", "/"))]
        sys.modules[package] = module
    return types.SimpleNamespace(
        dwpose=importlib.import_module("fashn_vton.dwpose.dwpose"),
        onnxdet=importlib.import_module("fashn_vton.dwpose.onnxdet"),
        onnxpose=importlib.import_module("fashn_vton.dwpose.onnxpose"),
        transforms=importlib.import_module("fashn_vton.preprocessing.transforms"),
        keypoints=importlib.import_module("fashn_vton.utils.keypoints"),
    )


def photo_references(pub: types.SimpleNamespace, weights: Path, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    detector = pub.dwpose.DWposeDetector(checkpoints_dir=str(weights), device="cpu")
    wholebody = detector.pose_estimation
    pre_resize = pub.transforms.AspectPreserveResize(target_size=(MODEL_H, MODEL_H), mode="fit", backend="pil")
    records = []
    for name, height, width, seed in PHOTOS:
        rgb = standin.synthetic_person_image(height, width, seed)
        resized = np.array(pre_resize(Image.fromarray(rgb), allow_upsampling=False))
        bgr = resized[..., ::-1]
        boxes = pub.onnxdet.inference_detector(wholebody.session_det, bgr.copy())
        people_keypoints, people_scores = wholebody(bgr.copy())
        pose = detector(bgr)
        canvas = pub.dwpose.draw_pose(pose, resized.shape[0], resized.shape[1], grayscale=True)
        resize_pad = pub.transforms.ResizePad((MODEL_W, MODEL_H), backend="opencv")
        model_canvas = resize_pad(canvas, mem_padding=True, interpolation=cv2.INTER_NEAREST_EXACT)
        canvas_padding = resize_pad.pad_fn.padding_mem
        model_photo = resize_pad(resized, mem_padding=True)
        photo_padding = resize_pad.pad_fn.padding_mem
        unpadded = np.array(resize_pad.unpad(Image.fromarray(model_photo)))
        arrays.update({
            f"{name}_boxes": np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            f"{name}_people_keypoints": people_keypoints,
            f"{name}_people_scores": people_scores,
            f"{name}_body": pose["bodies"]["candidate"],
            f"{name}_subset": pose["bodies"]["subset"],
            f"{name}_hands": pose["hands"],
            f"{name}_faces": pose["faces"],
            f"{name}_canvas": canvas,
            f"{name}_model_canvas": model_canvas,
        })
        records.append({
            "name": name, "height": height, "width": width, "seed": seed, "sha256": sha256(rgb),
            "pre_resized_shape": list(resized.shape), "pre_resized_sha256": sha256(resized),
            "people": len(people_keypoints), "boxes": len(boxes),
            "canvas_padding": list(canvas_padding),
            "model_photo_shape": list(model_photo.shape), "model_photo_sha256": sha256(model_photo),
            "photo_padding": list(photo_padding), "unpadded_sha256": sha256(unpadded),
        })
        print(f"{name}: {len(boxes)} boxes, {len(people_keypoints)} people, canvas {canvas.shape} "
              f"{int((canvas > 0).sum())} px lit")
    # The pose stage with no detection: the whole (pre-resized) first photo is the box.
    name, height, width, seed = PHOTOS[0]
    rgb = standin.synthetic_person_image(height, width, seed)
    bgr = np.array(pre_resize(Image.fromarray(rgb), allow_upsampling=False))[..., ::-1].copy()
    keypoints, scores = pub.onnxpose.inference_pose(wholebody.session_pose, [], bgr)
    arrays.update(whole_photo_keypoints=keypoints, whole_photo_scores=scores)
    return records


def pick_references(pub: types.SimpleNamespace, arrays: dict[str, np.ndarray]) -> int:
    rng = np.random.default_rng(7)
    detector = pub.dwpose.DWposeDetector.__new__(pub.dwpose.DWposeDetector)  # no sessions needed
    cases = 0
    for case in range(10):
        n = int(rng.integers(2, 5))
        candidate = rng.uniform(-40.0, 500.0, size=(n, 134, 2))
        subset = rng.uniform(0.0, 1.0, size=(n, 134))
        if case == 0:  # the first person shows no torso or limb joint: every area is 0
            subset[0, 1:14] = 0.1
        elif case == 1:  # no torso or limb joint has x > 0: every area is 0
            candidate[:, 1:14, 0] = -5.0
        elif case == 2:  # nobody visible: all score sums 0
            subset[:, :] = 0.2
        elif case == 3:  # a threshold tie: exactly 0.3 is not visible
            subset[:, 1:14] = 0.3
            subset[1, 3] = 0.9
        elif case == 4:  # identical people: the first one wins
            candidate[1:] = candidate[0]
            subset[1:] = subset[0]
        chosen_candidate, chosen_subset = detector._find_best_candidate(subset.copy(), candidate.copy())
        arrays.update({
            f"pick{case}_candidate": candidate, f"pick{case}_subset": subset,
            f"pick{case}_chosen_candidate": chosen_candidate, f"pick{case}_chosen_subset": chosen_subset,
        })
        cases += 1
    return cases


def draw_references(pub: types.SimpleNamespace, arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    rng = np.random.default_rng(8)
    records = []
    for case, (height, width) in enumerate(DRAW_SIZES):
        body = rng.uniform(-0.05, 1.05, size=(18, 2))
        subset = np.where(rng.uniform(size=(1, 18)) < 0.25, -1.0, np.arange(18.0)[None])
        hands = rng.uniform(-0.02, 1.02, size=(2, 21, 2))
        hands[rng.uniform(size=(2, 21)) < 0.2] = -1.0
        faces = rng.uniform(0.0, 1.0, size=(1, 68, 2))
        faces[rng.uniform(size=(1, 68)) < 0.2] = -1.0
        # Edge pixels: a fraction whose pixel is 0 is dropped, one whose pixel is 1 is kept.
        hands[0, 3] = [0.4 / width, 0.5]
        hands[0, 4] = [1.0 / width, 0.5]
        faces[0, 0] = [0.5, 0.9 / height]
        faces[0, 1] = [0.5, 1.0 / height]
        body[0] = [0.0, 0.0]  # a visible joint in the corner is still drawn
        subset[0, 0] = 0.0
        pose = {"bodies": {"candidate": body.copy(), "subset": subset.copy()},
                "hands": hands.copy(), "faces": faces.copy()}
        canvas = pub.dwpose.draw_pose(pose, height, width, grayscale=True)
        arrays.update({f"draw{case}_body": body, f"draw{case}_subset": subset, f"draw{case}_hands": hands,
                       f"draw{case}_faces": faces, f"draw{case}_canvas": canvas})
        records.append({"height": height, "width": width, "lit": int((canvas > 0).sum())})
    return records


def resize_references(pub: types.SimpleNamespace) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    resize_records = []
    for height, width, channels, interpolation, seed in RESIZE_CASES:
        image = standin.synthetic_person_image(height, width, seed)
        if channels == 1:
            image = np.ascontiguousarray(image[..., 0])
        resize_pad = pub.transforms.ResizePad((MODEL_W, MODEL_H), backend="opencv")
        flag = None if interpolation is None else getattr(cv2, interpolation)
        padded = resize_pad(image, mem_padding=True, interpolation=flag)
        unpadded = resize_pad.unpad(padded)
        resize_records.append({
            "height": height, "width": width, "channels": channels, "interpolation": interpolation, "seed": seed,
            "input_sha256": sha256(image), "shape": list(padded.shape), "padding": list(resize_pad.pad_fn.padding_mem),
            "sha256": sha256(padded), "unpadded_shape": list(unpadded.shape), "unpadded_sha256": sha256(unpadded),
        })
    pre_records = []
    pre_resize = pub.transforms.AspectPreserveResize(target_size=(MODEL_H, MODEL_H), mode="fit", backend="pil")
    for height, width, seed in PRE_RESIZE_CASES:
        image = standin.synthetic_person_image(height, width, seed)
        out = np.array(pre_resize(Image.fromarray(image), allow_upsampling=False))
        pre_records.append({"height": height, "width": width, "seed": seed, "input_sha256": sha256(image),
                            "shape": list(out.shape), "sha256": sha256(out)})
    flat = pub.dwpose.draw_pose(pub.keypoints.get_dummy_dw_keypoints(), 512, 384, grayscale=True)
    flat_record = {"height": 512, "width": 384, "shape": list(flat.shape), "dtype": str(flat.dtype),
                   "lit": int((flat > 0).sum())}
    return resize_records, pre_records, flat_record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--published", type=Path, required=True, help="the published repository's src folder")
    parser.add_argument("--out", type=Path, required=True, help="fixture folder (tests/fixtures/fashn_vton)")
    parser.add_argument("--seed", type=int, default=0, help="stand-in model seed")
    args = parser.parse_args()

    pub = import_published(args.published.resolve())
    arrays: dict[str, np.ndarray] = {}
    with tempfile.TemporaryDirectory() as tmp:
        weights = standin.write_pose_standins(tmp, seed=args.seed)
        models = {f: sha256((weights / f).read_bytes()) for f in (DETECTOR_FILE, POSE_FILE)}
        photos = photo_references(pub, weights, arrays)
    picks = pick_references(pub, arrays)
    draws = draw_references(pub, arrays)
    resizes, pre_resizes, flat = resize_references(pub)

    import onnxruntime  # type: ignore[import-untyped]

    reference = {
        "published": {
            "repo": PUBLISHED_REPO, "commit": KNOWN_COMMIT,
            "files": {f: sha256((args.published / f).read_bytes()) for f in PUBLISHED_FILES},
        },
        "generated_with": {"numpy": np.__version__, "opencv": cv2.__version__, "onnxruntime": onnxruntime.__version__,
                           "pillow": Image.__version__},
        "standin_seed": args.seed,
        "models": models,
        "photos": photos,
        "picks": picks,
        "draws": draws,
        "resize_pad": resizes,
        "pre_resize": pre_resizes,
        "flat_lay": flat,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pose_reference.json").write_text(json.dumps(reference, indent=1) + "\n")
    np.savez_compressed(args.out / "pose_reference.npz", **arrays)
    total = sum((args.out / f).stat().st_size for f in ("pose_reference.json", "pose_reference.npz"))
    print(f"wrote {args.out}/pose_reference.{{json,npz}} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
