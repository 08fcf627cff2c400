"""What the published FASHN VTON code produced on random weights and synthetic inputs,
recorded by ``scripts/make_vton_reference.py`` and ``scripts/make_pose_reference.py``:
the tests compare ours against these, read once per process."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fashn_vton"


@cache
def model_reference() -> dict[str, Any]:
    return json.loads((FIXTURES / "reference.json").read_text())


@cache
def model_tensors() -> dict[str, torch.Tensor]:
    return load_file(FIXTURES / "tensors.safetensors")


@cache
def pose_reference() -> dict[str, Any]:
    return json.loads((FIXTURES / "pose_reference.json").read_text())


@cache
def pose_arrays() -> dict[str, np.ndarray]:
    with np.load(FIXTURES / "pose_reference.npz") as data:
        return {k: data[k] for k in data.files}
