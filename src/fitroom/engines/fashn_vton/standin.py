"""Stand-ins for the DWPose weights, and synthetic photos to feed them, so that tests run the
whole pose path (detect → crop → pose → decode → draw) without downloading anything.

The two ONNX graphs have the published signatures (``dwpose/yolox_l.onnx``: float32
[1,3,640,640] → [1,8400,85]; ``dwpose/dw-ll_ucoco_384.onnx``: float32 [1,3,384,288] →
``simcc_x`` [1,133,576], ``simcc_y`` [1,133,768]) and are small (about 250 KB together),
random, but shaped so that their outputs exercise every branch of the decoding:

* The detector average-pools the letterboxed image onto the three YOLOX grids (strides 8,
  16, 32: 6400 + 1600 + 400 = 8400 anchors, in the anchor order YOLOX uses) and applies a
  random 1×1 convolution, so box offsets, sizes and scores depend on the picture. A
  per-anchor bias on the objectness and person logits then lights up three clusters: a
  large box on the stride-32 grid and a small one on the stride-16 grid (two people or
  more after NMS, so the single-person choice has work to do) and, on the stride-8 grid,
  candidates scoring about 0.2, which pass the 0.1 candidate threshold but not the 0.3
  person one. Other classes stay far below every threshold.
* The pose model pools the crop onto a 3×3 grid and maps those 27 numbers to, per
  keypoint and axis, the weights of six Gaussian bumps; SimCC vectors are those bumps plus
  a per-keypoint offset. The argmax therefore lands on a bump centre chosen by the image
  (different photos, different poses) with a clear margin over its neighbours, so that
  float rounding cannot move it, and the offset makes some keypoints invisible (score
  under 0.3) and some non-positive (decoded as "no location").

``write_pose_standins`` builds both from a seed; the same seed gives byte-identical files
(the producer fields, opset and IR version are fixed, so nothing depends on the installed
``onnx``). ``onnx`` is imported lazily: it is a test dependency, ``onnxruntime`` is the
runtime one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fitroom.engines.fashn_vton.dwpose import DETECTOR_FILE, POSE_FILE

if TYPE_CHECKING:
    from onnx import ModelProto, NodeProto

OPSET = 17
IR_VERSION = 8
PRODUCER = ("fitroom-standin", "1")

_STRIDES = (8, 16, 32)
_DETECTOR_SIDE = 640
_CLASSES = 80
_POSE_H, _POSE_W = 384, 288
_KEYPOINTS = 133
_BODY_KEYPOINTS = 17  # COCO body joints come first in the 133 whole-body keypoints
_BUMPS = 6
_POOL_GRID = 3


def _anchor_index(stride: int, gx: int, gy: int) -> int:
    """Row of anchor (gx, gy) of one grid in the [8400, 85] output: grids are stacked by
    stride, each one row-major (x fastest)."""
    offset = 0
    for s in _STRIDES:
        side = _DETECTOR_SIDE // s
        if s == stride:
            return offset + gy * side + gx
        offset += side * side
    raise ValueError(f"no grid with stride {stride}")


def _model(nodes: list[NodeProto], inputs: list[tuple[str, list[int]]], outputs: list[tuple[str, list[int]]],
           initializers: dict[str, np.ndarray], name: str) -> ModelProto:
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, shape) for n, shape in outputs],
        initializer=[numpy_helper.from_array(np.ascontiguousarray(v), k) for k, v in initializers.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    model.producer_name, model.producer_version = PRODUCER
    return model


def _i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def build_detector_standin(seed: int = 0) -> bytes:
    """A YOLOX-shaped person detector: serialized ONNX bytes (see the module docstring)."""
    from onnx import helper

    rng = np.random.default_rng([seed, 0])
    channels = 4 + 1 + _CLASSES
    nodes: list[NodeProto] = []
    inits: dict[str, np.ndarray] = {}
    levels = []
    # Box logits per grid: centre offsets around half a cell, sizes exp(bias) * stride.
    log_sizes = {8: (np.log(4.0), np.log(4.0)), 16: (np.log(7.0), np.log(7.0)), 32: (np.log(9.0), np.log(14.0))}
    for s in _STRIDES:
        weight = (rng.normal(0.0, 0.6, size=(channels, 3, 1, 1)) / 255.0).astype(np.float32)
        bias = np.empty(channels, np.float32)
        bias[0:2] = 0.5
        bias[2:4] = log_sizes[s]
        bias[4] = -2.0  # objectness
        bias[5] = 1.0  # person
        bias[6:] = rng.uniform(-7.0, -5.0, size=_CLASSES - 1)
        inits[f"w{s}"], inits[f"b{s}"] = weight, bias
        nodes += [
            helper.make_node("AveragePool", ["image"], [f"pool{s}"], kernel_shape=[s, s], strides=[s, s]),
            helper.make_node("Conv", [f"pool{s}", f"w{s}", f"b{s}"], [f"conv{s}"]),
            helper.make_node("Reshape", [f"conv{s}", "flat_shape"], [f"flat{s}"]),
        ]
        levels.append(f"flat{s}")
    inits["flat_shape"] = _i64(1, channels, -1)

    anchor_bias = np.full((1, 8400, 1), -10.0, np.float32)
    for gx in range(6, 9):  # a tall box near the centre: the main person
        for gy in range(6, 10):
            anchor_bias[0, _anchor_index(32, gx, gy), 0] = 4.0 + rng.uniform(-0.5, 0.5)
    for gx in range(4, 6):  # a small box top-left: a second, smaller person
        for gy in range(4, 6):
            anchor_bias[0, _anchor_index(16, gx, gy), 0] = 3.5 + rng.uniform(-0.5, 0.5)
    for gx, gy in ((60, 60), (70, 50)):  # weak candidates: above 0.1, below 0.3
        anchor_bias[0, _anchor_index(8, gx, gy), 0] = 0.8
    channel_mask = np.zeros((1, 1, channels - 4), np.float32)
    channel_mask[0, 0, :2] = 1.0  # the bias lifts objectness and person only
    inits.update(anchor_bias=anchor_bias, channel_mask=channel_mask)
    inits.update(box_start=_i64(0), box_end=_i64(4), score_start=_i64(4), score_end=_i64(channels), axis=_i64(2))
    nodes += [
        helper.make_node("Concat", levels, ["stacked"], axis=2),
        helper.make_node("Transpose", ["stacked"], ["raw"], perm=[0, 2, 1]),
        helper.make_node("Slice", ["raw", "box_start", "box_end", "axis"], ["boxes"]),
        helper.make_node("Slice", ["raw", "score_start", "score_end", "axis"], ["logits"]),
        helper.make_node("Mul", ["anchor_bias", "channel_mask"], ["lift"]),
        helper.make_node("Add", ["logits", "lift"], ["lifted"]),
        helper.make_node("Sigmoid", ["lifted"], ["scores"]),
        helper.make_node("Concat", ["boxes", "scores"], ["output"], axis=2),
    ]
    model = _model(nodes, [("image", [1, 3, _DETECTOR_SIDE, _DETECTOR_SIDE])], [("output", [1, 8400, channels])],
                   inits, "yolox_standin")
    return model.SerializeToString()


def _bumps(rng: np.random.Generator, length: int) -> np.ndarray:
    """``_BUMPS`` Gaussian bumps over a SimCC axis, centres well inside it."""
    centres = rng.uniform(0.07 * length, 0.93 * length, size=_BUMPS)
    widths = rng.uniform(4.0, 9.0, size=_BUMPS)
    axis = np.arange(length, dtype=np.float64)
    return np.exp(-0.5 * ((axis[None, :] - centres[:, None]) / widths[:, None]) ** 2).astype(np.float32)


def build_pose_standin(seed: int = 0) -> bytes:
    """A SimCC whole-body pose model with DWPose's signature: serialized ONNX bytes."""
    from onnx import helper

    rng = np.random.default_rng([seed, 1])
    features = 3 * _POOL_GRID * _POOL_GRID
    cell = [_POSE_H // _POOL_GRID, _POSE_W // _POOL_GRID]
    nodes: list[NodeProto] = [
        helper.make_node("AveragePool", ["input"], ["pooled"], kernel_shape=cell, strides=cell),
        helper.make_node("Reshape", ["pooled", "feature_shape"], ["features"]),
    ]
    inits: dict[str, np.ndarray] = {"feature_shape": _i64(1, features), "bump_shape": _i64(1, _KEYPOINTS, _BUMPS)}
    offsets = rng.normal(-0.6, 0.3, size=(_KEYPOINTS, 1))
    offsets[:_BODY_KEYPOINTS] += 0.3  # most body joints visible, so limbs get drawn
    for axis, length in (("x", _POSE_W * 2), ("y", _POSE_H * 2)):
        inits[f"w_{axis}"] = rng.normal(0.0, 1.2, size=(features, _KEYPOINTS * _BUMPS)).astype(np.float32)
        inits[f"b_{axis}"] = rng.normal(0.0, 1.0, size=_KEYPOINTS * _BUMPS).astype(np.float32)
        inits[f"basis_{axis}"] = _bumps(rng, length)
        inits[f"offset_{axis}"] = (offsets + rng.normal(0.0, 0.05, size=(_KEYPOINTS, 1))).astype(np.float32)
        nodes += [
            helper.make_node("MatMul", ["features", f"w_{axis}"], [f"mix_{axis}"]),
            helper.make_node("Add", [f"mix_{axis}", f"b_{axis}"], [f"logit_{axis}"]),
            helper.make_node("Sigmoid", [f"logit_{axis}"], [f"flat_weight_{axis}"]),
            helper.make_node("Reshape", [f"flat_weight_{axis}", "bump_shape"], [f"weight_{axis}"]),
            helper.make_node("MatMul", [f"weight_{axis}", f"basis_{axis}"], [f"curve_{axis}"]),
            helper.make_node("Add", [f"curve_{axis}", f"offset_{axis}"], [f"simcc_{axis}"]),
        ]
    model = _model(nodes, [("input", [1, 3, _POSE_H, _POSE_W])],
                   [("simcc_x", [1, _KEYPOINTS, _POSE_W * 2]), ("simcc_y", [1, _KEYPOINTS, _POSE_H * 2])],
                   inits, "dwpose_standin")
    return model.SerializeToString()


def write_pose_standins(folder: str | Path, seed: int = 0) -> Path:
    """Write ``dwpose/yolox_l.onnx`` and ``dwpose/dw-ll_ucoco_384.onnx`` stand-ins under
    ``folder`` (the layout of the published weights folder); returns the ``dwpose`` folder."""
    target = Path(folder) / "dwpose"
    target.mkdir(parents=True, exist_ok=True)
    (target / DETECTOR_FILE).write_bytes(build_detector_standin(seed))
    (target / POSE_FILE).write_bytes(build_pose_standin(seed))
    return target


def synthetic_person_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    """An RGB uint8 picture of a crude figure (head, torso, limbs) on a shaded background,
    in colours and proportions drawn from ``seed``: stand-in input for the pose path.

    Deterministic (numpy's PCG64 stream and OpenCV's rasteriser); tests pin a hash of it."""
    rng = np.random.default_rng([seed, 2])
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    top, bottom = rng.uniform(40, 215, size=(2, 3))
    t = (yy / max(height - 1, 1))[..., None]
    ripple = 12.0 * np.sin(xx / (9.0 + 20.0 * rng.uniform()))[..., None]
    image = np.clip(top * (1 - t) + bottom * t + ripple, 0, 255).astype(np.uint8)

    scale = min(height, width) / 10.0
    cx = width * rng.uniform(0.35, 0.65)
    head_y = height * rng.uniform(0.12, 0.2)

    def colour() -> tuple[int, int, int]:
        r, g, b = rng.integers(0, 256, size=3)
        return int(r), int(g), int(b)

    def pt(x: float, y: float) -> tuple[int, int]:
        return round(x), round(y)

    neck = (cx, head_y + 1.3 * scale)
    hip_y = min(head_y + 5.0 * scale, height * 0.7)
    thick = max(2, int(0.6 * scale))
    skin, shirt, trousers = colour(), colour(), colour()
    for side in (-1, 1):  # legs, arms
        knee = (cx + side * scale * rng.uniform(0.4, 1.0), hip_y + 1.8 * scale)
        cv2.line(image, pt(cx + side * 0.5 * scale, hip_y), pt(*knee), trousers, thick)
        cv2.line(image, pt(*knee), pt(knee[0] + side * 0.3 * scale, knee[1] + 1.8 * scale), trousers, thick)
        elbow = (cx + side * scale * rng.uniform(1.4, 2.2), neck[1] + scale * rng.uniform(0.8, 1.8))
        cv2.line(image, pt(cx + side * 1.1 * scale, neck[1] + 0.3 * scale), pt(*elbow), shirt, thick)
        cv2.line(image, pt(*elbow), pt(elbow[0] + side * 0.4 * scale, elbow[1] - scale * rng.uniform(-1.5, 1.5)),
                 skin, max(2, thick * 2 // 3))
    cv2.ellipse(image, pt(cx, (neck[1] + hip_y) / 2), pt(1.2 * scale, (hip_y - neck[1]) / 2 + 0.2 * scale),
                0, 0, 360, shirt, -1)
    cv2.circle(image, pt(cx, head_y), int(0.8 * scale), skin, -1)
    for _ in range(3):  # clutter
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        x1, y1 = x0 + rng.uniform(5, scale * 2), y0 + rng.uniform(5, scale * 2)
        cv2.rectangle(image, pt(x0, y0), pt(x1, y1), colour(), -1)
    return image


# A try-on model small enough to sample in well under a second on a CPU, with every part
# of the published architecture present (patch mixer, both block kinds, category labels).
TINY_ARCH: dict[str, object] = {
    "input_shape": [96, 64],
    "hidden_size": 64,
    "n_heads": 2,
    "double_blocks_depth": 1,
    "single_blocks_depth": 1,
    "mlp_ratio": 2,
    "patch_size": 16,
    "axes_dim": [8, 12, 12],
    "patch_mixer_depth": 1,
}


def write_standin_weights(folder: str | Path, seed: int = 0, arch: dict[str, object] | None = None) -> Path:
    """A complete stand-in for the published weights folder: ``config.json`` (``arch``,
    default ``TINY_ARCH``), ``model.safetensors`` with random weights drawn from ``seed``,
    and the DWPose stand-ins. Needs torch, safetensors and onnx; returns ``folder``."""
    import json

    import torch
    from safetensors.torch import save_file

    from fitroom.engines.fashn_vton.model import TryOnModel
    from fitroom.engines.fashn_vton.weights import CONFIG_FILE, WEIGHTS_FILE

    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    config = dict(TINY_ARCH if arch is None else arch)
    torch.manual_seed(seed)
    model = TryOnModel.from_config(config)
    # The published initialisation zeroes the gates and output layer; random weights
    # everywhere make the stand-in's images depend on every input.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.normal_(0.0, 0.05)
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items()}
    save_file(state, str(target / WEIGHTS_FILE))
    (target / CONFIG_FILE).write_text(json.dumps(config))
    write_pose_standins(target, seed)
    return target
