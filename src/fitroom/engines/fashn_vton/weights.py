"""The layout of the published weights folder (``FITROOM_VTON_WEIGHTS``), as the
published ``scripts/download_weights.py`` writes it; torch-free, so that asking whether
the engine is ready costs no torch import."""

from __future__ import annotations

from pathlib import Path

from fitroom.engines.fashn_vton.dwpose import DETECTOR_FILE, POSE_FILE

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"  # optional: architecture keywords overriding the published sizes
DWPOSE_DIR = "dwpose"
REQUIRED_FILES = (WEIGHTS_FILE, f"{DWPOSE_DIR}/{DETECTOR_FILE}", f"{DWPOSE_DIR}/{POSE_FILE}")


def missing_files(folder: Path) -> list[Path]:
    """The required files absent from ``folder``."""
    return [folder / name for name in REQUIRED_FILES if not (folder / name).is_file()]
