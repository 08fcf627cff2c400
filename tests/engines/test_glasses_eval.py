"""``fitroom eval`` for glasses: a sheet, per-image metrics and their medians."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image
from skimage import data

from fitroom.eval.glasses import placement_errors, run_glasses_eval
from tests.engines.test_glasses_engine import draw_angled, draw_frontal


def test_placement_errors_measure_offset_and_angle():
    pupils = [[100.0, 100.0], [160.0, 100.0]]
    assert placement_errors({"pupils": pupils, "lens_centres": pupils}) == (0.0, 0.0)
    shifted = [[100.0, 106.0], [160.0, 106.0]]  # 6 px = 0.1 inter-pupil distances
    alignment, angle = placement_errors({"pupils": pupils, "lens_centres": shifted})
    assert np.isclose(alignment, 0.1) and np.isclose(angle, 0.0)
    tilted = [[100.0, 100.0], [160.0, 100.0 + 60 * np.tan(np.radians(5))]]
    assert np.isclose(placement_errors({"pupils": pupils, "lens_centres": tilted})[1], 5.0)


def test_eval_writes_a_sheet_and_metrics(tmp_path):
    persons, glasses, out = tmp_path / "persons", tmp_path / "glasses", tmp_path / "out"
    persons.mkdir()
    glasses.mkdir()
    Image.fromarray(data.astronaut()).save(persons / "astronaut.png")
    Image.fromarray(np.full((300, 300, 3), 90, np.uint8)).save(persons / "blank.png")
    Image.fromarray(draw_frontal()).save(glasses / "frontal.png")
    Image.fromarray(draw_angled()).save(glasses / "angled.png")

    metrics = run_glasses_eval(persons, glasses, out)

    summary = metrics["summary"]
    assert summary["images"] == 6  # 2 persons × (2 pairs + the default pair)
    assert summary["measured"] == 3
    assert list(summary["failed"]["no_face_found"]) == ["blank.png"]
    assert summary["median_alignment_error"] <= 0.1
    assert summary["median_angle_error_deg"] <= 3
    assert summary["median_ms"] > 0
    assert json.loads((out / "glasses_metrics.json").read_text())["summary"] == summary
    sheet = Image.open(out / "glasses_sheet.png")
    assert sheet.width > 200 and sheet.height > 3 * 200  # header, astronaut and blank rows
